"""Text as a person sees it on the page: pure functions over lxml elements.

- Hidden parts are left out: elements the live capture marked not rendered (HIDDEN_MARK,
  set by the page script from computed styles), and, for pages without marks (saved
  pages, old evidence), inline `display:none`/`visibility:hidden`, the `hidden`
  attribute and the hiding classes of WET and Bootstrap 3/4/5.
- Label/value pairs in the shapes a page uses: `<strong>Label :</strong> value` (any
  markup around the value), a known `Label :` in plain text, `dt`/`dd`, `th`/`td` rows,
  and a label element followed by a value element (a div grid, `label` + `span`).
- Dates in the spellings the portal uses (`2025-02-07`, `07-FEB-2025`, `February 7,
  2025`, ISO with a time) are read as dates; anything else is a ParseError naming the field.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any, Iterable, Iterator, Optional

from parsel import Selector

from casescraper.errors import ParseError
from casescraper.record.answers import cut, norm, value

# Set by the page script (browser/page_scripts.py MARK_HIDDEN) on elements whose computed
# style hides them when the HTML was taken.
HIDDEN_MARK = "data-cs-hidden"
# Classes that hide an element whatever the screen size: WET (wb-inv), Bootstrap 3
# (sr-only, hidden, hide, invisible), 4 (sr-only, d-none, invisible), 5 (visually-hidden).
HIDING_CLASSES = frozenset(
    "wb-inv sr-only visually-hidden visually-hidden-focusable d-none hidden hide invisible".split())
BLOCK_TAGS = frozenset(
    "address article aside blockquote caption dd div dl dt figcaption figure footer form h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split())
SKIP_TAGS = frozenset(("script", "style", "template", "noscript"))
LABEL_TAGS = frozenset(("strong", "b", "label", "span", "em", "dt", "th"))
MARK, END = "\x00", "\x01"  # label boundaries inside rendered text
LEADING_LABEL_RE = re.compile(r"^([^:]{1,60}?)\s*:(.*)$", re.S)
CLASS_SPLIT_RE = re.compile(r"[ \t\r\n\f]+")


def tag_of(el: Any) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def key(text: str) -> str:
    return norm(text).casefold()


def hidden(el: Any) -> bool:
    """Whether the element itself is not rendered (its ancestors are not looked at)."""
    if el.get(HIDDEN_MARK) is not None or el.get("hidden") is not None:
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    return not HIDING_CLASSES.isdisjoint(CLASS_SPLIT_RE.split(el.get("class") or ""))


def visible(el: Any, top: Any = None) -> bool:
    """Neither the element nor an ancestor (up to `top`, included) is hidden."""
    while el is not None:
        if isinstance(el.tag, str) and hidden(el):
            return False
        if el is top:
            return True
        el = el.getparent()
    return True


def _render(el: Any, out: list[str], marks: bool) -> None:
    if el.text:
        out.append(el.text)
    for child in el:
        tag = tag_of(child)
        tail = child.tail or ""
        if tag and tag not in SKIP_TAGS and not hidden(child):
            gap = " " if tag == "br" or tag in BLOCK_TAGS else ""
            inner = rendered(child) if marks and tag in LABEL_TAGS else ""
            # A label element: <strong>Office :</strong>, or <strong>Office</strong> : after it.
            if inner.endswith(":") and len(inner) > 1 or inner and tail.lstrip().startswith(":"):
                out.append(f"{gap}{MARK}{inner.removesuffix(':')}{END}{gap}")
                tail = tail if inner.endswith(":") else tail.lstrip()[1:]
            else:
                out.append(gap)
                _render(child, out, marks)
                out.append(gap)
        out.append(tail)


def rendered(node: Any, marks: bool = False) -> str:
    """The text a browser shows for an element (a parsel Selector or an lxml element):
    <br> and block boundaries are spaces, whitespace runs one space; hidden parts and
    invisible characters left out."""
    el = node.root if isinstance(node, Selector) else node
    if isinstance(el, str):
        return norm(el)
    out: list[str] = []
    _render(el, out, marks)
    return norm("".join(out))


def labelled(node: Any, known: Iterable[str]) -> list[tuple[str, Optional[str]]]:
    """(label, value) pairs in an element's text: a label is a `Label :` element (any
    markup around the value), a known label followed by a colon, or a leading `Xxx :`."""
    known_re = _known_re(tuple(known))
    pairs: list[tuple[Optional[str], str]] = []
    for i, segment in enumerate(rendered(node, marks=True).split(MARK)):
        label, _, text = segment.partition(END) if i else (None, "", segment)
        cuts = list(known_re.finditer(text))
        pairs.append((label, text[: cuts[0].start()] if cuts else text))
        for k, found in enumerate(cuts):
            end = cuts[k + 1].start() if k + 1 < len(cuts) else len(text)
            pairs.append((found.group(1), text[found.end():end]))
    out = []
    for label, text in pairs:
        if label is None:  # text before any label element: "Status : Closed" in plain text
            match = LEADING_LABEL_RE.match(text.strip())
            if not match:
                continue
            label, text = match.groups()
        if norm(label):
            out.append((norm(label), value(text)))
    return out


@lru_cache(maxsize=32)
def _known_re(known: tuple[str, ...]) -> re.Pattern[str]:
    """A known label followed by a colon (longest first); built once per label set."""
    names = "|".join(re.escape(k) for k in sorted(known, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=\s))({names})\s*:", re.I)


def _label_text(el: Any) -> str:
    return rendered(el).removesuffix(":").rstrip()


def pair_rows(table: Any) -> Optional[list[tuple[str, Optional[str]]]]:
    """A table of label rows (each row one `th` then `td`s): its pairs; None for a table
    of another shape (a table with a header row and data rows)."""
    pairs = []
    for tr in table.iter("tr"):
        if not visible(tr, table):
            continue
        cells = [c for c in tr if tag_of(c) in ("th", "td")]
        if not cells:
            continue
        if tag_of(cells[0]) != "th" or len(cells) < 2 or any(tag_of(c) != "td" for c in cells[1:]):
            return None
        pairs.append((_label_text(cells[0]), value(" ".join(rendered(c) for c in cells[1:]))))
    return pairs or None


def definition_pairs(dl: Any) -> list[tuple[str, Optional[str]]]:
    """`dt`/`dd` pairs of a definition list (several `dd` of one `dt` joined)."""
    pairs: list[tuple[str, list[str]]] = []
    for el in dl.iter("dt", "dd"):
        if not visible(el, dl):
            continue
        if el.tag == "dt":
            pairs.append((_label_text(el), []))
        elif pairs:
            pairs[-1][1].append(rendered(el))
    return [(label, value(" ".join(texts))) for label, texts in pairs if label]


def sibling_pair(el: Any, known: dict[str, Any]) -> Optional[tuple[str, Any]]:
    """(label, value element) when `el` shows only a known label (a colon allowed) and
    the next element shows its value, with no text between them: a div grid, a `label`
    and its `span`."""
    nxt = el.getnext()
    if nxt is None or norm(el.tail) or not isinstance(nxt.tag, str) or hidden(nxt):
        return None
    label = _label_text(el)
    return (label, nxt) if label.casefold() in known else None


def walk(el: Any, stop: frozenset[str]) -> Iterator[Any]:
    """Visible descendants of `el` in document order, not entering hidden ones nor the
    tags in `stop` (which are yielded themselves)."""
    for child in el:
        tag = tag_of(child)
        if not tag or tag in SKIP_TAGS or hidden(child):
            continue
        yield child
        if tag not in stop:
            yield from walk(child, stop)


# --- dates ---------------------------------------------------------------------------

MONTHS = {name: i + 1 for i, names in enumerate((
    "jan january janv janvier", "feb february fev fevr fevrier févr février", "mar march mars",
    "apr april avr avril", "may mai", "jun june juin", "jul july juil juillet",
    "aug august aou aout août", "sep sept september septembre", "oct october octobre",
    "nov november novembre", "dec december dece decembre déc décembre")) for name in names.split()}
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_DMY_RE = re.compile(r"^(\d{1,2})[- ]([^\W\d_]{3,9})\.?[- ](\d{4})$")
_MDY_RE = re.compile(r"^([^\W\d_]{3,9})\.? (\d{1,2}),? (\d{4})$")


def page_date(text: Optional[str], what: str) -> Optional[str]:
    """YYYY-MM-DD of a date as the page writes it (None for none); a ParseError naming
    `what` for anything that is not a real date in a known spelling. A time is dropped:
    the date is the one a person reads."""
    if text is None:
        return None
    shown = norm(text)
    parts: Optional[tuple[int, Optional[int], int]] = None
    if m := _ISO_RE.match(shown):
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := _DMY_RE.match(shown):
        parts = (int(m[3]), MONTHS.get(m[2].casefold()), int(m[1]))
    elif m := _MDY_RE.match(shown):
        parts = (int(m[3]), MONTHS.get(m[1].casefold()), int(m[2]))
    why = f"{what} is not a date (YYYY-MM-DD, 07-FEB-2025 or February 7, 2025): {cut(shown)}"
    if parts is None or parts[1] is None:
        raise ParseError(why)
    try:
        return date(parts[0], parts[1], parts[2]).isoformat()
    except ValueError:  # a day that does not exist
        raise ParseError(why) from None

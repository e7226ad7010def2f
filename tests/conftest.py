"""Shared test helpers: where the saved portal pages are, skip rules, and a test run that
ignores the user's own data and settings.

Whatever is in the checkout's `config.toml` and `output/` (a user who ran the README's
crawls has both), or in the shell's CASESCRAPER_* variables, no test reads or writes it:
every process of the run (this one and the commands tests start) reads an empty config
file named by CASESCRAPER_CONFIG instead of `./config.toml`, and every test runs in a
working directory of its own, so that a default `output` lands there. A test about the
config file's discovery drops CASESCRAPER_CONFIG itself. At the end of the run the
checkout's `output/` and `config.toml` must be as they were.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real saved pages are never committed; they sit in ../shared beside the checkout.
FIXTURES = ROOT.parent / "shared" / "fixtures" / "fct-pages"
# The user's data and settings in the checkout: never an input or an output of a test.
USER_PATHS = (ROOT / "output", ROOT / "config.toml")

# Set at import, before tests/e2e.py copies the environment for the commands it runs.
for _name in [n for n in os.environ if n.startswith("CASESCRAPER_")]:
    del os.environ[_name]
_NEUTRAL = tempfile.mkdtemp(prefix="casescraper-tests-")
atexit.register(shutil.rmtree, _NEUTRAL, True)
EMPTY_CONFIG = os.path.join(_NEUTRAL, "config.toml")
Path(EMPTY_CONFIG).write_text("# the tests' config file: nothing set\n", encoding="utf-8")
os.environ["CASESCRAPER_CONFIG"] = EMPTY_CONFIG


def _state(path: Path) -> list[tuple[str, int, int]]:
    """What is at `path` (a file, or every entry below a directory): name, size, mtime."""
    if not path.exists():
        return []
    entries = [path, *sorted(path.rglob("*"))] if path.is_dir() else [path]
    return [(str(p), p.lstat().st_size, p.lstat().st_mtime_ns) for p in entries]


@pytest.fixture(scope="session", autouse=True)
def users_data_untouched():
    before = {p: _state(p) for p in USER_PATHS}
    yield
    changed = [str(p) for p in USER_PATHS if _state(p) != before[p]]
    assert not changed, f"the tests changed the checkout's own {changed}"


@pytest.fixture(autouse=True)
def own_working_dir(tmp_path_factory, monkeypatch):
    """Each test in a directory of its own: relative paths (`output`, `config.toml`) are
    never the checkout's."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def fct_page():
    def load(name: str) -> str:
        path = FIXTURES / name
        if not path.is_file():
            pytest.skip(f"saved portal pages not available ({path} missing)")
        return path.read_text(encoding="utf-8")

    return load


@pytest.fixture
def detail(fct_page):
    """The real details page, parsed as a document to change one detail at a time."""
    import lxml.html

    return lxml.html.document_fromstring(fct_page("detail.html"))


@pytest.fixture
def original(detail):
    """The record the unchanged page reads as."""
    import lxml.html

    from casescraper.record import parser

    return parser.read_case(lxml.html.tostring(detail, encoding="unicode")).record

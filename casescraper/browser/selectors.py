"""Where the portal's page puts things: every CSS selector of the court-files page, in one table.

Who uses what:
- page.py drives the page with it: it hands the whole table to the in-page scripts
  (page_scripts.py, as `sel`), which hold no selector of their own;
- parser.py reads the capture with it (results table, details modal, docket, dialog);
- doctor.py checks each selector once on the live page.
A change of the portal's markup is an edit here (and a look at SITE.md's FACT/GUESS).

Label words a person reads stay beside the code that maps them: the header field labels,
docket and party column names (-> record keys) in parser.py; "Recorded Entry Information"
(the modal title) in parser.py. Only the words that pick out a part of the page live here:
the results column the rows are found by, and the docket table's caption.

Values are strings or lists of strings: the table goes to the page as JSON.
"""

from __future__ import annotations

from typing import Any

COURT_NUMBER = "Court Number"  # results column header (FACT): rows are found by it

SELECTORS: dict[str, Any] = {
    # --- the search form (driving) ---------------------------------------------------------
    "tab": 'a.TabButton[href="#tab02"]',
    "panel": "div#tab02",
    "court": "select#tab02selectCourt",
    # Looked up inside the panel only: after a search DataTables adds a second search
    # input (#datatable_filter input, FACT) that must never be typed into.
    "input": "input#selectCourtNumber",
    "submit": "button#tab02Submit",
    "loading": "#loadingscreen",
    # --- the results (driving and reading) -------------------------------------------------
    "results": "table#datatable",  # FACT: bare (no thead/tbody) until the first search
    # Built by DataTables on the first search; it may render the header in its own table.
    "results_area": "#datatable_wrapper",
    "court_number_header": COURT_NUMBER,
    "parties_button": "button#more",  # yes: id "more" is Parties ...
    "more_button": "button#re",  # ... and id "re" is More (SITE.md)
    # --- the parties dialog (driving and reading) ------------------------------------------
    "dialog": "#dialog",
    "dialog_body": "#popup_body_desc",  # FACT: inside #dialog, filled by popup.js
    # The parties dialog is built by the portal's popup.js, whose markup was never captured
    # (FACT); what wraps #dialog is a GUESS: a jQuery-UI-like widget, a Bootstrap modal, or
    # nothing. Its container is the nearest of these around #dialog.
    "dialog_box": '.ui-dialog, .modal, [role="dialog"]',
    "close_controls": ['.ui-dialog-titlebar-close', '[data-dismiss="modal"]',
                       '[data-bs-dismiss="modal"]', "button.close"],
    "close_words": ["close", "fermer", "×", "x"],
    "backdrops": ".modal-backdrop, .ui-widget-overlay",
    "parties_endpoint": "PublicPartiesListInfo",
    # Asked from the page when its own request failed: name and parameter as SITE.md
    # gives them (FACT about the service, from another public client).
    "parties_query": "/CourtFilesAndDecisions/PublicPartiesListInfo?courtnumber=",
    # --- the details modal (driving and reading) -------------------------------------------
    "modal": "#ModalForm",
    "modal_title": "#ModalPrintArea .modal-header",
    "modal_close": '#ModalForm button.close[data-dismiss="modal"]',
    "field_paragraphs": ".modal-body p.text-left",  # header fields, inside the modal (reading)
    # The real docket follows a *template* table with one placeholder row; only the one
    # inside div.table-responsive, captioned, is data (reading; caption case-folded).
    "docket_table": "div.table-responsive > table",
    "docket_caption": "information about the court file",
    # --- around the page (driving) ---------------------------------------------------------
    # Other popups covering the page (FACT: #EfilingModal can pop up on load): closed.
    "popups": "#EfilingModal, .modal.show",
    # Consent overlays seen on government sites; the first present one is accepted.
    "consent_accept": ["#consent-accept", "button#onetrust-accept-btn-handler", "#wb-consent-accept"],
}


def within(outer: str, inner: str) -> str:
    """The selector of entry `inner` inside entry `outer` (neither a comma list):
    within("modal", "modal_title") -> "#ModalForm #ModalPrintArea .modal-header"."""
    return f"{SELECTORS[outer]} {SELECTORS[inner]}"

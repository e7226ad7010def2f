"""The demo court's page in a real headless Chromium: what the real page does (FACTS from
SITE.md, the captures, Bootstrap 4 and DataTables 1.10) and the switchable variants of what
is unknown (GUESSES), as a scraper meets them. One browser for the module; waits poll the
page with deadlines, they never sleep to synchronise.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from datetime import timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from casescraper.democourt import DemoCourt, Knobs, data

pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") and os.path.exists("/usr/bin/chromedriver")),
    reason="Chromium and chromedriver are required (apt-get install chromium chromium-driver)",
)

YEAR, LAST = 2025, 120
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run")
QUIET = {"efiling_popup": False, "background_noise": False}  # unless a test is about them
SHOWN = "(el => !!el && getComputedStyle(el).display !== 'none' && el.getClientRects().length > 0)"


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield d
    finally:
        d.quit()


@contextmanager
def loaded(driver, **knobs: Any) -> Iterator[DemoCourt]:
    with DemoCourt(year=YEAR, last_number=LAST, seed=0, knobs=Knobs(**{**QUIET, **knobs})) as court:
        driver.get(court.url)
        yield court
        driver.get("about:blank")  # the page's own requests end before the court stops


def js(driver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def until(driver, expression: str, what: str, seconds: float = 20) -> Any:
    return WebDriverWait(driver, seconds, poll_frequency=0.02).until(
        lambda d: d.execute_script("return " + expression), f"timed out waiting for {what}")


def search(driver, number: str, input_id: str = "selectCourtNumber",
           submit_id: str = "tab02Submit") -> None:
    js(driver, """
        document.querySelector('a.TabButton[href="#tab02"]').click();
        document.getElementById(arguments[0]).value = arguments[2];
        document.getElementById(arguments[1]).click();""", input_id, submit_id, number)
    until(driver, "document.getElementById('loadingscreen').style.display === 'none' && "
                  "!!document.querySelector('#datatable tbody tr')", "search results")


def texts(driver, selector: str) -> list[str]:
    return js(driver, "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim())",
              selector)


def poll(driver, expression: str, seconds: float) -> bool:
    """Whether `expression` became true within `seconds` (no exception when not)."""
    end = time.monotonic() + seconds
    while not js(driver, "return " + expression):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def close_modal(driver, button: str, modal: str) -> None:
    """Click `button` until `modal` is hidden: Bootstrap ignores a close during a fade."""
    hidden = f"!{SHOWN}(document.querySelector('{modal}'))"
    deadline = time.monotonic() + 20
    while not js(driver, "return " + hidden):
        assert time.monotonic() < deadline, f"{modal} did not close"
        js(driver, "document.querySelector(arguments[0]).click()", button)
        poll(driver, hidden, 0.2)


def number_with(pred) -> str:
    for n in range(1, LAST + 1):
        c = data.case(YEAR, n, LAST, 0)
        if c is not None and pred(c):
            return c.case_number
    raise AssertionError("no such case in the demo data")


# --- results table: bare, then DataTables 1.10 ---------------------------------------


def test_table_is_bare_until_the_first_search_then_datatables_builds_around_it(driver):
    with loaded(driver):
        assert js(driver, "return document.getElementById('datatable').outerHTML") == (
            '<table id="datatable" class="table wb-tables table-striped table-hover '
            'table-bordered" style="width:100%"></table>')
        assert not js(driver, "return document.getElementById('datatable_wrapper')")
        search(driver, "IMM-1-25")
        parts = js(driver, """return [...document.getElementById('datatable_wrapper').children]
            .map(e => e.id || e.className)""")
        assert parts == ["dt-buttons btn-group", "datatable_filter", "datatable",
                         "datatable_info", "datatable_paginate"]
        assert texts(driver, ".dt-buttons button") == ["Show 10", "Copy", "Excel", "PDF", "Print"]
        assert texts(driver, "#datatable thead th") == [
            "Court Number", "Style of Cause", "Nature of Proceeding", "Parties", "More"]
        assert texts(driver, "#datatable tbody td:first-child") == ["IMM-1-25"]
        assert js(driver, "return !!document.querySelector('#datatable tbody tr button#more') && "
                          "!!document.querySelector('#datatable tbody tr button#re')")
        assert texts(driver, "#datatable_info") == ["Showing 1 to 1 of 1 entries"]
        assert texts(driver, "#datatable_paginate li") == ["Previous", "1", "Next"]

        # The second search input filters the rows shown, client-side, as DataTables does.
        box = driver.find_element("css selector", "#datatable_filter input[type=search]")
        box.send_keys("no such words")
        until(driver, "document.querySelector('#datatable tbody td.dataTables_empty') !== null",
              "the filter to apply")
        assert texts(driver, "#datatable tbody td") == ["No matching records found"]
        assert texts(driver, "#datatable_info") == [
            "Showing 0 to 0 of 0 entries (filtered from 1 total entries)"]
        box.clear()
        box.send_keys(Keys.BACKSPACE)
        until(driver, "document.querySelector('#datatable tbody td.dataTables_empty') === null",
              "the filter to clear")

        search(driver, "IMM-99999-25")
        assert texts(driver, "#datatable tbody td") == ["No data available in table"]
        assert texts(driver, "#datatable_info") == ["Showing 0 to 0 of 0 entries"]


def test_datatables_pages_ten_rows_at_a_time(driver):
    with loaded(driver):
        js(driver, """
            const t = document.createElement('table'); t.id = 'scratch';
            document.body.appendChild(t);
            const rows = [...Array(23).keys()].map(i => ({n: 'row ' + (i + 1)}));
            window.scratch = new window.democourt.DataTable(t, r => {
                const tr = document.createElement('tr'); tr.innerHTML = '<td>' + r.n + '</td>';
                return tr; });
            window.scratch.setData(rows);""")
        info = "return window.scratch.info.textContent"
        assert js(driver, info) == "Showing 1 to 10 of 23 entries"
        pages = "return [...window.scratch.paginate.querySelectorAll('li')].map(li => li.textContent)"
        assert js(driver, pages) == ["Previous", "1", "2", "3", "Next"]
        for expected in ("Showing 11 to 20 of 23 entries", "Showing 21 to 23 of 23 entries"):
            js(driver, "window.scratch.paginate.querySelector('#datatable_next a').click()")
            assert js(driver, info) == expected
        assert js(driver, "return window.scratch.paginate.querySelector('#datatable_next')"
                          ".classList.contains('disabled')")


# --- Bootstrap modals: fades, ignored calls, the e-filing popup ------------------------


TIMELINE = """
    const m = document.querySelector(arguments[0]), tl = window.tl = [];
    const note = what => tl.push([what, performance.now()]);
    new MutationObserver(records => records.forEach(r => {
        r.addedNodes.forEach(n => n.classList && n.classList.contains('modal-backdrop') && note('backdrop+'));
        r.removedNodes.forEach(n => n.classList && n.classList.contains('modal-backdrop') && note('backdrop-'));
    })).observe(document.body, {childList: true});
    new MutationObserver(records => records.forEach(r => {
        if (r.attributeName === 'style') { note('display:' + m.style.display); return; }
        note(m.classList.contains('show') ? 'show+' : 'show-');
        if (m.classList.contains('show') && window.closeEarly) {  // right in the fade-in
            window.closeEarly = false;
            m.querySelector('button.close').click();
        }
    })).observe(m, {attributes: true, attributeFilter: ['class', 'style']});
"""


def test_details_modal_fades_in_and_out_like_bootstrap(driver):
    with loaded(driver, fade_ms=300):
        search(driver, "IMM-1-25")
        js(driver, TIMELINE + "window.closeEarly = true;", "#ModalForm")
        js(driver, "document.querySelector('#datatable tbody button#re').click()")
        until(driver, "document.activeElement === document.getElementById('ModalForm')",
              "the fade-in to end (Bootstrap then focuses the modal)")
        # The close clicked right when "show" arrived was ignored: a transition was running.
        assert js(driver, "return document.getElementById('ModalForm').className") == "modal fade right show"
        js(driver, "document.querySelector('#ModalForm button.close').click()")
        until(driver, "document.querySelectorAll('.modal-backdrop').length === 0", "the fade-out")
        timeline = js(driver, "return window.tl")
        names = [name for name, _ in timeline]
        assert names == ["backdrop+", "display:block", "show+", "show-", "display:none", "backdrop-"]
        at = {name: t for name, t in timeline}
        assert at["display:block"] - at["backdrop+"] >= 150 * 0.9  # the backdrop's fade first
        assert at["display:none"] - at["show-"] >= 300 * 0.9  # hidden only after the fade-out
        assert at["backdrop-"] - at["display:none"] >= 150 * 0.9
        assert not js(driver, "return document.body.classList.contains('modal-open')")


def test_show_and_hide_during_a_transition_are_ignored(driver):
    make = """
        const el = document.createElement('div'); el.className = 'modal fade'; el.tabIndex = -1;
        el.innerHTML = '<div class="modal-dialog"></div>'; document.body.appendChild(el);
        window.scratch = new window.democourt.Modal(el); window.scratchEl = el;"""
    with loaded(driver, fade_ms=300):
        js(driver, make + "window.scratch.show(); window.scratch.hide();")
        until(driver, "document.activeElement === window.scratchEl", "the fade-in to end")
        assert js(driver, "return window.scratch.isShown && window.scratchEl.classList.contains('show')")
        js(driver, "window.scratch.hide(); window.scratch.show();")
        until(driver, "window.scratchEl.style.display === 'none' && "
                      "!document.querySelector('.modal-backdrop')", "the fade-out to end")
        assert not js(driver, "return window.scratch.isShown")
    with loaded(driver, fade_ms=0):  # no fade: everything at once
        assert js(driver, make + """window.scratch.show();
            const open = window.scratchEl.classList.contains('show'); window.scratch.hide();
            return [open, window.scratchEl.style.display, document.querySelectorAll('.modal-backdrop').length]""") == [
            True, "none", 0]


def test_sticky_modal_still_sticks_with_fades_on(driver):
    with loaded(driver, sticky_modal_on={"IMM-1-25"}):
        search(driver, "IMM-1-25")
        js(driver, "document.querySelector('#datatable tbody button#re').click()")
        until(driver, "document.activeElement === document.getElementById('ModalForm')", "the modal")
        # An accepted hide() drops "show" at once; the sticky modal keeps it.
        assert js(driver, """document.querySelector('#ModalForm button.close').click();
            return document.getElementById('ModalForm').className""") == "modal fade right show"


def test_efiling_popup_pops_up_after_load_and_closes_with_its_own_buttons(driver):
    for button in ('#EfilingModal button.close[data-dismiss="modal"]',
                   '#EfilingModal .modal-footer button[data-dismiss="modal"]'):
        with loaded(driver, efiling_popup=True, efiling_delay_ms=300):
            until(driver, "document.getElementById('EfilingModal').classList.contains('show')",
                  "the e-filing popup")
            assert js(driver, "return document.querySelectorAll('.modal-backdrop.show').length") == 1
            assert js(driver, "return document.body.classList.contains('modal-open')")
            close_modal(driver, button, "#EfilingModal")
            until(driver, "!document.querySelector('.modal-backdrop')", "the backdrop to go")
            assert js(driver, "return document.getElementById('EfilingModal').getAttribute('aria-hidden')") == "true"


# --- dates: the browser's time zone, like moment(date).format("YYYY-MM-DD") -----------


def test_dates_are_shown_in_the_browser_time_zone(driver):
    def differs(c: data.Case) -> bool:  # Tokyo shows another filing date; UTC another docket date
        return (c.filed_at.astimezone(ZoneInfo("Asia/Tokyo")).date() != c.filed
                and any(e.filed_at.astimezone(timezone.utc).date() != e.filed for e in c.entries))

    number = number_with(differs)
    c = data.case(YEAR, int(number.split("-")[1]), LAST, 0)
    for zone in ("America/Toronto", "Asia/Tokyo", "UTC"):
        tz = ZoneInfo(zone)
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})
        try:
            with loaded(driver, fade_ms=0):
                search(driver, number)
                js(driver, "document.querySelector('#datatable tbody button#re').click()")
                until(driver, "document.getElementById('ModalForm').classList.contains('show')",
                      "the details modal")
                header = js(driver, "return document.querySelector('#ModalForm .modal-body').innerText")
                dates = texts(driver, "#ModalForm .table-responsive tbody td:nth-child(2)")
        finally:
            driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})
        assert f"Filing Date : \xa0{c.filed_at.astimezone(tz).date().isoformat()}" in header, zone
        assert dates == [e.filed_at.astimezone(tz).date().isoformat() for e in reversed(c.entries)]
    assert data.to_record(c)["filing_date"] == c.filed_at.astimezone(ZoneInfo("America/Toronto")).date().isoformat()


# --- the parties dialog: one shape per parties_ui ------------------------------------


def open_parties(driver) -> None:
    js(driver, "document.querySelector('#datatable tbody button#more').click()")
    until(driver, f"{SHOWN}(document.getElementById('dialog'))", "the parties dialog")


def dialog_hidden(driver) -> bool:
    return js(driver, f"return !{SHOWN}(document.getElementById('dialog'))")


@pytest.mark.parametrize("shape", ["popup", "jqueryui", "bootstrap", "escape"])
def test_parties_dialog_shapes(driver, shape):
    c = data.case(YEAR, 1, LAST, 0)
    with loaded(driver, parties_ui=shape):
        search(driver, "IMM-1-25")
        for _ in range(2):  # it opens again after each close
            open_parties(driver)
            assert texts(driver, "#dialog > #popup_body_desc th") == [
                "Name", "Solicitor Firm", "Solicitor Contact"]
            assert js(driver, """return [...document.querySelectorAll('#popup_body_desc tbody tr')]
                .map(tr => [...tr.cells].map(td => td.textContent))""") == [
                [p["PARTY_NAME"], p["SOLCTR_FIRM"] or "", p["SOLCTR_CONTACT"] or ""]
                for p in data.party_rows(c)]
            if shape == "popup":
                assert js(driver, "return document.getElementById('dialog').parentNode === document.body")
                js(driver, "document.querySelector('#dialog > .popup_header > button.popup-close').click()")
            elif shape == "jqueryui":
                assert js(driver, "return document.getElementById('dialog').parentNode.className").startswith(
                    "ui-dialog ")
                js(driver, "document.querySelector('.ui-dialog .ui-dialog-titlebar-close').click()")
            elif shape == "bootstrap":
                assert js(driver, "return document.getElementById('dialog').closest('.modal').id") == "partiesModal"
                assert js(driver, "return document.querySelectorAll('.modal-backdrop.show').length") == 1
                close_modal(driver, '#partiesModal button.close[data-dismiss="modal"]', "#partiesModal")
            else:
                assert js(driver, "return document.querySelectorAll('#dialog button').length") == 0
                ActionChains(driver).send_keys(Keys.ESCAPE).perform()
                until(driver, f"!{SHOWN}(document.getElementById('dialog'))", "Escape to close it")
                open_parties(driver)
                js(driver, "document.querySelector('h1').click()")  # a click outside it
            until(driver, f"!{SHOWN}(document.getElementById('dialog'))", "the dialog to close")
            if shape == "bootstrap":
                until(driver, "!document.querySelector('.modal-backdrop')", "the backdrop to go")


# --- related files (a GUESS: shown below the docket) ----------------------------------


def test_related_files_are_shown_below_the_docket(driver):
    number = number_with(lambda c: bool(c.related))
    c = data.case(YEAR, int(number.split("-")[1]), LAST, 0)
    with loaded(driver, fade_ms=0):
        search(driver, number)
        js(driver, "document.querySelector('#datatable tbody button#re').click()")
        until(driver, "document.getElementById('ModalForm').classList.contains('show')", "the modal")
        assert js(driver, """return [...document.querySelectorAll('#ModalForm .related-files tbody tr')]
            .map(tr => [...tr.cells].map(td => td.textContent))""") == [list(r) for r in c.related]
        close_modal(driver, "#ModalForm button.close", "#ModalForm")
        search(driver, "IMM-1-25")  # none related: no section at all
        js(driver, "document.querySelector('#datatable tbody button#re').click()")
        until(driver, "document.getElementById('modalTitle').textContent.includes('IMM-1-25') && "
                      "document.getElementById('ModalForm').classList.contains('show')", "the modal")
        assert not js(driver, "return document.querySelector('#ModalForm .related-files')")


# --- background traffic -----------------------------------------------------------------


def test_background_noise_reaches_every_kind_of_target_and_is_not_left_hanging(driver):
    with DemoCourt(year=YEAR, last_number=LAST, seed=0, knobs=Knobs(efiling_popup=False)) as court:
        driver.get(court.url)
        wanted = {("127.0.0.1", p) for p in ("/g/collect", "/gtm.js", "/j/collect", "/gtag/js")}
        wanted |= {("localhost", p) for p in ("/g/collect", "/gtag/js", "/CourtFilesAndDecisions/beacon")}
        deadline = time.monotonic() + 60
        while not wanted <= set(court.noise_hits):
            assert time.monotonic() < deadline, f"never seen: {wanted - set(court.noise_hits)}"
            time.sleep(0.1)
        deadline = time.monotonic() + 60
        while not court.held:  # some are never answered ...
            assert time.monotonic() < deadline, "no background request was ever held"
            time.sleep(0.05)
        assert court.query_count == 0  # ... and none is a search
        driver.get("about:blank")  # ... until the page goes away
        deadline = time.monotonic() + 30
        while court.held:
            assert time.monotonic() < deadline, "held requests outlived the page"
            time.sleep(0.05)


# --- layout v2 still renames the ids ---------------------------------------------------


def test_layout_v2_renames_the_ids_and_the_page_still_works(driver):
    with loaded(driver, layout="v2"):
        assert js(driver, "return [!!document.getElementById('selectCourtNumber'), "
                          "!!document.getElementById('courtNumber')]") == [False, True]
        search(driver, "IMM-1-25", input_id="courtNumber", submit_id="tab02SubmitCourtNumber")
        assert texts(driver, "#datatable tbody td:first-child") == ["IMM-1-25"]

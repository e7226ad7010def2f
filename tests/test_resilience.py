"""Browser resilience end to end: real Chromium, demo court fault knobs, real kills."""

from __future__ import annotations

import contextlib
import json
import os
import signal

import psutil

from .e2e import (
    expected, final_statuses, ledger_lines, needs_browser, our_processes, run_crawl,
    saved_files, start_crawl, strip_run_fields, wait_for_lines,
)

pytestmark = needs_browser
LAST = 60
DEMO = {"site": "demo", "year": 2025, "demo_last_number": LAST}


def _ok(result) -> dict:
    assert result["returncode"] == 0, result["log"][-3000:]
    return result["stats"]


def test_forbid_after_stops_blocked_and_leaves_the_case(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 20, "demo_forbid_after": 5})
    out = tmp_path / "output"
    assert result["reason"] == "blocked"
    statuses = final_statuses(out)
    # Five queries answered; the sixth was refused and is not done; nothing after it ran.
    assert [line["case_number"] for line in ledger_lines(out)] == [f"IMM-{n}-25" for n in range(1, 7)]
    assert statuses["IMM-6-25"] == "blocked"
    assert "HTTP 403" in ledger_lines(out)[-1]["error"]
    assert "IMM-6-25" not in saved_files(out)


def test_layout_change_stops_and_names_the_element(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 5, "demo_layout": "v2"},
                       {"CASESCRAPER_RUN_ID": "layout"})
    out = tmp_path / "output"
    assert result["reason"] == "layout_changed"
    assert "required element input#selectCourtNumber is missing" in result["log"]
    assert not (out / "json").exists()  # nothing written for that case, or any other
    line = ledger_lines(out)[-1]
    assert line["case_number"] == "IMM-1-25" and line["status"] == "driver_error"
    diag = out / line["diagnostics"]
    assert diag.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert "tab02SubmitCourtNumber" in diag.with_suffix(".html").read_text()


def test_consent_banner_is_dismissed(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 5, "demo_consent_banner": 1})
    assert result["reason"] == "finished"
    assert set(saved_files(tmp_path / "output")) == set(expected(2025, LAST, range(1, 6)))


def test_sticky_modal_recovers_by_reload(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 8, "demo_sticky_modal_on": "IMM-3-25"})
    stats = _ok(result)
    files = saved_files(tmp_path / "output")
    want = expected(2025, LAST, range(1, 9))
    assert set(files) == set(want)
    assert all(strip_run_fields(files[c]) == want[c] for c in want)
    assert stats["casescraper/page/loads"] == 2  # one reload, right after the sticky case
    assert stats["casescraper/driver/starts"] == 1


def test_slow_modal_is_waited_for(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 4, "demo_slow_modal_on": "IMM-2-25",
                                  "demo_slow_modal_ms": 1500})
    _ok(result)
    assert "IMM-2-25" in saved_files(tmp_path / "output")


def test_hung_page_becomes_a_fresh_browser(tmp_path):
    result = run_crawl(
        tmp_path, {**DEMO, "max_cases": 6, "demo_hang_on": "IMM-4-25"},
        # The command timeout is far longer: the error below says it was the middleware's
        # watchdog, at the script timeout, that killed the browser, not Selenium's timeout.
        {"CASESCRAPER_SCRIPT_TIMEOUT": 4, "CASESCRAPER_COMMAND_TIMEOUT": 45,
         "CASESCRAPER_MAX_DRIVER_RESTARTS": 3, "CASESCRAPER_CASE_RETRIES": 1},
    )
    stats = _ok(result)
    assert result["reason"] == "finished"
    statuses = final_statuses(tmp_path / "output")
    assert statuses["IMM-4-25"] == "driver_error"
    hung = [l for l in ledger_lines(tmp_path / "output") if l["case_number"] == "IMM-4-25"]
    assert "did not answer in 4 s; its browser was killed" in hung[-1]["error"]
    assert all(statuses[f"IMM-{n}-25"] in ("saved", "no_results") for n in (1, 2, 3, 5, 6))
    assert stats["casescraper/driver/restarts"] == 2  # the hung case tried twice


def test_hung_page_with_default_restarts_stops_for_resume(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 6, "demo_hang_on": "IMM-2-25"},
                       {"CASESCRAPER_SCRIPT_TIMEOUT": 3, "CASESCRAPER_COMMAND_TIMEOUT": 6})
    assert result["reason"] == "driver_restarts_exhausted"
    statuses = final_statuses(tmp_path / "output")
    assert statuses["IMM-2-25"] == "driver_error"  # left for the next run
    assert "IMM-3-25" not in statuses


def test_error_rate_leaves_no_number_unaccounted(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 30, "demo_error_rate": 0.2})
    stats = _ok(result)
    statuses = final_statuses(tmp_path / "output")
    assert set(statuses) == {f"IMM-{n}-25" for n in range(1, 31)}
    assert set(statuses.values()) <= {"saved", "no_results", "driver_error"}
    assert stats.get("casescraper/page/stuck", 0) > 0  # errors did happen and were retried
    files = saved_files(tmp_path / "output")
    want = expected(2025, LAST, range(1, 31))
    assert all(strip_run_fields(files[c]) == want[c] for c in files)
    # A 500 shows as "No data" in the page: it must never be recorded as no_results.
    assert {c for c, s in statuses.items() if s == "no_results"} <= {
        f"IMM-{n}-25" for n in range(1, 31)} - set(want)


def test_recycling_every_10_cases(tmp_path):
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 50}, {"CASESCRAPER_RECYCLE_AFTER": 10})
    stats = _ok(result)
    assert stats["casescraper/driver/starts"] in (5, 6)
    assert stats.get("casescraper/driver/restarts", 0) == 0
    assert len(final_statuses(tmp_path / "output")) == 50


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.NoSuchProcess:  # ended between listing and reading: not a victim
        return []


def _kill_mid_crawl(tmp_path, pick, run_id):
    proc, report = start_crawl(tmp_path, {**DEMO, "max_cases": 40, "demo_latency_ms": 40},
                               {"CASESCRAPER_RUN_ID": run_id})
    out = tmp_path / "output"
    wait_for_lines(out, 15, proc)
    for victim in pick(psutil.Process(proc.pid)):
        # Chromium ends spare renderers by itself: one may be gone between listing and kill.
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()
    assert proc.wait(timeout=180) == 0
    result = json.loads(report.read_text())
    statuses = final_statuses(out)
    lines = ledger_lines(out)
    assert len(lines) == 40 and len(statuses) == 40  # exactly one final outcome per number
    assert set(statuses.values()) <= {"saved", "no_results"}
    assert result["stats"]["casescraper/driver/restarts"] == 1
    assert result["stats"]["casescraper/driver/starts"] == 2
    want = expected(2025, LAST, range(1, 41))
    assert set(saved_files(out)) == set(want)
    assert our_processes(run_id) == []
    return result


def test_chromedriver_killed_mid_crawl(tmp_path):
    def chromedriver(crawl):
        return [p for p in crawl.children(recursive=True) if p.name() == "chromedriver"]

    _kill_mid_crawl(tmp_path, chromedriver, "kill-driver")


def test_renderer_killed_mid_crawl(tmp_path):
    def renderers(crawl):
        # Chromium keeps a spare renderer besides the page's: kill them all.
        return [p for p in crawl.children(recursive=True) if "--type=renderer" in _cmdline(p)]

    _kill_mid_crawl(tmp_path, renderers, "kill-renderer")


def test_no_orphans_after_normal_end(tmp_path):
    run_crawl(tmp_path, {**DEMO, "max_cases": 3}, {"CASESCRAPER_RUN_ID": "normal-end"})
    assert our_processes("normal-end") == []
    assert not (tmp_path / "casescraper" / "normal-end").exists()


def test_sigterm_mid_crawl_is_graceful(tmp_path):
    proc, report = start_crawl(tmp_path, {**DEMO, "max_cases": 200, "demo_latency_ms": 40},
                               {"CASESCRAPER_RUN_ID": "sigterm"})
    out = tmp_path / "output"
    wait_for_lines(out, 5, proc)
    assert our_processes("sigterm")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert json.loads(report.read_text())["reason"] == "shutdown"
    assert our_processes("sigterm") == []
    lines = ledger_lines(out)
    files = saved_files(out)
    assert {l["case_number"] for l in lines if l["status"] == "saved"} == set(files)
    assert not list(out.rglob(".*.tmp"))


def test_kill_9_leftovers_are_removed_by_the_next_start(tmp_path):
    proc, _ = start_crawl(tmp_path, {**DEMO, "max_cases": 200, "demo_latency_ms": 40},
                          {"CASESCRAPER_RUN_ID": "killed"})
    wait_for_lines(tmp_path / "output", 3, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert our_processes("killed"), "chromedriver and Chromium outlive a kill -9"
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 2}, {"CASESCRAPER_RUN_ID": "next"})
    assert result["stats"]["casescraper/driver/orphans_killed"] >= 1
    assert our_processes("killed") == []


def test_recycling_by_memory(tmp_path):
    # 1 MiB is always exceeded: the browser is replaced at each memory check (every 25 cases).
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 30},
                       {"CASESCRAPER_RECYCLE_AFTER": 0, "CASESCRAPER_RECYCLE_MEMORY_MB": 1})
    stats = _ok(result)
    assert stats["casescraper/driver/recycles"] == 1 and stats["casescraper/driver/starts"] == 2
    assert stats["casescraper/driver/max_pss_mb"] > 50
    assert len(final_statuses(tmp_path / "output")) == 30


def test_a_browser_that_cannot_start_stops_the_crawl(tmp_path):
    # /bin/false exists and is executable, so only starting a session reveals the problem.
    result = run_crawl(tmp_path, {**DEMO, "max_cases": 20},
                       {"SELENIUM_BROWSER_EXECUTABLE_PATH": "/bin/false"})
    assert result["reason"] == "driver_restarts_exhausted", result["log"][-2000:]
    lines = ledger_lines(tmp_path / "output")
    assert [(l["case_number"], l["status"]) for l in lines] == [("IMM-1-25", "driver_error")]
    assert "the browser did not start" in lines[0]["error"]

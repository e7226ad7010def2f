"""The results as Markdown (printed and saved next to the JSON)."""

from __future__ import annotations

from typing import Any, Optional

from .stats import ratio

RUNS = (  # key, label, per-case sample
    ("casescraper", "1. casescraper (scrapy crawl, pipeline on)", "cases"),
    ("new_browser_per_case", "2. new browser per case", "slow"),
    ("reload_per_case", "3. reload per case (scrapy-selenium habit)", "slow"),
    ("floor", "4. floor: one script per case, with parties", "cases"),
    ("floor_no_parties", "4b. floor without parties", "cases"),
    ("floor_devtools", "4c. floor with parties, one DevTools call per case", "cases"),
    ("peer_tuned", "5. scrapy-playwright, tuned (one page reused)", "cases"),
    ("peer_idiomatic", "6. scrapy-playwright, idiomatic (a page per case)", "cases"),
)


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ok(value: Optional[float], target: float, at_most: bool) -> str:
    if value is None:
        return "-"
    return "yes" if (value <= target if at_most else value >= target) else "**no**"


def _memory_at(samples: Any, mark: int) -> Optional[float]:
    if isinstance(samples, dict):  # the floor: {"100": MiB}
        return samples.get(str(mark))
    for s in samples or []:
        if s["mark"] == mark:
            return s["pss_mb"]
    return None


def _page(p: Optional[dict[str, Any]]) -> str:
    if not p:
        return "Page: light demo page (run recorded before the page was noted)."
    text = (f"Page: **{p['kind']}**, {p['files']} files, {p['bytes'] / 1e6:.2f} MB per load with "
            "an empty cache")
    if p.get("vendor_files"):
        text += (f" ({p['vendor_files']} of the real page's vendor assets, "
                 f"{p['vendor_bytes'] / 1e6:.2f} MB, from `{p['vendor_dir']}`; cacheable)")
    return text + "."


def markdown(r: dict[str, Any]) -> str:
    m, runs = r["machine"], r["runs"]
    lines = [
        f"# casescraper benchmark {r['stamp']}", "",
        f"`{r['command']}`", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; {m['chromium']} headless; "
        f"Python {m['python']}, Scrapy {m['scrapy']}, Selenium {m['selenium']}. "
        f"Load average (1 min) before {r['load_before'][0]}, after {r.get('load_after', ['-'])[0]}."
        + ("" if r.get("complete", True) else " **Incomplete run** (interrupted or failed)."), "",
        _page(r.get("page")), "",
        "## Per case", "",
        "| run | cases | cases/s | median ms | p90 ms | mean ms |", "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label, sample in RUNS:
        x = runs.get(key)
        if not x:
            continue
        n = f"{x['n']}" + (" (sample)" if sample == "slow" else "") + ("" if x.get("valid", True) else " **invalid**")
        lines.append(f"| {label} | {n} | {_f(x['cases_per_s'], 2)} | {_f(x['median_ms'])} | "
                     f"{_f(x['p90_ms'])} | {_f(x['mean_ms'])} |")
    c = runs["casescraper"]
    lines += ["", f"casescraper: {c['completed']} cases, {c['found']} found, "
              f"{c.get('canary_searches', '?')} canary re-searches, close reason "
              f"`{c['reason']}`, first query {c['startup_s']} s after the process started, "
              f"process wall {c['process_wall_s']} s. Its per-case time runs from one case's query start "
              "to the next case's (a canary re-search in between counts toward the case); runs 2-4 "
              "time each case alone.", ""]

    lines += ["## Ratios", "", "| ratio | by median | by mean | target | holds (median / mean) |",
              "|---|---:|---:|---|---|"]
    for label, a, b, target, at_most in (
        ("1 / 4 casescraper / floor with parties (the fair one)", "casescraper", "floor", 2, True),
        ("1 / 4b casescraper / floor without parties", "casescraper", "floor_no_parties", None, True),
        ("1 / 4c casescraper / floor over DevTools (casescraper's transport)", "casescraper",
         "floor_devtools", None, True),
        ("2 / 1 new browser per case / casescraper", "new_browser_per_case", "casescraper", 30, False),
        ("3 / 1 reload per case / casescraper", "reload_per_case", "casescraper", 10, False),
    ):
        if a not in runs or b not in runs:
            continue
        med = ratio(runs[a]["median_ms"], runs[b]["median_ms"])
        mean = ratio(runs[a]["mean_ms"], runs[b]["mean_ms"])
        goal = "-" if target is None else (f"<= {target}x" if at_most else f">= {target}x")
        holds = "-" if target is None else f"{_ok(med, target, at_most)} / {_ok(mean, target, at_most)}"
        lines.append(f"| {label} | {_f(med, 2)} | {_f(mean, 2)} | {goal} | {holds} |")

    lines += peers(r)
    p = r.get("pipeline_writes")
    if p:
        share = ratio(p["mean_ms"], c["mean_ms"])
        share_pct = None if share is None else round(100 * share, 1)
        lines += ["", "## Pipeline writes (fsync on)", "",
                  f"{p['writes_per_s']} writes/s ({p['mean_ms']} ms per saved case: file publish + ledger "
                  f"line) = **{_f(share_pct)} %** of casescraper's mean per-case time "
                  f"(target <= 5 %: {_ok(share_pct, 5, True)}). In the crawl the write runs on a "
                  f"thread beside the next search: response to item done median "
                  f"{c['response_to_item_done']['median_ms']} ms; items finished after the next "
                  f"query had started: {c['items_done_after_next_query_started']}."]

    lines += ["", "## Memory: PSS of chromedriver + Chromium (MiB)", "",
              "| run | after 100 | after N | N |", "|---|---:|---:|---:|"]
    n = r["cases"]
    lines.append(f"| casescraper | {_f(_memory_at(c['memory'], 100))} | {_f(_memory_at(c['memory'], n))} | {n} |")
    if "floor" in runs:
        fm = runs["floor"].get("memory")
        lines.append(f"| floor | {_f(_memory_at(fm, 100))} | {_f(_memory_at(fm, n))} | {n} |")
    long = r.get("long")
    if long and "cases" in long:
        big = long["cases"]
        lines += ["", f"Long run, {big} cases (recycling on = {long['recycling_on_settings']}). "
                  "\"after N\" is the last sample; with recycling on it may fall just after a recycle, "
                  "so the target uses the largest PSS seen (our samples every 250 cases, or the "
                  "middleware's own check every 25, stat max_pss_mb):", "",
                  f"| run | after 100 | after {big} | max sampled | middleware max | largest / after 100 "
                  "| cases/s | median ms | target |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for key in ("recycling_off", "recycling_on", "floor"):
            x = long.get(key)
            if not x:
                continue
            mem = x["memory"]
            a, b = _memory_at(mem, 100), _memory_at(mem, big)
            values = list(mem.values()) if isinstance(mem, dict) else [s["pss_mb"] for s in mem]
            top = max((v for v in values if v), default=None)
            own = x.get("stats", {}).get("casescraper/driver/max_pss_mb")
            growth = ratio(max(v for v in (top, own, b) if v is not None), a) if a else None
            target = f"<= 1.2: {_ok(growth, 1.2, True)}" if key == "recycling_on" else "-"
            lines.append(f"| {key} | {_f(a)} | {_f(b)} | {_f(top)} | {_f(own)} | {_f(growth, 2)} | "
                         f"{_f(x['cases_per_s'], 2)} | {_f(x['median_ms'])} | {target} |")
        for key in ("recycling_off", "recycling_on"):
            x = long.get(key)
            if x:
                curve = ", ".join(f"{s['mark']}: {_f(s['pss_mb'], 0)}" for s in x["memory"])
                lines.append(f"\n{key} curve (searches: MiB): {curve}; "
                             f"{x['stats'].get('casescraper/driver/recycles', 0)} recycles, "
                             f"max stall {x['max_stall_ms']} ms")

    lines += ["", "## Reactor", "",
              f"Worst stall of a 20 ms heartbeat during run 1: **{c['max_stall_ms']} ms**.", "",
              "WebDriver commands per search in run 1 (HTTP round trips to chromedriver): "
              + ", ".join(f"{k} {v}" for k, v in c.get("webdriver_commands_per_search",
                                                       c.get("webdriver_commands_per_case", {})).items()) + "."]

    d = r.get("diagnosis")
    if d:
        lines += ["", "## Where casescraper's time goes", "",
                  "| measured | median ms | mean ms | p90 ms |", "|---|---:|---:|---:|",
                  f"| run 1 as measured (query to next query) | {_f(c['median_ms'])} | {_f(c['mean_ms'])} | "
                  f"{_f(c['p90_ms'])} |",
                  f"| run 1, query start to response (browser thread + hand-offs) | "
                  f"{_f(c['query_to_response']['median_ms'])} | {_f(c['query_to_response']['mean_ms'])} | "
                  f"{_f(c['query_to_response']['p90_ms'])} |"]
        for name in diagnose_variants(d):
            x = d[name]
            what = "floor script (interleaved with the above)" if name == "floor" else f"CASE_SCRIPT, {name}"
            lines.append(f"| page object alone, {what} | {_f(x['median_ms'])} | "
                         f"{_f(x['mean_ms'])} | {_f(x['p90_ms'])} |")
        f = runs.get("floor")
        if f:
            lines.append(f"| floor with parties (run 4) | {_f(f['median_ms'])} | {_f(f['mean_ms'])} | "
                         f"{_f(f['p90_ms'])} |")
        variants = d.get("crawl_variants", {})
        if variants:
            fl = runs.get("floor", {}).get("median_ms")
            lines += ["", "Run 1 again, variants interleaved (best of the rounds by median; query to next query):",
                      "", "| crawl | median ms | mean ms | p90 ms | each round's median | median / floor |",
                      "|---|---:|---:|---:|---|---:|"]
            for name, x in variants.items():
                rounds = ", ".join(_f(v) for v in x.get("round_medians_ms", []))
                lines.append(f"| {name} | {_f(x['median_ms'])} | {_f(x['mean_ms'])} | {_f(x['p90_ms'])} | "
                             f"{rounds} | {_f(ratio(x['median_ms'], fl), 2)} |")
            seg = c.get("segments")
            if seg:
                lines += ["", "One case's critical path in the crawl (as shipped, medians and means):", "",
                          "| segment | median ms | mean ms |", "|---|---:|---:|"]
                for name, v in seg.items():
                    lines.append(f"| {name} | {_f(v['median_ms'])} | {_f(v['mean_ms'])} |")
        if d.get("skipped_variants"):
            lines += ["", "Edits that no longer apply to page_scripts.py (skipped): " + ", ".join(d["skipped_variants"])]
        if d.get("crawl_variants_skipped"):
            lines += ["", "Crawl variants skipped (their edit no longer applies): "
                      + ", ".join(d["crawl_variants_skipped"])]
        lines += ["", f"Parsing a capture: {d['parse_ms']} ms. Scrapy's per-response check of the "
                  f"callback's source (WARN_ON_GENERATOR_RETURN_VALUE): {d['generator_check_ms']} ms. One memory check (Browser.memory_mb, "
                  f"every 25 cases, on its own thread beside the next case): {d['memory_check_ms']} ms. Crawl under "
                  f"cProfile: {d['profiled_crawl_per_case_ms']} ms per case (median).", "",
                  "Reactor thread, top functions by own time (cProfile, per case):", "",
                  "| function | calls | own ms | cum ms |", "|---|---:|---:|---:|"]
        for row in d["reactor_top_functions"][:10]:
            lines.append(f"| `{row['function']}` | {row['calls_per_case']} | {row['own_ms_per_case']} | "
                         f"{row['cum_ms_per_case']} |")
    return "\n".join(lines) + "\n"


def _median(xs: list[float]) -> Optional[float]:
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return round(xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2, 2)


def peers(r: dict[str, Any]) -> list[str]:
    """casescraper against scrapy-playwright, round by round; where the tuned peer's time goes."""
    rounds = r.get("rounds") or []
    lines = ["", "## casescraper and scrapy-playwright, interleaved rounds", ""]
    if r.get("peers_skipped"):
        lines += [f"Runs 5 and 6 skipped: {r['peers_skipped']}.", ""]
    if not rounds:
        return lines
    lines += ["Steady cases/s: from the first case's start (browser and page set up) to the last "
              "case's end; with start-up: every case over the process's wall time. CPU: the whole "
              "process tree (crawl, driver, browser) from the first search to the last, per case. "
              "PSS at the last search. A peer with a record different from the court's dump is "
              "invalid and not timed.", "",
              "| round | run | valid | cases/s steady | with start-up | median ms | CPU ms/case | "
              "driver PSS MiB | browser PSS MiB |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    names = {"casescraper": "1. casescraper", "tuned": "5. tuned", "idiomatic": "6. idiomatic"}
    for i, one in enumerate(rounds, 1):
        for key, x in one.items():
            pss = x.get("pss_at_last_mb") or {}
            lines.append(f"| {i} | {names[key]} | {'yes' if x.get('valid', True) else '**no**'} | "
                         f"{_f(x['cases_per_s'], 2)} | {_f(x.get('cases_per_s_with_startup'), 2)} | "
                         f"{_f(x['median_ms'])} | {_f(x.get('cpu_ms_per_case'))} | {_f(pss.get('driver'))} | "
                         f"{_f(pss.get('browser'))} |")
    if not any(len(one) > 1 for one in rounds):
        return lines + hosts(r)
    lines += ["", "| round | casescraper / tuned, cases/s | casescraper / idiomatic, cases/s | "
              "casescraper CPU / tuned CPU | casescraper CPU / idiomatic CPU |", "|---|---:|---:|---:|---:|"]
    speed: dict[str, list] = {"tuned": [], "idiomatic": []}
    cpu: dict[str, list] = {"tuned": [], "idiomatic": []}
    for i, one in enumerate(rounds, 1):
        c = one["casescraper"]
        for style in speed:
            x = one.get(style)
            ok = x is not None and x.get("valid")
            speed[style].append(ratio(c["cases_per_s"], x["cases_per_s"]) if ok else None)
            cpu[style].append(ratio(c.get("cpu_ms_per_case"), x.get("cpu_ms_per_case")) if ok else None)
        lines.append(f"| {i} | {_f(speed['tuned'][-1], 2)} | {_f(speed['idiomatic'][-1], 2)} | "
                     f"{_f(cpu['tuned'][-1], 2)} | {_f(cpu['idiomatic'][-1], 2)} |")
    s_t, c_t = _median(speed["tuned"]), _median(cpu["tuned"])
    lines.append(f"| **median** | **{_f(s_t, 2)}** | {_f(_median(speed['idiomatic']), 2)} | **{_f(c_t, 2)}** | "
                 f"{_f(_median(cpu['idiomatic']), 2)} |")
    lines += ["", f"Targets: casescraper / tuned >= 5x in steady cases/s: {_ok(s_t, 5, False)}; "
              f"casescraper's CPU per case <= 1/4 of the tuned peer's: {_ok(c_t, 0.25, True)}."]
    tuned = next((one["tuned"] for one in rounds if one.get("tuned", {}).get("steps")), None)
    if tuned:
        c = rounds[0]["casescraper"]
        call = c.get("segments", {}).get("in-page script (one DevTools Runtime.evaluate)", {})
        lines += ["", "Where the tuned peer's time goes (one Playwright call or more per step, each a "
                  "round trip to the node driver and on to the browser; found cases only past "
                  "\"find the row\"), next to casescraper's one in-page call per case:", "",
                  "| step | median ms | mean ms |", "|---|---:|---:|"]
        for name, x in tuned["steps"].items():
            lines.append(f"| tuned: {name} | {_f(x['median_ms'])} | {_f(x['mean_ms'])} |")
        lines.append(f"| casescraper: the whole case in one in-page call | {_f(call.get('median_ms'))} | "
                     f"{_f(call.get('mean_ms'))} |")
    return lines + hosts(r)


def hosts(r: dict[str, Any]) -> list[str]:
    h = r.get("hosts")
    if not h:
        return []
    return ["", "## Many hosts", "",
            "Not available in this checkout (benchmarks/hosts.py missing)." if not h.get("available")
            else "; ".join(f"{k}: {v}" for k, v in h.items() if k not in ("available", "load_after"))]


def diagnose_variants(d: dict[str, Any]) -> list[str]:
    return [k for k, v in d.items() if isinstance(v, dict) and "median_ms" in v and k != "crawl_variants"]


if __name__ == "__main__":  # python -m benchmarks.report RESULT.json: rewrite its .md
    import json
    import sys
    from pathlib import Path

    for name in sys.argv[1:]:
        path = Path(name)
        text = markdown(json.loads(path.read_text(encoding="utf-8")))
        path.with_suffix(".md").write_text(text, encoding="utf-8")
        print(text)

"""Case files: names, paths, never-overwrite publishing, durability under faults and kills."""

import errno
import fcntl
import json
import os
import random
import resource
import signal
import stat
import time

import pytest

from casescraper.store import fileops
from casescraper.errors import InvalidRecord, OutputError, SuffixLimitReached, UnsafeCaseNumber
from casescraper.store.fileops import sweep_temps
from casescraper.store.storage import CaseStore, safe_name

SCRAPED_AT = "2025-03-01T10:20:30+00:00"


def make_record(case_number="IMM-12-25", summary="Notice of application", **changes):
    record = {
        "schema_version": 2,
        "case_number": case_number,
        "court": "t",
        "style_of_cause": "Émilie Tremblay v. Canada",
        "nature_of_proceeding": None,
        "case_type": "Immigration",
        "type_of_action": None,
        "filing_date": "2025-01-15",
        "office": "Montréal",
        "language": "French",
        "other_fields": {},
        "parties": [{"name": "Émilie Tremblay", "solicitor_firm": None, "solicitor_contact": None}],
        "related": None,
        "docket_entries": [
            {"id": 1, "date_filed": "2025-01-15", "office": "Montréal", "summary": summary,
             "document": None}],
        "source_url": None,
        "scraped_at": SCRAPED_AT,
        "file_path": None,
    }
    record.update(changes)
    return record


def json_files(root):
    return sorted(p for p in root.rglob("*.json"))


def temp_files(root):
    return sorted(p for p in root.rglob(".*.tmp"))


@pytest.fixture
def store(tmp_path):
    return CaseStore(str(tmp_path / "out"))


def test_written_file_contents_path_and_mode(store, tmp_path):
    old_umask = os.umask(0o077)  # the file must still end up 0644
    try:
        saved = store.write(make_record())
    finally:
        os.umask(old_umask)
    assert saved.outcome == "created"
    assert saved.rel_path == "json/2025/IMM-12-25-20250301.json"
    path = tmp_path / "out" / "json" / "2025" / "IMM-12-25-20250301.json"
    assert saved.path == str(path)
    raw = path.read_bytes()
    assert raw.endswith(b"}\n") and "Émilie".encode() in raw and b'\n  "court": "t"' in raw
    assert json.loads(raw) == make_record(file_path="json/2025/IMM-12-25-20250301.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert temp_files(tmp_path) == []


def test_year_from_suffix_else_scrape_year(tmp_path):
    store = CaseStore(str(tmp_path), subdir="cases")
    assert store.write(make_record("T-7-98")).rel_path == "cases/1998/T-7-98-20250301.json"
    assert store.write(make_record("odd number")).rel_path == "cases/2025/odd-number-20250301.json"
    late = make_record("A-1-24", scraped_at="2025-12-31T23:59:59.5+00:00")
    assert store.write(late).rel_path == "cases/2024/A-1-24-20251231.json"


def test_suffixes_then_limit(tmp_path):
    store = CaseStore(str(tmp_path), suffix_limit=2)
    paths = [store.write(make_record(summary=f"entry {i}")).rel_path for i in range(3)]
    assert paths == ["json/2025/IMM-12-25-20250301.json", "json/2025/IMM-12-25-20250301-1.json",
                     "json/2025/IMM-12-25-20250301-2.json"]
    for i, rel in enumerate(paths):  # none overwritten, each names itself
        data = json.loads((tmp_path / rel).read_text())
        assert data["docket_entries"][0]["summary"] == f"entry {i}" and data["file_path"] == rel
    with pytest.raises(SuffixLimitReached, match=r"-2 exist.*CASESCRAPER_SUFFIX_LIMIT"):
        store.write(make_record(summary="entry 3"))
    assert len(json_files(tmp_path)) == 3 and temp_files(tmp_path) == []


def test_a_gap_made_by_hand_is_filled_never_overwritten(tmp_path):
    store = CaseStore(str(tmp_path))
    paths = [store.write(make_record(summary=f"entry {i}")).rel_path for i in range(3)]
    (tmp_path / paths[1]).unlink()
    before = (tmp_path / paths[2]).read_bytes()
    saved = store.write(make_record(summary="entry 3"))
    assert (saved.outcome, saved.rel_path) == ("created", paths[1])
    assert (tmp_path / paths[2]).read_bytes() == before
    again = store.write(make_record(summary="entry 2"))  # probing reaches -2 again
    assert (again.outcome, again.rel_path) == ("existing", paths[2])


def test_rerun_with_same_record_keeps_existing_file(store, tmp_path):
    first = store.write(make_record())
    second = store.write(make_record(summary="changed"))
    assert second.rel_path.endswith("-1.json")
    before = {p: p.read_bytes() for p in json_files(tmp_path)}
    again = store.write(make_record(scraped_at="2025-03-01T23:00:00+00:00"))
    assert (again.outcome, again.rel_path) == ("existing", first.rel_path)
    again = store.write(make_record(summary="changed", scraped_at="2025-03-01T22:00:00+00:00"))
    assert (again.outcome, again.rel_path) == ("existing", second.rel_path)
    assert {p: p.read_bytes() for p in json_files(tmp_path)} == before
    next_day = store.write(make_record(scraped_at="2025-03-02T00:00:00+00:00"))
    assert next_day.rel_path == "json/2025/IMM-12-25-20250302.json"


def test_same_case_data_from_another_address_is_the_existing_file(store, tmp_path):
    # A run killed between publishing a file and its ledger line asks again on resume,
    # possibly through another address (a mirror, a new demo-court port): same data, same file.
    first = store.write(make_record(source_url="http://127.0.0.1:4001/court-files"))
    again = store.write(make_record(source_url="http://127.0.0.1:4002/court-files",
                                    scraped_at="2025-03-01T11:00:00+00:00"))
    assert (again.outcome, again.rel_path) == ("existing", first.rel_path)
    assert len(json_files(tmp_path)) == 1


def test_document_urls_through_another_address_are_the_existing_file(store, tmp_path):
    def with_document(origin, foremost="1234567"):
        url = f"{origin}/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum={foremost}"
        entry = {"id": 1, "date_filed": "2025-01-15", "office": "Montréal", "summary": "Notice",
                 "document": {"id": foremost, "downloadable": True, "confidential": False, "url": url}}
        return make_record(source_url=f"{origin}/court-files", docket_entries=[entry])

    first = store.write(with_document("http://127.0.0.1:4001"))
    again = store.write(with_document("http://127.0.0.1:4002"))
    assert (again.outcome, again.rel_path) == ("existing", first.rel_path)
    other = store.write(with_document("http://127.0.0.1:4002", foremost="7654321"))
    assert other.outcome == "created"  # another document is other data
    assert len(json_files(tmp_path)) == 2


def test_force_overwrite_replaces_base_atomically(tmp_path):
    CaseStore(str(tmp_path)).write(make_record())
    path = tmp_path / "json/2025/IMM-12-25-20250301.json"
    inode = path.stat().st_ino
    saved = CaseStore(str(tmp_path), force_overwrite=True).write(make_record(summary="new"))
    assert (saved.outcome, saved.path) == ("replaced", str(path))
    assert json.loads(path.read_text())["docket_entries"][0]["summary"] == "new"
    assert path.stat().st_ino != inode  # a new file renamed over, not rewritten in place
    assert len(json_files(tmp_path)) == 1 and temp_files(tmp_path) == []


def test_force_overwrite_never_replaces_another_case(tmp_path):
    CaseStore(str(tmp_path)).write(make_record("A/B-25"))
    saved = CaseStore(str(tmp_path), force_overwrite=True).write(make_record("A:B-25"))
    assert saved.rel_path == "json/2025/A-B-25-20250301-1.json"
    base = json.loads((tmp_path / "json/2025/A-B-25-20250301.json").read_text())
    assert base["case_number"] == "A/B-25"


def test_plan_is_read_only(store, tmp_path):
    assert store.plan(make_record()) == ("json/2025/IMM-12-25-20250301.json", False)
    assert not (tmp_path / "out").exists()
    store.write(make_record())
    assert store.plan(make_record(summary="x")) == ("json/2025/IMM-12-25-20250301-1.json", False)
    assert store.plan(make_record()) == ("json/2025/IMM-12-25-20250301.json", True)


def test_invalid_record_is_refused_with_path(store, tmp_path):
    bad = make_record(parties=[{"name": "", "solicitor_firm": None, "solicitor_contact": None}])
    with pytest.raises(InvalidRecord, match=r"^\$\.parties\[0\]\.name: .*"):
        store.write(bad)
    with pytest.raises(InvalidRecord, match="UTF-8"):
        store.write(make_record(style_of_cause="bad \ud800 surrogate"))
    assert not (tmp_path / "out").exists()


# --- faults ---------------------------------------------------------------------------


def _raiser(code, real=None, only_dirs=False):
    def fail(*args, **kwargs):
        if only_dirs and not stat.S_ISDIR(os.fstat(args[0]).st_mode):
            return real(*args, **kwargs)
        raise OSError(code, os.strerror(code))
    return fail


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
@pytest.mark.parametrize("target", ["fsync", "fsync_dir", "link"])
def test_fault_leaves_nothing_partial(tmp_path, monkeypatch, target, code):
    store = CaseStore(str(tmp_path))
    store.write(make_record("T-1-25"))  # directories exist, so only the case write is hit
    name = "link" if target == "link" else "fsync"
    monkeypatch.setattr(os, name, _raiser(code, os.fsync, only_dirs=target == "fsync_dir"))
    with pytest.raises(OSError) as info:
        store.write(make_record())
    assert info.value.errno == code
    monkeypatch.undo()
    assert [p.name for p in json_files(tmp_path)] == ["T-1-25-20250301.json"]
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_failed_replace_keeps_old_file(tmp_path, monkeypatch, code):
    CaseStore(str(tmp_path)).write(make_record())
    path = tmp_path / "json/2025/IMM-12-25-20250301.json"
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", _raiser(code))
    with pytest.raises(OSError):
        CaseStore(str(tmp_path), force_overwrite=True).write(make_record(summary="new"))
    assert path.read_bytes() == before and temp_files(tmp_path) == []


def _in_child(fn):
    """Run fn in a forked child; returns its exit status (fn's int result, 70 on exception)."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = fn()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_file_size_limit_fails_cleanly(tmp_path):
    store = CaseStore(str(tmp_path))
    store.write(make_record("T-1-25"))

    def child():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            store.write(make_record(summary="x" * 100_000))
        except OSError as exc:
            return 0 if exc.errno == errno.EFBIG else 2
        return 1

    assert _in_child(child) == 0
    assert [p.name for p in json_files(tmp_path)] == ["T-1-25-20250301.json"]
    assert temp_files(tmp_path) == []


def test_concurrent_writers_never_overwrite(tmp_path):
    store = CaseStore(str(tmp_path), suffix_limit=1000)

    def writer(proc):
        def run():
            for i in range(50):
                store.write(make_record(summary=f"process {proc} write {i}"))
            return 0
        return run

    pids = []
    for proc in range(8):
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                code = writer(proc)()
            finally:
                os._exit(code)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids] == [0] * 8
    files = json_files(tmp_path)
    assert len(files) == 400
    summaries = set()
    for path in files:
        data = json.loads(path.read_text())
        assert data["file_path"] == path.relative_to(tmp_path).as_posix()
        summaries.add(data["docket_entries"][0]["summary"])
    assert len(summaries) == 400 and temp_files(tmp_path) == []


def test_killed_writers_leave_whole_files_and_sweepable_temps(tmp_path):
    store = CaseStore(str(tmp_path))
    rng = random.Random(1234)
    for round_ in range(20):
        pid = os.fork()
        if pid == 0:
            try:
                i = 0
                while True:  # a new case number per write, as in a crawl
                    store.write(make_record(f"IMM-{round_}{i:05d}-25", summary="x" * 5000))
                    i += 1
            finally:
                os._exit(70)
        time.sleep(rng.uniform(0.002, 0.04))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        for path in json_files(tmp_path):
            json.loads(path.read_text())
    assert json_files(tmp_path)
    assert temp_files(tmp_path)  # about one kill in three lands between temp and publish
    sweep_temps(str(tmp_path))
    assert temp_files(tmp_path) == []


def test_sweep_spares_temps_held_by_live_writers(tmp_path):
    stale = tmp_path / ".T-1-25-20250301.123.0123456789abcdef.tmp"
    stale.write_text("partial")
    live = tmp_path / ".T-2-25-20250301.456.fedcba9876543210.tmp"
    live.write_text("in progress")
    other = tmp_path / ".hidden.tmp"
    other.write_text("not ours")
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert sweep_temps(str(tmp_path)) == [str(stale)]
    assert live.exists() and other.exists() and not stale.exists()


def test_sweep_spares_a_writers_own_temp(tmp_path):
    path, fd = fileops.locked_temp(str(tmp_path), "T-1-25-20250301")
    try:
        assert sweep_temps(str(tmp_path)) == [] and os.path.exists(path)
    finally:
        os.close(fd)
    assert sweep_temps(str(tmp_path)) == [path]


# --- names ----------------------------------------------------------------------------

HOSTILE = [
    "../../etc/passwd", "..", ".", "", " ", "   ", "\x00", "a\x00b", "IMM-1\x00-25", "x" * 300,
    "\uff0f\uff0e\uff0e", "\uff0e\uff0e\uff0fetc", "CON", "con", "nul.txt", "Com1", "LPT9.log",
    "AUX-25", "prn.", "\U0001F600", "IMM-\U0001F600-25", "a\\b\\..\\..\\c", "..\\..\\win.ini",
    "line\nbreak", "tab\tbed", "carriage\rreturn", "/abs/path", "//server/share", "~/home",
    "$(rm -rf)", "-rf", "--", "-.-.-", ".hidden", "...", "a/../../b", "T-1-25/../../../x",
    "Ｉ\uff2d\uff2d－１２－２５", "\u202eevil", "e\u0301", "ﬁle", "\udc80", "NUL:", "C:\\Windows",
    "%2e%2e%2f", "..;/", "*?<>|", "T-1-25 ", "\u3000", "\x7f",
]


def test_hostile_case_numbers_stay_inside_or_are_rejected(tmp_path):
    assert len(HOSTILE) == 50
    root = tmp_path / "out"
    store = CaseStore(str(root))
    written = 0
    for number in HOSTILE:
        try:
            saved = store.write(make_record(number))
        except (InvalidRecord, UnsafeCaseNumber) as exc:
            assert str(exc) and "\n" not in str(exc)
            continue
        written += 1
        real = os.path.realpath(saved.path)
        assert os.path.commonpath([os.path.realpath(root), real]) == os.path.realpath(root)
        assert json.loads(open(real, encoding="utf-8").read())["case_number"] == number
    assert written > 30
    outside = [p for p in tmp_path.rglob("*") if root not in p.parents and p != root]
    assert outside == []


@pytest.mark.parametrize("number", HOSTILE + ["x" * 5000, "é" * 400], ids=range(52))
def test_safe_name_properties(number):
    try:
        name = safe_name(number, suffix_limit=1000)
    except UnsafeCaseNumber as exc:
        assert "\n" not in str(exc) and "file name" in str(exc)
        return
    assert name and name[0] not in ".-" and set(name) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    assert "--" not in name
    assert len(f"{name}-20250301-1000.json".encode()) <= 255
    assert len(f".{name}-20250301.{4194304:010d}.{'0' * 16}.tmp".encode()) <= 255
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}


@pytest.mark.parametrize("number,expected", [
    ("IMM-12-25", "IMM-12-25"), ("CON", "CON_"), ("nul.txt", "nul_.txt"), ("com1", "com1_"),
    ("LPT9.x.y", "LPT9_.x.y"), ("CONSOLE", "CONSOLE"), ("../../etc/passwd", "etc-passwd"),
    ("Ｔ－１－２５", "T-1-25"), ("a  b", "a-b"), ("COM¹", "COM1_"),
])
def test_safe_name_examples(number, expected):
    assert safe_name(number) == expected


@pytest.mark.parametrize("number", ["", ".", "..", "／．．", "...", "-", "\x00"])
def test_unusable_names_rejected(number):
    with pytest.raises(UnsafeCaseNumber, match="no character usable"):
        safe_name(number)


def test_symlink_escape_is_refused_as_the_output_dirs_fault(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "out" / "json").mkdir(parents=True)
    (tmp_path / "out" / "json" / "2025").symlink_to(outside)
    with pytest.raises(OutputError, match="outside it") as info:
        CaseStore(str(tmp_path / "out")).write(make_record())
    assert "\n" not in str(info.value) and "CASESCRAPER_OUTPUT_DIR" in str(info.value)
    assert list(outside.iterdir()) == []


def test_a_file_where_the_year_dir_belongs_is_the_output_dirs_fault(tmp_path):
    (tmp_path / "out" / "json").mkdir(parents=True)
    (tmp_path / "out" / "json" / "2025").write_text("not a dir")
    with pytest.raises(OutputError, match="json/2025 is a regular file, where casescraper needs a directory"):
        CaseStore(str(tmp_path / "out")).write(make_record())


@pytest.mark.parametrize("make", ["dir", "fifo", "symlink", "dangling"])
def test_anything_but_a_regular_file_at_a_final_name_is_a_taken_name(tmp_path, make):
    year = tmp_path / "out" / "json" / "2025"
    year.mkdir(parents=True)
    taken = year / "IMM-12-25-20250301.json"
    if make == "dir":
        taken.mkdir()
        (taken / "inside").write_text("x")
    elif make == "fifo":
        os.mkfifo(taken)
    elif make == "symlink":
        target = tmp_path / "target.json"
        target.write_text(json.dumps(make_record()))  # even a link to the same record
        taken.symlink_to(target)
    else:
        taken.symlink_to(tmp_path / "nowhere.json")
    store = CaseStore(str(tmp_path / "out"))
    saved = _within_deadline(lambda: store.write(make_record()))
    assert saved.outcome == "created" and saved.rel_path == "json/2025/IMM-12-25-20250301-1.json"
    assert os.path.lexists(taken) and not stat.S_ISREG(os.lstat(taken).st_mode)
    # A rerun finds the same file again instead of failing or writing a -2.
    assert _within_deadline(lambda: store.write(make_record())).outcome == "existing"
    assert _within_deadline(lambda: store.plan(make_record())) == (saved.rel_path, True)


def _within_deadline(fn, seconds=60):
    """fn() in a thread; fails (instead of hanging the suite) if it blocks."""
    import threading

    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "blocked (e.g. opening a FIFO)"
    if "error" in result:
        raise result["error"]
    return result["value"]


# --- probe ----------------------------------------------------------------------------


def test_probe_creates_dir_and_leaves_nothing(tmp_path):
    store = CaseStore(str(tmp_path / "a" / "b"))
    store.probe()
    assert list((tmp_path / "a" / "b").iterdir()) == []


def test_probe_below_a_file_fails_with_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError) as info:
        CaseStore(str(tmp_path / "file" / "out")).probe()
    message = str(info.value)
    assert "\n" not in message and "not usable" in message and "output_dir" in message


def test_probe_without_hard_links(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "link", _raiser(errno.EPERM))
    with pytest.raises(OutputError, match="does not support hard links"):
        CaseStore(str(tmp_path)).probe()
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["json/2025", "raw/2024", "json", "ledger"])
def test_probe_refuses_a_symlink_leading_outside(tmp_path, where):
    out = tmp_path / "out"
    link = out / where
    link.parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "elsewhere").mkdir()
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError) as info:
        CaseStore(str(out)).probe()
    assert str(info.value) == (
        f"output directory {out}: {where} is a symbolic link to {tmp_path / 'elsewhere'}, outside "
        "the output directory; replace the link by a directory, or set CASESCRAPER_OUTPUT_DIR "
        "to where it points")


def test_probe_accepts_links_that_stay_inside(tmp_path):
    out = tmp_path / "out"
    (out / "json" / "archive-2025").mkdir(parents=True)
    (out / "json" / "2025").symlink_to(out / "json" / "archive-2025")
    CaseStore(str(out)).probe()
    saved = CaseStore(str(out)).write(make_record())
    assert (out / "json" / "archive-2025" / os.path.basename(saved.path)).is_file()


@pytest.mark.parametrize("where, make, what", [
    ("json/2025", "file", "a regular file"),
    ("raw", "file", "a regular file"),
    ("json/2025", "fifo", "a FIFO"),
    ("runs", "dangling", "a symbolic link to a non-directory"),
])
def test_probe_refuses_a_non_directory_where_a_directory_must_be(tmp_path, where, make, what):
    out = tmp_path / "out"
    path = out / where
    path.parent.mkdir(parents=True, exist_ok=True)
    if make == "file":
        path.write_text("x")
    elif make == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(out / "gone")
    with pytest.raises(OutputError) as info:
        _within_deadline(CaseStore(str(out)).probe)
    assert str(info.value) == (
        f"output directory {out}: {where} is {what}, where casescraper needs a directory; "
        "move it away (or set CASESCRAPER_OUTPUT_DIR elsewhere)")


def test_probe_refuses_a_ledger_that_is_not_a_file(tmp_path):
    out = tmp_path / "out"
    (out / "ledger").mkdir(parents=True)
    os.mkfifo(out / "ledger" / "2025.jsonl")
    with pytest.raises(OutputError, match=r"ledger/2025.jsonl is a FIFO, not a ledger file; move it away"):
        _within_deadline(CaseStore(str(out)).probe)


def test_sweep_opens_nothing_but_regular_files(tmp_path):
    year = tmp_path / "json" / "2025"
    year.mkdir(parents=True)
    fifo = year / ".IMM-1-25-20250301.123.0123456789abcdef.tmp"
    os.mkfifo(fifo)
    folder = year / ".IMM-2-25-20250301.123.0123456789abcdef.tmp"
    folder.mkdir()
    link = year / ".IMM-3-25-20250301.123.0123456789abcdef.tmp"
    link.symlink_to(tmp_path / "victim")
    (tmp_path / "victim").write_text("keep")
    stale = year / ".IMM-4-25-20250301.123.0123456789abcdef.tmp"
    stale.write_text("partial")
    device = year / ".IMM-5-25-20250301.123.0123456789abcdef.tmp"
    if os.geteuid() == 0:  # a character device (like /dev/null) needs root to make
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    assert _within_deadline(lambda: sweep_temps(str(tmp_path))) == [str(stale)]
    assert os.geteuid() != 0 or stat.S_ISCHR(os.lstat(device).st_mode)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and folder.is_dir() and link.is_symlink()
    assert (tmp_path / "victim").read_text() == "keep"


def test_write_json_atomic_replaces(tmp_path):
    path = tmp_path / "runs" / "r.json"
    fileops.write_json_atomic(str(path), {"a": 1})
    fileops.write_json_atomic(str(path), {"a": "\ud800"})
    assert json.loads(path.read_text()) == {"a": "\ud800"}
    assert temp_files(tmp_path) == []

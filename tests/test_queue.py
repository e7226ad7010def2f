"""The job's queue against a real redis-server (a free port, a password, no persistence):
enqueue once, lease, keep-alive, ack, reclaim of a lapsed lease, give back, failures, status;
QueueFrontier driven by hand (no browser)."""

from __future__ import annotations

import time

import pytest

from casescraper.frontier.planning import Facts
from casescraper.frontier.steps import Ask, Done, Wait, YearSearched
from casescraper.queue.frontier import QueueFrontier
from casescraper.queue.job import Job, QueueError, redacted
from casescraper.queue.tasks import Task, blocks, number_tasks, year_tasks

from .redis_server import needs_redis, redis_server  # noqa: F401 (the fixture)

pytestmark = needs_redis


def new_job(server, name="job1", block_size=10) -> Job:
    job = Job(server.url, name)
    job.create("IMM", "t", block_size)
    return job


def no_facts(year, prefix):
    return Facts(set(), set(), set())


def frontier(job, worker, lease=60.0, facts=no_facts, gap=3):
    return QueueFrontier(job, worker, facts=facts, prefix="IMM", block_size=10, lease_seconds=lease,
                         gap=gap, poll_seconds=0.01)


def until(condition, timeout=30.0):
    """Poll `condition` until true, within a deadline (the machine may be busy)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_tasks_know_their_numbers_and_ids():
    assert [(t.start, t.end) for t in blocks("IMM", 2025, 1, 23, 10)] == [(1, 10), (11, 20), (21, 23)]
    assert [t.id for t in year_tasks("IMM", [2024, 2025], 1, None, 10)] == ["end/IMM/2024/1", "end/IMM/2025/1"]
    numbers = number_tasks(["IMM-3-25", "IMM-1-25", "IMM-3-25", "T-2-24"], 2)
    assert [t.numbers for t in numbers] == [("T-2-24", "IMM-1-25"), ("IMM-3-25",)]
    block = blocks("IMM", 2025, 5, 7, 10)[0]
    assert list(block.cases()) == ["IMM-5-25", "IMM-6-25", "IMM-7-25"]
    assert Task.from_fields(block.fields()) == block
    with pytest.raises(ValueError):
        Task.from_fields({"kind": "other"})


def test_the_password_is_never_shown():
    assert redacted("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert redacted("redis://user:s3cret@host/1") == "redis://user:***@host/1"
    assert redacted("redis://host:6379/0") == "redis://host:6379/0"


def test_enqueue_adds_nothing_twice(redis_server):
    job = new_job(redis_server)
    tasks = year_tasks("IMM", [2024, 2025], 1, 25, 10)
    assert job.add(tasks) == 6
    assert job.add(tasks) == 0
    assert job.add(year_tasks("IMM", [2023], 1, None, 10)) == 1
    assert job.add(year_tasks("IMM", [2023], 1, None, 10)) == 0
    assert job.outstanding().waiting == 7
    with pytest.raises(QueueError, match="has block_size 10, not 50"):
        job.create("IMM", "t", 50)


def test_lease_keepalive_ack_and_reclaim(redis_server):
    job = new_job(redis_server)
    job.add(blocks("IMM", 2025, 1, 20, 10))
    first = job.lease("w1", 60_000)
    assert first.id == "block/IMM/2025/1-10" and first.deliveries == 1
    assert job.touch("w1", first) and not job.touch("w2", first)
    second = job.lease("w2", 60_000)
    assert second.id == "block/IMM/2025/11-20"
    assert job.lease("w3", 60_000) is None  # nothing new, nothing lapsed
    # w1 dies: its entry lapses and goes to the next worker that asks
    reclaimed: list[Task] = []

    def lapsed_and_taken() -> bool:
        task = job.lease("w3", 200)
        if task is not None:
            reclaimed.append(task)
        return bool(reclaimed)

    until(lapsed_and_taken)
    taken = reclaimed[0]
    assert taken.id == first.id and taken.deliveries == 2
    assert not job.touch("w1", first), "the lapsed lease is no longer w1's"
    assert not job.ack("w1", first)
    assert job.ack("w3", taken) and job.ack("w2", second)
    state = job.status()
    assert (state["waiting"], state["pending"], state["done"]) == (0, 0, 2)
    assert job.outstanding().nothing_left


def test_give_back_hands_the_task_on_at_once(redis_server):
    job = new_job(redis_server)
    job.add(blocks("IMM", 2025, 1, 10, 10))
    task = job.lease("w1", 60_000)
    assert job.lease("w2", 60_000) is None
    assert job.give_back("w1", task)
    again = job.lease("w2", 60_000)  # a lease of 60 s, yet taken at once
    assert again.id == task.id and again.deliveries == 2


def test_outcomes_job_wide_and_retry_of_failures(redis_server):
    job = new_job(redis_server)
    job.settle([("IMM-1-25", "saved"), ("IMM-2-25", "driver_error"), ("IMM-3-25", "no_results"),
                ("IMM-3-25", "driver_error"), ("IMM-4-24", "blocked"), ("IMM-5-25", "dry_run")])
    assert job.settled(["IMM-1-25", "IMM-2-25", "IMM-3-25", "IMM-5-25"]) == {
        "IMM-1-25": "saved", "IMM-3-25": "no_results"}
    assert job.failed() == ["IMM-4-24", "IMM-2-25"]
    job.settle([("IMM-2-25", "saved")])
    assert job.failed() == ["IMM-4-24"]
    assert job.add(number_tasks(job.failed(), 10)) == 1
    assert job.add(number_tasks(job.failed(), 10)) == 0, "not while the retry is waiting"
    state = job.status()
    assert state["settled"] == {"2024": 0, "2025": 3} and state["failed"] == {"2024": 1, "2025": 0}


def test_a_wrong_password_or_no_server_is_one_line_without_the_password(redis_server, tmp_path):
    wrong = redis_server.url.replace(redis_server.password, "not-it")
    with pytest.raises(QueueError) as caught:
        Job(wrong, "job1").check()
    assert "refused the password" in str(caught.value) and "not-it" not in str(caught.value)
    with pytest.raises(QueueError, match="has no tasks"):
        Job(redis_server.url, "nosuchjob").check()
    from .e2e import free_port

    with pytest.raises(QueueError) as caught:
        Job(f"redis://:pw123@127.0.0.1:{free_port()}/0", "job1").check()
    assert "cannot reach the queue" in str(caught.value) and "pw123" not in str(caught.value)
    with pytest.raises(QueueError, match="job name"):
        Job(redis_server.url, "a b")


def drive(front, answers, timeout=60.0):
    """Ask what the frontier says, answer from `answers` (n -> found?), record at once."""
    asked = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = front.next()
        if isinstance(step, Done):
            return asked, step
        if isinstance(step, Wait):
            time.sleep(step.seconds)  # polls the job, as a worker does
            continue
        asked.append(step.case)
        n = int(step.case.split("-")[1])
        status = "saved" if answers(n) else "no_results"
        front.settle(step.case, status)
        front.recorded(step.case, status)
    raise AssertionError("the frontier did not finish")


def test_an_end_search_adds_the_years_blocks_and_the_worker_finishes(redis_server):
    job = new_job(redis_server)
    job.add(year_tasks("IMM", [2025], 1, None, 10))
    front = frontier(job, "w1")
    try:
        asked, done = drive(front, lambda n: n <= 23 and n != 7)
    finally:
        front.release("finished")
    assert done == Done("finished")
    numbers = sorted(int(c.split("-")[1]) for c in asked)
    assert [n for n in numbers if n <= 26] == list(range(1, 27)), "every number to the end and the gap above"
    assert len(asked) == len(set(asked)), "no number asked twice"
    state = job.status()
    assert state["ends"] == {"2025": 23} and (state["pending"], state["waiting"]) == (0, 0)
    assert state["done"] == 1 + 3  # the end search and the blocks 1-10, 11-20, 21-23
    notices = [n for n in front.notices() if isinstance(n, YearSearched)]
    assert notices[0].last_file == "IMM-23-25"


def test_numbers_settled_elsewhere_or_in_the_own_ledger_are_not_asked(redis_server):
    job = new_job(redis_server)
    job.add(blocks("IMM", 2025, 1, 10, 10))
    job.settle([("IMM-2-25", "saved"), ("IMM-3-25", "no_results"), ("IMM-4-25", "driver_error")])

    def facts(year, prefix):
        return Facts({5, 8}, {6}, set())  # no_results below the last found: settled

    front = frontier(job, "w1", facts=facts)
    try:
        asked, _ = drive(front, lambda n: True)
    finally:
        front.release("finished")
    assert asked == ["IMM-1-25", "IMM-4-25", "IMM-7-25", "IMM-9-25", "IMM-10-25"]
    assert job.settled(["IMM-5-25", "IMM-6-25"]) == {"IMM-5-25": "saved", "IMM-6-25": "no_results"}


def test_a_task_is_acked_only_once_its_lines_are_written(redis_server):
    job = new_job(redis_server)
    job.add(blocks("IMM", 2025, 1, 2, 10))
    front = frontier(job, "w1")
    try:
        for case in ("IMM-1-25", "IMM-2-25"):
            step = front.next()
            assert step == Ask(case, False, 2025)
            front.settle(case, "saved")
        front.recorded("IMM-1-25", "saved")
        assert front.next() == Wait(0), "the last record is still being written"
        assert job.status()["done"] == 0
        front.recorded("IMM-2-25", "saved")
        assert front.next() == Done("finished")
        assert job.status()["done"] == 1
    finally:
        front.release("finished")


def test_a_lost_ledger_line_or_a_stop_gives_the_task_back(redis_server):
    job = new_job(redis_server)
    job.add(blocks("IMM", 2025, 1, 2, 10))
    front = frontier(job, "w1")
    step = front.next()
    front.settle(step.case, "saved")
    front.recorded(step.case, "saved", lost=True)
    step = front.next()
    front.settle(step.case, "saved")
    front.recorded(step.case, "saved")
    # Given back, unacknowledged: the next lease (here this worker's own) asks the number
    # whose line is missing again, not the one settled.
    assert front.next() == Ask("IMM-1-25", False, 2025)
    state = job.status()
    assert state["done"] == 0 and state["pending"] == 1
    front.release("write_failures")
    other = frontier(job, "w2")
    try:
        asked, _ = drive(other, lambda n: True)
    finally:
        other.release("finished")
    assert asked == ["IMM-1-25"], "what w1 settled job-wide is not asked again"

    job.add(blocks("IMM", 2025, 11, 13, 10))
    front = frontier(job, "w3")
    assert front.next() == Ask("IMM-11-25", False, 2025)
    front.release("blocked")  # no ack: another IP may go on at once
    assert job.status()["done"] == 1
    assert job.lease("w4", 60_000).id == "block/IMM/2025/11-13"


def test_a_lease_kept_alive_is_not_taken_and_a_dead_one_is(redis_server):
    job = new_job(redis_server)
    job.add(blocks("IMM", 2025, 1, 3, 10))
    alive = frontier(job, "w1", lease=4)
    try:
        assert alive.next() == Ask("IMM-1-25", False, 2025)
        other = frontier(job, "w2", lease=4)
        # More than a lease passes: the keep-alive thread (every third of it) keeps it w1's.
        start = time.monotonic()
        while time.monotonic() - start < 6:
            assert isinstance(other.next(), Wait)
        other.release("finished")
    finally:
        alive._wake.set()  # w1 "dies": its keep-alive stops, nothing is given back
        alive._keeper.join()
    taker = frontier(job, "w3", lease=4)
    try:
        asked, done = drive(taker, lambda n: True)
    finally:
        taker.release("finished")
    assert asked == ["IMM-1-25", "IMM-2-25", "IMM-3-25"] and done == Done("finished")

"""Many hosts, one job: a shared work queue on Redis (Streams and a consumer group).

`tasks` (pure: what a task is), `job` (the job's keys in Redis: enqueue, lease, keep-alive,
ack, reclaim, give back, status), `frontier` (QueueFrontier: what a worker asks next, from
the tasks it leases), `cli` (`python -m casescraper enqueue` and `queue status|retry-failed`).
redis-py is imported in this package only, and only when a queue is used.
"""

"""A deadline for one call at a time, kept by one thread for the owner's whole life.

`Browser.bounded` used a `threading.Timer` per case: a thread started and stopped on the
critical path of every search, and on 2 busy cores starting one waits for the scheduler.
Here arming a call only sets a deadline; the thread sleeps until the earliest moment a
deadline could have passed, so with calls shorter than their limit it wakes about once per
limit, not once per call. No Scrapy, no Selenium.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Watchdog:
    """Calls `on_expire` (on its own thread) when an armed call overstays its limit."""

    def __init__(self, on_expire: Callable[[], None], name: str = "casescraper-watchdog"):
        self._on_expire = on_expire
        self._name = name
        self._cond = threading.Condition()
        self._armed: Optional[tuple[int, float]] = None  # (token, monotonic deadline)
        self._last_token = 0
        self._fired: Optional[int] = None  # token of the last call that overstayed
        self._wakes_at: Optional[float] = None  # when the thread looks again; None: when told
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    def arm(self, limit: float) -> int:
        """Start timing a call of at most `limit` seconds; returns its token."""
        with self._cond:
            if self._stopped:
                raise RuntimeError("watchdog is stopped")
            self._last_token += 1
            deadline = time.monotonic() + limit
            self._armed = (self._last_token, deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif self._wakes_at is None or self._wakes_at > deadline:
                self._cond.notify()  # asleep past this deadline: wake it to look again
            return self._last_token

    def disarm(self, token: int) -> None:
        """The call ended (either way); a later expiry no longer concerns it."""
        with self._cond:
            if self._armed is not None and self._armed[0] == token:
                self._armed = None

    def fired(self, token: int) -> bool:
        """Whether this call overstayed (and `on_expire` ran or is running for it)."""
        with self._cond:
            return self._fired == token

    def stop(self) -> None:
        """End the thread; an armed call is no longer timed."""
        with self._cond:
            self._stopped = True
            self._armed = None
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _run(self) -> None:
        while self._next_expiry():
            self._on_expire()  # outside the lock: killing a browser takes a moment

    def _next_expiry(self) -> bool:
        """Sleep until the armed call overstays (True) or the watchdog stops (False)."""
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                armed = self._armed
                if armed is not None and armed[1] <= now:
                    self._armed, self._fired, self._wakes_at = None, armed[0], None
                    return True
                self._wakes_at = armed[1] if armed is not None else None
                self._cond.wait(None if armed is None else armed[1] - now)
            return False

"""Loaded by every Python process of ``make test-shifted-clock`` (this directory is on its PYTHONPATH).

The suite runs under libfaketime with the wall clock a year ahead and the monotonic clock left real
(``faketime --exclude-monotonic``): with a faked monotonic clock every timed wait on a lock
(``Event.wait``, ``Queue.get``, ``join`` with a timeout) hangs, because glibc's ``sem_clockwait``
hands the faked deadline straight to the kernel. But libfaketime up to 0.9.10 (Debian 12's) also
rewrites the absolute monotonic deadline of ``clock_nanosleep``, which Python 3.11+ uses for
``time.sleep``, when the monotonic clock is real: into a negative time, so every ``time.sleep``
fails with EINVAL (libfaketime issue #426, fixed in 0.9.11). Where that happens, ``time.sleep``
waits in ``select`` instead, which libfaketime leaves alone; elsewhere nothing changes.
"""

from __future__ import annotations

import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)  # retried with the time left when a signal interrupts it


try:
    time.sleep(0)
except OSError:
    time.sleep = _sleep

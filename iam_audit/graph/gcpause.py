"""Pause Python's cyclic garbage collector around allocation-heavy work.

Building the graph allocates hundreds of thousands of small, long-lived objects (paths, hops,
tuples) and no reference cycles worth collecting; the cyclic collector would rescan the whole
growing heap again and again, which costs two to three times the work itself. Reference counting
still frees everything as usual; the collector is restored (if it was on) afterwards.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block (re-entrant; restores the previous state)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

"""How a collecting process sets up Python's garbage collector. No Django here.

Celery workers (``config/celery.py``) and ``bench/collect`` call :func:`settle_for_collection`
once they have started; ``manage.py collect`` runs its collections inside :func:`collection_gc`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

DEFAULT_GEN0_THRESHOLD = 20_000


def settle_for_collection(gen0_threshold: int = DEFAULT_GEN0_THRESHOLD, freeze: bool = True) -> None:
    """Fit the cycle collector to a process that makes thousands of AWS calls.

    Measured with ``bench/collect`` (one account of 16 regions, ~650 calls, 50 ms away): with
    Python's default thresholds (700, 10, 10) the collector ran ~170 times per account and took
    0.9 s of the process's 4.6 s of CPU. botocore allocates thousands of container objects per
    call, so a collection started every few calls, and one in a hundred scanned the whole heap
    (~370k objects: Django, botocore's parsed models, the caches). With a first-generation
    threshold of 20,000 it runs 5 times (0.2 s); ``freeze`` first moves what the process holds
    once started (imported code, settings) out of every later scan.

    Objects that are not in a reference cycle are freed the moment they are dropped, as ever; only
    cyclic garbage waits longer, bounded by the threshold (a few MB). ``gen0_threshold`` 0 leaves
    the thresholds alone.
    """
    gc.collect()  # what is frozen is never collected: leave no garbage behind first
    if freeze:
        gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


@contextlib.contextmanager
def collection_gc(gen0_threshold: int = DEFAULT_GEN0_THRESHOLD) -> Iterator[None]:
    """The threshold of :func:`settle_for_collection` for the duration of the block, then the
    previous thresholds again (nothing is frozen: the process goes on to do other things)."""
    before = gc.get_threshold()
    if gen0_threshold > 0:
        gc.set_threshold(gen0_threshold, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)

# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Threads of the engine.

One native thread for the numerical libraries: the engine's models are small
(samples of at most 30,000 rows), so OpenMP and BLAS threads gain nothing;
on a busy 2-core machine their spin-waiting made KMeans ten times and the
regressions several times slower. Every run therefore executes under
``threadpool_limits(1)``.

Python threads for the recommendations' independent blocks of products
and chunks of customers (:func:`ordered_map`): numpy's sorts and ufuncs and
scipy's sparse products release the GIL, so two threads recommend from the
1M benchmark's purchases in 36 s instead of 62 s (docs/recommendations.md,
Cost). The purchases themselves are netted by one thread: a second one
raised the run's peak memory at 1M, which is there.
"""

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import threadpool_limits

Item = TypeVar("Item")
Result = TypeVar("Result")

# Each thread holds one block's temporaries: two bound the memory they add
# whatever the machine's cores (docs/recommendations.md, Cost).
ENGINE_THREADS = min(
    2,
    len(os.sched_getaffinity(0))
    if hasattr(os, "sched_getaffinity")  # Linux; elsewhere every core
    else os.cpu_count() or 1,
)


def single_thread() -> threadpool_limits:
    return threadpool_limits(limits=1)


def ordered_map(
    function: Callable[[Item], Result],
    items: Iterable[Item],
    threads: int | None = None,
) -> Iterator[Result]:
    """``map(function, items)`` computed by ``threads`` threads, yielded in
    the order of ``items``. At most ``threads`` results are computed ahead
    of the one the caller takes, so that the blocks' results never all exist
    at once (``Executor.map`` submits every item at once); an exception in
    ``function`` is raised where its result is taken."""
    if threads is None:
        threads = ENGINE_THREADS
    if threads <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="custseg-engine") as pool:
        pending = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

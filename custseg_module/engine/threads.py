# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One native thread for the engine's numerical libraries.

The engine's models are small (samples of at most 30,000 rows), so OpenMP and
BLAS threads gain nothing; on a busy 2-core machine their spin-waiting made
KMeans ten times and the regressions several times slower. Every run
therefore executes under ``threadpool_limits(1)``.
"""

from threadpoolctl import threadpool_limits


def single_thread() -> threadpool_limits:
    return threadpool_limits(limits=1)

# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a run's figure columns can store, checked before anything is written.

The write-back ships amounts as 64-bit integers in units of their last decimal
(2 decimals: at most about 9.2e16) and counts as 32-bit integers. numpy casts a
larger or non-finite value without an error, to a wrong number: a revenue of
1e17 would be stored as -92,233,720,368,547,758.08. :func:`unstorable` finds
those values so that the run can fail, naming them, before it writes.
"""

import numpy as np

INT32_MAX = 2**31 - 1
# Largest magnitude whose scaled value still fits in a signed 64-bit integer,
# with a margin for the float rounding of the scaling itself.
INT64_SAFE = 2.0**63 * (1 - 2.0**-50)


def unstorable(values, sql_type, decimals=0):
    """Boolean mask of the ``values`` (array-like) that a column of
    ``sql_type`` ("integer" or "numeric" with ``decimals``) cannot store
    exactly as the write-back encodes it. Other types: all False."""
    values = np.asarray(values)
    if sql_type not in ("integer", "numeric") or not len(values):
        return np.zeros(len(values), dtype=bool)
    numbers = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(numbers) | (
            np.abs(numbers) > storable_limit(sql_type, decimals)
        )


def storable_limit(sql_type, decimals=0):
    """The largest magnitude a column of ``sql_type`` holds (for messages)."""
    if sql_type == "integer":
        return float(INT32_MAX)
    return INT64_SAFE / 10.0**decimals

# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""PostgreSQL's binary COPY format for fixed-width rows, read and written with
numpy in one go (no Odoo import: tested by plain pytest in tests/).

A row is a field count (int16), then each field's byte length (int32) and its
big-endian value. Text needed Python to format and PostgreSQL to parse every
cell; binary rows of one fixed width need neither.
"""

import numpy as np

COPY_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def read_copy_binary(data, row_dtype):
    """The rows of a ``COPY … TO STDOUT (FORMAT binary)`` output whose rows
    all have the fixed layout ``row_dtype`` (no NULL, no variable-width
    column), as a numpy structured array. Raises ValueError otherwise."""
    data = memoryview(data)
    if bytes(data[:11]) != COPY_BINARY_SIGNATURE or len(data) < 21:
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : len(data) - 2]  # the trailer is int16 -1
    if bytes(data[len(data) - 2 :]) != b"\xff\xff" or len(body) % row_dtype.itemsize:
        raise ValueError("binary COPY stream with rows of an unexpected size")
    rows = np.frombuffer(body, dtype=row_dtype)
    sizes = [name for name in row_dtype.names if name.endswith("_size")]
    expected_fields = len(sizes)
    if len(rows) and (
        (rows["fields"] != expected_fields).any()
        or any(
            (rows[size] != row_dtype[size[: -len("_size")]].itemsize).any()
            for size in sizes
        )
    ):
        raise ValueError("binary COPY stream with NULL or variable-width values")
    return rows


def write_copy_binary(columns):
    """``COPY … FROM STDIN (FORMAT binary)`` data of equally long numpy
    arrays, one per column, each of a fixed-width big-endian dtype."""
    row_dtype = np.dtype(
        [("fields", ">i2")]
        + [
            field
            for index, values in enumerate(columns)
            for field in ((f"size{index}", ">i4"), (f"value{index}", values.dtype))
        ]
    )
    rows = np.empty(len(columns[0]) if columns else 0, dtype=row_dtype)
    rows["fields"] = len(columns)
    for index, values in enumerate(columns):
        rows[f"size{index}"] = values.dtype.itemsize
        rows[f"value{index}"] = values
    # Signature, flags and header extension length (both 0), rows, trailer.
    return b"".join((COPY_BINARY_SIGNATURE, bytes(8), rows.tobytes(), b"\xff\xff"))

# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""PostgreSQL's binary COPY format for fixed-width rows, read and written with
numpy in one go (no Odoo import: tested by plain pytest in tests/).

A row is a field count (int16), then each field's byte length (int32) and its
big-endian value. Text needed Python to format and PostgreSQL to parse every
cell; binary rows of one fixed width need neither.
"""

import numpy as np

COPY_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
# What copy_expert reads from a CopyBinaryStream at a time (its default is 8 KB).
COPY_READ_BYTES = 1 << 20


def _header_length(data):
    """The length of a binary COPY stream's header, checked."""
    if bytes(data[:11]) != COPY_BINARY_SIGNATURE or len(data) < 21:
        raise ValueError("not a PostgreSQL binary COPY stream")
    return 19 + int.from_bytes(data[15:19], "big")


def _check_rows(rows, row_dtype):
    """Refuse rows whose field count or any field's length is not the layout's."""
    sizes = [name for name in row_dtype.names if name.endswith("_size")]
    if len(rows) and (
        (rows["fields"] != len(sizes)).any()
        or any(
            (rows[size] != row_dtype[size[: -len("_size")]].itemsize).any()
            for size in sizes
        )
    ):
        raise ValueError("binary COPY stream with NULL or variable-width values")


def read_copy_binary(data, row_dtype):
    """The rows of a ``COPY … TO STDOUT (FORMAT binary)`` output whose rows
    all have the fixed layout ``row_dtype`` (no NULL, no variable-width
    column), as a numpy structured array. Raises ValueError otherwise."""
    data = memoryview(data)
    body = data[_header_length(data) : len(data) - 2]  # the trailer is int16 -1
    if bytes(data[len(data) - 2 :]) != b"\xff\xff" or len(body) % row_dtype.itemsize:
        raise ValueError("binary COPY stream with rows of an unexpected size")
    rows = np.frombuffer(body, dtype=row_dtype)
    _check_rows(rows, row_dtype)
    return rows


class CopyBinaryColumns:
    """What ``cursor.copy_expert("COPY … TO STDOUT (FORMAT binary)", target)``
    writes to, read as it arrives: the rows (fixed layout ``row_dtype``, as
    :func:`read_copy_binary`) become the ``columns`` ({field: dtype}) by
    batches of about ``batch_bytes``, and :meth:`result` gives them whole.
    The stream itself is never kept: at 35M invoice lines it took 1.3 GB
    beside the 0.7 GB of its columns."""

    def __init__(self, row_dtype, columns, batch_bytes=1 << 24):
        self.row_dtype = row_dtype
        self.columns = dict(columns)
        self.batch_bytes = batch_bytes
        self._pending = bytearray()
        self._header_read = False
        self._parts = {name: [] for name in self.columns}

    # A file's write (copy_expert calls it), not a model's: no super to call.
    def write(self, data):  # pylint: disable=method-required-super
        self._pending += data
        if len(self._pending) >= self.batch_bytes:
            self._read_rows()
        return len(data)

    def _read_rows(self):
        pending = self._pending
        if not self._header_read:
            if len(pending) < 21:
                return
            del pending[: _header_length(pending)]
            self._header_read = True
        count = len(pending) // self.row_dtype.itemsize
        if not count:
            return
        rows = np.frombuffer(pending, dtype=self.row_dtype, count=count)
        _check_rows(rows, self.row_dtype)
        for name, dtype in self.columns.items():
            self._parts[name].append(rows[name].astype(dtype))
        del rows  # releases the buffer, which may then shrink
        del pending[: count * self.row_dtype.itemsize]

    def result(self):
        """{field: array} of every row; raises ValueError when the stream was
        not whole fixed-width rows of the layout."""
        self._read_rows()
        if not self._header_read or bytes(self._pending) != b"\xff\xff":
            raise ValueError("binary COPY stream with rows of an unexpected size")
        result = {}
        # Column by column, each one's batches dropped once joined: the peak
        # is the columns and one of them again, not twice the columns.
        for name, dtype in self.columns.items():
            parts = self._parts[name]
            result[name] = np.concatenate(parts) if parts else np.zeros(0, dtype)
            parts.clear()
        return result


def _encode_rows(columns):
    """The rows of equally long numpy arrays, one per column, each of a
    fixed-width big-endian dtype, as binary COPY rows (no header)."""
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
    return rows.tobytes()


def write_copy_binary(columns):
    """``COPY … FROM STDIN (FORMAT binary)`` data of equally long numpy
    arrays, one per column, each of a fixed-width big-endian dtype."""
    # Signature, flags and header extension length (both 0), rows, trailer.
    return b"".join(
        (COPY_BINARY_SIGNATURE, bytes(8), _encode_rows(columns), b"\xff\xff")
    )


class CopyBinaryStream:
    """The data of :func:`write_copy_binary` as a file that
    ``cursor.copy_expert("COPY … FROM STDIN (FORMAT binary)", stream)`` reads,
    encoded ``batch_rows`` rows at a time as it is read: the whole stream
    never exists at once (twice 310 MB for 5M recommendations)."""

    def __init__(self, columns, batch_rows=1 << 16):
        self._pieces = self._encode(list(columns), batch_rows)
        self._piece = memoryview(b"")
        self._position = 0

    @staticmethod
    def _encode(columns, batch_rows):
        yield COPY_BINARY_SIGNATURE + bytes(8)
        count = len(columns[0]) if columns else 0
        for start in range(0, count, batch_rows):
            yield _encode_rows(
                [values[start : start + batch_rows] for values in columns]
            )
        yield b"\xff\xff"

    # A file's read (copy_expert calls it), not a model's: no super to call.
    def read(self, size=-1):  # pylint: disable=method-required-super
        if size is None or size < 0:
            rest = bytes(self._piece[self._position :]) + b"".join(self._pieces)
            self._piece, self._position = memoryview(b""), 0
            return rest
        while self._position >= len(self._piece):
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._piece, self._position = memoryview(piece), 0
        data = bytes(self._piece[self._position : self._position + size])
        self._position += len(data)
        return data

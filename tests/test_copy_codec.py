"""The binary COPY codec (custseg_module/tools/copy_codec.py), without a
database: what the writer emits, the reader gives back, and the reader refuses
any stream that is not fixed-width rows of the layout it was given."""

import numpy as np
import pytest

from custseg_module.tools.copy_codec import (
    COPY_BINARY_SIGNATURE,
    read_copy_binary,
    write_copy_binary,
)

ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("a_size", ">i4"),
        ("a", ">i4"),
        ("b_size", ">i4"),
        ("b", ">f8"),
    ]
)


def test_round_trip_keeps_every_value_exactly():
    ints = np.array([7, -(2**31), 2**31 - 1], dtype=">i4")
    floats = np.array([0.1, -1e300, 1234.56], dtype=">f8")
    rows = read_copy_binary(write_copy_binary([ints, floats]), ROW)
    assert rows["a"].tolist() == ints.tolist()
    assert rows["b"].tolist() == floats.tolist()


def test_stream_layout_is_postgresql_s():
    data = write_copy_binary([np.array([1], dtype=">i4")])
    assert data.startswith(COPY_BINARY_SIGNATURE + bytes(8))
    # One row: field count 1, length 4, value 1; then the trailer -1.
    assert data[19:] == b"\x00\x01" + b"\x00\x00\x00\x04" + b"\x00\x00\x00\x01" + (
        b"\xff\xff"
    )


def test_no_rows_is_a_valid_stream():
    empty = write_copy_binary([np.array([], dtype=">i4"), np.array([], dtype=">f8")])
    assert len(read_copy_binary(empty, ROW)) == 0


@pytest.mark.parametrize(
    "stream",
    [
        b"1,1.0\n",
        write_copy_binary([np.array([1], dtype=">i4"), np.array([1.0], dtype=">f8")])[
            :-3
        ],
        # A bigint where an integer was expected: rows of another width.
        write_copy_binary([np.array([1], dtype=">i8"), np.array([1.0], dtype=">f8")]),
        # Three 2-byte values: rows of another width.
        write_copy_binary([np.array([1, 2, 3], dtype=">i2")]),
    ],
)
def test_anything_else_is_refused(stream):
    with pytest.raises(ValueError):
        read_copy_binary(stream, ROW)

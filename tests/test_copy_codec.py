"""The binary COPY codec (custseg_module/tools/copy_codec.py), without a
database: what the writer emits, the reader gives back, and the reader refuses
any stream that is not fixed-width rows of the layout it was given."""

import numpy as np
import pytest

from custseg_module.tools.copy_codec import (
    COPY_BINARY_SIGNATURE,
    CopyBinaryColumns,
    CopyBinaryStream,
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


REFUSED = [
    b"1,1.0\n",
    write_copy_binary([np.array([1], dtype=">i4"), np.array([1.0], dtype=">f8")])[:-3],
    # A bigint where an integer was expected: rows of another width.
    write_copy_binary([np.array([1], dtype=">i8"), np.array([1.0], dtype=">f8")]),
    # Three 2-byte values: rows of another width.
    write_copy_binary([np.array([1, 2, 3], dtype=">i2")]),
]


@pytest.mark.parametrize("stream", REFUSED)
def test_anything_else_is_refused(stream):
    with pytest.raises(ValueError):
        read_copy_binary(stream, ROW)


def _streamed(stream, piece, batch_bytes):
    """The stream written to a CopyBinaryColumns in pieces of ``piece`` bytes,
    as psycopg2 writes a COPY's messages, and its result."""
    target = CopyBinaryColumns(ROW, {"a": np.int32, "b": np.float64}, batch_bytes)
    for start in range(0, len(stream), piece):
        assert target.write(stream[start : start + piece]) == len(
            stream[start : start + piece]
        )
    return target.result()


@pytest.mark.parametrize(("piece", "batch_bytes"), [(1, 1), (7, 50), (10**6, 1 << 24)])
def test_columns_read_as_they_arrive_are_the_whole_reads(piece, batch_bytes):
    rng = np.random.default_rng(3)
    ints = rng.integers(-(2**31), 2**31, 1000).astype(">i4")
    floats = rng.normal(size=1000).astype(">f8")
    stream = write_copy_binary([ints, floats])
    whole = read_copy_binary(stream, ROW)
    columns = _streamed(stream, piece, batch_bytes)
    assert columns["a"].dtype == np.int32 and columns["b"].dtype == np.float64
    np.testing.assert_array_equal(columns["a"], whole["a"])
    np.testing.assert_array_equal(columns["b"], whole["b"])


def test_columns_of_no_rows_are_empty_of_their_type():
    empty = write_copy_binary([np.array([], dtype=">i4"), np.array([], dtype=">f8")])
    columns = _streamed(empty, 5, 1)
    assert columns["a"].dtype == np.int32 and len(columns["a"]) == 0
    assert columns["b"].dtype == np.float64 and len(columns["b"]) == 0


@pytest.mark.parametrize("stream", [*REFUSED, b""])
@pytest.mark.parametrize("batch_bytes", [1, 1 << 24])
def test_columns_refuse_anything_else(stream, batch_bytes):
    with pytest.raises(ValueError):
        _streamed(stream, 3, batch_bytes)


def test_a_null_is_refused_as_it_arrives():
    stream = bytearray(
        write_copy_binary([np.array([5], ">i4"), np.array([1.0], ">f8")])
    )
    stream[21:25] = (-1).to_bytes(4, "big", signed=True)  # the first field: NULL
    with pytest.raises(ValueError):
        _streamed(bytes(stream), 4, 1)


@pytest.mark.parametrize(
    ("size", "batch_rows"), [(1, 1), (13, 7), (8192, 1 << 16), (-1, 3)]
)
def test_a_stream_reads_as_the_whole_data(size, batch_rows):
    rng = np.random.default_rng(5)
    columns = [
        rng.integers(-(2**31), 2**31, 100).astype(">i4"),
        rng.normal(size=100).astype(">f8"),
    ]
    stream = CopyBinaryStream(columns, batch_rows)
    pieces = []
    while piece := stream.read(size):
        assert size < 0 or len(piece) <= size
        pieces.append(piece)
    assert b"".join(pieces) == write_copy_binary(columns)
    assert stream.read(size) == b""


def test_a_stream_of_no_rows_is_the_header_and_trailer():
    columns = [np.array([], dtype=">i4"), np.array([], dtype=">f8")]
    stream = CopyBinaryStream(columns)
    assert stream.read(1 << 20) + stream.read(1 << 20) == write_copy_binary(columns)

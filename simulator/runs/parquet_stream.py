"""Parquet files written a row group at a time with memory that does not grow with the row groups.

``pyarrow.parquet.ParquetWriter`` keeps the metadata of every row group it has written in memory
until it writes the footer: about 0.3 MiB per row group of replicates.parquet's 381 columns, so
0.3 KiB per replicate in blocks of 1,000 (300 MiB at a million replicates, and as much again while
the footer is serialised). ``StreamingParquetWriter`` writes the same bytes without holding it:

- each table is written by a fresh ``ParquetWriter`` into a buffer (a Parquet file of that table
  alone);
- the buffer's row-group bytes are appended to the output file as they are;
- in its footer (Thrift compact protocol) the row groups' file offsets are moved to their place in
  the output, and the row groups' entries are appended to an anonymous spool file;
- ``close()`` writes the footer of the whole file: the footer of an empty file with the total row
  count and the spooled entries streamed into its list of row groups.

A Parquet file is ``PAR1``, the row groups one after the other, the footer, its length and
``PAR1``; a row group's bytes do not depend on the row groups before it, so this is what one
``ParquetWriter`` writing the same tables would have written, byte for byte
(tests/test_memory.py checks it). Page indexes, bloom filters and encryption (pyarrow writes none
of them unless asked) would be laid out differently; if the first table's file holds one, the
writer falls back to one plain ``ParquetWriter`` (the same bytes, memory that grows).

Only the offsets are decoded: the footer is walked field by field and copied as it is between
them, which costs a few milliseconds per row group of 381 columns.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MAGIC = b"PAR1"

# Thrift compact protocol type codes
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
_VARINTS = (_I16, _I32, _I64)

# parquet.thrift field ids (FileMetaData, RowGroup, ColumnChunk, ColumnMetaData)
_FILE_NUM_ROWS, _FILE_ROW_GROUPS = 3, 4
_RG_COLUMNS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_FILE_OFFSET, _CC_META = 2, 3
_CC_UNSUPPORTED = (4, 6, 8, 9)  # offset index, column index, column encryption
_CM_OFFSETS = (9, 10, 11)  # data_page_offset, index_page_offset, dictionary_page_offset
_CM_BLOOM = 14  # bloom_filter_offset


class UnsupportedLayout(Exception):
    """The file holds structures outside its row groups (page index, bloom filter) or is encrypted."""


# ------------------------------------------------------------------ Thrift compact protocol
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the unsigned varint at ``pos``."""
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _zigzag(data: bytes, pos: int) -> tuple[int, int]:
    n, pos = _varint(data, pos)
    return (n >> 1) ^ -(n & 1), pos


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _encode_zigzag(n: int) -> bytes:
    return _encode_varint((n << 1) ^ (n >> 63))


def _list_header(size: int) -> bytes:
    """The header of a list of ``size`` structs."""
    return bytes([(size << 4) | _STRUCT]) if size < 15 else bytes([0xF0 | _STRUCT]) + _encode_varint(size)


def _field(data: bytes, pos: int, last: int) -> tuple[int, int, int]:
    """(field id, type, position of the value) of the field header at ``pos``; field id 0 at the stop byte."""
    head = data[pos]
    if head == 0:
        return 0, 0, pos + 1
    delta = head >> 4
    if delta:
        return last + delta, head & 0x0F, pos + 1
    fid, pos = _zigzag(data, pos + 1)
    return fid, head & 0x0F, pos


def _skip(data: bytes, pos: int, ctype: int) -> int:
    """The position after a value of type ``ctype`` at ``pos``."""
    if ctype in _VARINTS:
        while data[pos] >= 0x80:
            pos += 1
        return pos + 1
    if ctype == _BINARY:
        n, pos = _varint(data, pos)
        return pos + n
    if ctype == _STRUCT:
        return _skip_struct(data, pos)
    if ctype in (_LIST, _SET):
        size, etype, pos = _list_start(data, pos)
        for _ in range(size):
            pos = _skip(data, pos, etype)
        return pos
    if ctype in (_BYTE, _BOOL_TRUE, _BOOL_FALSE):  # bytes, and bools inside lists
        return pos + 1
    if ctype == _DOUBLE:
        return pos + 8
    raise ValueError(f"Thrift type {ctype} does not occur in Parquet footers")


def _skip_struct(data: bytes, pos: int) -> int:
    """The position after the struct at ``pos`` (integers and strings skipped inline: this is the hot loop)."""
    while True:
        head = data[pos]
        pos += 1
        if head == 0:
            return pos
        if head < 0x10:  # a field id that does not fit the header: a varint follows
            while data[pos] >= 0x80:
                pos += 1
            pos += 1
        t = head & 0x0F
        if t in _VARINTS:
            while data[pos] >= 0x80:
                pos += 1
            pos += 1
        elif t == _BINARY:
            n, pos = _varint(data, pos)
            pos += n
        elif t not in (_BOOL_TRUE, _BOOL_FALSE):  # a bool field's value is in its header
            pos = _skip(data, pos, t)


def _list_start(data: bytes, pos: int) -> tuple[int, int, int]:
    """(size, element type, position of the first element) of the list header at ``pos``."""
    head = data[pos]
    size, etype = head >> 4, head & 0x0F
    if size == 15:
        size, pos = _varint(data, pos + 1)
        return size, etype, pos
    return size, etype, pos + 1


class _Patcher:
    """Copies a footer's row groups with their absolute file offsets moved by ``shift`` bytes."""

    def __init__(self, data: bytes, shift: int, start: int) -> None:
        self.data = data
        self.shift = shift
        self.out = bytearray()
        self.copied = start  # data[start:copied] is in out, patched

    def finish(self, end: int) -> bytes:
        """The patched bytes of data[start:end]."""
        self.out += self.data[self.copied : end]
        self.copied = end
        return bytes(self.out)

    def replace(self, start: int, end: int, value: bytes) -> None:
        self.out += self.data[self.copied : start]
        self.out += value
        self.copied = end

    def offset(self, pos: int) -> int:
        """Move the i64 offset at ``pos`` (0 means "not set": pyarrow writes 0 in ColumnChunk.file_offset)."""
        value, end = _zigzag(self.data, pos)
        if value >= len(MAGIC):
            self.replace(pos, end, _encode_zigzag(value + self.shift))
        return end

    def row_group(self, pos: int, ordinal: int) -> int:
        data, last = self.data, 0
        while True:
            last, t, pos = _field(data, pos, last)
            if t == 0:
                return pos
            if last == _RG_COLUMNS and t == _LIST:
                size, _, pos = _list_start(data, pos)
                for _ in range(size):
                    pos = self.column_chunk(pos)
            elif last == _RG_FILE_OFFSET and t == _I64:
                pos = self.offset(pos)
            elif last == _RG_ORDINAL and t == _I16:  # pyarrow 26 does not write it
                end = _skip(data, pos, t)
                self.replace(pos, end, _encode_zigzag((ordinal + 2**15) % 2**16 - 2**15))
                pos = end
            elif t not in (_BOOL_TRUE, _BOOL_FALSE):
                pos = _skip(data, pos, t)

    def column_chunk(self, pos: int) -> int:
        data, last = self.data, 0
        while True:
            last, t, pos = _field(data, pos, last)
            if t == 0:
                return pos
            if last in _CC_UNSUPPORTED:
                raise UnsupportedLayout("page index or column encryption")
            if last == _CC_FILE_OFFSET and t == _I64:
                pos = self.offset(pos)
            elif last == _CC_META and t == _STRUCT:
                pos = self.column_meta(pos)
            elif t not in (_BOOL_TRUE, _BOOL_FALSE):
                pos = _skip(data, pos, t)

    def column_meta(self, pos: int) -> int:
        data, last = self.data, 0
        while True:
            last, t, pos = _field(data, pos, last)
            if t == 0:
                return pos
            if last == _CM_BLOOM:
                raise UnsupportedLayout("bloom filter")
            if last in _CM_OFFSETS and t == _I64:
                pos = self.offset(pos)
            elif t not in (_BOOL_TRUE, _BOOL_FALSE):
                pos = _skip(data, pos, t)


class _Footer:
    """A footer cut around its list of row groups: ``head`` (the fields before the row count), the row
    count, the list of row groups, and ``tail`` (the fields after it and the stop byte)."""

    def __init__(self, footer: bytes) -> None:
        pos, last = 0, 0
        while True:
            fid, t, value = _field(footer, pos, last)
            if fid in (0, _FILE_NUM_ROWS, _FILE_ROW_GROUPS) or fid > _FILE_ROW_GROUPS:
                break
            pos, last = _skip(footer, value, t), fid
        if fid != _FILE_NUM_ROWS:
            raise UnsupportedLayout("no row count in the footer")
        self.head = footer[:pos]
        self.last = last  # the field id before num_rows
        _, pos = _zigzag(footer, value)
        fid, t, value = _field(footer, pos, _FILE_NUM_ROWS)
        if fid != _FILE_ROW_GROUPS or t != _LIST:
            raise UnsupportedLayout("no row groups after the row count")
        self.row_groups, _, self.first = _list_start(footer, value)
        self.tail = footer[self.first :] if self.row_groups == 0 else b""  # known without a walk if empty

    def row_groups_of(self, footer: bytes) -> tuple[int, int]:
        """(number, position) of the row groups of another footer with the same head (the same schema)."""
        if not footer.startswith(self.head):
            raise UnsupportedLayout("footers of different tables differ before their row groups")
        fid, t, value = _field(footer, len(self.head), self.last)
        _, pos = _zigzag(footer, value)
        fid2, t2, value = _field(footer, pos, _FILE_NUM_ROWS)
        if (fid, t, fid2, t2) != (_FILE_NUM_ROWS, _I64, _FILE_ROW_GROUPS, _LIST):
            raise UnsupportedLayout("no row groups after the row count")
        size, _, first = _list_start(footer, value)
        return size, first

    def encode(self, rows: int, row_groups: int) -> bytes:
        """Head, row count and the header of a list of ``row_groups`` row groups (the entries follow)."""
        return (
            self.head
            + bytes([((_FILE_NUM_ROWS - self.last) << 4) | _I64])
            + _encode_zigzag(rows)
            + bytes([((_FILE_ROW_GROUPS - _FILE_NUM_ROWS) << 4) | _LIST])
            + _list_header(row_groups)
        )


def _one_table_file(table: pa.Table | None, schema: pa.Schema, options: dict, row_group_size: int | None) -> bytes:
    """The bytes ParquetWriter writes for this table alone (no table: an empty file)."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, schema, **options) as writer:
        if table is not None:
            writer.write_table(table, row_group_size)
    return sink.getvalue().to_pybytes()


def _split(data: bytes) -> tuple[bytes, bytes]:
    """(row-group bytes, footer) of a Parquet file."""
    if data[:4] != MAGIC or data[-4:] != MAGIC:
        raise UnsupportedLayout("not a plain Parquet file (encrypted?)")
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer_start = len(data) - 8 - footer_len
    return data[4:footer_start], data[footer_start : len(data) - 8]


# ------------------------------------------------------------------ the writer
class StreamingParquetWriter:
    """Writes tables to one Parquet file, one or more row groups each, holding no metadata in memory.

    Same interface and the same bytes as ``pq.ParquetWriter(path, schema, **options)``; ``options``
    are ParquetWriter's keyword arguments (compression, ...).
    """

    def __init__(self, path: Path, schema: pa.Schema, **options: Any) -> None:
        self.path = Path(path)
        self.schema = schema
        self.options = options
        self.rows = 0
        self.row_groups = 0
        self._out = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        self._out.write(MAGIC)
        self._spool = tempfile.TemporaryFile(dir=self.path.parent)  # noqa: SIM115 (the row groups' entries)
        self._plain: pq.ParquetWriter | None = None
        self._empty: _Footer | None = None  # the footer of an empty file: head and tail of the whole file's

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
        """Append a table, split into row groups as ``ParquetWriter.write_table`` splits it."""
        if self._plain is not None:
            self._plain.write_table(table, row_group_size)
            return
        first = self._empty is None
        try:
            if first:
                self._empty = _Footer(_split(_one_table_file(None, self.schema, self.options, None))[1])
            data, footer = _split(_one_table_file(table, self.schema, self.options, row_group_size))
            count, pos = self._empty.row_groups_of(footer)
            patch = _Patcher(footer, self._out.tell() - len(MAGIC), pos)
            for _ in range(count):
                pos = patch.row_group(pos, self.row_groups)
                self.row_groups += 1
            if footer[pos:] != self._empty.tail:
                raise UnsupportedLayout("unexpected fields after the row groups")
        except UnsupportedLayout:
            if not first:
                raise
            self._start_plain(table, row_group_size)
            return
        self._spool.write(patch.finish(pos))
        self._out.write(data)
        self.rows += table.num_rows

    def _start_plain(self, table: pa.Table, row_group_size: int | None) -> None:
        self._out.close()
        self._spool.close()
        self._plain = pq.ParquetWriter(self.path, self.schema, **self.options)
        self._plain.write_table(table, row_group_size)
        self.rows += table.num_rows

    def close(self) -> None:
        """Write the footer and close the file."""
        if self._plain is not None:
            self._plain.close()
            return
        if self._out.closed:
            return
        if self._empty is None:
            self._empty = _Footer(_split(_one_table_file(None, self.schema, self.options, None))[1])
        head = self._empty.encode(self.rows, self.row_groups)
        size = len(head) + self._spool.seek(0, 2) + len(self._empty.tail)
        self._spool.seek(0)
        self._out.write(head)
        shutil.copyfileobj(self._spool, self._out, 1 << 20)
        self._out.write(self._empty.tail)
        self._out.write(struct.pack("<I", size))
        self._out.write(MAGIC)
        self._out.close()
        self._spool.close()

    def __enter__(self) -> StreamingParquetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

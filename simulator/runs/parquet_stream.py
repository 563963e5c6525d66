"""Parquet files written a row group at a time with memory that does not grow with the row groups.

``pyarrow.parquet.ParquetWriter`` keeps the metadata of every row group it has written in memory
until it writes the footer: about 0.3 MiB per row group of replicates.parquet's 381 columns, so
0.3 KiB per replicate in blocks of 1,000 (300 MiB at a million replicates, and as much again while
the footer is serialised). ``StreamingParquetWriter`` writes the same bytes without holding it:

- each table is written by a fresh ``ParquetWriter`` into a buffer (a one-file Parquet file of that
  table alone);
- the buffer's row-group bytes are appended to the output file as they are;
- its footer (Thrift compact protocol) is parsed, the row groups' file offsets are shifted to their
  place in the output, their ordinals renumbered, and they are appended to an anonymous spool file;
- ``close()`` writes the footer of the whole file: the footer of the one-table files with the
  total row count and the spooled row groups streamed in its list of row groups.

A Parquet file is ``PAR1``, the row groups one after the other, the footer, its length and
``PAR1``; a row group's bytes do not depend on the row groups before it, so this is what one
``ParquetWriter`` writing the same tables would have written, byte for byte
(tests/test_memory.py checks it). Files with page indexes, bloom filters or encryption (none of
which pyarrow writes unless asked) keep their indexes after all row groups; if the first table's
footer shows one, the writer falls back to one plain ``ParquetWriter`` (same bytes, memory grows).
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
_VARINT_TYPES = (_I16, _I32, _I64)

# parquet.thrift field ids
_FILE_NUM_ROWS, _FILE_ROW_GROUPS = 3, 4
_FILE_ENCRYPTION = (8, 9)  # encryption_algorithm, footer_signing_key_metadata
_RG_COLUMNS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_FILE_OFFSET, _CC_META = 2, 3
_CC_UNSUPPORTED = (4, 6, 8, 9)  # offset index, column index, crypto metadata, encrypted metadata
_CM_OFFSETS = (9, 10, 11)  # data_page_offset, index_page_offset, dictionary_page_offset
_CM_BLOOM = 14  # bloom_filter_offset


class UnsupportedLayout(Exception):
    """The footer holds structures that live outside the row groups (page index, bloom filter, encryption)."""


# ------------------------------------------------------------------ Thrift compact protocol
# A struct is a list of [field id, type code, value]; a list is (element type, [values]). Fields are
# kept in the order read, so writing a parsed struct back gives the same bytes.


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, ctype: int) -> Any:
        if ctype in _VARINT_TYPES:
            return self.zigzag()
        if ctype == _BINARY:
            n = self.varint()
            self.pos += n
            return self.data[self.pos - n : self.pos]
        if ctype == _STRUCT:
            return self.struct()
        if ctype in (_LIST, _SET):
            head = self.byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return (etype, [self.value(etype) for _ in range(size)])
        if ctype == _BYTE:
            return self.byte()
        if ctype in (_BOOL_TRUE, _BOOL_FALSE):  # a list element: one byte
            return self.byte()
        if ctype == _DOUBLE:
            self.pos += 8
            return self.data[self.pos - 8 : self.pos]
        raise ValueError(f"Thrift type {ctype} is not used by Parquet footers")

    def struct(self) -> list:
        fields: list = []
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            ctype, delta = head & 0x0F, head >> 4
            fid = last + delta if delta else self.zigzag()
            last = fid
            value = ctype == _BOOL_TRUE if ctype in (_BOOL_TRUE, _BOOL_FALSE) else self.value(ctype)
            fields.append([fid, ctype, value])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def _write_value(out: bytearray, ctype: int, value: Any) -> None:
    if ctype in _VARINT_TYPES:
        out += _zigzag(value)
    elif ctype == _BINARY:
        out += _varint(len(value))
        out += value
    elif ctype == _STRUCT:
        _write_struct(out, value)
    elif ctype in (_LIST, _SET):
        etype, items = value
        out += _list_header(etype, len(items))
        for item in items:
            _write_value(out, etype, item)
    elif ctype in (_BYTE, _BOOL_TRUE, _BOOL_FALSE):
        out.append(value)
    elif ctype == _DOUBLE:
        out += value
    else:
        raise ValueError(f"Thrift type {ctype} is not used by Parquet footers")


def _list_header(etype: int, size: int) -> bytes:
    return bytes([(size << 4) | etype]) if size < 15 else bytes([0xF0 | etype]) + _varint(size)


def _field_header(out: bytearray, last: int, fid: int, ctype: int) -> None:
    delta = fid - last
    if 0 < delta <= 15:
        out.append((delta << 4) | ctype)
    else:
        out.append(ctype)
        out += _zigzag(fid)


def _write_fields(out: bytearray, fields: list, last: int = 0) -> int:
    """Write a struct's fields (without its stop byte) after field ``last``; returns the last field id."""
    for fid, ctype, value in fields:
        if ctype in (_BOOL_TRUE, _BOOL_FALSE):
            _field_header(out, last, fid, _BOOL_TRUE if value else _BOOL_FALSE)
        else:
            _field_header(out, last, fid, ctype)
            _write_value(out, ctype, value)
        last = fid
    return last


def _write_struct(out: bytearray, fields: list) -> None:
    _write_fields(out, fields)
    out.append(0)


def _field(fields: list, fid: int) -> list | None:
    return next((f for f in fields if f[0] == fid), None)


# ------------------------------------------------------------------ the writer
def _one_table_file(table: pa.Table | None, schema: pa.Schema, options: dict, row_group_size: int | None) -> bytes:
    """The bytes ParquetWriter writes for this table alone (no table: an empty file)."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, schema, **options) as writer:
        if table is not None:
            writer.write_table(table, row_group_size)
    return sink.getvalue().to_pybytes()


def _split(data: bytes) -> tuple[bytes, list]:
    """(row-group bytes, parsed footer) of a one-table Parquet file."""
    if data[:4] != MAGIC or data[-4:] != MAGIC:
        raise ValueError("not a Parquet file")
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer_start = len(data) - 8 - footer_len
    return data[4:footer_start], _Reader(data[footer_start : len(data) - 8]).struct()


def _check_supported(footer: list) -> None:
    if any(_field(footer, fid) for fid in _FILE_ENCRYPTION):
        raise UnsupportedLayout("encrypted footer")
    for row_group in _field(footer, _FILE_ROW_GROUPS)[2][1]:
        for chunk in _field(row_group, _RG_COLUMNS)[2][1]:
            if any(_field(chunk, fid) for fid in _CC_UNSUPPORTED):
                raise UnsupportedLayout("page index or column encryption")
            meta = _field(chunk, _CC_META)
            if meta is not None and _field(meta[2], _CM_BLOOM):
                raise UnsupportedLayout("bloom filter")


def _shift(field: list | None, by: int) -> None:
    """Move an absolute file offset; 0 means "not set" (pyarrow writes 0 in ColumnChunk.file_offset)."""
    if field is not None and field[2] >= 4:
        field[2] += by


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
        self._spool = tempfile.TemporaryFile(dir=self.path.parent)  # noqa: SIM115 (the row groups' metadata)
        self._plain: pq.ParquetWriter | None = None
        self._streaming: bool | None = None  # decided by the first table

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
        """Append a table, split into row groups as ``ParquetWriter.write_table`` splits it."""
        if self._plain is not None:
            self._plain.write_table(table, row_group_size)
            return
        data, footer = _split(_one_table_file(table, self.schema, self.options, row_group_size))
        if self._streaming is None:
            try:
                _check_supported(footer)
                self._streaming = True
            except UnsupportedLayout:
                self._start_plain(table, row_group_size)
                return
        offset = self._out.tell() - len(MAGIC)
        for row_group in _field(footer, _FILE_ROW_GROUPS)[2][1]:
            _shift(_field(row_group, _RG_FILE_OFFSET), offset)
            for chunk in _field(row_group, _RG_COLUMNS)[2][1]:
                _shift(_field(chunk, _CC_FILE_OFFSET), offset)
                meta = _field(chunk, _CC_META)
                if meta is not None:
                    for fid in _CM_OFFSETS:
                        _shift(_field(meta[2], fid), offset)
            ordinal = _field(row_group, _RG_ORDINAL)
            if ordinal is not None:  # an int16 in parquet.thrift (pyarrow 26 does not write it)
                ordinal[2] = (self.row_groups + 2**15) % 2**16 - 2**15
            buf = bytearray()
            _write_struct(buf, row_group)
            self._spool.write(buf)
            self.row_groups += 1
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
        _, template = _split(_one_table_file(None, self.schema, self.options, None))
        head, tail = bytearray(), bytearray()
        before = [
            [fid, t, self.rows if fid == _FILE_NUM_ROWS else v] for fid, t, v in template if fid < _FILE_ROW_GROUPS
        ]
        last = _write_fields(head, before)
        _field_header(head, last, _FILE_ROW_GROUPS, _LIST)
        head += _list_header(_STRUCT, self.row_groups)
        _write_fields(tail, [f for f in template if f[0] > _FILE_ROW_GROUPS], _FILE_ROW_GROUPS)
        tail.append(0)
        size = len(head) + self._spool.seek(0, 2) + len(tail)
        self._spool.seek(0)
        self._out.write(head)
        shutil.copyfileobj(self._spool, self._out, 1 << 20)
        self._out.write(tail)
        self._out.write(struct.pack("<I", size))
        self._out.write(MAGIC)
        self._out.close()
        self._spool.close()

    def __enter__(self) -> StreamingParquetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

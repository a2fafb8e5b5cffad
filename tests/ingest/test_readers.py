"""Readers on real files in real encodings: encodings, row numbers, broken rows, chunking, formats."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shouhu.errors import EncodingError, SourceFileError
from shouhu.ingest.readers import Chunk, detect_encoding, read_file
from shouhu.ingest.validate import parse_date, parse_datetime, to_text
from tests.ingest.factories import write_csv, write_jsonl, write_xlsx

HEADER = ["客户编号", "姓名", "城市"]
ROWS = [["C001", "张伟", "北京市朝阳区"], ["C002", "欧阳娜娜", "上海"], ["C003", "李娜", "深圳·南山"]]
# U+4DAE (CJK Ext. A) and U+20000 (Ext. B): in GB18030, not in GBK
OUTSIDE_GBK = [["C004", "刘䶮", "广州"], ["C005", "𠀀", "成都"]]


def read_all(path: Path, fmt: str, **kw: Any) -> list[Chunk]:
    return list(read_file(path, fmt, **kw))


def records(chunks: list[Chunk]) -> list[list[object]]:
    return [row for c in chunks for row in c.records.values.tolist()]


def row_numbers(chunks: list[Chunk]) -> list[int]:
    return [n for c in chunks for n in c.row_numbers]


# -- CSV encodings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "rows", "detected"),
    [
        ("utf-8", ROWS, "utf-8"),
        ("utf-8-sig", ROWS, "utf-8-sig"),
        ("gbk", ROWS, "gb18030"),
        ("gb18030", ROWS + OUTSIDE_GBK, "gb18030"),
    ],
)
def test_csv_encoding_detected_and_chinese_round_trips(
    tmp_path: Path, encoding: str, rows: list[list[str]], detected: str
) -> None:
    path = write_csv(tmp_path / "customers.csv", HEADER, rows, encoding)
    assert detect_encoding(path) == detected
    chunks = read_all(path, "csv")
    assert list(chunks[0].records.columns) == HEADER  # no BOM left on the first column name
    assert records(chunks) == rows
    assert row_numbers(chunks) == list(range(2, 2 + len(rows)))


def test_gb18030_sample_really_needs_gb18030() -> None:
    for _, name, _ in OUTSIDE_GBK:
        with pytest.raises(UnicodeEncodeError):
            name.encode("gbk")


def test_bom_is_dropped_from_header_even_when_utf8_is_forced(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bom.csv", HEADER, ROWS, "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    chunks = read_all(path, "csv", encoding="utf-8")
    assert list(chunks[0].records.columns) == HEADER


def test_explicit_gbk_reads_a_gbk_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", HEADER, ROWS, "gbk")
    assert records(read_all(path, "csv", encoding="GBK")) == ROWS


def test_forcing_utf8_on_gbk_names_file_and_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "客户_gbk.csv", HEADER, ROWS, "gbk")
    with pytest.raises(EncodingError) as exc:
        read_all(path, "csv", encoding="utf-8")
    msg = str(exc.value)
    assert str(path) in msg
    assert re.search(r"line \d+", msg), msg
    assert exc.value.data["file"] == str(path)
    assert exc.value.code == "encoding_error"


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", HEADER, ROWS)
    with pytest.raises(EncodingError, match="no-such-codec"):
        read_all(path, "csv", encoding="no-such-codec")
    with pytest.raises(EncodingError, match="no-such-codec"):
        read_all(path, "jsonl", encoding="no-such-codec")


# -- CSV structure --------------------------------------------------------------------------------
def test_wrong_column_count_is_broken_and_other_rows_keep_their_line(tmp_path: Path) -> None:
    rows = [ROWS[0], ["C002", "欧阳娜娜"], ROWS[2], ["C004", "王芳", "杭州", "多余"]]
    path = write_csv(tmp_path / "a.csv", HEADER, rows)
    chunks = read_all(path, "csv")
    assert records(chunks) == [ROWS[0], ROWS[2]]
    assert row_numbers(chunks) == [2, 4]
    broken = [b for c in chunks for b in c.broken]
    assert [(line, reason) for line, reason, _ in broken] == [
        (3, "expected 3 columns, found 2"),
        (5, "expected 3 columns, found 4"),
    ]
    assert "欧阳娜娜" in broken[0][2]


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("a,b\n1,x\n\n   \n2,y\n", encoding="utf-8")
    chunks = read_all(path, "csv")
    assert records(chunks) == [["1", "x"], ["2", "y"]]
    assert row_numbers(chunks) == [2, 5]
    assert not any(c.broken for c in chunks)


def test_quoted_newline_row_numbering(tmp_path: Path) -> None:
    """Observed: a record spanning lines 2-3 gets the line where it ENDS (3); later rows stay exact."""
    path = write_csv(tmp_path / "q.csv", ["编号", "地址"], [["1", "北京市\n朝阳区"], ["2", "上海"], ["3", "深圳"]])
    assert path.read_text(encoding="utf-8").count("\n") == 5  # header + 2 lines + 2 lines
    chunks = read_all(path, "csv")
    assert records(chunks) == [["1", "北京市\n朝阳区"], ["2", "上海"], ["3", "深圳"]]
    assert row_numbers(chunks) == [3, 4, 5]


def test_csv_chunks_split_and_row_numbers_are_continuous(tmp_path: Path) -> None:
    rows = [[f"C{i:03d}", f"客户{i}", "北京"] for i in range(7)]
    path = write_csv(tmp_path / "many.csv", HEADER, rows)
    chunks = read_all(path, "csv", chunk_rows=2)
    assert [len(c.records) for c in chunks] == [2, 2, 2, 1]
    assert [c.row_numbers for c in chunks] == [[2, 3], [4, 5], [6, 7], [8]]
    assert records(chunks) == rows
    assert all(list(c.records.columns) == HEADER for c in chunks)


def test_broken_rows_count_towards_chunk_size(tmp_path: Path) -> None:
    rows = [ROWS[0], ["bad"], ROWS[1], ROWS[2]]
    chunks = read_all(write_csv(tmp_path / "a.csv", HEADER, rows), "csv", chunk_rows=2)
    assert [(c.row_numbers, [b[0] for b in c.broken]) for c in chunks] == [([2], [3]), ([4, 5], [])]


def test_empty_csv_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceFileError, match="empty"):
        read_all(path, "csv")


def test_header_only_csv_yields_nothing(tmp_path: Path) -> None:
    assert read_all(write_csv(tmp_path / "h.csv", HEADER, []), "csv") == []


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="no such file"):
        read_all(tmp_path / "nope.csv", "csv")
    path = write_csv(tmp_path / "a.csv", HEADER, ROWS)
    with pytest.raises(SourceFileError, match="unsupported format"):
        read_all(path, "xml")


# -- JSON lines -----------------------------------------------------------------------------------
def test_jsonl_valid_blank_invalid_and_non_object_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", [
        {"id": 1, "name": "张伟"},
        "",
        '{"id": 2, "name": ',
        "[1, 2]",
        {"id": 3, "name": "𠀀"},
        '"just a string"',
    ])
    chunks = read_all(path, "jsonl")
    assert records(chunks) == [[1, "张伟"], [3, "𠀀"]]
    assert row_numbers(chunks) == [1, 5]
    broken = [b for c in chunks for b in c.broken]
    assert [b[0] for b in broken] == [3, 4, 6]
    assert broken[0][1].startswith("invalid JSON")
    assert broken[1][1] == broken[2][1] == "a line must hold one JSON object"
    assert broken[1][2] == "[1, 2]"


def test_jsonl_gbk_and_chunking(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [{"n": i, "城市": "北京"} for i in range(5)], encoding="gbk")
    chunks = read_all(path, "jsonl", chunk_rows=2)
    assert [c.row_numbers for c in chunks] == [[1, 2], [3, 4], [5]]
    assert records(chunks)[4] == [4, "北京"]


def test_jsonl_forced_utf8_on_gbk_raises_encoding_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [{"城市": "北京"}], encoding="gbk")
    with pytest.raises(EncodingError, match=r"line \d+") as exc:
        read_all(path, "jsonl", encoding="utf-8")
    assert str(path) in str(exc.value)


# -- Excel ----------------------------------------------------------------------------------------
def test_xlsx_header_types_empty_rows_and_sheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "客户.xlsx", {
        "客户": [
            ["姓名", "手机", "出生日期"],
            ["张伟", 13800138000, date(1980, 1, 2)],
            [None, None, None],
            ["", "  ", None],
            ["李娜", 13900000000.0, None],
        ],
        "其他": [["x"], [1]],
    })
    chunks = read_all(path, "xlsx")
    assert list(chunks[0].records.columns) == ["姓名", "手机", "出生日期"]
    assert row_numbers(chunks) == [2, 5]
    first, second = records(chunks)
    assert first[0] == "张伟"
    assert to_text(first[1]) == "13800138000"
    assert to_text(second[1]) == "13900000000"
    assert isinstance(first[2], date)  # calamine reads a date-formatted cell as a date
    assert parse_date(first[2]) == date(1980, 1, 2)
    assert second[2] is None


def test_xlsx_named_sheet_and_chunking(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {
        "封面": [["说明"], ["本文件为测试"]],
        "保单": [["保单号", "保费"], ["P1", 100], ["P2", 200.5], ["P3", 0]],
    })
    chunks = read_all(path, "xlsx", sheet="保单", chunk_rows=2)
    assert [c.row_numbers for c in chunks] == [[2, 3], [4]]
    assert records(chunks) == [["P1", 100], ["P2", 200.5], ["P3", 0]]


def test_xlsx_missing_header_cells_get_names(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "b.xlsx", {"s": [["a", None, "c"], [1, 2, 3]]})
    assert list(read_all(path, "xlsx")[0].records.columns) == ["a", "column_2", "c"]


def test_xlsx_missing_sheet_lists_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"客户": [["a"]], "保单": [["b"]]})
    with pytest.raises(SourceFileError) as exc:
        read_all(path, "xlsx", sheet="理赔")
    msg = str(exc.value)
    assert "理赔" in msg and "客户" in msg and "保单" in msg


def test_not_an_xlsx_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fake.xlsx", HEADER, ROWS)
    with pytest.raises(SourceFileError, match="not a readable Excel"):
        read_all(path, "xlsx")


# -- Parquet --------------------------------------------------------------------------------------
def test_parquet_native_types_nulls_and_row_numbers(tmp_path: Path) -> None:
    table = pa.table({
        "id": pa.array(["P1", "P2", None]),
        "day": pa.array([date(2024, 1, 31), None, date(2000, 2, 29)], pa.date32()),
        "at": pa.array([datetime(2024, 1, 31, 9, 30), datetime(2024, 2, 1, 0, 0, 1), None], pa.timestamp("us")),
        "n": pa.array([1, None, 3], pa.int64()),
    })
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    chunks = read_all(path, "parquet", chunk_rows=2)
    assert [c.row_numbers for c in chunks] == [[1, 2], [3]]
    rows = records(chunks)
    assert rows[0][0] == "P1" and rows[2][0] is None
    assert rows[0][1] == date(2024, 1, 31) and rows[1][1] is None
    assert rows[0][2] == datetime(2024, 1, 31, 9, 30) and rows[2][2] is None
    assert rows[1][3] is None
    assert [parse_date(r[1]) for r in rows if r[1] is not None] == [date(2024, 1, 31), date(2000, 2, 29)]


def test_parquet_utc_timestamps_become_china_time(tmp_path: Path) -> None:
    path = tmp_path / "tz.parquet"
    utc = datetime(2024, 1, 31, 20, 0, tzinfo=UTC)
    pq.write_table(pa.table({"at": pa.array([utc], pa.timestamp("us", tz="UTC"))}), path)
    (value,) = records(read_all(path, "parquet"))[0]
    assert parse_datetime(value) == datetime(2024, 2, 1, 4, 0)


def test_parquet_int_dates_with_nulls_parse_with_format(tmp_path: Path) -> None:
    """An int column with nulls arrives as floats (19800102.0); a '%Y%m%d' date must still parse."""
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"birth": pa.array([19800102, None], pa.int64())}), path)
    value = records(read_all(path, "parquet"))[0][0]
    assert parse_date(value, "%Y%m%d") == date(1980, 1, 2)


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fake.parquet", HEADER, ROWS)
    with pytest.raises(SourceFileError, match="Parquet"):
        read_all(path, "parquet")


# -- added with the reader fixes: exact error lines, sampling beyond the head, headers, BOMs -------
def test_encoding_error_names_the_exact_line(tmp_path: Path) -> None:
    path = tmp_path / "late_gbk.csv"
    lines = ["id,name"] + [f"{i},ascii{i}" for i in range(1, 500)] + ["500,张伟"]
    path.write_bytes("\n".join(lines).encode("gbk") + b"\n")
    with pytest.raises(EncodingError, match=r"line 501 \(byte \d+\) is not valid utf-8"):
        list(read_file(path, "csv", encoding="utf-8"))


def test_gbk_after_a_long_ascii_head_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    head = "id,name\n" + "".join(f"{i},{'x' * 60}\n" for i in range(40_000))  # > 1 MiB of ASCII
    path.write_bytes(head.encode("ascii") + "99999,王芳\n".encode("gbk"))
    assert path.stat().st_size > (1 << 20)
    assert detect_encoding(path) == "gb18030"
    last = list(read_file(path, "csv"))[-1].records.iloc[-1]
    assert last["name"] == "王芳"


def test_repeated_header_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("客户编号,姓名,姓名\nC1,张三,李四\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"repeats column names \['姓名'\]"):
        list(read_file(path, "csv"))


def test_forced_utf8_tolerates_a_bom_in_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + '{"userId": "U1", "name": "张三"}\n'.encode())
    [chunk] = list(read_file(path, "jsonl", encoding="utf-8"))
    assert chunk.broken == [] and chunk.records.iloc[0]["userId"] == "U1"


def test_broken_csv_rows_keep_their_quoting(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('a,b\n1,"x, y",3\n', encoding="utf-8")
    [chunk] = list(read_file(path, "csv"))
    assert chunk.broken[0][2] == '1,"x, y",3'


def test_xlsx_error_cells_are_kept_not_blanked(tmp_path: Path) -> None:
    # Excel formula errors must reach validation as text (and be quarantined), never become blanks.
    path = write_xlsx(tmp_path / "errors.xlsx", {"客户": [["姓名", "年收入"], ["张伟", "#VALUE!"], ["李娜", 100]]})
    from shouhu.ingest.readers import _has_error_cells

    assert _has_error_cells(path)
    [chunk] = read_all(path, "xlsx")
    assert list(chunk.records["年收入"]) == ["#VALUE!", 100]
    clean = write_xlsx(tmp_path / "clean.xlsx", {"客户": [["姓名", "年收入"], ["张伟", 5]]})
    assert not _has_error_cells(clean)
    assert list(read_all(clean, "xlsx")[0].records["年收入"]) == [5]

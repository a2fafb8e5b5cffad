"""Wearable readers: Apple Health export.xml, vendor CSVs (GBK / UTF-8 BOM, Chinese headers), JSON push."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shouhu.errors import SourceFileError, UnknownName
from shouhu.health import wearables
from tests.health.factories import apple_xml, apple_zip, record, write

TODAY = date(2026, 3, 5)


def _by_day(parsed: wearables.Parsed) -> dict[str, wearables.Daily]:
    return {d.day.isoformat(): d for d in parsed.days}


def test_apple_takes_the_best_source_per_day_and_drops_verbatim_repeats(tmp_path: Path) -> None:
    watch, phone = "张三的Apple Watch", "张三的iPhone"
    recs = [
        record("StepCount", watch, "2026-03-01 08:00:00 +0800", "2026-03-01 08:30:00 +0800", "4000"),
        record("StepCount", watch, "2026-03-01 18:00:00 +0800", "2026-03-01 18:30:00 +0800", "3500"),
        record("StepCount", watch, "2026-03-01 18:00:00 +0800", "2026-03-01 18:30:00 +0800", "3500"),  # re-sync
        record("StepCount", phone, "2026-03-01 08:00:00 +0800", "2026-03-01 08:30:00 +0800", "3900"),
        record("StepCount", phone, "2026-03-01 12:00:00 +0800", "2026-03-01 12:10:00 +0800", "800"),
        record("AppleExerciseTime", watch, "2026-03-01 08:00:00 +0800", "2026-03-01 08:01:00 +0800", "21", "min"),
        record("AppleExerciseTime", watch, "2026-03-01 18:00:00 +0800", "2026-03-01 18:01:00 +0800", "12.4", "min"),
        record("RestingHeartRate", watch, "2026-03-01 06:00:00 +0800", "2026-03-01 06:00:00 +0800", "61",
               "count/min"),
        record("RestingHeartRate", watch, "2026-03-01 22:00:00 +0800", "2026-03-01 22:00:00 +0800", "64",
               "count/min"),
        record("HeartRate", watch, "2026-03-01 09:00:00 +0800", "2026-03-01 09:00:00 +0800", "88", "count/min"),
    ]
    parsed = wearables.parse(apple_xml(tmp_path / "export.xml", recs), "apple", TODAY)
    day = _by_day(parsed)["2026-03-01"]
    assert (day.steps, day.active_minutes, day.resting_hr) == (7500, 33, 62)  # watch 7,500 > phone 4,700
    assert parsed.source == "apple" and parsed.issues == []


def test_apple_counts_a_sample_on_its_own_local_date(tmp_path: Path) -> None:
    recs = [record("StepCount", "Watch", "2026-03-01 23:50:00 +0800", "2026-03-02 00:05:00 +0800", "900"),
            record("StepCount", "Watch", "2026-03-02 07:30:00 +0900", "2026-03-02 07:40:00 +0900", "1200")]
    days = _by_day(wearables.parse(apple_xml(tmp_path / "export.xml", recs), "apple", TODAY))
    assert days["2026-03-01"].steps == 900 and days["2026-03-02"].steps == 1200


def test_apple_quarantines_bad_samples_and_implausible_days_by_record_number(tmp_path: Path) -> None:
    recs = [record("StepCount", "Watch", "2026-03-01 08:00:00 +0800", "2026-03-01 08:30:00 +0800", "abc"),
            record("StepCount", "Watch", "yesterday", "2026-03-01 08:30:00 +0800", "100"),
            record("StepCount", "Watch", "2026-03-02 08:00:00 +0800", "2026-03-02 08:30:00 +0800", "150000"),
            record("StepCount", "Watch", "2026-03-09 08:00:00 +0800", "2026-03-09 08:30:00 +0800", "100"),
            record("StepCount", "Watch", "2026-03-03 08:00:00 +0800", "2026-03-03 08:30:00 +0800", "5000")]
    parsed = wearables.parse(apple_xml(tmp_path / "export.xml", recs), "apple", TODAY)
    issues = [(i.row, i.field) for i in parsed.issues]
    assert issues == [(1, "value"), (2, "startDate"), (3, "steps"), (4, "date")]
    assert "outside the plausible range" in parsed.issues[2].reason and "future" in parsed.issues[3].reason
    assert list(_by_day(parsed)) == ["2026-03-03"]


def test_apple_reads_the_zip_the_health_app_writes(tmp_path: Path) -> None:
    xml = apple_xml(tmp_path / "export.xml",
                    [record("StepCount", "Watch", "2026-03-01 08:00:00 +0800", "2026-03-01 08:30:00 +0800", "6100")])
    parsed = wearables.parse(apple_zip(tmp_path / "export.zip", xml), "apple", TODAY)
    assert [d.steps for d in parsed.days] == [6100]


def test_a_broken_apple_file_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "export.xml"
    bad.write_text("<HealthData><Record type=", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"not a readable Apple Health export\.xml"):
        wearables.parse(bad, "apple", TODAY)


def test_huawei_gbk_export_with_chinese_headers_and_slash_dates(tmp_path: Path) -> None:
    text = ("日期,步数,距离(米),卡路里(千卡),中高强度(分钟),静息心率\r\n"
            "2026/3/1,\"10,234\",7012,321,45,58\r\n"
            "2026/3/2,6020,4100,200,--,\r\n"
            "2026/3/3,很多,100,10,5,60\r\n"
            "2026/2/30,100,100,10,5,60\r\n"
            "\r\n")
    parsed = wearables.parse(write(tmp_path / "华为运动健康.csv", text, "gbk"), "csv", TODAY)
    assert parsed.source == "huawei" and parsed.rows_read == 4
    days = _by_day(parsed)
    assert (days["2026-03-01"].steps, days["2026-03-01"].active_minutes, days["2026-03-01"].resting_hr) == \
        (10234, 45, 58)
    assert days["2026-03-02"].active_minutes is None and days["2026-03-02"].resting_hr is None
    assert [(i.row, i.field) for i in parsed.issues] == [(4, "steps"), (5, "date")]


def test_xiaomi_utf8_bom_export_merges_a_day_listed_twice(tmp_path: Path) -> None:
    text = ("date,lastSyncTime,steps,distance,runDistance,calories\n"
            "2026-03-01,1772400000,5200,3500,100,180\n"
            "2026-03-01,1772403600,5900,3900,100,190\n"
            "2026-03-02,1772486400,0,0,0,0\n")
    parsed = wearables.parse(write(tmp_path / "ACTIVITY_1772.csv", text, "utf-8-sig"), "csv", TODAY)
    assert parsed.source == "xiaomi"
    assert [(d.day.isoformat(), d.steps) for d in parsed.days] == [("2026-03-01", 5900), ("2026-03-02", 0)]


def test_garmin_us_dates_and_named_source(tmp_path: Path) -> None:
    text = ("Date,Actual,Goal,Intensity Minutes,Resting Heart Rate\n"
            "3/1/2026,\"12,040\",7500,62,55\n3/4/2026,800,7500,0,300\n")
    parsed = wearables.parse(write(tmp_path / "Steps.csv", text, "utf-8"), "csv", TODAY)
    assert parsed.source == "garmin"
    assert [(d.day.isoformat(), d.steps, d.active_minutes) for d in parsed.days] == [("2026-03-01", 12040, 62)]
    assert parsed.issues[0].field == "resting_hr" and parsed.issues[0].row == 3
    other = wearables.parse(write(tmp_path / "band.csv", "日期,步数\n2026年3月1日,3000\n", "utf-8"), "csv", TODAY,
                            source="band-x")
    assert other.source == "band-x" and other.days[0].steps == 3000


def test_a_csv_without_a_steps_column_names_it(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="no steps column") as e:
        wearables.parse(write(tmp_path / "x.csv", "日期,卡路里\n2026-03-01,100\n", "utf-8"), "csv", TODAY)
    assert e.value.data["field"] == "steps"


def test_json_push_with_bad_items_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "push.json"
    path.write_text('{"source": "Band X", "days": [{"date": "2026-03-01", "steps": 8123, "active_minutes": 41,'
                    ' "resting_hr": 62}, {"date": "2026-03-02", "steps": "lots"}, {"steps": 5}, 7,'
                    ' {"date": "2026-03-03", "steps": 4000.0, "resting_hr": null}]}', encoding="utf-8")
    parsed = wearables.parse(path, "json", TODAY)
    assert parsed.source == "json:band-x"
    assert [(d.day.isoformat(), d.steps) for d in parsed.days] == [("2026-03-01", 8123), ("2026-03-03", 4000)]
    assert [(i.row, i.field) for i in parsed.issues] == [(2, "steps"), (3, "date"), (4, "(item)")]


def test_unknown_format_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownName, match="apple, csv, json"):
        wearables.parse(tmp_path / "x", "fitbit", TODAY)

"""Small outside-style export files, written the way the vendors' apps write them."""

from __future__ import annotations

import zipfile
from pathlib import Path

APPLE_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="zh_CN">
 <ExportDate value="2026-03-05 21:00:00 +0800"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-05-01"
     HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""


def record(kind: str, source: str, start: str, end: str, value: str, unit: str = "count") -> str:
    return (f' <Record type="HKQuantityTypeIdentifier{kind}" sourceName="{source}" sourceVersion="17.2" '
            f'unit="{unit}" creationDate="{end}" startDate="{start}" endDate="{end}" value="{value}">\n'
            f'  <MetadataEntry key="HKWasUserEntered" value="0"/>\n </Record>\n')


def apple_xml(path: Path, records: list[str]) -> Path:
    body = "".join(records)
    workout = (' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="30" '
               'startDate="2026-03-01 07:00:00 +0800" endDate="2026-03-01 07:30:00 +0800">\n'
               '  <WorkoutStatistics type="HKQuantityTypeIdentifierStepCount" sum="3000" unit="count"/>\n'
               ' </Workout>\n')
    path.write_text(APPLE_HEAD + body + workout + "</HealthData>\n", encoding="utf-8")
    return path


def apple_zip(path: Path, xml: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.write(xml, "apple_health_export/export.xml")
        z.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    return path


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path

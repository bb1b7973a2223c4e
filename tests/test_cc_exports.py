"""Command-and-control exports: column maps, UK dates, dispatch / travel split, validate, on-scene times.

The fixture ``fixtures/incidents/storm_export.csv`` is a STORM-style export (``Incident URN, Created,
Dispatched, Arrived, Grade, Opening Code, Easting, Northing``) with UK dates; ``storm_columns.toml`` maps it.
Hand count of its 14 rows (lines 2-15; essex-2022: grade 1 = 15 min urban, 2 = 20 min rural, 3 = 60 min):

====  =======  =====  ========  =================================  ======
line  URN      grade  response  outcome                            month
====  =======  =====  ========  =================================  ======
2     001      1      11        met (urban)                        06
3     002      1      21        NOT met (urban)                    06
4     003      1      15        met (= target; urban; past 00:00)  06
5     004      2      19        met (rural)                        06
6     005      2      25        NOT met (rural)                    06
7     006      3      55        met (urban)                        07
8     007      3      90        NOT met (rural)                    07
9     008      3      60        met (= target; urban)              07
10    009      1      11        met (urban)                        07
11    010      2      40        NOT met (rural; no Dispatched)     07
12    011      -      -         rejected unparseable_time (25:99)
13    012      -      -         rejected negative_response_time
14    013      -      -         rejected missing_coordinates
15    014      3      10        met (urban; dispatch after arrival: warning, no split)  06
====  =======  =====  ========  =================================  ======

Emergency (grades 1 + 2): met 4 (001, 003, 004, 009), not met 3 (002, 005, 010); urban 3 / 1, rural 1 / 2.
Priority (grade 3): met 3 (006, 008, 014), not met 1 (007); urban 3 / 0, rural 0 / 1.
Months: 2018-06 has 6 judged (001-005, 014), 2018-07 has 5 (006-010).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo_response.cli import get_app
from geo_response.errors import InputFileError
from geo_response.incidents import load as loader

FIX = Path(__file__).parent / "fixtures" / "incidents"
STORM = FIX / "storm_export.csv"
MAP_TOML = FIX / "storm_columns.toml"
MAP_TEXT = "Incident URN=incident_id,Created=occurred_at,Dispatched=dispatched_at,Arrived=arrived_at"


def _cli(*args: str):
    return CliRunner().invoke(get_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def area(data_dir):
    from geo_response.study_area import load_study_area

    return load_study_area(data_dir=data_dir)


@pytest.fixture(scope="module")
def storm(area):
    return loader.load_incidents(
        loader.IncidentSource(STORM, columns=loader.parse_column_map(MAP_TOML)),
        boundary=area.boundary,
        policy=area.policy("essex-2022"),
        lsoas=area.lsoas,
    )


@pytest.fixture(scope="module")
def compliance_out(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cc") / "out"
    result = _cli("compliance", "--incidents", STORM, "--columns", MAP_TEXT, "--out", out, "--data-dir", data_dir)
    return result, out


def test_column_map_text_and_toml_agree():
    assert (
        loader.parse_column_map(MAP_TEXT)
        == loader.parse_column_map(MAP_TOML)
        == {
            "Incident URN": "incident_id",
            "Created": "occurred_at",
            "Dispatched": "dispatched_at",
            "Arrived": "arrived_at",
        }
    )
    with pytest.raises(InputFileError, match="not 'file column=name'"):
        loader.parse_column_map("Incident URN")


def test_storm_counts_and_unused_columns(storm):
    s = storm.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (14, 11, 3)
    assert s["rejected_by_reason"] == {"unparseable_time": 1, "negative_response_time": 1, "missing_coordinates": 1}
    assert s["warnings"] == {"dispatch_time_out_of_order": 1}
    assert s["unused_columns"] == ["Opening Code"]
    assert s["date_order"] == ["dayfirst"]
    assert s["columns"]["incident_id"] == "Incident URN"


def test_dispatch_and_travel_split(storm):
    inc = storm.incidents.set_index("incident_id")
    # URN-001: created 17:20, dispatched 17:22, arrived 17:31 -> 11 = 2 + 9
    assert inc.loc["URN-001", ["response_minutes", "dispatch_minutes", "travel_minutes_observed"]].tolist() == [
        11.0,
        2.0,
        9.0,
    ]
    # URN-003 arrives after midnight: 23:50 -> 00:05 next day = 15, dispatched 23:55 -> 5 + 10
    assert inc.loc["URN-003", ["response_minutes", "dispatch_minutes", "travel_minutes_observed"]].tolist() == [
        15.0,
        5.0,
        10.0,
    ]
    assert inc.loc["URN-003", "month"] == "2018-06"
    assert inc.loc["URN-003", "occurred_at"] == pd.Timestamp("2018-06-03 23:50")
    # URN-010 has no Dispatched; URN-014 was dispatched after it arrived: response kept, no split
    assert inc.loc["URN-010", "response_minutes"] == 40.0 and np.isnan(inc.loc["URN-010", "dispatch_minutes"])
    assert inc.loc["URN-014", "response_minutes"] == 10.0 and np.isnan(inc.loc["URN-014", "travel_minutes_observed"])


def test_compliance_tables_are_observed_hand_counts(compliance_out):
    result, out = compliance_out
    assert result.exit_code == 0, result.output
    assert "Opening Code" in result.stderr  # the unused-column warning names it
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcomes"] == "observed"
    assert (summary["input"], summary["accepted"], summary["rejected"]) == (14, 11, 3)
    long = pd.read_csv(out / "compliance_by_month.csv", dtype={"grade": str})
    top = long[(long["category"] == "all") & (long["district"] == "all")]

    def cell(grade: str, setting: str, month: str) -> tuple[int, int]:
        row = top[(top["grade"] == grade) & (top["urban_rural"] == setting) & (top["month"] == month)]
        assert len(row) == 1, (grade, setting, month)
        return int(row["met"].iloc[0]), int(row["not_met"].iloc[0])

    assert cell("emergency", "all", "Total") == (4, 3)
    assert cell("emergency", "urban", "Total") == (3, 1)
    assert cell("emergency", "rural", "Total") == (1, 2)
    assert cell("priority", "all", "Total") == (3, 1)
    assert cell("priority", "urban", "Total") == (3, 0)
    assert cell("priority", "rural", "Total") == (0, 1)
    assert cell("all", "all", "2018-06") == (4, 2)  # 001 003 004 014 met; 002 005 not
    assert cell("all", "all", "2018-07") == (3, 2)  # 006 008 009 met; 007 010 not
    assert "unknown" not in set(top["month"])
    judged = pd.read_csv(out / "incidents.csv").set_index("incident_id")
    assert judged.loc["URN-001", ["dispatch_minutes", "travel_minutes_observed"]].tolist() == [2.0, 9.0]


def test_validate_prints_and_writes(data_dir, tmp_path):
    out = tmp_path / "v"
    result = _cli("validate", "--incidents", STORM, "--columns", MAP_TOML, "--out", out, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "input 14 rows = accepted 11 + rejected 3" in result.stdout
    assert "rejected unparseable_time: 1" in result.stdout
    assert "columns not used: Opening Code" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["input"], summary["accepted"], summary["rejected"]) == (14, 11, 3)
    assert summary["routed"] is False
    ledger = pd.read_csv(out / "ledger.csv")
    assert ledger[["row_number", "status", "reason"]].values.tolist() == [
        [12, "rejected", "unparseable_time"],
        [13, "rejected", "negative_response_time"],
        [14, "rejected", "missing_coordinates"],
        [15, "warning", "dispatch_time_out_of_order"],
    ]


def _ambiguous(tmp_path: Path) -> Path:
    p = tmp_path / "ambiguous.csv"
    p.write_text(
        "Incident URN,Created,Arrived,Grade,Easting,Northing\n"
        "A1,01/02/2018 10:00,01/02/2018 10:12,1,570637,205638\n"
        "A2,03/02/2018 11:00,03/02/2018 11:30,3,576258,223745\n"
    )
    return p


@pytest.mark.parametrize("command", ["validate", "compliance"])
def test_no_accepted_row_exits_2_with_one_line(data_dir, tmp_path, command):
    out = ["--out", tmp_path / "out"]
    result = _cli(command, "--incidents", _ambiguous(tmp_path), *out, "--data-dir", data_dir)
    assert result.exit_code == 2
    assert (tmp_path / "out" / "ledger.csv").is_file()  # the ledger says why, even so
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1
    assert "no incident accepted" in errors[0] and "ambiguous_date" in errors[0] and "--dayfirst" in errors[0]


def test_ambiguous_dates_need_an_order(area, tmp_path):
    path = _ambiguous(tmp_path)
    guessed = loader.load_incidents(path, boundary=area.boundary)
    assert guessed.summary["accepted"] == 0
    assert guessed.summary["rejected_by_reason"] == {"ambiguous_date": 2}
    with pytest.raises(InputFileError, match="--dayfirst"):
        loader.require_accepted(guessed.summary)
    uk = loader.load_incidents(path, boundary=area.boundary, dayfirst=True)
    assert uk.incidents["month"].tolist() == ["2018-02", "2018-02"]
    assert uk.incidents["response_minutes"].tolist() == [12.0, 30.0]
    us = loader.load_incidents(path, boundary=area.boundary, dayfirst=False)
    assert us.incidents["month"].tolist() == ["2018-01", "2018-03"]


def test_month_first_detected(tmp_path):
    p = tmp_path / "us.csv"
    p.write_text("id,occurred_at,latitude,longitude\nU1,06/14/2018 17:20,51.73,0.47\nU2,02/01/2018,51.73,0.47\n")
    r = loader.load_incidents(p)
    assert r.summary["date_order"] == ["monthfirst"]
    assert r.incidents["month"].tolist() == ["2018-06", "2018-02"]


def test_column_map_names_a_missing_column(tmp_path):
    with pytest.raises(InputFileError, match=r"no column 'Created At'.*did you mean 'Created'"):
        loader.load_incidents(STORM, columns={"Created At": "occurred_at"})
    with pytest.raises(InputFileError, match="did you mean 'arrived_at'"):
        loader.load_incidents(STORM, columns={"Arrived": "arived_at"})


def test_on_scene_minutes_kept_and_used_as_job_time(tmp_path):
    from geo_response.workflows import simulate

    p = tmp_path / "scene.csv"
    p.write_text(
        "id,occurred_at,latitude,longitude,on_scene_minutes\n"
        "S1,2018-06-01T10:00,51.73,0.47,42.5\n"
        "S2,2018-06-01T11:00,51.73,0.47,-3\n"
        "S3,2018-06-01T12:00,51.73,0.47,\n"
        "S4,2018-06-01T13:00,51.73,0.47,lots\n"
    )
    r = loader.load_incidents(p)
    assert r.summary["accepted"] == 4
    vals = r.incidents["on_scene_minutes"].tolist()
    assert vals[0] == 42.5 and all(np.isnan(v) for v in vals[1:])
    assert r.ledger[["row_number", "reason"]].values.tolist() == [
        [3, "bad_on_scene_minutes"],
        [5, "bad_on_scene_minutes"],
    ]
    inc = pd.DataFrame(r.incidents.drop(columns="geometry")).assign(
        grade_category="priority", target_minutes=60.0, speed_profile="normal"
    )
    arrays = simulate._real_arrays(inc, np.zeros(4, dtype=int))
    assert arrays["on_scene_s"][0] == 42.5 * 60 and np.isnan(arrays["on_scene_s"][1:]).all()

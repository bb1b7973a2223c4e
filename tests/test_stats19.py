"""STATS19 collisions: the older-style bundle sample and a hand-written current-style file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from geo_response.errors import InputFileError
from geo_response.incidents import stats19
from geo_response.incidents.load import INCIDENT_COLUMNS

CURRENT = Path(__file__).parent / "fixtures" / "incidents" / "stats19_current_style.csv"


def test_bundle_sample_older_style(data_dir):
    result = stats19.load_stats19(data_dir / "stats19" / "stats19_gb_sample1000_2005_2014.csv")
    s = result.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (1000, 25, 975)
    assert s["rejected_by_reason"] == {"other_police_force": 975} and len(result.ledger) == 975
    inc = result.incidents
    assert list(inc.columns[: len(INCIDENT_COLUMNS) - 1]) == INCIDENT_COLUMNS[:-1]
    assert (inc["category"] == "road collision").all() and (inc["police_force"] == 42).all()
    assert inc["incident_id"].str[4:6].eq("42").all()  # Essex's code inside the Accident_Index
    assert set(inc["severity"]) <= {"fatal", "serious", "slight"}
    assert inc.crs.to_epsg() == 4326 and inc.geometry.x.between(-0.1, 1.4).all()
    assert inc["month"].str.fullmatch(r"20(0[5-9]|1[0-4])-\d\d").all()
    row = inc[inc["incident_id"] == "200642C032306"].iloc[0]
    assert row["road"] == "A12" and row["speed_limit"] == 70 and row["dft_urban_rural"] == "rural"
    assert row["occurred_at"] == pd.Timestamp("2006-06-13 04:55")


def test_current_style_codes_dates_and_ledger():
    result = stats19.load_stats19(CURRENT, police_force=42)
    s = result.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (7, 3, 4)
    assert s["rejected_by_reason"] == {
        "missing_coordinates": 1,
        "unparseable_time": 1,
        "other_police_force": 1,
        "duplicate_incident_id": 1,
    }
    reasons = dict(zip(result.ledger["row_number"], result.ledger["reason"], strict=True))
    assert reasons == {
        3: "missing_coordinates",
        4: "unparseable_time",
        5: "other_police_force",
        6: "duplicate_incident_id",
    }
    inc = result.incidents.set_index("incident_id")
    first = inc.loc["2023420000001"]
    assert first["occurred_at"] == pd.Timestamp("2023-06-14 17:20") and first["month"] == "2023-06"  # day-first
    assert (first["severity"], first["road"], first["police_attended"]) == ("fatal", "A12", True)
    second = inc.loc["2023420000002"]  # no lon/lat: located from easting/northing
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(571000, 207000)
    assert second["road"] == "M25" and (second.geometry.x, second.geometry.y) == pytest.approx((lon, lat))
    assert "easting/northing" in s["coordinates"][0]
    seventh = inc.loc["2023420000007"]
    assert seventh["road"] == "A1(M)" and not seventh["police_attended"] and seventh["month"] == "2023-03"


def test_force_labels_boundary_and_errors(tmp_path):
    assert stats19.force_code("Essex") == 42 == stats19.force_code("42")
    with pytest.raises(InputFileError, match="unknown police force"):
        stats19.force_code("Atlantis")
    everyone = stats19.load_stats19(CURRENT, police_force=None)
    assert everyone.summary["accepted"] == 4  # Sussex too
    inside = stats19.load_stats19(CURRENT, boundary=box(0.4, 51.6, 0.8, 51.9))  # row 7 (lon 0.26) is out
    assert inside.summary["rejected_by_reason"]["outside_force_area"] == 1
    bad = tmp_path / "not_stats19.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="not a STATS19 collision table"):
        stats19.load_stats19(bad)
    assert stats19.normalise_header("1st_Road_Class") == "first_road_class"
    assert stats19.normalise_header("Local_Authority_(District)") == "local_authority_district"

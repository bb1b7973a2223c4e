"""Loading incidents with a ledger: every row accepted or rejected with a reason."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_response import config
from geo_response.errors import InputFileError
from geo_response.incidents import load as incidents

FIX = Path(__file__).parent / "fixtures" / "incidents"


@pytest.fixture(scope="module")
def tiny_lsoas() -> gpd.GeoDataFrame:
    return gpd.read_file(FIX / "tiny_lsoas.geojson")


@pytest.fixture(scope="module")
def tiny_boundary(tiny_lsoas):
    return shapely.union_all(tiny_lsoas.geometry.values)


@pytest.fixture(scope="module")
def essex_2022():
    return config.load_profile().policy("essex-2022")


def test_bad_rows_each_get_one_reason(tiny_boundary, essex_2022, tiny_lsoas):
    r = incidents.load_incidents(FIX / "bad_rows.csv", tiny_boundary, essex_2022, tiny_lsoas)
    s = r.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (12, 3, 9)
    assert s["input_rows"] == s["accepted"] + s["rejected"]
    rejected = r.ledger[r.ledger["status"] == "rejected"].set_index("row_number")["reason"].to_dict()
    # row_number is the file line (header = line 1)
    assert rejected == {
        3: "missing_coordinates",
        4: "unparseable_coordinates",
        5: "outside_force_area",
        6: "unparseable_time",
        7: "unknown_grade",
        8: "negative_response_time",
        9: "duplicate_incident_id",
        12: "unparseable_response_time",
        13: "unparseable_coordinates",
    }
    # the two rows without an id are accepted, not duplicates of each other
    assert sorted(r.incidents["row_number"]) == [2, 10, 11]
    assert r.incidents["incident_id"].isna().sum() == 2
    dup = r.ledger[r.ledger["reason"] == "duplicate_incident_id"].iloc[0]
    assert dup["detail"] == "same incident_id as bad_rows.csv line 2"
    assert "purple" in r.ledger.loc[r.ledger["reason"] == "unknown_grade", "detail"].iloc[0]


def test_duplicate_of_a_rejected_row_is_kept(tmp_path, tiny_boundary):
    f = tmp_path / "d.csv"
    f.write_text("incident_id,latitude,longitude\nX,,\nX,51.75,0.45\nX,51.75,0.45\n")
    r = incidents.load_incidents(f, tiny_boundary)
    assert r.incidents["row_number"].tolist() == [3]
    assert r.ledger.set_index("row_number")["reason"].to_dict() == {
        2: "missing_coordinates",
        4: "duplicate_incident_id",
    }


@pytest.mark.parametrize("name", ["police_uk_original_header.csv", "police_uk_snake_header.csv"])
def test_police_uk_both_header_styles(name, tiny_boundary, tiny_lsoas):
    r = incidents.load_incidents(FIX / name, tiny_boundary, None, tiny_lsoas)
    s = r.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (7, 5, 2)
    assert s["rejected_by_reason"] == {"missing_coordinates": 1, "outside_force_area": 1}
    assert s["warnings"] == {"located_by_lsoa_code": 1}
    inc = r.incidents.set_index("row_number")
    # anti-social behaviour rows have no crime id and are accepted incidents, not duplicates
    assert inc.loc[3, "category"] == "Anti-social behaviour" and inc.loc[4, "category"] == "Anti-social behaviour"
    assert pd.isna(inc.loc[3, "incident_id"])
    assert inc.loc[2, "incident_id"] == "c0ffee01"
    assert inc["month"].tolist() == ["2018-01", "2018-01", "2018-02", "2018-02", "2018-02"]
    # line 6: no coordinates but a force LSOA code -> placed at that LSOA's population-weighted centroid
    assert inc.loc[6, "location_source"] == "lsoa_centroid"
    assert (inc.loc[6, "geometry"].x, inc.loc[6, "geometry"].y) == (0.56, 51.76)
    assert s["has_grades"] is False and s["has_response_times"] is False


def test_lsoa_code_fallback_needs_the_lsoa_layer(tiny_boundary):
    r = incidents.load_incidents(FIX / "police_uk_snake_header.csv", tiny_boundary)
    assert r.summary["rejected_by_reason"] == {"missing_coordinates": 2, "outside_force_area": 1}


def test_osgb_and_wgs84_give_the_same_points(tiny_boundary, essex_2022):
    a = incidents.load_incidents(FIX / "observed_small.csv", tiny_boundary, essex_2022).incidents
    b = incidents.load_incidents(FIX / "observed_small_osgb.csv", tiny_boundary, essex_2022).incidents
    assert len(a) == len(b) == 11
    # fixture eastings/northings are rounded to 0.1 m: 1e-5 degrees is ~1 m
    np.testing.assert_allclose(a.geometry.x, b.geometry.x, atol=1e-5)
    np.testing.assert_allclose(a.geometry.y, b.geometry.y, atol=1e-5)
    assert a["month"].tolist() == b["month"].tolist()
    r = incidents.load_incidents(FIX / "observed_small_osgb.csv", tiny_boundary, essex_2022)
    assert r.summary["coordinates"] == ["EPSG:27700"]


def test_times_and_months(tiny_boundary, essex_2022):
    inc = incidents.load_incidents(FIX / "observed_small.csv", tiny_boundary, essex_2022).incidents
    inc = inc.set_index("incident_id")
    # month as written (local time), even though 00:30 +01:00 is 23:30 UTC on 30 April
    assert inc.loc["OBS-08", "month"] == "2021-05"
    assert inc.loc["OBS-08", "occurred_at"] == pd.Timestamp("2021-04-30 23:30:00")
    assert inc.loc["OBS-03", "response_minutes"] == 15.5
    assert np.isnan(inc.loc["OBS-10", "response_minutes"])


def test_arrived_at_gives_response_minutes(tmp_path):
    f = tmp_path / "arr.csv"
    f.write_text(
        "latitude,longitude,occurred_at,arrived_at\n"
        "51.75,0.45,2021-04-01T10:00:00,2021-04-01T10:12:30\n"
        "51.75,0.45,2021-04-01T10:00:00,2021-04-01T09:59:00\n"
    )
    r = incidents.load_incidents(f)
    assert r.incidents["response_minutes"].tolist() == [12.5]
    assert r.ledger["reason"].tolist() == ["negative_response_time"]


def test_folder_glob_and_list_inputs(tmp_path, tiny_boundary):
    for month in ("2018-01", "2018-02"):
        (tmp_path / f"{month}-x-street.csv").write_text(
            f"Crime ID,Month,Longitude,Latitude,Crime type\nid-{month},{month},0.45,51.75,Burglary\n"
            f",{month},0.45,51.75,Anti-social behaviour\n"
        )
    by_folder = incidents.load_incidents(tmp_path, tiny_boundary)
    by_glob = incidents.load_incidents(str(tmp_path / "2018-*.csv"), tiny_boundary)
    by_list = incidents.load_incidents(sorted(tmp_path.glob("*.csv")), tiny_boundary)
    for r in (by_folder, by_glob, by_list):
        assert r.summary["input_rows"] == 4 and r.summary["accepted"] == 4
        assert r.incidents["row_number"].tolist() == [2, 3, 2, 3]
        assert len(r.summary["files"]) == 2


def test_duplicates_across_files_name_the_first(tmp_path, tiny_boundary):
    (tmp_path / "a.csv").write_text("Crime ID,Longitude,Latitude\nZ,0.45,51.75\n")
    (tmp_path / "b.csv").write_text("Crime ID,Longitude,Latitude\nZ,0.45,51.75\n")
    r = incidents.load_incidents(tmp_path, tiny_boundary)
    assert r.ledger["detail"].tolist() == ["same incident_id as a.csv line 2"]
    assert r.ledger["file"].iloc[0].endswith("b.csv")


def test_geopackage_and_parquet(tmp_path, tiny_boundary, essex_2022):
    df = pd.read_csv(FIX / "observed_small.csv")
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(df["longitude"], df["latitude"]),
        crs=4326,
    ).to_crs(27700)
    gdf.to_file(tmp_path / "obs.gpkg")
    df.to_parquet(tmp_path / "obs.parquet")
    ref = incidents.load_incidents(FIX / "observed_small.csv", tiny_boundary, essex_2022).incidents
    for name in ("obs.gpkg", "obs.parquet"):
        r = incidents.load_incidents(tmp_path / name, tiny_boundary, essex_2022)
        assert r.summary["accepted"] == 11, name
        np.testing.assert_allclose(r.incidents.geometry.x, ref.geometry.x, atol=1e-7)
        assert r.incidents["response_minutes"].fillna(-1).tolist() == ref["response_minutes"].fillna(-1).tolist()


def test_empty_data_rows_is_fine():
    r = incidents.load_incidents(FIX / "empty_rows.csv")
    assert (r.summary["input_rows"], r.summary["accepted"], r.summary["rejected"]) == (0, 0, 0)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\xff\xfe\x00\x81\x00garbage\x00\xff", "UTF-8"),
    ],
)
def test_unreadable_files_fail_with_a_reason(tmp_path, content, message):
    f = tmp_path / "bad.csv"
    f.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        incidents.load_incidents(f)


def test_no_coordinate_columns_and_missing_paths(tmp_path):
    with pytest.raises(InputFileError, match="no coordinate columns"):
        incidents.load_incidents(FIX / "no_coordinates.csv")
    with pytest.raises(InputFileError, match="does not exist"):
        incidents.load_incidents(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="no file matches"):
        incidents.load_incidents(str(tmp_path / "*.csv"))
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputFileError, match="cannot read"):
        incidents.load_incidents(tmp_path / "x.parquet")


def test_whole_police_uk_bundle_accounts_for_every_row():
    from geo_response import datadir, geography

    try:
        folder = datadir.find_file("police_uk")
    except Exception:  # noqa: BLE001
        pytest.skip("the data bundle (police_uk/) is not present")
    profile = config.load_profile()
    boundary = geography.load_boundary(profile)
    lsoas = geography.load_lsoas(profile)
    r = incidents.load_incidents(folder, boundary, profile.policy("essex-2022"), lsoas)
    s = r.summary
    assert s["input_rows"] == 115065
    assert s["input_rows"] == s["accepted"] + s["rejected"]
    assert s["rejected_by_reason"]["missing_coordinates"] == 218  # no coordinates and no LSOA code
    assert set(s["rejected_by_reason"]) == {"missing_coordinates", "outside_force_area"}
    assert 0.002 < s["rejected_by_reason"]["outside_force_area"] / s["input_rows"] < 0.006  # ~0.5% per SOURCES.md
    assert (r.ledger["status"] == "rejected").sum() == s["rejected"]
    assert (r.incidents["category"] == "Anti-social behaviour").sum() > 28000

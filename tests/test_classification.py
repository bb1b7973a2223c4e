"""Urban / rural class and district by point in polygon on LSOAs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_response import config
from geo_response.incidents import classification
from geo_response.incidents import load as incidents
from geo_response.incidents.classification import ClassificationError

FIX = Path(__file__).parent / "fixtures" / "incidents"


@pytest.fixture(scope="module")
def tiny_lsoas() -> gpd.GeoDataFrame:
    return gpd.read_file(FIX / "tiny_lsoas.geojson")


def _points(xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(*zip(*xy, strict=True)), crs=4326)


def test_point_in_polygon_and_nearest(tiny_lsoas):
    pts = _points([(0.45, 51.75), (0.55, 51.75), (0.6001, 51.75), (0.70, 51.75)])
    out = classification.classify(pts, tiny_lsoas, max_gap_m=500)
    assert out["urban_rural"].tolist()[:3] == ["urban", "rural", "rural"]
    assert out["district"].tolist()[:3] == ["Alpha", "Beta", "Beta"]
    assert out["ruc"].tolist()[:3] == ["C1", "E1", "E1"]
    # 0.0001 deg east of Beta (~7 m) takes the nearest LSOA; 0.70 (~7 km away) takes none
    assert out["lsoa_match"].tolist() == ["within", "within", "nearest", "none"]
    assert pd.isna(out["urban_rural"].iloc[3])
    warnings = classification.unclassified_warnings(out)
    assert sorted(warnings["reason"]) == ["nearest_lsoa", "no_lsoa"]


def test_osgb_points_classify_the_same(tiny_lsoas):
    pts = _points([(0.45, 51.75), (0.55, 51.75)]).to_crs(27700)
    out = classification.classify(pts, tiny_lsoas)
    assert out["urban_rural"].tolist() == ["urban", "rural"]
    assert out.crs.to_epsg() == 27700


def test_lsoa_code_used_only_without_coordinates(tiny_lsoas):
    boundary = shapely.union_all(tiny_lsoas.geometry.values)
    r = incidents.load_incidents(FIX / "police_uk_snake_header.csv", boundary, None, tiny_lsoas)
    out = classification.classify(r.incidents, tiny_lsoas).set_index("row_number")
    # row_number is the file line (header = line 1)
    assert out.loc[6, "lsoa_match"] == "lsoa_code" and out.loc[6, "lsoa_code"] == "E0X000002"
    assert out.loc[6, "urban_rural"] == "rural"
    # line 8 has coordinates in Beta and lsoa_code E0X000002; the point decides, not the code
    assert out.loc[8, "lsoa_match"] == "within"
    assert out.loc[2, "urban_rural"] == "urban" and out.loc[2, "district"] == "Alpha"


def test_configurable_layer_rejects_bad_classes(tiny_lsoas):
    bad = tiny_lsoas.assign(urban_rural=["urban", "semi"])
    with pytest.raises(ClassificationError, match="semi"):
        classification.classify(_points([(0.45, 51.75)]), bad)
    with pytest.raises(ClassificationError, match="lacks columns"):
        classification.classify(_points([(0.45, 51.75)]), tiny_lsoas.drop(columns=["ruc"]))


def test_a_2021_style_layer_swaps_in(tiny_lsoas):
    """Any layer with lsoa_code, ruc, urban_rural, district works: e.g. 2021 RUC codes."""
    ruc21 = tiny_lsoas.assign(ruc=["UN1", "RLN1"], lsoa_code=["E0Y000001", "E0Y000002"])
    out = classification.classify(_points([(0.45, 51.75), (0.55, 51.75)]), ruc21)
    assert out["ruc"].tolist() == ["UN1", "RLN1"] and out["lsoa_code"].tolist() == ["E0Y000001", "E0Y000002"]


def test_real_lsoas_urban_rural_split():
    from geo_response import datadir, geography

    try:
        datadir.find_file("essex/essex_lsoa11_ruc11.geojson")
    except Exception:  # noqa: BLE001
        pytest.skip("the data bundle (essex/) is not present")
    profile = config.load_profile()
    lsoas = geography.load_lsoas(profile)
    # each LSOA's population-weighted centroid lies in its own polygon (almost always) and takes its class
    pts = gpd.GeoDataFrame(
        lsoas[["lsoa_code", "urban_rural", "district"]].rename(columns=lambda c: "exp_" + c),
        geometry=gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]),
        crs=4326,
    )
    out = classification.classify(pts, lsoas)
    same = (out["lsoa_code"] == out["exp_lsoa_code"]).mean()
    assert same > 0.98
    assert (out["urban_rural"] == out["exp_urban_rural"]).mean() > 0.98
    assert (lsoas["urban_rural"] == "rural").sum() == 231  # SOURCES.md: 231 of 1,077 rural

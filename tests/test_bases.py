"""Unit bases from CSV and from OSM amenity=police, with validation."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from geo_response import bases
from geo_response.errors import InputFileError
from geo_response.roads import network
from tests.conftest import FIXTURES


def test_csv_latlon_and_osgb(tmp_path):
    f = tmp_path / "bases.csv"
    f.write_text("Name,Latitude,Longitude,Type,Units\nChelmsford,51.7356,0.4685,hq,4\nColchester,51.8892,0.9042,,2\n")
    gdf, issues = bases.read_bases_csv(f)
    assert list(gdf.name) == ["Chelmsford", "Colchester"] and list(gdf.units) == [4, 2]
    assert list(gdf.base_id) == [0, 1] and issues == []
    g = tmp_path / "osgb.csv"
    g.write_text("name,easting,northing\nChelmsford,570800,206900\n")
    osgb, _ = bases.read_bases_csv(g)
    assert osgb.geometry.iloc[0].x == pytest.approx(0.4721, abs=1e-4)  # EPSG:27700 -> lon/lat (OSTN15)
    assert osgb.geometry.iloc[0].y == pytest.approx(51.7348, abs=1e-4)
    assert osgb.units.iloc[0] == 1


def test_duplicates_and_outside(tmp_path):
    f = tmp_path / "bases.csv"
    f.write_text(
        "name,latitude,longitude\nA,51.73,0.47\nA,51.80,0.50\nB,51.73003,0.47003\nC,51.75,0.60\nFar,52.5,2.0\n"
    )
    boundary = box(0.40, 51.70, 0.55, 51.85)
    area = box(0.35, 51.65, 0.65, 51.90)
    gdf, issues = bases.read_bases_csv(f, boundary=boundary, area=area)
    # the second A is ~8 km from the first: another base with the same name, kept and flagged
    assert list(gdf.name) == ["A", "A", "C"]
    assert list(gdf.outside_area) == [False, False, True]
    text = " | ".join(f"{i['row']}:{i['issue']}" for i in issues)
    # rows are file lines (header = line 1)
    assert "3:same name as row 2, 8.1 km away: kept" in text  # 0.07 deg N, 0.03 deg E: ~8.05 km
    assert "4:within 10 m of row 2" in text  # ~4 m from A
    assert "5:outside the force boundary (kept" in text
    assert "6:outside the network area" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("title,latitude,longitude\nA,51,0\n", "needs a 'name' column"),
        ("name,x,y\nA,51,0\n", "latitude/longitude or easting/northing"),
        ("name,latitude,longitude\nA,,0.4\nB,51.7,0.4\n", r"rows \[2\]"),
        ("name,latitude,longitude,units\nA,51.7,0.4,0\n", "whole number >= 1"),
    ],
)
def test_bad_csv(tmp_path, body, message):
    f = tmp_path / "b.csv"
    f.write_text(body)
    with pytest.raises(InputFileError, match=message):
        bases.read_bases_csv(f)


def test_from_osm_xml_and_attach(profile):
    path = FIXTURES / "osm" / "tiny_town.osm"
    gdf, _ = bases.bases_from_osm(path)
    assert list(gdf.name) == ["Tiny Town Police Station"]
    G = network.load_network(path, profile=profile, clip=False, use_cache=False)
    attached = bases.attach_nodes(gdf, G)
    # the station (51.7315, 0.4705) is nearest node 3 (51.7320, 0.4700): about 65 m away
    assert attached.node.iloc[0] == 3
    assert attached.node_distance_m.iloc[0] == pytest.approx(65.6, abs=1.5)


def test_no_police_in_file():
    with pytest.raises(InputFileError, match="no amenity=police"):
        import pyrosm

        bases.bases_from_osm(pyrosm.get_data("test_pbf"))


@pytest.mark.slow
def test_standin_police_stations(essex_bases):
    assert len(essex_bases) == 25
    assert essex_bases.name.is_unique
    assert (essex_bases.node_distance_m < 500).all()
    names = " ".join(essex_bases.name)
    assert all(town in names for town in ("Chelmsford", "Colchester", "Southend", "Maldon", "Great Dunmow"))

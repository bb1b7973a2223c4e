"""write_gis: one GeoPackage with named layers, re-opened with pyogrio."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box
from test_reporting import report_inputs

from geo_response import hotspots
from geo_response.errors import OutputError
from geo_response.reporting.gis import write_gis


def test_write_gis_named_layers(tmp_path):
    inputs = report_inputs(True)
    cells = hotspots.failure_tests(hotspots.hex_aggregate(inputs["incidents"]), min_count=5)
    gi = hotspots.gi_star_spots(cells)
    iso = gpd.GeoDataFrame(
        {"base": ["all"], "threshold_min": [10], "tags": [["a", "b"]]}, geometry=[box(0.4, 51.7, 0.5, 51.8)], crs=4326
    )
    lsoas = gpd.GeoDataFrame({"cell": ["L1"], "pct_met": [81.23456789123]}, geometry=[box(0, 0, 1000, 1000)], crs=27700)
    path = tmp_path / "geo_response.gpkg"
    path.write_text("stale")
    write_gis(
        path,
        {
            "hexagon_results": cells,
            "lsoa_results": lsoas,
            "hotspots": inputs["hotspots"],
            "gi_star": gi,
            "isochrones": iso,
            "scenario_coverage": None,
        },
    )
    layers = pyogrio.list_layers(path)
    assert [str(n) for n in layers[:, 0]] == ["hexagon_results", "lsoa_results", "hotspots", "gi_star", "isochrones"]
    back = gpd.read_file(path, layer="gi_star")
    assert len(back) == len(gi) and {"gi_z", "gi_class", "name"} <= set(back.columns)
    assert gpd.read_file(path, layer="lsoa_results")["pct_met"].iloc[0] == 81.234568
    assert gpd.read_file(path, layer="lsoa_results").crs.to_epsg() == 27700
    assert gpd.read_file(path, layer="isochrones")["tags"].iloc[0] == '["a", "b"]'


def test_write_gis_rejects_bad_input(tmp_path):
    pt = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=4326)
    with pytest.raises(OutputError, match="gpkg"):
        write_gis(tmp_path / "x.shp", {"a": pt})
    with pytest.raises(OutputError, match="plain name"):
        write_gis(tmp_path / "x.gpkg", {"bad name; drop": pt})
    with pytest.raises(OutputError, match="CRS"):
        write_gis(tmp_path / "x.gpkg", {"a": gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)])})
    with pytest.raises(OutputError, match="case"):
        write_gis(tmp_path / "x.gpkg", {"a": pt, "A": pt})

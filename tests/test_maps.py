"""Maps: escaping, privacy, offline output, choropleth figures and size, on hand-made layers."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from geo_response import hotspots, maps
from geo_response.maps import MapError
from geo_response.reporting import palette

XSS = "<img src=x onerror=alert(1)>"
CHELMSFORD = (51.7393, 0.4822)
MALDON = (51.7300, 0.6800)


def make_incidents() -> gpd.GeoDataFrame:
    """10 urban emergencies in one hexagon (7 met), 3 rural ones in another (all failed), 2 unattended."""
    rows = []
    for i in range(10):
        rows.append(
            ("emergency", "Emergency (urban)", 15.0, 1.0 if i < 7 else 0.0, True, "urban", "Chelmsford", CHELMSFORD)
        )
    for _ in range(3):
        rows.append(("emergency", "Emergency (rural)", 20.0, 0.0, True, "rural", "Maldon", MALDON))
    for _ in range(2):
        rows.append(
            ("resolution_without_deployment", "Resolution", np.nan, np.nan, False, "urban", "Chelmsford", CHELMSFORD)
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "grade_category",
            "grade_name",
            "target_minutes",
            "p_met",
            "attended",
            "urban_rural",
            "district",
            "latlon",
        ],
    )
    geometry = [Point(lon + 0.0000123 * i, lat) for i, (lat, lon) in enumerate(frame.pop("latlon"))]
    frame["lsoa_code"] = np.where(frame["district"] == "Maldon", "L3", "L1")
    frame["category"] = XSS
    frame["grade"] = "1"
    frame["month"] = "2018-01"
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)


def make_bases() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "base_id": [0, 1],
            "name": ["Chelmsford <b>HQ</b>", "Maldon `${alert(2)}`"],
            "type": ["station", "station"],
            "units": [4, 1],
        },
        geometry=[Point(0.47, 51.73), Point(0.67, 51.73)],
        crs=4326,
    )


def make_districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"district_code": ["E1", "E2"], "district": ["Chelmsford", "Maldon <i>"]},
        geometry=[box(0.35, 51.65, 0.60, 51.82), box(0.60, 51.65, 0.90, 51.82)],
        crs=4326,
    )


def make_lsoas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "lsoa_code": ["L1", "L2", "L3"],
            "lsoa_name": ["Chelmsford 001A", "Chelmsford 001B", "Maldon 001A"],
            "district": ["Chelmsford", "Chelmsford", "Maldon"],
            "urban_rural": ["urban", "urban", "rural"],
            "population": [1500, 1600, 1400],
        },
        geometry=[box(0.35, 51.65, 0.50, 51.82), box(0.50, 51.65, 0.60, 51.82), box(0.60, 51.65, 0.90, 51.82)],
        crs=4326,
    )


def geojson_layers(page: str) -> list[dict]:
    """Every GeoJSON FeatureCollection embedded in a saved map."""
    return [json.loads(m) for m in re.findall(r"_add\((\{.*?\})\);\n", page)]


def layer_with(page: str, field: str, only: bool = False) -> dict:
    """The one layer whose features have property `field` (and no other property when `only`)."""
    found = [
        fc
        for fc in geojson_layers(page)
        if fc["features"]
        and field in fc["features"][0]["properties"]
        and (not only or len(fc["features"][0]["properties"]) == 1)
    ]
    assert len(found) == 1, f"expected one layer with property {field!r}"
    return found[0]


def test_pct_colour_bins():
    # cividis, dark (low) to light (high): the palette the report charts use (colour-blind safe)
    assert tuple(palette.sequential_colours(6)) == maps.PCT_COLOURS
    assert maps.PCT_COLOURS[0] == "#00224e"
    assert maps.pct_colour(0) == maps.PCT_COLOURS[0]
    assert maps.pct_colour(49.99) == maps.PCT_COLOURS[0]
    assert maps.pct_colour(50) == maps.PCT_COLOURS[1]
    assert maps.pct_colour(70) == maps.PCT_COLOURS[2]
    assert maps.pct_colour(89.99) == maps.PCT_COLOURS[3]
    assert maps.pct_colour(90) == maps.PCT_COLOURS[4]  # the KPI threshold starts a bin
    assert maps.pct_colour(100) == maps.PCT_COLOURS[5]
    assert maps.pct_colour(float("nan")) == maps.TOO_FEW_COLOUR


def test_target_description():
    inc = make_incidents()
    attended = inc[inc["attended"]]
    assert maps.target_description(attended) == "Emergency (urban) 15 min; Emergency (rural) 20 min"
    routine = pd.DataFrame({"grade_name": ["Routine"], "target_minutes": [2880.0]})
    assert maps.target_description(routine) == "Routine 48 h"


def test_prepare_geometries_rounds_and_simplifies():
    wiggly = Polygon([(0.1 + 0.001 * i, 51.7 + 0.00001 * (i % 2)) for i in range(100)] + [(0.2, 51.8), (0.1, 51.8)])
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[wiggly], crs=4326)
    out = maps.prepare_geometries(gdf, simplify_m=30)
    coords = np.asarray(out.geometry.iloc[0].exterior.coords)
    assert len(coords) < 10  # 1 m wiggles gone at 30 m tolerance
    assert np.allclose(coords, np.round(coords, 5))
    with pytest.raises(MapError, match="CRS"):
        maps.prepare_geometries(gpd.GeoDataFrame({"a": [1]}, geometry=[wiggly]))


def test_choropleth_figures_and_withheld_cells(tmp_path):
    m = maps.compliance_map(
        make_incidents(),
        districts=make_districts(),
        min_cell_count=5,
        policy_label="Essex Police attendance policy (2022)",
    )
    page = maps.save_map(m, tmp_path / "m.html").read_text()
    fc = layer_with(page, "pct_met")
    cells = {f["properties"]["district"]: f["properties"] for f in fc["features"]}
    assert cells["Chelmsford"]["attended"] == "10"
    assert cells["Chelmsford"]["pct_met"] == "70.0%"
    assert cells["Chelmsford"]["failures"] == "3.0"
    assert cells["Chelmsford"]["fill"] == maps.PCT_COLOURS[2]
    # 3 attended < 5: not drawn at all (even a grey outline would place an incident), and the legend says so
    assert set(cells) == {"Chelmsford"}
    assert "Cells with fewer than 5 attended incidents are not drawn (privacy)." in page
    assert cells["Chelmsford"]["target"] == "Emergency (urban) 15 min; Emergency (rural) 20 min"
    # the hexagon drawn is the H3 cell of the incidents
    hexagon = Polygon(fc["features"][0]["geometry"]["coordinates"][0])
    assert hexagon.contains(Point(CHELMSFORD[1], CHELMSFORD[0]))
    # the legend names the target and the policy
    assert "Target: Emergency (urban) 15 min; Emergency (rural) 20 min" in page
    assert "Essex Police attendance policy (2022)" in page
    assert "% of emergency incidents attended within target, by hexagon" in page
    # with points shown anyway, the small cell is drawn grey without figures
    m = maps.compliance_map(make_incidents(), districts=make_districts(), min_cell_count=5, show_points=True)
    page = maps.save_map(m, tmp_path / "p.html").read_text()
    cells = {f["properties"]["district"]: f["properties"] for f in layer_with(page, "pct_met")["features"]}
    assert cells["Maldon"]["attended"].startswith("fewer than 5 attended")
    assert cells["Maldon"]["pct_met"] == "" and cells["Maldon"]["fill"] == maps.TOO_FEW_COLOUR


def test_fine_hexagons_need_show_points():
    # resolution 10 hexagons (~0.015 km2) would place single incidents; 9 is the finest aggregate
    with pytest.raises(MapError, match="resolution 10 .* --show-points"):
        maps.compliance_map(make_incidents(), resolution=10)
    assert maps.compliance_map(make_incidents(), resolution=9) is not None
    assert maps.compliance_map(make_incidents(), resolution=10, show_points=True) is not None


def test_lsoa_choropleth(tmp_path):
    m = maps.compliance_map(make_incidents(), lsoas=make_lsoas(), aggregate="lsoa", min_cell_count=1)
    page = maps.save_map(m, tmp_path / "m.html").read_text()
    fc = layer_with(page, "pct_met")
    cells = {f["properties"]["cell"]: f["properties"] for f in fc["features"]}
    assert set(cells) == {"Chelmsford 001A", "Maldon 001A"}  # only LSOAs with incidents
    assert cells["Maldon 001A"]["pct_met"] == "0.0%"
    shading = layer_with(page, "lsoas")
    by_setting = {f["properties"]["setting"]: f["properties"] for f in shading["features"]}
    assert by_setting["Urban"]["lsoas"] == "2"
    assert by_setting["Rural"]["population"] == "1,400 (31.1%)"


def test_every_data_string_is_escaped(tmp_path):
    inc = make_incidents()
    agg = hotspots.hex_aggregate(inc[inc["attended"]])
    hot = hotspots.find_hotspots(agg, min_count=1, alpha=0.9)
    hot["name"] = "<script>alert(3)</script>"
    m = maps.compliance_map(
        inc,
        bases=make_bases(),
        districts=make_districts(),
        hotspots=hot,
        show_points=True,
        attribution="Data <b>ONS</b>",
        network_label="roads & <lanes>",
        title="<t>",
    )
    page = maps.save_map(m, tmp_path / "m.html").read_text()
    assert "<img src=x" not in page
    assert "<script>alert" not in page and "<b>ONS" not in page and "<b>HQ" not in page
    points = layer_with(page, "outcome")
    assert points["features"][0]["properties"]["category"] == "&lt;img src=x onerror=alert(1)&gt;"
    bases = layer_with(page, "units")
    names = [f["properties"]["name"] for f in bases["features"]]
    assert names == ["Chelmsford &lt;b&gt;HQ&lt;/b&gt;", "Maldon `${alert(2)}`"]
    # the template-literal payload travels only inside JSON data, never inside a JS template string
    assert "`${alert(2)}`" not in page.split("_add(")[0]
    hot_layer = layer_with(page, "q")
    assert hot_layer["features"][0]["properties"]["name"] == "&lt;script&gt;alert(3)&lt;/script&gt;"
    assert "Maldon &lt;i&gt;" in json.dumps(layer_with(page, "district", only=True)["features"])
    assert "<title>&lt;t&gt;</title>" in page


def test_points_only_when_asked(tmp_path):
    inc = make_incidents()
    page = maps.save_map(maps.compliance_map(inc), tmp_path / "a.html").read_text()
    assert "Incidents (points)" not in page
    # no point geometry at all: incidents appear only as hexagon aggregates
    assert not any(fc["features"] and fc["features"][0]["geometry"]["type"] == "Point" for fc in geojson_layers(page))
    shown = maps.save_map(maps.compliance_map(inc, show_points=True), tmp_path / "b.html").read_text()
    points = layer_with(shown, "outcome")
    assert len(points["features"]) == 15
    outcomes = pd.Series([f["properties"]["outcome"] for f in points["features"]]).value_counts().to_dict()
    assert outcomes == {"not met": 6, "met": 7, "not attended / no outcome": 2}


def test_offline_file_is_self_contained(tmp_path):
    m = maps.compliance_map(make_incidents(), bases=make_bases(), districts=make_districts())
    page = maps.save_map(m, tmp_path / "off.html", offline=True).read_text()
    assert maps.external_resources(page) == []
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?://", page)
    for cdn in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "cdn.jsdelivr"):
        assert cdn not in page.lower()
    assert "Leaflet 1.9.3" in page and "BSD 2-Clause" in page
    assert "url(data:image/png;base64," in page  # layer-control icons inlined
    online = maps.save_map(maps.compliance_map(make_incidents()), tmp_path / "on.html", offline=False).read_text()
    assert any("leaflet" in tag for tag in maps.external_resources(online))


def test_offline_refuses_cdn_plugins(tmp_path):
    from folium.plugins import MiniMap

    m = maps.compliance_map(make_incidents())
    MiniMap().add_to(m)
    with pytest.raises(MapError, match="still loads"):
        maps.save_map(m, tmp_path / "x.html", offline=True)


def test_corridor_isochrones_and_hotspot_layers(tmp_path):
    inc = make_incidents()
    iso = gpd.GeoDataFrame(
        {
            "base": ["all", "all", "Chelmsford"],
            "threshold_min": [10, 20, 10],
            "profile": ["blue_light"] * 3,
            "area_km2": [120.4, 480.0, 50.0],
            "population": [250000, 600000, 100000],
        },
        geometry=[box(0.4, 51.7, 0.5, 51.78), box(0.35, 51.65, 0.6, 51.82), box(0.45, 51.72, 0.5, 51.75)],
        crs=4326,
    )
    summary = pd.DataFrame(
        {
            "group": ["A12 corridor", "A12 corridor"],
            "scope": ["emergency", "all grades"],
            "incidents": [40, 90],
            "pct_met": [75.0, 80.0],
            "share_of_failures": [0.25, 0.2],
        }
    )
    line = LineString([(0.30, 51.61), (0.48, 51.70), (0.78, 51.88)])
    m = maps.compliance_map(
        inc,
        isochrones=iso,
        corridor=line,
        corridor_name="A12 corridor",
        corridor_buffer_m=500,
        corridor_summary=summary,
    )
    page = maps.save_map(m, tmp_path / "m.html").read_text()
    iso_layer = layer_with(page, "band")
    # only the combined ('all') rows, as non-overlapping bands, the outer band first
    assert [f["properties"]["band"] for f in iso_layer["features"]] == ["10-20 min", "0-10 min"]
    assert iso_layer["features"][1]["properties"]["covered"] == "within 10 min: 120 km², 250,000 people"
    outer, inner = (shapely.geometry.shape(f["geometry"]) for f in iso_layer["features"])
    # slivers only: each band is simplified (25 m before closing, then for drawing) on its own
    assert outer.intersection(inner).area < 1e-3 * outer.union(inner).area
    assert outer.union(inner).area == pytest.approx(0.25 * 0.17, rel=0.02)
    assert iso_layer["features"][1]["properties"]["colour"] == palette.sequential_colours(2)[0]
    assert "Reached within (isochrones, blue_light)" in page
    corridor_layer = layer_with(page, "part")
    props = {f["properties"]["kind"]: f["properties"] for f in corridor_layer["features"]}
    assert set(props) == {"road", "buffer"}
    assert props["road"]["emergency"] == "40 incidents, 75.0% met, 25.0% of failures"
    buffer = Polygon(
        next(f for f in corridor_layer["features"] if f["properties"]["kind"] == "buffer")["geometry"]["coordinates"][0]
    )
    assert buffer.contains(Point(0.48, 51.703))  # ~330 m off the road
    assert not buffer.contains(Point(0.48, 51.715))  # ~1.7 km off
    assert '"Isochrones: blue_light"' in page and '"A12 corridor"' in page


def test_map_errors():
    with pytest.raises(MapError, match="nothing to map"):
        maps.compliance_map()
    with pytest.raises(MapError, match="needs the lsoas"):
        maps.compliance_map(make_incidents(), aggregate="lsoa")
    with pytest.raises(MapError, match="'hex' or 'lsoa'"):
        maps.compliance_map(make_incidents(), aggregate="square")
    with pytest.raises(MapError, match="no incident has grade category 'urgent'"):
        maps.compliance_map(make_incidents(), category="urgent")


def test_county_map_size(tmp_path, data_dir, profile):
    """The county map with the bundle's LSOAs and districts and 115,000 incidents stays far below 20 MB."""
    from geo_response import geography

    lsoas = geography.load_lsoas(profile, data_dir)
    districts = geography.load_districts(profile, data_dir)
    rng = np.random.default_rng(7)
    points = lsoas.sample_points(107, rng=rng).explode(index_parts=False)
    inc = gpd.GeoDataFrame(
        {
            "urban_rural": lsoas.loc[points.index, "urban_rural"].to_numpy(),
            "district": lsoas.loc[points.index, "district"].to_numpy(),
            "lsoa_code": lsoas.loc[points.index, "lsoa_code"].to_numpy(),
        },
        geometry=points.to_numpy(),
        crs=4326,
    )
    inc["grade_category"] = "emergency"
    inc["attended"] = True
    inc["p_met"] = rng.uniform(size=len(inc))
    assert len(inc) > 115_000
    m = maps.compliance_map(inc, lsoas=lsoas, districts=districts, attribution=profile.attribution)
    path = maps.save_map(m, tmp_path / "county.html", offline=True)
    size = path.stat().st_size
    assert size < 20e6
    fc = layer_with(path.read_text(), "pct_met")
    assert (
        sum(
            int(
                h3.is_valid_cell(
                    h3.latlng_to_cell(f["geometry"]["coordinates"][0][0][1], f["geometry"]["coordinates"][0][0][0], 8)
                )
            )
            for f in fc["features"][:10]
        )
        == 10
    )


def test_ready_cells_policy_and_standin(tmp_path, profile):
    inc = make_incidents()
    cells = hotspots.hex_aggregate(inc)
    m = maps.compliance_map(inc, cells=cells, policy=profile.policy("ncmg"), standin=True, min_cell_count=1)
    page = maps.save_map(m, tmp_path / "m.html").read_text()
    fc = layer_with(page, "pct_met")
    assert sorted(f["properties"]["pct_met"] for f in fc["features"]) == ["0.0%", "70.0%"]
    assert "% of attended incidents meeting their target, by hexagon" in page
    assert "NPCC National Contact Management Guidance grades (proposed)" in page
    assert "synthetic stand-in network (NOT OpenStreetMap)" in page


@pytest.mark.slow
def test_map_command_offline(tmp_path, data_dir):
    """`geo-response map` on 300 police.uk rows and the stand-in network: an offline file, hotspots CSV."""
    from typer.testing import CliRunner

    from geo_response.cli import create_app

    app = create_app()

    rows = pd.read_csv(data_dir / "police_uk" / "2018-01-essex-street.csv", nrows=300)
    rows.loc[0, "crime_type"] = XSS
    rows.loc[1, ["longitude", "latitude"]] = [-1.0, 53.0]  # outside the force: rejected, and ledgered
    source = tmp_path / "incidents.csv"
    rows.to_csv(source, index=False)
    out = tmp_path / "map.html"
    result = CliRunner().invoke(
        app,
        [
            "map",
            "--incidents",
            str(source),
            "--offline",
            "--out",
            str(out),
            "--category",
            "all",
            "--min-count",
            "5",
            "--draws",
            "500",
            "--hotspots-csv",
            str(tmp_path / "hotspots.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert maps.external_resources(page) == []
    # the category never reaches an aggregated map, raw or escaped (escaping in tooltips is tested above
    # with show_points=True)
    assert "<img src=x" not in page and "&lt;img src=x" not in page
    assert "synthetic stand-in network" in page
    assert '"Isochrones: blue_light"' in page and "A12 corridor (M25 J28 - Marks Tey)" in page
    assert "Incidents (points)" not in page
    assert (tmp_path / "hotspots.csv").is_file()
    assert "wrote" in result.output and "trunk roads the largest group of emergency failures" in result.output
    # every row is accounted for (the first 300 rows hold one rejected row of their own, and ours), and the
    # rejected rows are in the ledger beside the map
    assert "300 rows in = 298 accepted + 2 rejected" in result.output
    ledger = pd.read_csv(tmp_path / "map.html.ledger.csv")
    rejected = ledger[ledger["status"] == "rejected"]
    assert len(rejected) == 2 and [2, "outside_force_area"] in rejected[["row_number", "reason"]].values.tolist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aggregate", "square"], "'hex' or 'lsoa'"),
        (["--policy", "nope"], "unknown policy 'nope'"),
    ],
)
def test_map_command_rejects_bad_options(tmp_path, args, message):
    from typer.testing import CliRunner

    from geo_response.cli import create_app

    app = create_app()

    result = CliRunner().invoke(app, ["map", "--incidents", "x.csv", "--out", str(tmp_path / "m.html"), *args])
    assert result.exit_code == 2
    assert message in result.output

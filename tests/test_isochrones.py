"""Isochrones: reachable network, not hulls; every reached node inside, far-away nodes outside."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo_response import bases
from geo_response.errors import RoutingError
from geo_response.roads import fields, isochrones, network
from geo_response.roads.roadnet import RoadNetwork
from tests.conftest import FIXTURES

E0, N0 = 575_000.0, 205_000.0  # near Chelmsford, EPSG:27700
TO_LONLAT = Transformer.from_crs(27700, 4326, always_xy=True)


def _graph(nodes: dict[int, tuple[float, float]], roads: list[tuple[int, int, float, bool]]) -> nx.MultiDiGraph:
    """A graph from projected node offsets (m from E0, N0) and roads (u, v, seconds, two_way), straight edges."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for n, (dx, dy) in nodes.items():
        lon, lat = TO_LONLAT.transform(E0 + dx, N0 + dy)
        G.add_node(n, x=lon, y=lat)
    for u, v, seconds, two_way in roads:
        length = float(np.hypot(*np.subtract(nodes[u], nodes[v])))
        G.add_edge(u, v, length=length, travel_time_blue_light=seconds)
        if two_way:
            G.add_edge(v, u, length=length, travel_time_blue_light=seconds)
    return RoadNetwork.from_networkx(G)


def _bases(G, nodes, names=None):
    names = names or [f"base {n}" for n in nodes]
    return gpd.GeoDataFrame(
        {"base_id": range(len(nodes)), "name": names, "node": nodes},
        geometry=gpd.points_from_xy(*G.node_xy(nodes).T),
        crs=4326,
    )


def _fine(buffer_m=100.0, cell_m=10.0):
    return {"cell_m": cell_m, "sample_m": cell_m / 2}


def _projected(iso):
    return gpd.GeoSeries(iso.geometry, crs=4326).to_crs(27700).reset_index(drop=True)


def _pt(dx, dy):
    return shapely.Point(E0 + dx, N0 + dy)


def test_half_a_road_is_a_stadium():
    # a straight two-way road of 1,000 m taking 100 s; from one end 50 s reach exactly half of it
    G = _graph({1: (0, 0), 2: (1000, 0)}, [(1, 2, 100.0, True)])
    fine = _fine()
    iso = isochrones.isochrones(G, _bases(G, [1]), [50 / 60, 100 / 60], per_base=False, **fine)
    half, full = _projected(iso)
    stadium = 500 * 200 + np.pi * 100**2  # reached road buffered by 100 m
    assert half.area == pytest.approx(stadium, rel=0.03)
    assert full.area == pytest.approx(1000 * 200 + np.pi * 100**2, rel=0.03)
    assert iso.area_km2.iloc[0] == pytest.approx(half.area / 1e6, rel=0.01)
    assert half.covers(_pt(450, 0)) and half.covers(_pt(0, 90)) and not half.covers(_pt(650, 0))
    assert full.covers(half.buffer(-1))  # thresholds nest
    assert list(iso.base) == ["all bases"] * 2 and list(iso.base_id) == [-1, -1]
    assert list(iso.threshold_min) == pytest.approx([50 / 60, 100 / 60])


def test_no_hull_between_roads():
    # an L of two 1 km roads: a convex hull would hold the corner triangle; nothing there is within 100 m of a road
    G = _graph({1: (0, 0), 2: (1000, 0), 3: (0, 1000)}, [(1, 2, 60.0, True), (1, 3, 60.0, True)])
    fine = _fine()
    poly = _projected(isochrones.isochrones(G, _bases(G, [1]), [5], per_base=False, **fine)).iloc[0]
    hull = shapely.MultiPoint([_pt(0, 0), _pt(1000, 0), _pt(0, 1000)]).convex_hull
    assert not poly.covers(_pt(400, 400)) and hull.covers(_pt(400, 400))
    assert poly.covers(_pt(1000, 0)) and poly.covers(_pt(0, 1000)) and poly.covers(_pt(500, 80))
    # the hull's unreachable part: x > 100, y > 100, x + y < 1000, a triangle with 800 m legs
    assert hull.difference(poly).area == pytest.approx(800 * 800 / 2, rel=0.03)


def test_one_way_and_disjoint_reach_is_a_multipolygon():
    # 1 -> 2 -> 3 along a line, one-way 2 -> 3 only; bases at 1 and 3; 4-5 is a separate part nobody reaches
    G = _graph(
        {1: (0, 0), 2: (3000, 0), 3: (6000, 0), 4: (0, 3000), 5: (500, 3000)},
        [(1, 2, 300.0, True), (2, 3, 300.0, False), (4, 5, 30.0, True)],
    )
    fine = _fine(cell_m=20)
    iso = isochrones.isochrones(G, _bases(G, [1, 3], ["West", "East"]), [1], **fine)
    combined, west, east = _projected(iso)
    assert combined.geom_type == "MultiPolygon" and len(combined.geoms) == 2
    # 60 s = 600 m from 1, plus the 100 m band: the edge is at 700 m (730 m is 1.5 grid cells beyond)
    assert combined.covers(_pt(500, 0)) and combined.covers(_pt(680, 0)) and not combined.covers(_pt(730, 0))
    # from 3 nothing leads back (2 -> 3 is one-way): East covers only the disc around its node
    assert east.area == pytest.approx(np.pi * 100**2, rel=0.06) and not east.covers(_pt(5850, 0))
    assert not combined.covers(_pt(250, 3000))  # the unreached part
    assert west.geom_type == "Polygon"
    assert list(iso.base) == ["all bases", "West", "East"] and list(iso.base_id) == [-1, 0, 1]


def test_partial_edge_is_cut_at_the_threshold(profile):
    tiny = network.load_network(FIXTURES / "osm" / "tiny_town.osm", profile=profile, clip=False, use_cache=False)
    station = bases.attach_nodes(_bases(tiny, [1], ["North"]), tiny)
    fine = _fine(buffer_m=20, cell_m=4)
    # 15 s: node 3 at 12.76 s; the 2.24 s left are 22.4% of the 10.01 s one-way lane 3->4 (222.4 m) = 49.8 m
    iso = isochrones.isochrones(tiny, station, [15 / 60], per_base=False, buffer_m=20, **fine)
    poly = _projected(iso).iloc[0]
    node = gpd.GeoSeries(gpd.points_from_xy(*tiny.node_xy([1, 3, 4, 5]).T), crs=4326).to_crs(27700)
    n1, n3, n4, n5 = node.values
    assert poly.covers(n1) and poly.covers(n3)
    assert not poly.covers(n4) and not poly.covers(n5)  # 22.8 s and 29.7 s away
    lane = shapely.LineString([n3, n4])
    north = shapely.intersection(poly, lane).length  # reached lane + 20 m band
    assert north == pytest.approx(0.2238 * 222.39 + 20, abs=5)


def test_population_by_weighted_centroid():
    G = _graph({1: (0, 0), 2: (1000, 0)}, [(1, 2, 100.0, True)])
    fine = _fine()
    pts = [(500, 50), (500, 400), (2000, 0)]
    lonlat = [TO_LONLAT.transform(E0 + dx, N0 + dy) for dx, dy in pts]
    lsoas = pd.DataFrame(
        {"pwc_lon": [p[0] for p in lonlat], "pwc_lat": [p[1] for p in lonlat], "population": [1500, 1700, 1900]}
    )
    iso = isochrones.isochrones(G, _bases(G, [1]), [2], per_base=False, lsoas=lsoas, **fine)
    assert iso.population.iloc[0] == 1500  # only the centroid 50 m from the road
    no_pop = isochrones.isochrones(G, _bases(G, [1]), [2], per_base=False, **fine)
    assert np.isnan(no_pop.population.iloc[0])  # unknown, never 0


def test_nothing_reached_is_empty_not_an_error():
    G = _graph({1: (0, 0), 2: (1000, 0)}, [(1, 2, 100.0, True)])
    fine = _fine()
    samples = G.samples(**fine)
    grid = isochrones.time_grid(samples, np.full(len(samples.edge), np.inf), 60.0)
    assert grid is None and isochrones.threshold_polygons(grid, [60.0])[0].is_empty
    with pytest.raises(RoutingError, match="positive"):
        isochrones.isochrones(G, _bases(G, [1]), [0, 5], **fine)
    with pytest.raises(RoutingError, match="no bases"):
        isochrones.isochrones(G, _bases(G, [1]).iloc[:0], [5], **fine)
    with pytest.raises(RoutingError, match="no 'normal' travel times"):
        isochrones.isochrones(G, _bases(G, [1]), [5], speed="normal", **fine)


@pytest.mark.slow
def test_essex_isochrone_sanity(essex_graph, essex_bases, lsoas):
    G = essex_graph
    index = G.edge_index()
    rg = G.csr("blue_light")
    first = essex_bases.iloc[:3]
    iso = isochrones.isochrones(G, first, [10, 20], "blue_light", lsoas=lsoas)
    samples = G.samples(pad_m=isochrones.BUFFER_M + 4 * isochrones.CELL_M)
    assert list(iso.base) == ["all bases"] * 2 + [n for n in first.name for _ in range(2)]
    assert iso.geometry.is_valid.all() and (iso.area_km2 > 0).all()
    seconds, _ = fields.nearest_source_field(rg, first["node"].to_numpy())
    xy = G.node_xy(rg.node_ids)
    proj = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326).to_crs(27700)
    node_xy = np.column_stack([proj.x, proj.y])
    polys = _projected(iso)
    sample_t = isochrones.sample_seconds(index, samples, rg, seconds, G.edge_times("blue_light"))
    for row, minutes in ((0, 10), (1, 20)):
        poly = polys.iloc[row]
        shapely.prepare(poly)
        inside = shapely.covers(poly, proj.values)
        limit = minutes * 60
        reached = seconds <= limit
        assert inside[reached].all()  # every reached node is inside
        beyond = seconds > limit + 120  # 2 minutes of margin
        assert beyond.sum() > 1000
        road = cKDTree(samples.xy[sample_t <= limit]).query(node_xy[beyond])[0]
        # a far node is inside only within the band around a reached road (e.g. beside a bypass it cannot join)
        band = isochrones.BUFFER_M + 2.5 * isochrones.CELL_M
        assert not (inside[beyond] & (road > band)).any()
        assert inside[beyond].mean() < 0.02
    assert iso.population.iloc[1] > iso.population.iloc[0] > 0
    assert iso.population.iloc[0] >= iso.population.iloc[2::2].max()  # combined covers each base's 10 min
    # a threshold's polygon does not depend on the other thresholds asked for in the same call
    alone = isochrones.isochrones(G, first, [10], "blue_light", per_base=False)
    assert alone.area_km2.iloc[0] == iso.area_km2.iloc[0]
    assert shapely.equals(alone.geometry.iloc[0], iso.geometry.iloc[0])


def test_isochrones_command(tmp_path, data_dir, monkeypatch):
    import json

    from typer.testing import CliRunner

    from geo_response.cli import create_app

    app = create_app()

    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "iso.gpkg"
    args = [
        "isochrones",
        "--osm",
        str(FIXTURES / "osm" / "tiny_town.osm"),
        "--thresholds",
        "0.25,0.5",
        "--speed",
        "blue_light",
        "--speed",
        "normal",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    iso = gpd.read_file(out, layer="isochrones")
    assert list(iso.columns) == [*isochrones.COLUMNS[:-1], "network", "geometry"]
    assert len(iso) == 2 * 2 * 2  # (all bases + 1 station) x 2 thresholds x 2 profiles
    assert set(iso.profile) == {"blue_light", "normal"} and set(iso.threshold_min) == {0.25, 0.5}
    small = iso[(iso.base_id == -1) & (iso.threshold_min == 0.25)].set_index("profile").area_km2
    assert small["blue_light"] > small["normal"] > 0  # faster profile, larger area
    meta = json.loads((tmp_path / "iso.gpkg.json").read_text())
    assert meta["parameters"]["buffer_m"] == isochrones.BUFFER_M and meta["polygons"] == 8
    bad = CliRunner().invoke(app, [*args[:-4], "--out", str(tmp_path / "iso.shp"), "--data-dir", str(data_dir)])
    assert bad.exit_code == 2 and ".gpkg or .geojson" in bad.output
    for extra, message in (
        (["--no-per-base", "--no-combined"], "nothing to draw"),
        (["--thresholds", "nan"], "must be positive minutes"),
        (["--thresholds", "5,-1"], "must be positive minutes"),
    ):
        bad = CliRunner().invoke(app, [*args, *extra])
        assert bad.exit_code == 2 and message in bad.output, bad.output

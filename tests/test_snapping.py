"""Snapping points to edges and travel times to points, hand-computed on the tiny fixture."""

from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_response import bases
from geo_response.roads import fields, network, routing, snapping
from geo_response.roads.roadnet import RoadNetwork
from tests.conftest import FIXTURES

T13 = 12.7557  # blue-light seconds on the primary 1<->3 (test_speeds.py)


@pytest.fixture(scope="module")
def tiny(profile):
    return network.load_network(FIXTURES / "osm" / "tiny_town.osm", profile=profile, clip=False, use_cache=False)


def _points(*lonlat):
    return gpd.GeoSeries(gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]), crs=4326)


def test_snap_to_edge_not_node(tiny):
    # 3/4 of the way from node 1 (51.730) to node 3 (51.732), 0.0005 deg east of the road
    snapped = snapping.snap_points(tiny, _points((0.4705, 51.7315)))
    row = snapped.iloc[0]
    assert {row.u, row.v} == {1, 3}
    f = row.edge_fraction if row.u == 1 else 1 - row.edge_fraction
    assert f == pytest.approx(0.75, abs=2e-3)
    # 0.0005 deg of longitude at 51.7315 N is 34.5 m on the ground (BNG scale factor ~1.0)
    assert row.snap_distance_m == pytest.approx(0.0005 * 111_320 * np.cos(np.radians(51.7315)), rel=0.01)
    assert not row.too_far


def test_travel_time_to_point_hand_computed(tiny):
    station = gpd.GeoDataFrame(
        {"base_id": [0], "name": ["North"]}, geometry=_points((0.4700, 51.7300)).values, crs=4326
    )  # at node 1
    station = bases.attach_nodes(station, tiny)
    pts = _points((0.4705, 51.7315), (0.4700, 51.7345), (0.60, 51.7315))
    out = routing.travel_times_to_points(tiny, station, pts, "blue_light", access_speed_kph=15, limit_m=1000)
    access = out.snap_distance_m.iloc[0] / (15 / 3.6)
    assert out.travel_seconds.iloc[0] == pytest.approx(0.75 * T13 + access, abs=0.05)  # along 1->3
    assert out.nearest_base.iloc[0] == "North" and out.base_id.iloc[0] == 0
    # halfway 4 -> 5 (51.734 .. 51.735): 1 -> 3 -> 4 (one-way lane) then half the residential street
    assert out.travel_seconds.iloc[1] == pytest.approx(T13 + 10.0076 + 0.5 * 6.9093, abs=0.05)
    assert out.travel_minutes.iloc[1] == pytest.approx(out.travel_seconds.iloc[1] / 60)
    assert out.status.iloc[2] == "too_far" and out.snap_distance_m.iloc[2] > 8000  # 9 km east: flagged, still timed
    assert np.isfinite(out.travel_seconds.iloc[2])
    assert list(out.status) == ["ok", "ok", "too_far"]


def test_via_either_end_on_two_way_roads(tiny):
    # a base at node 3: a point 1/4 of the way from 1 to 3 is reached backwards along 3 -> 1
    station = gpd.GeoDataFrame({"base_id": [7], "name": ["Mid"]}, geometry=_points((0.4700, 51.7320)).values, crs=4326)
    out = routing.travel_times_to_points(tiny, station, _points((0.4700, 51.7305)), "blue_light")
    assert out.travel_seconds.iloc[0] == pytest.approx(0.75 * T13, abs=0.05)
    assert out.base_id.iloc[0] == 7


def test_one_way_edge_point(tiny):
    # a point on the one-way lane 3->4 from a base at node 4: must go round by the trunk to 3, then up the lane
    station = gpd.GeoDataFrame({"base_id": [0], "name": ["B"]}, geometry=_points((0.4700, 51.7340)).values, crs=4326)
    out = routing.travel_times_to_points(tiny, station, _points((0.46995, 51.7330)), "blue_light")
    snapped = snapping.snap_points(tiny, _points((0.46995, 51.7330)))
    assert {snapped.u.iloc[0], snapped.v.iloc[0]} == {3, 4}
    lane = out.travel_seconds.iloc[0] - out.snap_distance_m.iloc[0] / (15 / 3.6)
    # 4 -> 3 by trunk (27.57 s), then half the lane (5.00 s); the trunk itself passes 0.002 deg east: farther
    assert lane == pytest.approx(27.5735 + 0.5 * 10.0076, abs=0.05)


@pytest.mark.slow
def test_kdtree_snap_matches_strtree_on_essex(essex_graph):
    """The KD-tree on 50 m segments gives the exact nearest-edge distance (STRtree as the reference)."""
    idx = essex_graph.edge_index()
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = 560_000, 180_000, 620_000, 240_000
    xy = np.column_stack([rng.uniform(x0, x1, 20_000), rng.uniform(y0, y1, 20_000)])
    pts = gpd.GeoSeries(shapely.points(xy), crs=27700)
    got = snapping.snap_points(essex_graph, pts)
    ref_i, ref_e = idx.tree.query_nearest(shapely.points(xy), all_matches=False)
    edge = np.empty(len(xy), dtype=int)
    edge[ref_i] = ref_e
    ref_d = shapely.distance(idx.geometry[edge], shapely.points(xy))
    assert np.abs(got.snap_distance_m.to_numpy() - ref_d).max() < 1e-6


def _line_graph():
    """Two straight roads with no geometry: 1 <-> 2 (100 s, two-way) and a separate one-way 3 -> 4."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for n, (x, y) in {1: (0.470, 51.730), 2: (0.480, 51.730), 3: (0.470, 51.740), 4: (0.480, 51.740)}.items():
        G.add_node(n, x=x, y=y)
    length = 690.0  # 0.01 deg of longitude at 51.73 N is about 690 m
    G.add_edge(1, 2, length=length, travel_time_blue_light=100.0)
    G.add_edge(2, 1, length=length, travel_time_blue_light=120.0)  # uphill: slower back
    G.add_edge(3, 4, length=length, travel_time_blue_light=50.0)
    return RoadNetwork.from_networkx(G)


def test_straight_edges_reverse_times_and_unreachable_points():
    G = _line_graph()
    idx = G.edge_index()
    assert len(idx.u) == 2  # 1 <-> 2 kept once, 3 -> 4 once
    fwd, rev = idx.times(G.edge_times("blue_light"))
    row = int(np.flatnonzero(idx.u == 1)[0]) if 1 in idx.u else int(np.flatnonzero(idx.u == 2)[0])
    assert sorted([fwd[row], rev[row]]) == [100.0, 120.0]
    assert np.isinf(rev[np.flatnonzero(idx.u == 3)[0]])  # one-way: no reverse
    station = gpd.GeoDataFrame(
        {"base_id": [4], "name": ["East"], "node": [2]}, geometry=_points((0.480, 51.730)).values, crs=4326
    )
    pts = _points((0.4725, 51.730), (0.475, 51.740))  # on 1-2 a quarter of the way; on the other road
    out = routing.travel_times_to_points(G, station, pts, "blue_light")
    # from node 2 back along 2 -> 1 (120 s) to 1/4 of the way from 1: 3/4 of 120 s; snap distance ~0
    assert out.travel_seconds.iloc[0] == pytest.approx(90.0, abs=0.2)
    assert out.snap_distance_m.iloc[0] < 0.5
    assert out.status.iloc[1] == "unreachable" and out.base_id.iloc[1] == -1
    assert np.isnan(out.travel_minutes.iloc[1]) and np.isnan(out.travel_seconds.iloc[1])  # never 0 or inf
    assert pd.isna(out.nearest_base.iloc[1])


def test_point_travel_times_match_the_routing_call(tiny):
    rg = tiny.csr("blue_light")
    seconds, source = fields.nearest_source_field(rg, [5])
    pts = _points((0.4705, 51.7315), (0.46995, 51.7330), (0.4702, 51.7345))
    snapped = snapping.snap_points(tiny, pts)
    a = snapping.point_travel_times(
        tiny.edge_index(), snapped, rg, seconds, tiny.edge_times("blue_light"), source, 15.0
    )
    station = gpd.GeoDataFrame(
        {"base_id": [0], "name": ["B"], "node": [5]}, geometry=_points((0.47, 51.735)).values, crs=4326
    )
    b = routing.travel_times_to_points(tiny, station, pts, "blue_light", access_speed_kph=15.0)
    assert np.allclose(a.travel_seconds, b.travel_seconds)
    assert list(a.source) == [0, 0, 0]


def test_bad_points_are_clear_errors(tiny):
    from geo_response.errors import RoutingError

    idx = tiny
    with pytest.raises(RoutingError, match="no CRS"):
        snapping.snap_points(idx, gpd.GeoSeries(gpd.points_from_xy([0.47], [51.73])))
    with pytest.raises(RoutingError, match="only Point"):
        snapping.snap_points(idx, gpd.GeoSeries([shapely.box(0.47, 51.73, 0.48, 51.74)], crs=4326))
    with pytest.raises(RoutingError, match="no geometry"):
        snapping.snap_points(idx, gpd.GeoSeries([shapely.Point(0.47, 51.73), None], crs=4326))
    with pytest.raises(RoutingError, match="no 'warp' travel times"):
        routing.travel_times_to_points(tiny, _line_bases(tiny), _points((0.47, 51.73)), "warp")
    with pytest.raises(RoutingError, match="no bases"):
        routing.travel_times_to_points(tiny, _line_bases(tiny).iloc[:0], _points((0.47, 51.73)))
    assert len(snapping.snap_points(idx, _points())) == 0


def _line_bases(G):
    return bases.attach_nodes(
        gpd.GeoDataFrame({"base_id": [0], "name": ["A"]}, geometry=_points((0.47, 51.73)).values, crs=4326), G
    )


def test_travel_times_command(tmp_path, data_dir, monkeypatch):
    from typer.testing import CliRunner

    from geo_response.cli import create_app

    app = create_app()

    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(tmp_path / "cache"))
    points = tmp_path / "points.csv"
    points.write_text(
        "id,Latitude,Longitude,label\n"
        "a,51.7315,0.4705,beside the primary\n"
        "b,,0.47,no latitude\n"
        "c,51.7315,0.60,nine km east\n"
    )
    out = tmp_path / "times.csv"
    result = CliRunner().invoke(
        app,
        [
            "travel-times",
            "--osm",
            str(FIXTURES / "osm" / "tiny_town.osm"),
            "--points",
            str(points),
            "--profile",
            "blue_light",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["id", "Latitude", "Longitude", "label"]  # input columns kept
    assert list(table.status) == ["ok", "no_coordinates", "too_far"]
    assert table.nearest_base.iloc[0] == "Tiny Town Police Station"
    # the station (0.4705, 51.7315) attaches to node 1 or 3 and the point is on the primary beside it
    assert 0 < table.travel_minutes.iloc[0] < 1 and table.snap_distance_m.iloc[0] == pytest.approx(34.6, abs=0.5)
    assert np.isnan(table.travel_minutes.iloc[1])
    assert table.snap_distance_m.iloc[2] > 8000 and table.travel_minutes.iloc[2] > 0
    assert (table.profile == "blue_light").all() and table.network.notna().all()
    meta = json.loads(out.with_name("times.csv.json").read_text())
    assert meta["parameters"]["access_speed_kph"] == 15 and meta["counts"]["no_coordinates"] == 1
    # the summary figures cover the one point within the snap limit, not the one 9 km out at sea
    assert meta["travel_minutes"]["points"] == 1
    assert meta["travel_minutes"]["max"] == pytest.approx(table.travel_minutes.iloc[0], abs=0.01)
    assert "travel minutes (1 points within the snap limit)" in result.output
    # a row with an extra field is reported with the status extra_fields (never read with shifted columns)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,latitude,longitude\na,51.7315,0.4705\nb,51.7315,0.4705,extra\n")
    r = CliRunner().invoke(
        app,
        [
            "travel-times",
            "--osm",
            str(FIXTURES / "osm" / "tiny_town.osm"),
            "--points",
            str(ragged),
            "--out",
            str(tmp_path / "r.csv"),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "r.csv")["status"].tolist() == ["ok", "extra_fields"]
    # the output never replaces the input
    same = CliRunner().invoke(
        app,
        [
            "travel-times",
            "--osm",
            str(FIXTURES / "osm" / "tiny_town.osm"),
            "--points",
            str(ragged),
            "--out",
            str(ragged),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert same.exit_code == 2 and ragged.read_text().endswith("extra\n")
    # output columns already in the input: refused before any routing
    clash = tmp_path / "clash.csv"
    clash.write_text("status,latitude,longitude\nx,51.7315,0.4705\n")
    r = CliRunner().invoke(
        app,
        [
            "travel-times",
            "--osm",
            str(FIXTURES / "osm" / "tiny_town.osm"),
            "--points",
            str(clash),
            "--out",
            str(tmp_path / "c.csv"),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert r.exit_code == 2 and "already has columns ['status']" in r.output
    bad = CliRunner().invoke(
        app,
        [
            "travel-times",
            "--osm",
            str(FIXTURES / "osm" / "tiny_town.osm"),
            "--points",
            str(points),
            "--profile",
            "warp",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert bad.exit_code == 2 and "unknown speed profile" in bad.output


def test_point_at_the_end_of_a_one_way_road_is_reached_from_that_end():
    G = _line_graph()
    station = gpd.GeoDataFrame(
        {"base_id": [0], "name": ["At 4"], "node": [4]}, geometry=_points((0.480, 51.740)).values, crs=4326
    )
    out = routing.travel_times_to_points(G, station, _points((0.482, 51.740)), "blue_light", access_speed_kph=15)
    # snapped to the end (node 4) of the one-way 3 -> 4, ~138 m east of it: only the access leg
    assert out.status.iloc[0] == "ok" and out.snap_distance_m.iloc[0] == pytest.approx(138, abs=2)
    assert out.travel_seconds.iloc[0] == pytest.approx(out.snap_distance_m.iloc[0] / (15 / 3.6), abs=1e-6)

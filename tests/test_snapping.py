"""Snapping points to edges and travel times to points, hand-computed on the tiny fixture."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo_response import bases, network, routing, snapping
from tests.conftest import FIXTURES

T13 = 12.7557   # blue-light seconds on the primary 1<->3 (test_speeds.py)


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
    station = gpd.GeoDataFrame({"base_id": [0], "name": ["North"]}, geometry=_points((0.4700, 51.7300)).values,
                               crs=4326)   # at node 1
    station = bases.attach_nodes(station, tiny)
    pts = _points((0.4705, 51.7315), (0.4700, 51.7345), (0.60, 51.7315))
    out = snapping.travel_times_to_points(tiny, station, pts, "blue_light", access_speed_kph=15, limit_m=1000)
    access = out.snap_distance_m.iloc[0] / (15 / 3.6)
    assert out.travel_seconds.iloc[0] == pytest.approx(0.75 * T13 + access, abs=0.05)   # along 1->3
    assert out.nearest_base.iloc[0] == "North" and out.base_id.iloc[0] == 0
    # halfway 4 -> 5 (51.734 .. 51.735): 1 -> 3 -> 4 (one-way lane) then half the residential street
    assert out.travel_seconds.iloc[1] == pytest.approx(T13 + 10.0076 + 0.5 * 6.9093, abs=0.05)
    assert out.travel_minutes.iloc[1] == pytest.approx(out.travel_seconds.iloc[1] / 60)
    assert bool(out.too_far.iloc[2]) and out.snap_distance_m.iloc[2] > 8000   # 9 km east: flagged, still timed
    assert out.reachable.all()


def test_via_either_end_on_two_way_roads(tiny):
    # a base at node 3: a point 1/4 of the way from 1 to 3 is reached backwards along 3 -> 1
    station = gpd.GeoDataFrame({"base_id": [7], "name": ["Mid"]}, geometry=_points((0.4700, 51.7320)).values,
                               crs=4326)
    out = snapping.travel_times_to_points(tiny, station, _points((0.4700, 51.7305)), "blue_light")
    assert out.travel_seconds.iloc[0] == pytest.approx(0.75 * T13, abs=0.05)
    assert out.base_id.iloc[0] == 7


def test_one_way_edge_point(tiny):
    # a point on the one-way lane 3->4 from a base at node 4: must go round by the trunk to 3, then up the lane
    station = gpd.GeoDataFrame({"base_id": [0], "name": ["B"]}, geometry=_points((0.4700, 51.7340)).values, crs=4326)
    idx = snapping.edge_index(tiny)
    rg = routing.to_csr(tiny, "travel_time_blue_light")
    out = snapping.travel_times_to_points(tiny, station, _points((0.46995, 51.7330)), "blue_light", index=idx, rg=rg)
    snapped = snapping.snap_points(idx, _points((0.46995, 51.7330)))
    assert {snapped.u.iloc[0], snapped.v.iloc[0]} == {3, 4}
    lane = out.travel_seconds.iloc[0] - out.snap_distance_m.iloc[0] / (15 / 3.6)
    # 4 -> 3 by trunk (27.57 s), then half the lane (5.00 s); the trunk itself passes 0.002 deg east: farther
    assert lane == pytest.approx(27.5735 + 0.5 * 10.0076, abs=0.05)


@pytest.mark.slow
def test_kdtree_snap_matches_strtree_on_essex(essex_graph):
    """The KD-tree on 50 m segments gives the exact nearest-edge distance (STRtree as the reference)."""
    idx = snapping.edge_index(essex_graph)
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = 560_000, 180_000, 620_000, 240_000
    xy = np.column_stack([rng.uniform(x0, x1, 20_000), rng.uniform(y0, y1, 20_000)])
    pts = gpd.GeoSeries(shapely.points(xy), crs=27700)
    got = snapping.snap_points(idx, pts)
    ref_i, ref_e = idx.tree.query_nearest(shapely.points(xy), all_matches=False)
    edge = np.empty(len(xy), dtype=int)
    edge[ref_i] = ref_e
    ref_d = shapely.distance(idx.geometry[edge], shapely.points(xy))
    assert np.abs(got.snap_distance_m.to_numpy() - ref_d).max() < 1e-6

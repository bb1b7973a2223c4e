"""Bases snapped like incidents: nearest edge, both ends where two-way, an access leg (issue 12).

Hand-made networks laid out in British National Grid metres (converted to longitude/latitude for the
network), so fractions along an edge and snap distances are exact. Access legs at 15 km/h: 20 m = 4.8 s,
10 m = 2.4 s.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from geo_response.roads import fields, isochrones, routing, snapping
from geo_response.roads.roadnet import RoadNetwork

TO_LONLAT = Transformer.from_crs(27700, 4326, always_xy=True)
X0, Y0 = 560_000.0, 200_000.0
ACCESS = 15.0 / 3.6  # m/s


def lonlat(x: float, y: float) -> tuple[float, float]:
    return TO_LONLAT.transform(x, y)


def network(nodes: dict[int, tuple[float, float]], edges: list[tuple[int, int, float]]) -> RoadNetwork:
    """Nodes by BNG (x, y); edges (u, v, blue-light seconds) with the straight-line length."""
    G = nx.MultiDiGraph(crs="epsg:4326", network_label="hand-made", standin=False, source="test", source_sha256="")
    for n, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        G.add_node(n, x=lon, y=lat)
    for u, v, t in edges:
        (x1, y1), (x2, y2) = nodes[u], nodes[v]
        G.add_edge(
            u,
            v,
            key=0,
            length=float(np.hypot(x2 - x1, y2 - y1)),
            highway="primary",
            travel_time_blue_light=t,
            travel_time_normal=2 * t,
            travel_time_free_flow=t,
        )
    return RoadNetwork.from_networkx(G)


def points(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"base_id": range(len(xy)), "name": [f"P{i}" for i in range(len(xy))]},
        geometry=[Point(lonlat(x, y)) for x, y in xy],
        crs=4326,
    )


# A (0) -- 1 km -- B (1 km north) -- 1 km -- C; A->B 100 s, B->A 120 s, B<->C 100 s
NODES = {1: (X0, Y0), 2: (X0, Y0 + 1000.0), 3: (X0, Y0 + 2000.0)}
TWO_WAY = [(1, 2, 100.0), (2, 1, 120.0), (2, 3, 100.0), (3, 2, 100.0)]
ONE_WAY = [(1, 2, 100.0), (2, 3, 100.0), (3, 2, 100.0)]
BASE = (X0 + 20.0, Y0 + 300.0)  # 20 m east of the road, at f = 0.3 of A -> B: access 4.8 s


def test_a_base_mid_edge_on_a_two_way_road_reaches_both_ends():
    net = network(NODES, TWO_WAY)
    tt = routing.travel_times_to_points(net, points(BASE), points(NODES[1], NODES[2], NODES[3]))
    # A: 0.3 x 120 (B->A) + 4.8 = 40.8; B: 0.7 x 100 + 4.8 = 74.8; C: 74.8 + 100 = 174.8
    np.testing.assert_allclose(tt["travel_seconds"], [40.8, 74.8, 174.8], atol=1e-6)
    assert (tt["status"] == "ok").all() and (tt["nearest_base"] == "P0").all()
    # the matrix agrees, and so does the node field
    np.testing.assert_allclose(
        routing.travel_matrix(net, points(BASE), points(NODES[1], NODES[2], NODES[3]))[0],
        [40.8, 74.8, 174.8],
        atol=1e-6,
    )
    sources, snapped = snapping.snap_sources(net, points(BASE))
    assert snapped["edge_fraction"].item() == pytest.approx(0.3) and snapped["snap_distance_m"].item() == pytest.approx(
        20.0
    )
    seconds, source = fields.nearest_source_field_from(net.csr(), sources)
    np.testing.assert_allclose(seconds[net.csr().index_of([1, 2, 3])], [40.8, 74.8, 174.8], atol=1e-6)
    assert (source == 0).all()


def test_a_base_mid_edge_on_a_one_way_road_reaches_downstream_only():
    net = network(NODES, ONE_WAY)
    tt = routing.travel_times_to_points(net, points(BASE), points(NODES[1], NODES[2], NODES[3]))
    assert tt["status"].tolist() == ["unreachable", "ok", "ok"] and np.isnan(tt["travel_seconds"].iloc[0])
    np.testing.assert_allclose(tt["travel_seconds"].iloc[1:], [74.8, 174.8], atol=1e-6)


def test_points_on_the_base_s_own_edge_are_reached_along_it():
    down, up = (X0 - 10.0, Y0 + 800.0), (X0, Y0 + 100.0)  # f = 0.8 (10 m west) and f = 0.1 (on the road)
    two = routing.travel_times_to_points(network(NODES, TWO_WAY), points(BASE), points(down, up))
    # downstream: (0.8 - 0.3) x 100 + 4.8 + 2.4 = 57.2 (not via B: 74.8 + 0.2 x 120 + 2.4 = 101.2)
    # upstream on the two-way road: (0.3 - 0.1) x 120 + 4.8 = 28.8 (not via A: 40.8 + 0.1 x 100 = 50.8)
    np.testing.assert_allclose(two["travel_seconds"], [57.2, 28.8], atol=1e-6)
    one = routing.travel_times_to_points(network(NODES, ONE_WAY), points(BASE), points(down, up))
    # one-way: downstream the same; upstream not reachable at all (nothing leads back to A)
    assert one["status"].tolist() == ["ok", "unreachable"]
    assert one["travel_seconds"].iloc[0] == pytest.approx(57.2)
    mat = routing.travel_matrix(network(NODES, TWO_WAY), points(BASE), points(down, up))
    np.testing.assert_allclose(mat[0], [57.2, 28.8], atol=1e-6)


def test_the_nearest_of_two_bases_on_the_same_edge_and_repeats_keep_the_first():
    net = network(NODES, TWO_WAY)
    bases = points(BASE, (X0, Y0 + 900.0), BASE)  # P1 at f = 0.9 on the road; P2 repeats P0
    tt = routing.travel_times_to_points(net, bases, points(NODES[1], (X0, Y0 + 700.0), NODES[3]))
    # A: P0 40.8 vs P1 0.9 x 120 = 108; f = 0.7: P0 0.4 x 100 + 4.8 = 44.8 vs P1 0.2 x 120 = 24;
    # C: P0 174.8 vs P1 0.1 x 100 + 100 = 110
    np.testing.assert_allclose(tt["travel_seconds"], [40.8, 24.0, 110.0], atol=1e-6)
    assert tt["nearest_base"].tolist() == ["P0", "P1", "P1"]


def test_the_isochrone_of_a_base_mid_way_along_a_long_road_covers_both_directions():
    # a 10 km two-way road, 1,000 s each way (10 m/s); the base at its middle, 5 km from either node
    net = network({1: (X0, Y0), 2: (X0, Y0 + 10_000.0)}, [(1, 2, 1000.0), (2, 1, 1000.0)])
    iso = isochrones.isochrones(net, points((X0, Y0 + 5000.0)), [1], "blue_light")
    assert len(iso) == 2  # all bases, and the one base
    for poly in iso.geometry:
        shape = gpd.GeoSeries([poly], crs=4326).to_crs(27700).iloc[0]
        # 60 s reach 600 m either way along the road: 500 m north and south are inside, 900 m (300 m past the
        # reach, beyond the 100 m buffer + 2.5 cells) outside
        assert shape.contains(Point(X0, Y0 + 4500.0)) and shape.contains(Point(X0, Y0 + 5500.0))
        assert not shape.contains(Point(X0, Y0 + 4100.0)) and not shape.contains(Point(X0, Y0 + 5900.0))
        lo, hi = shape.bounds[1], shape.bounds[3]
        assert hi - (Y0 + 5000.0) == pytest.approx((Y0 + 5000.0) - lo, abs=60.0)

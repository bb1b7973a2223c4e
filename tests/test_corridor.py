"""A12 corridor: tracing the road between its junctions, and the trunk-road failure table.

The toy network: a dual carriageway 'A12' (two one-way carriageways 22 m apart) running east along
latitude 51.7 from lon 0.0 (junction 1) past lon 0.1 (junction 2) to lon 0.15, where it turns round;
an 'A120' leaving it northwards; a residential street 1.1 km north and a primary road 1.05 km south.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_response import corridor as corr
from geo_response.config import Corridor
from geo_response.corridor import CorridorError
from geo_response.roads.roadnet import RoadNetwork

LONS = [0.0, 0.025, 0.05, 0.075, 0.1, 0.15]
TOY = Corridor(
    name="A12 corridor (J1 - J2)",
    ref="A12",
    from_junction="J1",
    to_junction="J2",
    from_lat=51.7,
    from_lon=0.0,
    to_lat=51.7,
    to_lon=0.1,
    buffer_m=500,
)


NAMES = [f"{k}{i}" for k in "ns" for i in range(len(LONS))] + ["a", "r0", "r1", "p0", "p1"]
ID = {name: i + 1 for i, name in enumerate(NAMES)}  # the network object keys nodes by integer ids


def ids(*edges):
    return {(ID[u], ID[v], k) for u, v, k in edges}


def toy_graph(drop: tuple = ()) -> RoadNetwork:
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i, lon in enumerate(LONS):
        G.add_node(f"n{i}", x=lon, y=51.7)
        G.add_node(f"s{i}", x=lon, y=51.7002)
    for i in range(len(LONS) - 1):
        G.add_edge(f"n{i}", f"n{i + 1}", highway="trunk", ref="A12", length=1000.0, oneway=True)
        G.add_edge(f"s{i + 1}", f"s{i}", highway="trunk", ref="A12", length=1000.0, oneway=True)
    G.add_edge("n5", "s5", highway="trunk", ref="A12", length=50.0, oneway=True)  # turnaround
    G.add_node("a", x=0.05, y=51.75)
    G.add_edge("n2", "a", highway="primary", ref="A120", length=5500.0, oneway=False)
    G.add_edge("a", "n2", highway="primary", ref="A120", length=5500.0, oneway=False)
    for name, lat, hw in (("r", 51.71, "residential"), ("p", 51.6905, "primary")):
        G.add_node(f"{name}0", x=0.0, y=lat)
        G.add_node(f"{name}1", x=0.1, y=lat)
        G.add_edge(f"{name}0", f"{name}1", highway=hw, length=6900.0, oneway=False)
        G.add_edge(f"{name}1", f"{name}0", highway=hw, length=6900.0, oneway=False)
    G.remove_edges_from(drop)
    return RoadNetwork.from_networkx(nx.relabel_nodes(G, ID))


def test_edge_refs_and_road_class():
    assert corr.edge_refs("A12") == {"A12"}
    assert corr.edge_refs("A12;A120") == {"A12", "A120"}
    assert corr.edge_refs(["A120", "A 12"]) == {"A120", "A12"}
    assert "A12" not in corr.edge_refs("A120")
    assert corr.edge_refs(None) == set() and corr.edge_refs(np.nan) == set()
    assert corr.road_class("motorway_link") == "trunk_motorway"
    assert corr.road_class(["residential", "trunk_link"]) == "trunk_motorway"
    assert corr.road_class("living_street") == "residential"
    assert corr.road_class("service") == "other"


def test_trace_corridor_between_junctions():
    G = toy_graph()
    edges, length = corr.trace_corridor(G, TOY)
    expected = ids(
        ("n0", "n1", 0),
        ("n1", "n2", 0),
        ("n2", "n3", 0),
        ("n3", "n4", 0),
        ("s4", "s3", 0),
        ("s3", "s2", 0),
        ("s2", "s1", 0),
        ("s1", "s0", 0),
    )
    assert set(edges) == expected  # not the A120, not the A12 beyond junction 2, not the turnaround
    assert length == pytest.approx(4000.0)
    assert corr.corridor_length_km(G, TOY) == pytest.approx(4.0)
    geom = corr.corridor_geometry(G, TOY)
    assert geom.geom_type == "MultiLineString" and len(geom.geoms) == 8
    assert geom.bounds == pytest.approx((0.0, 51.7, 0.1, 51.7002))


def test_corridor_buffer_is_metric():
    G = toy_graph()
    zone = corr.corridor_buffer(corr.corridor_geometry(G, TOY), 500)
    # 500 m north of the southern carriageway is inside, 700 m is not (1 deg lat ~ 111.2 km)
    assert zone.contains(Point(0.05, 51.7 + 0.0002 + 480 / 111_200))
    assert not zone.contains(Point(0.05, 51.7 + 0.0002 + 700 / 111_200))
    with pytest.raises(CorridorError, match="positive"):
        corr.corridor_buffer(corr.corridor_geometry(G, TOY), 0)


def test_trace_corridor_errors():
    G = toy_graph()
    with pytest.raises(CorridorError, match="no edge of the network has ref 'A99'"):
        corr.trace_corridor(G, Corridor("x", "A99", "a", "b", 51.7, 0.0, 51.7, 0.1))
    far = Corridor("x", "A12", "J1", "Nowhere", 51.7, 0.0, 52.5, 1.5)
    with pytest.raises(CorridorError, match="from Nowhere"):
        corr.trace_corridor(G, far)
    G = toy_graph(drop=(("n2", "n3"), ("s3", "s2")))
    with pytest.raises(CorridorError, match="not continuous"):
        corr.trace_corridor(G, TOY)


# (lon, lat, grade_category, p_met, attended, snapped edge or None for off network)
INCIDENTS = [
    (0.03, 51.7001, "emergency", 0.0, True, ("n1", "n2", 0)),
    (0.06, 51.7001, "emergency", 0.0, True, ("n2", "n3", 0)),
    (0.12, 51.7001, "emergency", 1.0, True, ("n4", "n5", 0)),  # on the A12 past junction 2
    (0.05, 51.7035, "emergency", 0.0, True, ("r0", "r1", 0)),  # 370 m north: in the corridor
    (0.05, 51.7099, "emergency", 1.0, True, ("r0", "r1", 0)),
    (0.02, 51.7099, "emergency", 1.0, True, ("r0", "r1", 0)),
    (0.08, 51.7099, "emergency", 1.0, True, ("r0", "r1", 0)),
    (0.05, 51.6905, "emergency", 0.0, True, ("p0", "p1", 0)),
    (0.05, 51.6905, "emergency", 0.5, True, ("p0", "p1", 0)),
    (0.30, 51.8000, "emergency", 0.0, True, None),
    *[(0.05, 51.7099, "priority", 0.0, True, ("r0", "r1", 0))] * 5,
    (0.05, 51.7001, "resolution_without_deployment", np.nan, False, ("n2", "n3", 0)),
]


def toy_incidents():
    frame = gpd.GeoDataFrame(
        {
            "grade_category": [r[2] for r in INCIDENTS],
            "p_met": [r[3] for r in INCIDENTS],
            "attended": [r[4] for r in INCIDENTS],
        },
        geometry=[Point(r[0], r[1]) for r in INCIDENTS],
        crs=4326,
    )
    snapped = pd.DataFrame(
        {
            "u": [ID[r[5][0]] if r[5] else None for r in INCIDENTS],
            "v": [ID[r[5][1]] if r[5] else None for r in INCIDENTS],
            "key": [r[5][2] if r[5] else 0 for r in INCIDENTS],
            "edge_fraction": 0.5,
            "snap_distance_m": [10.0 if r[5] else 9000.0 for r in INCIDENTS],
            "too_far": [r[5] is None for r in INCIDENTS],
        },
        index=frame.index,
    )
    return frame, snapped


def test_corridor_analysis_hand_computed():
    G = toy_graph()
    incidents, snapped = toy_incidents()
    result = corr.corridor_analysis(incidents, G, TOY, snapped=snapped)
    flags = result.incidents
    assert flags["in_corridor"].tolist() == [
        True,
        True,
        False,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert flags["road_class"].value_counts().to_dict() == {
        "residential": 9,
        "trunk_motorway": 4,
        "primary": 2,
        "off_network": 1,
    }
    s = result.summary.set_index(["group", "scope"])
    # emergency: failures trunk 2, residential 1, primary 1.5, off network 1 -> total 5.5
    a12 = s.loc[(TOY.name, "emergency")]
    assert a12["incidents"] == 3 and a12["attended"] == 3
    assert a12["expected_failures"] == pytest.approx(3.0)
    assert a12["pct_met"] == pytest.approx(0.0)
    assert a12["share_of_failures"] == pytest.approx(3 / 5.5)
    trunk = s.loc[("all trunk and motorway roads", "emergency")]
    assert trunk["attended"] == 3
    assert trunk["expected_failures"] == pytest.approx(2.0)
    assert trunk["pct_met"] == pytest.approx(100 / 3)
    assert trunk["share_of_failures"] == pytest.approx(2 / 5.5)
    rest = s.loc[("rest (other roads and off network)", "emergency")]
    assert rest["attended"] == 7 and rest["expected_failures"] == pytest.approx(3.5)
    # all grades: the 5 failed priority incidents on the residential street and the unattended one
    a12_all = s.loc[(TOY.name, "all grades")]
    assert a12_all["incidents"] == 4 and a12_all["attended"] == 3
    trunk_all = s.loc[("all trunk and motorway roads", "all grades")]
    assert trunk_all["incidents"] == 4
    assert trunk_all["share_of_failures"] == pytest.approx(2 / 10.5)
    assert s.loc[("all incidents", "all grades"), "expected_failures"] == pytest.approx(10.5)
    # the claim: trunk roads (2) beat primary (1.5), residential (1) and off network (1)
    assert result.trunk_largest is True
    assert bool(trunk["largest_group_of_emergency_failures"]) is True
    assert bool(a12["largest_group_of_emergency_failures"]) is True
    assert pd.isna(rest["largest_group_of_emergency_failures"])
    by = result.by_road_class.set_index(["road_class", "scope"])
    assert by.loc[("residential", "all grades"), "expected_failures"] == pytest.approx(6.0)
    assert by.loc[("trunk_motorway", "emergency"), "largest_group_of_emergency_failures"]
    assert not by.loc[("primary", "emergency"), "largest_group_of_emergency_failures"]
    assert result.parameters["buffer_m"] == 500.0
    table = result.table.set_index("group")
    assert list(table.index) == [
        TOY.name,
        "all trunk and motorway roads",
        "rest (other roads and off network)",
        "all incidents",
    ]
    assert table.loc["all trunk and motorway roads", "emergency_expected_failures"] == pytest.approx(2.0)
    assert table.loc["all trunk and motorway roads", "all_share_of_failures"] == pytest.approx(2 / 10.5)
    assert table.loc[TOY.name, "all_incidents"] == 4
    assert bool(table.loc["all trunk and motorway roads", "largest_group_of_emergency_failures"]) is True


def test_claim_fails_when_residential_failures_dominate():
    G = toy_graph()
    incidents, snapped = toy_incidents()
    incidents.loc[[4, 5], "p_met"] = 0.0  # residential emergencies: 3 failures now
    result = corr.corridor_analysis(incidents, G, TOY, snapped=snapped)
    assert result.trunk_largest is False
    s = result.summary.set_index(["group", "scope"])
    assert bool(s.loc[("all trunk and motorway roads", "emergency"), "largest_group_of_emergency_failures"]) is False
    by = result.by_road_class.set_index(["road_class", "scope"])
    assert by.loc[("residential", "emergency"), "largest_group_of_emergency_failures"]


def test_corridor_analysis_needs_outcomes():
    G = toy_graph()
    incidents, snapped = toy_incidents()
    with pytest.raises(CorridorError, match="grade_category"):
        corr.corridor_analysis(incidents.drop(columns="grade_category"), G, TOY, snapped=snapped)
    with pytest.raises(CorridorError, match="aligned"):
        corr.corridor_analysis(incidents, G, TOY, snapped=snapped.iloc[1:])


@pytest.mark.slow
def test_a12_on_the_standin_network(essex_graph):
    from geo_response import config

    a12 = config.load_profile().corridors[0]
    edges, length = corr.trace_corridor(essex_graph, a12)
    G = essex_graph.to_networkx()
    # the stand-in README: continuous A12 carriageways from M25 J28 to Marks Tey, 50.4 km
    assert 49_000 < length < 52_000
    assert all("A12" in corr.edge_refs(G.edges[e].get("ref")) for e in edges)
    oneway = sum(bool(G.edges[e].get("oneway")) for e in edges)
    assert oneway == len(edges)
    lengths = sum(G.edges[e]["length"] for e in edges)
    assert lengths == pytest.approx(2 * length, rel=0.02)  # both carriageways
    west, south, east, north = corr.corridor_geometry(essex_graph, a12).bounds
    assert west == pytest.approx(a12.from_lon, abs=0.01) and south == pytest.approx(a12.from_lat, abs=0.01)
    assert east < a12.to_lon + 0.01 and north < a12.to_lat + 0.01  # stops at Marks Tey, not Colchester


@pytest.mark.slow
def test_a12_snapping_on_the_standin_network(essex_graph):
    from geo_response import config

    a12 = config.load_profile().corridors[0]
    # halfway along the corridor's longest edge (a point on the A12 itself), and in Chelmsford town centre
    edges, _ = corr.trace_corridor(essex_graph, a12)
    G = essex_graph.to_networkx()
    longest = max(edges, key=lambda e: G.edges[e]["length"])
    on_a12 = G.edges[longest]["geometry"].interpolate(0.5, normalized=True)
    points = gpd.GeoDataFrame(
        {"grade_category": ["emergency", "emergency"], "p_met": [0.0, 1.0], "attended": [True, True]},
        geometry=[on_a12, Point(0.4700, 51.7350)],
        crs=4326,
    )
    result = corr.corridor_analysis(points, essex_graph, a12)
    assert result.incidents["in_corridor"].tolist() == [True, False]
    assert result.incidents["road_class"].iloc[0] == "trunk_motorway"
    assert result.incidents["road_class"].iloc[1] != "trunk_motorway"
    assert result.trunk_largest is True


def test_corridor_names_the_incident_types_it_rests_on():
    G = toy_graph()
    incidents, snapped = toy_incidents()
    incidents["category"] = ["road collision"] * 3 + ["burglary"] * (len(incidents) - 3)
    result = corr.corridor_analysis(incidents, G, TOY, snapped=snapped)
    types = result.incident_types.set_index(["group", "category"])
    # in the corridor: rows 0, 1 (collisions, emergency), 3 (burglary, emergency), 15 (burglary, not attended)
    assert types.loc[(TOY.name, "road collision"), ["incidents", "emergency_incidents"]].tolist() == [2, 2]
    assert types.loc[(TOY.name, "burglary"), ["incidents", "emergency_incidents"]].tolist() == [2, 1]
    assert types.loc[(TOY.name, "road collision"), "source"] == "STATS19"
    # trunk roads: rows 0, 1, 2 (collisions) and 15 (burglary on n2 - n3)
    assert types.loc[("all trunk and motorway roads", "road collision"), "incidents"] == 3
    assert types.loc[("all trunk and motorway roads", "burglary"), "incidents"] == 1
    assert result.parameters["incident_types"] == {"burglary": 13, "road collision": 3}
    assert result.parameters["rests_on"] == (
        "The corridor figures rest on 16 incidents: incident categories burglary 13; STATS19 road collisions: 3."
    )
    # without a category column every incident is 'unspecified' and the sentence says no collisions were given
    plain = corr.corridor_analysis(toy_incidents()[0], G, TOY, snapped=snapped)
    assert plain.parameters["incident_types"] == {"unspecified": 16}
    assert "STATS19 road collisions: none" in plain.parameters["rests_on"]

"""STATS19 collisions: the older-style bundle sample and a hand-written current-style file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from geo_response.errors import InputFileError
from geo_response.incidents import stats19
from geo_response.incidents.load import INCIDENT_COLUMNS

CURRENT = Path(__file__).parent / "fixtures" / "incidents" / "stats19_current_style.csv"


def test_bundle_sample_older_style(data_dir):
    result = stats19.load_stats19(data_dir / "stats19" / "stats19_gb_sample1000_2005_2014.csv")
    s = result.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (1000, 25, 975)
    assert s["rejected_by_reason"] == {"other_police_force": 975} and len(result.ledger) == 975
    inc = result.incidents
    assert list(inc.columns[: len(INCIDENT_COLUMNS) - 1]) == INCIDENT_COLUMNS[:-1]
    assert (inc["category"] == "road collision").all() and (inc["police_force"] == 42).all()
    assert inc["incident_id"].str[4:6].eq("42").all()  # Essex's code inside the Accident_Index
    assert set(inc["severity"]) <= {"fatal", "serious", "slight"}
    assert inc.crs.to_epsg() == 4326 and inc.geometry.x.between(-0.1, 1.4).all()
    assert inc["month"].str.fullmatch(r"20(0[5-9]|1[0-4])-\d\d").all()
    row = inc[inc["incident_id"] == "200642C032306"].iloc[0]
    assert row["road"] == "A12" and row["speed_limit"] == 70 and row["dft_urban_rural"] == "rural"
    assert row["occurred_at"] == pd.Timestamp("2006-06-13 04:55")


def test_current_style_codes_dates_and_ledger():
    result = stats19.load_stats19(CURRENT, police_force=42)
    s = result.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (7, 3, 4)
    assert s["rejected_by_reason"] == {
        "missing_coordinates": 1,
        "unparseable_time": 1,
        "other_police_force": 1,
        "duplicate_incident_id": 1,
    }
    # row_number is the file line, header = line 1 (docs/DESIGN.md, "Ledger rows"): data rows 3-6 are lines 4-7
    reasons = dict(zip(result.ledger["row_number"], result.ledger["reason"], strict=True))
    assert reasons == {
        4: "missing_coordinates",
        5: "unparseable_time",
        6: "other_police_force",
        7: "duplicate_incident_id",
    }
    inc = result.incidents.set_index("incident_id")
    first = inc.loc["2023420000001"]
    assert first["occurred_at"] == pd.Timestamp("2023-06-14 17:20") and first["month"] == "2023-06"  # day-first
    assert (first["severity"], first["road"], first["police_attended"]) == ("fatal", "A12", True)
    second = inc.loc["2023420000002"]  # no lon/lat: located from easting/northing
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(571000, 207000)
    assert second["road"] == "M25" and (second.geometry.x, second.geometry.y) == pytest.approx((lon, lat))
    assert "easting/northing" in s["coordinates"][0]
    seventh = inc.loc["2023420000007"]
    assert seventh["road"] == "A1(M)" and not seventh["police_attended"] and seventh["month"] == "2023-03"


def test_force_labels_boundary_and_errors(tmp_path):
    assert stats19.force_code("Essex") == 42 == stats19.force_code("42")
    with pytest.raises(InputFileError, match="unknown police force"):
        stats19.force_code("Atlantis")
    everyone = stats19.load_stats19(CURRENT, police_force=None)
    assert everyone.summary["accepted"] == 4  # Sussex too
    inside = stats19.load_stats19(CURRENT, boundary=box(0.4, 51.6, 0.8, 51.9))  # row 7 (lon 0.26) is out
    assert inside.summary["rejected_by_reason"]["outside_force_area"] == 1
    bad = tmp_path / "not_stats19.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="not a STATS19 collision table"):
        stats19.load_stats19(bad)
    assert stats19.normalise_header("1st_Road_Class") == "first_road_class"
    assert stats19.normalise_header("Local_Authority_(District)") == "local_authority_district"


SNAPPING = Path(__file__).parent / "fixtures" / "incidents" / "stats19_snapping.csv"
ROADS = Path(__file__).parent / "fixtures" / "osm" / "stats19_roads.osm"
M_PER_DEG_LON = 6_371_009 * np.cos(np.radians(51.735)) * np.pi / 180  # 68,868 m (see the .osm fixture)
M_PER_DEG_LAT = 6_371_009 * np.pi / 180  # 111,195 m


@pytest.fixture(scope="module")
def roads(profile):
    from geo_response.roads import network

    return network.load_network(ROADS, profile=profile, clip=False, use_cache=False)


@pytest.fixture(scope="module")
def snapped(roads):
    return stats19.snap_collisions(stats19.load_stats19(SNAPPING), roads)


def test_snap_to_own_carriageway_hand_checked(snapped):
    inc = snapped.incidents.set_index("incident_id")
    got = {i: (r.snap_method, r.snapped_road) for i, r in inc.iterrows()}
    assert got == {
        "2024420000101": ("ref", "A12;A120"),  # 60 m beside the A12, 9 m from Parallel Lane: on the A12
        "2024420000102": ("nearest", "Link Road;Parallel Lane"),  # 400 m from the A12: nearest road
        "2024420000103": ("ref", "A120"),  # ref A120 only, not the A12's "A12;A120" 1 km away
        "2024420000104": ("ref", "A12;A120"),  # A120 matches one of the tokens of "A12;A120"
        "2024420000105": ("class", "B1008"),  # B9999 is not on the network: nearest B road (secondary)
        "2024420000106": ("class", "Link Road;Parallel Lane"),  # unclassified: residential
    }
    first = inc.loc["2024420000101"]
    assert first["snap_distance_m"] == pytest.approx(0.00087 * M_PER_DEG_LON, rel=0.01)  # 59.9 m
    assert {first["u"], first["v"]} == {1, 3} and first["edge_fraction"] == pytest.approx(0.5, abs=1e-3)
    assert inc.loc["2024420000102", "snap_distance_m"] == pytest.approx(0.0048 * M_PER_DEG_LON, rel=0.01)
    assert inc.loc["2024420000103", "snap_distance_m"] == pytest.approx(0.0005 * M_PER_DEG_LAT, rel=0.01)
    assert inc.loc["2024420000104", "snap_distance_m"] == pytest.approx(0.0003 * M_PER_DEG_LON, rel=0.01)
    s = snapped.summary
    assert s["snap_methods"] == {"ref": 3, "class": 2, "nearest": 1}
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (7, 6, 1)
    row = snapped.ledger.iloc[0]
    assert (row["row_number"], row["reason"]) == (8, "no_road_within_limit")  # the 7th record, file line 8
    assert re.fullmatch(r"nearest road 83\d\d m away \(limit 1000 m\)", row["detail"])  # ~8.34 km to node 8


def test_a_network_without_refs_snaps_by_class_and_nearest(roads):
    """No road of the network has a ref (or a name): no such column. Nothing matches by ref; the rest is the same."""
    from geo_response.roads import roadnet

    bare = roadnet.RoadNetwork(
        roads.nodes, roads.edges.drop(columns=["ref", "name"]), roads.coords, roads.offsets, dict(roads.graph)
    )
    got = stats19.snap_collisions(stats19.load_stats19(SNAPPING), bare)
    inc = got.incidents.set_index("incident_id")
    assert got.summary["accepted"] == 6 and "ref" not in set(inc["snap_method"])
    assert inc.loc["2024420000101", "snap_method"] == "class"  # the A12 is still a trunk road
    assert inc.loc["2024420000106", "snapped_road"] == "residential"  # no name: its highway class


def test_snap_limits_are_configurable(roads):
    loaded = stats19.load_stats19(SNAPPING)
    tight = stats19.snap_collisions(loaded, roads, match_m=30.0, max_m=100.0)
    inc = tight.incidents.set_index("incident_id")
    # 60 m from the A12 is beyond 30 m: nearest road (Parallel Lane, 9 m); 331 m is beyond 100 m: ledgered
    assert inc.loc["2024420000101", "snap_method"] == "nearest"
    assert inc.loc["2024420000101", "snap_distance_m"] == pytest.approx(0.00013 * M_PER_DEG_LON, rel=0.02)
    assert tight.summary["rejected_by_reason"] == {"no_road_within_limit": 2}
    with pytest.raises(InputFileError, match="match_m"):
        stats19.snap_collisions(loaded, roads, match_m=500.0, max_m=100.0)
    none = stats19.snap_collisions(stats19.load_stats19(SNAPPING, police_force=1), roads)  # no Met rows
    assert len(none.incidents) == 0 and none.summary["snap_methods"] == {"ref": 0, "class": 0, "nearest": 0}


def test_travel_time_routes_to_the_snapped_carriageway(roads, snapped):
    import geopandas as gpd

    from geo_response.roads import routing

    base = gpd.GeoDataFrame({"base_id": [7], "name": ["South"]}, geometry=gpd.points_from_xy([0.47], [51.73]), crs=4326)
    inc = snapped.incidents.iloc[[0]]  # half way up the A12 edge 1 -> 3, 60 m off it
    own = routing.travel_times_to_points(roads, base, inc, snapped=inc)
    plain = routing.travel_times_to_points(roads, base, inc)
    a12 = roads.edges.index[(roads.edges["u"] == 1) & (roads.edges["v"] == 3)][0]
    edge_s = roads.edge_times("blue_light")[a12]
    access = inc["snap_distance_m"].iloc[0] / (15 / 3.6)
    assert own["status"].iloc[0] == "ok" and own["snap_distance_m"].iloc[0] == inc["snap_distance_m"].iloc[0]
    assert own["travel_seconds"].iloc[0] == pytest.approx(0.5 * edge_s + access, rel=1e-3)
    assert plain["snap_distance_m"].iloc[0] < 10  # the nearest edge is Parallel Lane, not the A12


def test_bundle_sample_snapped(data_dir, essex_graph):
    result = stats19.snap_collisions(
        stats19.load_stats19(data_dir / "stats19" / "stats19_gb_sample1000_2005_2014.csv"), essex_graph
    )
    s = result.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (1000, 25, 975)
    assert s["snap_methods"] == {"ref": 8, "class": 11, "nearest": 6}
    inc = result.incidents
    on_ref = inc[inc["snap_method"] == "ref"]
    assert all(r in str(sr).split(";") for r, sr in zip(on_ref["road"], on_ref["snapped_road"], strict=True))
    assert (inc.loc[inc["snap_method"] != "nearest", "snap_distance_m"] <= 250).all()

"""STATS19 collisions as graded road incidents: grades from severity, travel to the carriageway, the corridor,
the CLI (--collisions) and the ledger's file lines. Hand-written fixtures: tests/fixtures/osm/stats19_roads.osm
and tests/fixtures/incidents/stats19_snapping.csv (see tests/test_stats19.py for how they snap).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo_response import config, datadir
from geo_response.compliance import model
from geo_response.corridor import corridor_analysis
from geo_response.errors import ConfigError, InputFileError
from geo_response.incidents import collisions, grading, stats19
from geo_response.incidents.load import INCIDENT_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
SNAPPING = FIXTURES / "incidents" / "stats19_snapping.csv"
ROADS = FIXTURES / "osm" / "stats19_roads.osm"
CURRENT = FIXTURES / "incidents" / "stats19_current_style.csv"

# By hand, from the .osm fixture: the A12 edge 1 -> 3 runs 0.01 deg of latitude north from node 1 (51.7300,
# 0.4700): 6,371,009 m x 0.01 x pi / 180 = 1,111.95 m. It is trunk with maxspeed 70 mph = 112.65 km/h; blue
# light drives it at 1.10 (rural) or 1.30 (urban) x the limit = 123.9 or 146.5 km/h, capped at the profile's
# trunk maximum, 120 km/h = 33.333 m/s. Collision 101 is half way along it (edge fraction 0.5: 555.98 m), snapped
# by ref, so no access leg: from a base at node 1, 555.98 / 33.333 = 16.68 s = 0.2780 min.
A12_HALF_MINUTES = 1111.9508 / 2 / (120 / 3.6) / 60
BASE = (51.7300, 0.4700)  # node 1


@pytest.fixture(scope="module")
def roads(profile):
    from geo_response.roads import network

    return network.load_network(ROADS, profile=profile, clip=False, use_cache=False)


@pytest.fixture(scope="module")
def base():
    return gpd.GeoDataFrame(
        {"base_id": [7], "name": ["South"]}, geometry=gpd.points_from_xy([BASE[1]], [BASE[0]]), crs=4326
    )


@pytest.fixture(scope="module")
def loaded(roads, profile):
    return collisions.load_collisions(SNAPPING, roads, profile, profile.policy("essex-2022"))


def test_collisions_are_incident_rows_graded_by_severity(loaded, roads, profile):
    inc = loaded.incidents
    assert list(inc.columns[: len(INCIDENT_COLUMNS) - 1]) == INCIDENT_COLUMNS[:-1]
    assert (inc["category"] == "road collision").all() and not inc["grade_sampled"].any()
    assert inc.crs.to_epsg() == 4326 and (inc["month"] == "2024-01").all()
    assert inc["occurred_at"].iloc[0] == pd.Timestamp("2024-01-05 10:00")
    grades = dict(zip(inc["incident_id"], inc["grade"], strict=True))
    # 101 serious -> emergency; 102-105 slight -> priority; 106 slight but no officer attended (code 2)
    assert grades == {
        "2024420000101": "emergency",
        "2024420000102": "priority",
        "2024420000103": "priority",
        "2024420000104": "priority",
        "2024420000105": "priority",
        "2024420000106": "resolution_without_deployment",
    }
    s = loaded.summary
    assert (s["input_rows"], s["accepted"], s["rejected"]) == (7, 6, 1) and s["police_force"] == 42
    assert s["period"] == {"first_month": "2024-01", "last_month": "2024-01"}
    assert s["severity"] == {"serious": 1, "slight": 5}
    # the ledger row of the collision 8.4 km from any road: file line 8 (header = line 1)
    row = loaded.ledger.iloc[0]
    assert (Path(row["file"]).name, row["row_number"], row["reason"]) == (
        "stats19_snapping.csv",
        8,
        "no_road_within_limit",
    )
    # NCMG: the priority family is "urgent" (60 min), the emergency family "emergency"
    ncmg = collisions.load_collisions(SNAPPING, roads, profile, profile.policy("ncmg")).incidents
    assert ncmg.set_index("incident_id").loc["2024420000102", "grade"] == "urgent"
    targets = grading.assign_targets(ncmg, profile.policy("ncmg")).set_index("incident_id")
    assert targets.loc["2024420000101", "target_minutes"] == 20 and targets.loc["2024420000102", "target_minutes"] == 60
    assert not targets.loc["2024420000106", "attended"]


def _judged(loaded, roads, base, profile):
    pol = profile.policy("essex-2022")
    inc = grading.assign_targets(loaded.incidents.assign(urban_rural="rural"), pol)
    return model.model_response(inc, roads, base, profile, seed=1, draws=2000)


def test_travel_goes_to_the_carriageway_hand_computed(loaded, roads, base, profile):
    judged = _judged(loaded, roads, base, profile).set_index("incident_id")
    first = judged.loc["2024420000101"]
    assert first["travel_status"] == "ok" and first["nearest_base"] == "South"
    assert first["travel_minutes"] == pytest.approx(A12_HALF_MINUTES, rel=1e-4)  # 0.2780 min, no access leg
    assert first["snap_distance_m"] == pytest.approx(59.9, abs=0.5)  # the distance to the A12, reported
    assert first["grade_category"] == "emergency" and first["target_minutes"] == 20  # rural emergency
    # routed from its recorded point instead, it would go to Parallel Lane (9 m away), not the A12
    from geo_response.roads import routing

    point = loaded.incidents[loaded.incidents["incident_id"] == "2024420000101"]
    plain = routing.travel_times_to_points(roads, base, point)
    assert plain["snap_distance_m"].iloc[0] < 10 and plain["travel_minutes"].iloc[0] > 2 * A12_HALF_MINUTES
    # 102 is on the nearest road only (its A12 is 331 m away): the access leg to its point stays (>= 79.6 s)
    second = judged.loc["2024420000102"]
    assert second["travel_minutes"] >= 331.6 / (15 / 3.6) / 60
    assert pd.isna(judged.loc["2024420000106", "travel_minutes"])  # not attended: no response modelled


def test_the_corridor_counts_a_collision_on_its_own_carriageway(loaded, roads, base, profile):
    judged = _judged(loaded, roads, base, profile)
    police = gpd.GeoDataFrame(
        {"category": ["Burglary"], "grade_category": ["emergency"], "attended": [True], "p_met": [0.5]},
        geometry=gpd.points_from_xy([0.4712], [51.7350]),
        crs=4326,
    )
    both = pd.concat([judged, police], ignore_index=True)
    a12 = config.Corridor("A12 (fixture)", "A12", "south", "north", 51.7300, 0.4700, 51.7400, 0.4700, buffer_m=100)
    analysis = corridor_analysis(both, roads, a12)
    flags = analysis.incidents
    rows = both.index[both["incident_id"] == "2024420000101"]
    # 60 m from the A12 and 9 m from Parallel Lane: counted on the A12 (trunk), where it was snapped
    assert flags.loc[rows[0], "road_class"] == "trunk_motorway" and flags.loc[rows[0], "in_corridor"]
    assert flags.loc[len(both) - 1, "road_class"] == "residential"  # the burglary beside it: its nearest road
    types = analysis.incident_types
    trunk = types[(types["group"] == "all trunk and motorway roads") & (types["category"] == "road collision")]
    assert trunk["incidents"].iloc[0] == 2 and trunk["emergency_incidents"].iloc[0] == 1  # 101 and 104
    assert trunk["source"].iloc[0] == "STATS19"
    assert analysis.parameters["incident_types"] == {"road collision": 6, "Burglary": 1}
    assert analysis.parameters["rests_on"].endswith("STATS19 road collisions: 6.")


def test_same_period_multipliers_share_one_route(roads):
    speeds = pd.Series(["normal", "normal", "normal", "blue_light", "blue_light"])
    whens = pd.Series(["08:00 weekday", "09:00 weekday", "12:00 weekday", "08:00 weekday", None], dtype=object)
    shared = model.shared_whens(roads, speeds, whens).tolist()
    # 08:00 and 09:00 are both the morning peak (x0.90): one route; midday has no period: the stored times
    assert shared == ["08:00 weekday", "08:00 weekday", None, None, None]


def _cli(*args) -> object:
    from geo_response.cli import create_app

    return CliRunner().invoke(create_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("collision_cli")
    (d / "bases.csv").write_text(f"name,latitude,longitude\nSouth,{BASE[0]},{BASE[1]}\n", encoding="utf-8")
    (d / "incidents.csv").write_text(
        "incident_id,month,grade,category,latitude,longitude\n"
        "I1,2018-03,emergency,Burglary,51.7350,0.4712\n"
        "I2,2018-03,priority,Burglary,51.7445,0.4750\n",
        encoding="utf-8",
    )
    return d


def _compliance(small_inputs, data_dir, out, *more):
    return _cli(
        "compliance",
        "--osm",
        ROADS,
        "--bases",
        small_inputs / "bases.csv",
        "--incidents",
        small_inputs / "incidents.csv",
        "--out",
        out,
        "--data-dir",
        data_dir,
        *more,
    )


def test_compliance_with_collisions_on_the_fixture(small_inputs, data_dir, tmp_path):
    out = tmp_path / "out"
    res = _compliance(small_inputs, data_dir, out, "--collisions", SNAPPING)
    assert res.exit_code == 0, res.output
    assert "input 9 rows = accepted 8 + rejected 1 (no_road_within_limit 1)" in res.output
    assert "collisions (stats19_snapping.csv): 7 rows = accepted 6 + rejected 1" in res.output
    assert "on their carriageway by ref 3, class 2, nearest 1" in res.output
    assert "collisions 2024-01 to 2024-01; incidents 2018-03 to 2018-03: a different period" in res.output
    s = json.loads((out / "summary.json").read_text())
    c = s["collisions"]
    assert (c["input_rows"], c["accepted"], c["rejected"], c["attended"]) == (7, 6, 1, 5)
    assert c["period"] == {"first_month": "2024-01", "last_month": "2024-01"}
    assert s["period"] == {"first_month": "2018-03", "last_month": "2018-03"}  # the incidents' own
    assert c["grade_mapping"]["slight"] == "priority" and "H 0602" in c["evidence"]
    sha = hashlib.sha256(SNAPPING.read_bytes()).hexdigest()
    assert s["provenance"]["files"]["collisions"] == [{"path": str(SNAPPING), "sha256": sha}]
    assert s["provenance"]["collisions_period"] == c["period"]
    assert (s["input"], s["accepted"], s["rejected"]) == (9, 8, 1)
    inc = pd.read_csv(out / "incidents.csv")
    col = inc[inc["category"] == "road collision"].set_index("incident_id")
    assert len(col) == 6 and col.loc["2024420000101", "severity"] == "serious"
    assert col.loc["2024420000101", "snap_method"] == "ref" and col.loc["2024420000101", "snapped_road"] == "A12;A120"
    assert col.loc["2024420000101", "travel_minutes"] == pytest.approx(A12_HALF_MINUTES, abs=0.001)
    ledger = pd.read_csv(out / "ledger.csv")
    row = ledger[ledger["reason"] == "no_road_within_limit"].iloc[0]
    assert Path(row["file"]).name == "stats19_snapping.csv" and row["row_number"] == 8
    long = pd.read_csv(out / "compliance_by_month.csv", dtype={"month": str})
    assert {"2018-03", "2024-01"} <= set(long["month"])  # the collisions' month is in the tables
    assert "road collision" in set(long["category"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "STATS19 road collisions (stats19_snapping.csv)" in report and "ANOTHER PERIOD" in report


def test_a_bad_collision_file_is_one_line_exit_2(small_inputs, data_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x00garbage")
    for given, words in (
        (bad, "is not a STATS19 collision table"),
        (tmp_path / "missing.csv", "does not exist"),
        (binary, "not UTF-8"),
    ):
        res = _compliance(small_inputs, data_dir, tmp_path / "o", "--collisions", given)
        assert res.exit_code == 2, res.output
        errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and words in errors[0], res.output
        assert "Traceback" not in res.output and not (tmp_path / "o").exists()


def test_a_collision_file_with_none_of_the_force_says_so(small_inputs, data_dir, tmp_path):
    other = tmp_path / "sussex.csv"
    lines = CURRENT.read_text(encoding="utf-8").splitlines()
    other.write_text("\n".join([lines[0], lines[5]]) + "\n", encoding="utf-8")  # the Sussex row only
    res = _compliance(small_inputs, data_dir, tmp_path / "o", "--collisions", other)
    assert res.exit_code == 0, res.output
    assert "1 rows = accepted 0 + rejected 1 (other_police_force 1)" in res.output
    assert "no collision of police force 42 (Essex) was kept from sussex.csv" in res.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["collisions"]["accepted"] == 0 and s["accepted"] == 2
    ledger = pd.read_csv(tmp_path / "o" / "ledger.csv")
    assert ledger.loc[ledger["reason"] == "other_police_force", "row_number"].tolist() == [2]


def test_stats19_ledger_rows_are_file_lines(tmp_path):
    lines = CURRENT.read_text(encoding="utf-8").splitlines()
    # header, a blank line, a Sussex row (line 3), two blank lines, a quoted field over two lines, Sussex again
    spread = lines[5].replace("2023470000005", "2023470000009")
    text = "\n".join([lines[0], "", lines[5], "", "", spread.replace(",E01031000", ',"E0103\n1000"')]) + "\n"
    path = tmp_path / "lines.csv"
    path.write_text(text, encoding="utf-8")
    result = stats19.load_stats19(path, police_force=42)
    assert result.summary["input_rows"] == 2
    assert result.ledger["row_number"].tolist() == [3, 6]  # file lines, header = line 1, blank lines counted


def test_the_profile_mapping_is_checked(profile, tmp_path):
    import tomllib

    raw = tomllib.loads(Path(profile.path).read_text(encoding="utf-8"))
    assert profile.road_collisions.police_force == 42
    raw["road_collisions"]["slight"] = "sometimes"
    with pytest.raises(ConfigError, match="road_collisions.slight"):
        config.parse_profile(raw)
    del raw["road_collisions"]
    bare = config.parse_profile(raw)
    assert bare.road_collisions.police_force is None  # another force must give its own code
    with pytest.raises(InputFileError, match="police_force"):
        collisions.load_collisions(SNAPPING, None, bare, bare.policy("essex-2022"))


def test_demo_collision_options(data_dir, tmp_path):
    assert datadir.default_collisions(data_dir) == data_dir / "stats19"
    assert datadir.default_collisions(tmp_path) is None  # a data folder without stats19/: none
    res = _cli("demo", "--collisions", SNAPPING, "--no-collisions", "--out", tmp_path / "d", "--data-dir", data_dir)
    assert res.exit_code == 2 and "contradict" in res.output
    assert not (tmp_path / "d").exists()


def test_carriageway_table_gives_no_access_leg_on_the_own_road(loaded):
    table = collisions.carriageway_table(loaded.incidents)
    methods = loaded.incidents["snap_method"].to_numpy()
    assert (table["snap_distance_m"].to_numpy()[methods != "nearest"] == 0).all()
    near = methods == "nearest"
    assert np.allclose(table["snap_distance_m"].to_numpy()[near], table["carriageway_distance_m"].to_numpy()[near])
    assert collisions.carriageway_table(loaded.incidents.drop(columns="carriageway_edge")) is None

"""Planning with units: scenario base names are checked before the road network is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo_response import study_area
from geo_response.errors import ScenarioError

TINY_TOWN = Path(__file__).parent / "fixtures" / "osm" / "tiny_town.osm"


@pytest.fixture
def no_network(monkeypatch):
    """Make any road-network load fail loudly, so a test proves the network was never needed."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the road network was loaded")

    monkeypatch.setattr(study_area.network_module, "load_network", refuse)


def test_misspelt_base_is_caught_before_the_network(data_dir, tmp_path, no_network):
    from geo_response.workflows.plan import check_scenario, run_compare

    scenario = tmp_path / "s.csv"
    scenario.write_text("action,name,units\nset_units,Tiny Town Police Statoin,2\n", encoding="utf-8")
    area = study_area.load_study_area(TINY_TOWN, data_dir=data_dir)
    with pytest.raises(ScenarioError, match=r"did you mean \['Tiny Town Police Station'\]"):
        check_scenario(area, scenario)
    with pytest.raises(ScenarioError, match="Statoin"):
        run_compare(area, scenario, tmp_path / "out")
    assert area._network is None
    assert not (tmp_path / "out").exists()
    # the right name passes the check, still without a network
    scenario.write_text("action,name,units\nset_units,Tiny Town Police Station,2\n", encoding="utf-8")
    table = check_scenario(area, scenario)
    assert list(table["name"]) == ["Tiny Town Police Station"] and area._network is None


def test_cli_misspelt_base_exits_2_without_loading_the_network(data_dir, tmp_path, no_network):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    scenario = tmp_path / "s.toml"
    scenario.write_text('[[change]]\naction = "remove"\nname = "Tiny Twn Police Station"\n', encoding="utf-8")
    args = ["plan", "compare", "--osm", str(TINY_TOWN), "--scenario", str(scenario), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(get_app(), [*args, "--data-dir", str(data_dir), "--no-incidents"])
    assert r.exit_code == 2, r.output
    assert "did you mean ['Tiny Town Police Station']" in r.output
    assert "the road network was loaded" not in r.output


# --------------------------------------------------------------------------------------------------
# scenarios that change the roster, judged by the simulation (tiny town: one base, incidents on its roads)
# --------------------------------------------------------------------------------------------------
BASE = "Tiny Town Police Station"
POINTS = [(51.7315, 0.4705), (51.735, 0.470), (51.734, 0.472), (51.7305, 0.4702), (51.733, 0.4701)]
GRADES = ("emergency", "priority", "routine")


@pytest.fixture(scope="module")
def case(tmp_path_factory, data_dir):
    d = tmp_path_factory.mktemp("units")
    rows = ["incident_id,occurred_at,grade,latitude,longitude"]
    for i in range(30):
        lat, lon = POINTS[i % 5]
        rows.append(
            f"I{i:02d},2022-03-0{1 + i // 5}T{(i * 5) % 24:02d}:{(i * 7) % 60:02d}:00,{GRADES[i % 3]},{lat},{lon}"
        )
    (d / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (d / "roster.csv").write_text(f"base,units,start,end\n{BASE},1,07:00,19:00\n{BASE},1,19:00,07:00\n")
    return d


@pytest.fixture(scope="module")
def area(data_dir):
    return study_area.load_study_area(TINY_TOWN, data_dir=data_dir)


def _simulate(area, case, rows: str):
    from geo_response.planning import scenarios
    from geo_response.workflows.plan_units import simulate_scenario

    path = case / "scenario.csv"
    path.write_text(rows, encoding="utf-8")
    table = scenarios.read_scenario(path)
    new_bases = scenarios.apply_scenario(area.bases, table, area=area.area, boundary=area.boundary)
    return simulate_scenario(
        area, new_bases, case / "incidents.csv", roster=case / "roster.csv", replications=2, days=7, seed=5
    )


def test_scenario_roster_moves_units_by_shift():
    from geo_response.planning import scenarios
    from geo_response.simulation.roster import RosterLine

    lines = [RosterLine("A", 2, 1320, 1860, tuple(range(7)), 2), RosterLine("A", 1, 420, 1140, (0, 1), 3)]
    table = scenarios.scenario_table(
        [
            {"action": "add", "name": "B", "latitude": 51.7, "longitude": 0.5},
            {"action": "move_units", "name": "A", "to": "B", "units": 2, "shift": "22:00-07:00"},
            {"action": "add_units", "name": "A", "units": 1, "shift": "07:00-19:00"},
        ]
    )
    import geopandas as gpd
    from shapely.geometry import Point

    bases = gpd.GeoDataFrame({"name": ["A"], "units": [3]}, geometry=[Point(0.4, 51.7)], crs=4326)
    new = scenarios.apply_scenario(bases, table)
    out, notes = scenarios.scenario_roster(lines, new.attrs["roster_changes"], ["A"], list(new["name"]))
    # the night line leaves A whole (0 units: dropped), B gets it with its days; A gains a day unit every day
    assert [(ln.base, ln.units, ln.start_min, ln.end_min, ln.days) for ln in out] == [
        ("A", 1, 420, 1140, (0, 1)),
        ("B", 2, 1320, 1860, tuple(range(7))),
        ("A", 1, 420, 1140, tuple(range(7))),
    ]
    assert notes == []
    # more units than the shift has, a misspelt destination, a bad shift: one clear error each
    too_many = scenarios.scenario_table(
        [{"action": "move_units", "name": "A", "to": "A", "units": 3, "shift": "22:00-07:00"}]
    )
    with pytest.raises(ScenarioError, match="only 2 unit"):
        scenarios.scenario_roster(
            lines, scenarios.apply_scenario(bases, too_many).attrs["roster_changes"], ["A"], ["A"]
        )
    with pytest.raises(ScenarioError, match=r"no base named 'Bb'.*did you mean \['B'\]"):
        scenarios.apply_scenario(
            bases,
            scenarios.scenario_table(
                [
                    {"action": "add", "name": "B", "latitude": 51.7, "longitude": 0.5},
                    {"action": "move_units", "name": "A", "to": "Bb", "units": 1},
                ]
            ),
        )
    with pytest.raises(ScenarioError, match="not HH:MM-HH:MM"):
        scenarios.apply_scenario(
            bases, scenarios.scenario_table([{"action": "add_units", "name": "A", "units": 1, "shift": "night"}])
        )
    # removing a base drops its roster lines, said in the notes
    gone = scenarios.scenario_table(
        [{"action": "add", "name": "B", "latitude": 51.7, "longitude": 0.5}, {"action": "remove", "name": "A"}]
    )
    kept, notes = scenarios.scenario_roster(
        lines, scenarios.apply_scenario(bases, gone).attrs["roster_changes"], ["A"], ["B"]
    )
    assert kept == [] and notes == ["roster lines of removed base 'A' dropped (their units are lost)"]


def test_zero_change_gives_exactly_zero(area, case):
    # the day unit moved from the base to itself: the same units at the same place, the same seeds
    block, table = _simulate(area, case, f"action,name,to,units,shift\nmove_units,{BASE},{BASE},1,07:00-19:00\n")
    assert len(table) and (table["change_pp"] == 0).all() and (table["change_low"] == 0).all()
    assert (table["current_pct"] == table["scenario_pct"]).all()
    assert block["units_current"] == block["units_scenario"] == 2


def test_added_units_cannot_lower_and_new_sites_are_routed(area, case):
    more, t_more = _simulate(area, case, f"action,name,units,shift\nadd_units,{BASE},3,00:00-24:00\n")
    assert more["units_scenario"] == 5 and more["units_current"] == 2
    em = more["overall"]["emergency"]
    assert em["scenario_pct"] >= em["current_pct"] and em["change_pp"] >= 0
    # a base the roads cannot reach is refused, naming it (the simulation needs a time to every LSOA)
    with pytest.raises(ScenarioError, match=r"\['Far'\] cannot reach every simulated LSOA"):
        _simulate(
            area,
            case,
            f"action,name,latitude,longitude,to,units,shift\nadd,Far,51.95,1.05,,,\nmove_units,{BASE},,,Far,1,19:00-07:00\n",
        )
    # the night unit moved to a new base on the roads: the travel matrix is rebuilt for the new sites
    moved, t_moved = _simulate(
        area,
        case,
        f"action,name,latitude,longitude,to,units,shift\nadd,North End,51.735,0.470,,,\n"
        f"move_units,{BASE},,,North End,1,19:00-07:00\n",
    )
    assert moved["units_scenario"] == 2 and set(t_moved["grade"]) == {"emergency", "priority"}
    assert moved["roster_changes"][0]["to"] == "North End"


def test_cli_compare_with_units(data_dir, case, tmp_path):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    scenario = tmp_path / "s.csv"
    scenario.write_text(f"action,name,units,shift\nadd_units,{BASE},2,00:00-24:00\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["plan", "compare", "--osm", str(TINY_TOWN), "--scenario", str(scenario), "--data-dir", str(data_dir)]
    more = ["--roster", str(case / "roster.csv"), "--days", "7", "--replications", "2", "--seed", "5"]
    r = CliRunner().invoke(get_app(), [*args, "--out", str(out), "--incidents", str(case / "incidents.csv"), *more])
    assert r.exit_code == 0, r.output
    assert "simulated % emergency met:" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulation"]["units_current"] == 2 and summary["simulation"]["units_scenario"] == 4
    table = pd.read_csv(out / "simulated_comparison.csv")
    assert list(table.columns[:3]) == ["district", "grade", "incidents"] and (table["change_pp"] >= 0).all()
    assert "## Simulated: current roster against the scenario roster" in (out / "report.md").read_text()
    # units are judged only by the simulation: without incidents it is refused (exit 2, one line)
    r = CliRunner().invoke(get_app(), [*args, "--out", str(tmp_path / "o2"), "--no-incidents", *more])
    assert r.exit_code == 2 and "needs incidents" in r.output
    # a roster change moving more units than the shift has: exit 2 before the network
    scenario.write_text(f"action,name,to,units,shift\nmove_units,{BASE},{BASE},2,07:00-19:00\n", encoding="utf-8")
    r = CliRunner().invoke(
        get_app(), [*args, "--out", str(tmp_path / "o3"), "--incidents", str(case / "incidents.csv"), *more]
    )
    assert r.exit_code == 2 and "only 1 unit(s)" in r.output

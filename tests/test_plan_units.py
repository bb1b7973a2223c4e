"""Planning with units: scenario base names are checked before the road network is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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

    lines = [
        RosterLine("A", 2, 1320, 1860, tuple(range(7)), 2, "night"),
        RosterLine("A", 1, 420, 1140, (0, 1), 3, "day"),
    ]
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
            bases, scenarios.scenario_table([{"action": "add_units", "name": "A", "units": 1, "shift": "7:00-25:00"}])
        )
    # a shift by name: any case; a misspelt name says what it might be and which shifts there are
    by_name = scenarios.apply_scenario(
        bases, scenarios.scenario_table([{"action": "add_units", "name": "A", "units": 1, "shift": "NIGHT"}])
    )
    out, _ = scenarios.scenario_roster(lines, by_name.attrs["roster_changes"], ["A"], ["A"])
    assert (out[-1].units, out[-1].start_min, out[-1].end_min, out[-1].name) == (1, 1320, 1860, "night")
    misspelt = scenarios.apply_scenario(
        bases,
        scenarios.scenario_table([{"action": "move_units", "name": "A", "to": "A", "units": 1, "shift": "nigth"}]),
    )
    with pytest.raises(ScenarioError, match=r"shift 'nigth' is not a shift of the roster; did you mean \['night'\]"):
        scenarios.scenario_roster(lines, misspelt.attrs["roster_changes"], ["A"], ["A"])
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


def _posted(bases, rows, lines):
    from geo_response.planning import scenarios

    new = scenarios.apply_scenario(bases, scenarios.scenario_table(rows))
    out, _ = scenarios.scenario_roster(lines, new.attrs["roster_changes"], ["A"], list(new["name"]))
    return new, [(ln.base, ln.units, ln.label, ln.post) for ln in out]


def test_set_post_changes_where_units_wait_by_shift():
    import geopandas as gpd
    from shapely.geometry import Point

    from geo_response.planning import scenarios
    from geo_response.simulation.roster import RosterLine

    bases = gpd.GeoDataFrame({"name": ["A"], "units": [3]}, geometry=[Point(0.4, 51.7)], crs=4326)
    lines = [
        RosterLine("*", 3, 1320, 1860, tuple(range(7)), 2, "Night"),
        RosterLine("A", 1, 420, 1140, tuple(range(7)), 3, "day"),
    ]
    post = {"action": "set_post", "name": "A", "latitude": 51.71, "longitude": 0.41}
    # two of the three night units wait at the post: the night line splits (1 at the base, 2 at the post)
    new, got = _posted(bases, [{**post, "shift": "night", "units": 2, "to": "Lay-by"}], lines)
    assert got == [("A", 1, "22:00-07:00", ""), ("A", 1, "07:00-19:00", ""), ("A", 2, "22:00-07:00", "Lay-by")]
    assert scenarios.scenario_posts(new.attrs["roster_changes"]) == {"Lay-by": Point(0.41, 51.71)}
    assert list(new["name"]) == ["A"]  # a post is not a base
    # no shift, no units: every unit of the base waits there; the post is named after the change
    _, got = _posted(bases, [post], lines)
    assert got == [("A", 3, "22:00-07:00", "A post (change 1)"), ("A", 1, "07:00-19:00", "A post (change 1)")]
    # the units on the night shift, by its times; then moved to another base they wait at that base
    rows = [
        {**post, "shift": "22:00-07:00"},
        {"action": "add", "name": "B", "latitude": 51.72, "longitude": 0.42},
        {"action": "move_units", "name": "A", "to": "B", "units": 1, "shift": "night"},
    ]
    _, got = _posted(bases, rows, lines)
    assert got == [
        ("A", 2, "22:00-07:00", "A post (change 1)"),
        ("A", 1, "07:00-19:00", ""),
        ("B", 1, "22:00-07:00", ""),
    ]
    # more units than the shift has; a post named like a base; a post without a place; a post elsewhere twice
    with pytest.raises(ScenarioError, match=r"only 1 unit\(s\) at 'A' on shift 07:00-19:00 on Mon, not 2"):
        _posted(bases, [{**post, "shift": "day", "units": 2}], lines)
    with pytest.raises(ScenarioError, match="the post's name 'A' is a base's"):
        _posted(bases, [{**post, "to": "A"}], lines)
    with pytest.raises(ScenarioError, match="for where the post is"):
        _posted(bases, [{"action": "set_post", "name": "A"}], lines)
    with pytest.raises(ScenarioError, match="post 'P' is already at"):
        _posted(bases, [{**post, "to": "P"}, {**post, "to": "P", "latitude": 51.75}], lines)


def test_set_post_matches_a_posts_file_exactly(area, case):
    """A set_post change and a posts file putting the units at the same place give the same simulation."""
    from geo_response.planning import scenarios
    from geo_response.workflows import plan_units
    from geo_response.workflows import simulate as sim

    (case / "posts.csv").write_text(f"base,latitude,longitude\n{BASE},51.735,0.470\n", encoding="utf-8")
    spec = sim.check_roster(area, case / "roster.csv")
    kw = {"days": 7, "seed": 5}
    built = sim.build_demand(area, case / "incidents.csv", spec, **kw)
    posted = sim.build_demand(area, case / "incidents.csv", spec, posts=case / "posts.csv", **kw)
    post = {"action": "set_post", "name": BASE, "latitude": 51.735, "longitude": 0.470}
    table = scenarios.scenario_table([post])
    new_bases = scenarios.apply_scenario(area.bases, table, area=area.area)
    _, (lines, _) = plan_units.check_roster_changes(area, new_bases, case / "roster.csv")
    demand = plan_units.scenario_demand(area, built, new_bases, lines)
    # the units' travel rows and every replication's outcome are identical
    ours = demand.travel_s[:, demand.roster.unit_post, :]
    theirs = posted.demand.travel_s[:, posted.demand.roster.unit_post, :]
    assert np.array_equal(ours, theirs) and not np.array_equal(ours, built.demand.travel_s[:, [0, 0], :])
    for r in range(2):
        a = sim.replicate_incidents(demand, np.random.SeedSequence([5, r]))
        b = sim.replicate_incidents(posted.demand, np.random.SeedSequence([5, r]))
        assert np.array_equal(a["met"], b["met"]) and np.array_equal(a["travel"], b["travel"])
        assert np.array_equal(a["unit"], b["unit"]) and np.isfinite(a["travel"]).all()
    # only the night unit posted: the day unit stays on the base's row
    night = scenarios.apply_scenario(
        area.bases, scenarios.scenario_table([{**post, "shift": "19:00-07:00"}]), area=area.area
    )
    _, (lines, _) = plan_units.check_roster_changes(area, night, case / "roster.csv")
    d2 = plan_units.scenario_demand(area, built, night, lines)
    assert list(d2.roster.unit_post) == [0, 1] and list(d2.roster.unit_shift) == ["07:00-19:00", "19:00-07:00"]


def test_cli_compare_posts_and_shift_names(data_dir, case, tmp_path, no_network):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    (case / "named.csv").write_text(
        f"base,units,start,end,shift\n{BASE},1,07:00,19:00,day\n{BASE},1,19:00,07:00,night\n", encoding="utf-8"
    )
    (case / "posts.csv").write_text(f"base,latitude,longitude\n{BASE},51.735,0.470\n", encoding="utf-8")
    scenario = tmp_path / "s.csv"
    scenario.write_text(f"action,name,latitude,longitude,shift\nset_post,{BASE},51.733,0.4701,Nigth\n")
    args = ["plan", "compare", "--osm", str(TINY_TOWN), "--scenario", str(scenario), "--data-dir", str(data_dir)]
    more = ["--roster", str(case / "named.csv"), "--posts", str(case / "posts.csv"), "--incidents"]
    r = CliRunner().invoke(get_app(), [*args, "--out", str(tmp_path / "o"), *more, str(case / "incidents.csv")])
    assert r.exit_code == 2 and "did you mean ['night']" in r.output and "Traceback" not in r.output
    (case / "badposts.csv").write_text(f"base,latitude,longitude\n{BASE},51.735,x\n", encoding="utf-8")
    scenario.write_text(f"action,name,latitude,longitude,shift\nset_post,{BASE},51.733,0.4701,NIGHT\n")
    more[3] = str(case / "badposts.csv")
    r = CliRunner().invoke(get_app(), [*args, "--out", str(tmp_path / "o"), *more, str(case / "incidents.csv")])
    assert r.exit_code == 2 and "line 2: longitude 'x' is not a number" in r.output
    assert not (tmp_path / "o").exists()


def test_cli_compare_set_post_runs(data_dir, case, tmp_path):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    (case / "posts.csv").write_text(f"base,latitude,longitude\n{BASE},51.735,0.470\n", encoding="utf-8")
    scenario = tmp_path / "s.csv"
    # the current roster waits at the posts-file post; the scenario brings the night unit back to the base
    scenario.write_text(f"action,name,latitude,longitude,shift,to\nset_post,{BASE},51.7315,0.4705,19:00-07:00,Yard\n")
    out = tmp_path / "out"
    args = ["plan", "compare", "--osm", str(TINY_TOWN), "--scenario", str(scenario), "--data-dir", str(data_dir)]
    more = ["--roster", str(case / "roster.csv"), "--posts", str(case / "posts.csv"), "--days", "7"]
    more += ["--replications", "2", "--seed", "5", "--incidents", str(case / "incidents.csv")]
    r = CliRunner().invoke(get_app(), [*args, "--out", str(out), *more])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    sim_block = summary["simulation"]
    assert sim_block["posts"] == str(case / "posts.csv")
    assert sim_block["roster_changes"][0] | {"latitude": 0, "longitude": 0} == {
        "change": 1,
        "action": "set_post",
        "from": BASE,
        "to": None,
        "units": None,
        "shift": "19:00-07:00",
        "post": "Yard",
        "latitude": 0,
        "longitude": 0,
    }
    assert sim_block["units_current"] == sim_block["units_scenario"] == 2
    page = (out / "coverage_change.html").read_text(encoding="utf-8")
    assert "Patrol posts (scenario)" in page and f"Yard (post of {BASE})" in page
    # report.html: the charts of the change per district, the simulated table and the roster change, no script
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-chart="change-pct_population_within_target"' in html and "<svg" in html and "<script" not in html
    assert "Simulated: current roster against the scenario roster" in html and "patrol post Yard" in html
    # coverage.gpkg: coverage per LSOA, the bases both ways and the post (no incident points)
    import pyogrio

    layers = dict(pyogrio.list_layers(out / "coverage.gpkg"))
    assert set(layers) == {"scenario_coverage", "current_bases", "scenario_bases", "scenario_posts"}
    assert layers["scenario_posts"] == layers["scenario_bases"] == "Point"
    posts = pyogrio.read_dataframe(out / "coverage.gpkg", layer="scenario_posts")
    assert posts[["post", "base", "shift", "units"]].values.tolist() == [["Yard", BASE, "19:00-07:00", -1]]
    assert posts.geometry.iloc[0].coords[0] == pytest.approx((0.4705, 51.7315))
    report = (out / "report.md").read_text()
    assert (
        f"- change 1: all unit(s) of {BASE} on shift 19:00-07:00 wait at patrol post Yard (51.73150, 0.47050)" in report
    )


def test_roster_changes_count_each_day_of_a_shift():
    """A shift's units are counted per day: lines with overlapping days add up, a weekday and a weekend night
    each give theirs; a removed base's lines go where it is removed; a post's name is not a later base's."""
    import geopandas as gpd
    from shapely.geometry import Point

    from geo_response.planning import scenarios
    from geo_response.simulation.roster import RosterLine

    bases = gpd.GeoDataFrame({"name": ["A", "B"], "units": [3, 1]}, geometry=[Point(0.4, 51.7), Point(0.5, 51.7)])
    bases = bases.set_crs(4326)
    week, mon_fri, sat_sun = tuple(range(7)), (0, 1, 2, 3, 4), (5, 6)

    def roster(lines, rows):
        new = scenarios.apply_scenario(bases, scenarios.scenario_table(rows))
        out, notes = scenarios.scenario_roster(
            lines, new.attrs["roster_changes"], ["A", "B"], list(new["name"]), new.attrs["removed"]
        )
        return [(ln.base, ln.units, ln.label, ln.days, ln.post) for ln in out], notes

    post = {"action": "set_post", "name": "A", "latitude": 51.71, "longitude": 0.41, "to": "X", "shift": "night"}
    overlapping = [
        RosterLine("A", 2, 1320, 1860, week, 2, "night"),
        RosterLine("A", 1, 1320, 1860, mon_fri, 3, "night"),
    ]
    # one unit of the night shift at the post on every night (3 on duty Mon-Fri, 2 at weekends)
    got, _ = roster(overlapping, [{**post, "units": 1}])
    assert got == [
        ("A", 1, "22:00-07:00", week, ""),
        ("A", 1, "22:00-07:00", mon_fri, ""),
        ("A", 1, "22:00-07:00", week, "X"),
    ]
    with pytest.raises(ScenarioError, match=r"only 2 unit\(s\) at 'A' on shift 22:00-07:00 on Sat, not 3"):
        roster(overlapping, [{**post, "units": 3}])
    # a weekday and a weekend night under one name: the unit moves on every night
    nights = [
        RosterLine("A", 1, 1320, 1860, mon_fri, 2, "night"),
        RosterLine("A", 1, 1260, 1860, sat_sun, 3, "night"),
    ]
    got, _ = roster(nights, [{"action": "move_units", "name": "A", "to": "B", "units": 1, "shift": "Night"}])
    assert got == [("B", 1, "22:00-07:00", mon_fri, ""), ("B", 1, "21:00-07:00", sat_sun, "")]
    # posting all units of a base that has none on that shift: said plainly
    with pytest.raises(ScenarioError, match="the roster has no unit at 'B' on shift night"):
        roster(nights, [{**post, "name": "B"}])
    # removed, then added again under its name: the old base's units are gone (said), the new one has none
    got, notes = roster(
        nights,
        [{"action": "remove", "name": "A"}, {"action": "add", "name": "A", "latitude": 51.72, "longitude": 0.42}],
    )
    assert got == [] and notes == ["roster lines of removed base 'A' dropped (their units are lost)"]
    # a post's name cannot be taken by a base added later (its units would wait at the post)
    with pytest.raises(ScenarioError, match="patrol post 'X' \\(change 1\\) has that name"):
        roster(nights, [post, {"action": "add", "name": "X", "latitude": 51.72, "longitude": 0.42}])

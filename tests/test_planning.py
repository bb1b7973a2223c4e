"""Planning on the road network: targets, demand, hand-checked measures, and scenarios on a tiny network.

The tiny network is a straight road of 10 nodes, 0.01 degrees of latitude apart on the meridian 0.47 E,
with every edge taking 200 s under blue lights both ways. LSOA ``L<k>`` is a small square around node
``k`` whose population-weighted centroid is the node itself, so travel from a base at node ``b`` to LSOA
``k`` is exactly ``200 * |k - b|`` seconds. With the Essex median delay (276 s), an urban LSOA (target
900 s) is within target up to 600 s of travel (3 edges) and a rural one (1,200 s) up to 924 s (4 edges).
"""

from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo_response import config, planning
from geo_response.errors import InputFileError, PlanningError
from geo_response.planning import siting
from geo_response.roads import routing
from geo_response.roads.roadnet import RoadNetwork

EDGE_S = 200.0
LON = 0.47
LATS = [51.70 + 0.01 * i for i in range(10)]  # nodes 1..10


@pytest.fixture(scope="module")
def prof():
    return config.load_profile()


@pytest.fixture(scope="module")
def policy(prof):
    return prof.policy("essex-2022")


# --------------------------------------------------------------------------------------------------
# no network needed
# --------------------------------------------------------------------------------------------------
def test_delay_is_the_sum_of_stage_medians_or_means(prof):
    rm = prof.response_model
    assert planning.planning_delay_seconds(rm) == 6 + 150 + 120
    # lognormal mean = median * exp(sigma^2 / 2), sigma = ln(p90 / median) / z_0.9
    z = 1.2815515655446004
    expected = sum(m * np.exp((np.log(q / m) / z) ** 2 / 2) for m, q in ((6, 10), (150, 300), (120, 480)))
    assert planning.planning_delay_seconds(rm, "mean") == pytest.approx(expected)
    assert 390 < expected < 400
    with pytest.raises(PlanningError, match="'median' or 'mean'"):
        planning.planning_delay_seconds(rm, "mode")


def test_targets_by_setting_and_policy(prof):
    setting = np.array(["urban", "rural", "urban"], dtype=object)
    assert planning.emergency_targets(setting, prof.policy("essex-2022")).tolist() == [900.0, 1200.0, 900.0]
    assert planning.emergency_targets(setting, prof.policy("ncmg")).tolist() == [1200.0] * 3
    assert planning.category_targets(prof.policy("essex-2022"), "priority") == {"urban": 60.0, "rural": 60.0}
    with pytest.raises(PlanningError, match="no attended 'urgent'"):
        planning.emergency_targets(setting, prof.policy("essex-2022"), "urgent")
    with pytest.raises(PlanningError, match=r"setting\(s\) \['suburban'\]"):
        planning.emergency_targets(np.array(["suburban"], dtype=object), prof.policy("essex-2022"))


def tiny_lsoas(settings: list[str] | None = None, populations: list[int] | None = None) -> gpd.GeoDataFrame:
    n = len(LATS)
    settings = settings or ["urban"] * n
    populations = populations or [1000 + 100 * i for i in range(n)]
    half = 0.004
    return gpd.GeoDataFrame(
        {
            "lsoa_code": [f"L{i + 1}" for i in range(n)],
            "lsoa_name": [f"Tiny {i + 1}" for i in range(n)],
            "district": ["North" if i >= 5 else "South" for i in range(n)],
            "urban_rural": settings,
            "population": populations,
            "pwc_lon": [LON] * n,
            "pwc_lat": LATS,
        },
        geometry=[box(LON - half, lat - half, LON + half, lat + half) for lat in LATS],
        crs=4326,
    )


def test_demand_points_weights_from_population_or_incidents():
    lsoas = tiny_lsoas()
    d = planning.demand_points(lsoas)
    assert d.attrs["weight"] == "population"
    assert d["weight"].tolist() == lsoas["population"].astype(float).tolist()
    assert (d.geometry.y.to_numpy() == np.array(LATS)).all()
    inc = pd.DataFrame({"lsoa_code": ["L2", "L2", "L5", None]})
    d = planning.demand_points(lsoas, inc)
    assert d.attrs["weight"] == "incidents"
    assert d["weight"].tolist() == [0, 2, 0, 0, 1, 0, 0, 0, 0, 0]
    with pytest.raises(PlanningError, match="lsoa_code"):
        planning.demand_points(lsoas, pd.DataFrame({"x": [1]}))


def test_lsoa_coverage_and_population_measures_by_hand(policy):
    lsoas = tiny_lsoas(
        settings=["urban", "urban", "rural", "rural"][:4] + ["urban"] * 6, populations=[100, 200, 300, 400] + [0] * 6
    ).iloc[:4]
    travel = np.array([600.0, 700.0, 924.0, np.inf])  # seconds
    cov = planning.lsoa_coverage(lsoas, travel, policy, delay_seconds=276.0)
    assert cov["within_target"].tolist() == [True, False, True, False]  # 876 <= 900; 976 > 900; 1200 <= 1200
    assert cov["within_15_min"].tolist() == [True, True, False, False]
    assert cov["within_20_min"].tolist() == [True, True, True, False]
    m = planning.population_measures(pd.concat([lsoas[["population"]], cov], axis=1))
    assert m["population"] == 1000
    assert m["population_within_target"] == 400 and m["pct_population_within_target"] == 40.0
    assert m["population_within_15_min"] == 300 and m["pct_population_within_20_min"] == 60.0
    # population-weighted over reachable LSOAs: (10*100 + 11.6667*200 + 15.4*300) / 600 minutes
    assert m["mean_travel_min"] == pytest.approx((10 * 100 + 700 / 60 * 200 + 15.4 * 300) / 600)
    # weighted 90th percentile (inverted CDF): cumulative 100, 300, 600 of 600 -> 540 falls on 15.4 min
    assert m["p90_travel_min"] == pytest.approx(15.4)
    assert m["unreachable_population"] == 400


def test_incident_measures_by_hand():
    inc = pd.DataFrame(
        {
            "grade_category": ["emergency", "emergency", "emergency", "priority", "priority", "routine"],
            "urban_rural": ["urban", "urban", "rural", "rural", "urban", "urban"],
            "attended": [True] * 6,
            "p_met": [1.0, 0.5, 0.25, np.nan, 0.8, 1.0],
        }
    )
    m = planning.incident_measures(inc)
    assert m["pct_emergency_met_urban"] == 75.0 and m["emergency_incidents_urban"] == 2
    assert m["pct_emergency_met_rural"] == 25.0
    assert m["pct_emergency_met_all"] == pytest.approx(175 / 3)
    assert m["pct_priority_met_urban"] == pytest.approx(80.0)
    # the rural priority incident no base can reach counts as not met (not dropped from the denominator)
    assert m["pct_priority_met_rural"] == 0.0 and m["priority_incidents_rural"] == 1
    assert m["priority_unroutable_rural"] == 1 and m["priority_unroutable_all"] == 1
    assert m["pct_priority_met_all"] == pytest.approx(40.0)
    assert "pct_routine_met_all" not in m
    # no incident in a group: NaN, not 0
    assert np.isnan(planning.incident_measures(inc[inc["urban_rural"] == "urban"])["pct_emergency_met_rural"])


def test_measured_categories_follow_the_kpis_or_the_hour():
    prof = config.load_profile()
    assert planning.measured_categories(prof.policy("essex-2022"), prof) == ("emergency", "priority")
    # ncmg has no KPIs in the profile: its attended categories with targets up to 60 min
    assert planning.measured_categories(prof.policy("ncmg"), prof) == ("emergency", "urgent")


def test_read_candidates_csv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("name,latitude,longitude\nA,51.7,0.47\n,51.8,0.5\n", encoding="utf-8")
    c = planning.read_candidates_csv(p, area=box(0, 51, 1, 52))
    assert c["name"].tolist() == ["A", "candidate 3"]
    p.write_text("easting,northing\n570000,206000\n", encoding="utf-8")
    assert len(planning.read_candidates_csv(p)) == 1
    p.write_text("latitude,longitude\n51.7,0.47\n51.7,5.0\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"lines \[3\] are outside the force area"):
        planning.read_candidates_csv(p, area=box(0, 51, 1, 52))
    p.write_text("latitude,longitude\n51.7,abc\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"lines \[2\] have missing or impossible"):
        planning.read_candidates_csv(p)
    p.write_text("x,y\n1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="needs latitude/longitude"):
        planning.read_candidates_csv(p)


# --------------------------------------------------------------------------------------------------
# the tiny network (needs geo_response.routing and geo_response.snapping)
# --------------------------------------------------------------------------------------------------
def line_graph() -> RoadNetwork:
    G = nx.MultiDiGraph(
        crs="epsg:4326", network_label="hand-written test line", standin=False, source="test", source_sha256=""
    )
    for i, lat in enumerate(LATS, start=1):
        G.add_node(i, x=LON, y=lat)
    for i in range(1, len(LATS)):
        for u, v in ((i, i + 1), (i + 1, i)):
            G.add_edge(
                u,
                v,
                key=0,
                length=1112.0,
                highway="primary",
                travel_time_blue_light=EDGE_S,
                travel_time_normal=2 * EDGE_S,
                travel_time_free_flow=EDGE_S,
            )
    return RoadNetwork.from_networkx(G)


def bases_at(nodes: list[int], names: list[str] | None = None) -> gpd.GeoDataFrame:
    names = names or [f"Base {n}" for n in nodes]
    return gpd.GeoDataFrame(
        {"base_id": range(len(nodes)), "name": names, "type": "police", "units": 1, "outside_area": False},
        geometry=[Point(LON, LATS[n - 1]) for n in nodes],
        crs=4326,
    )


def test_travel_matrix_is_edges_times_200_s(prof):
    G = line_graph()
    points = planning.demand_points(tiny_lsoas())
    cost = routing.travel_matrix(G, bases_at([1, 4]), points)
    expected = EDGE_S * np.abs(np.arange(1, 11)[None, :] - np.array([[1], [4]]))
    np.testing.assert_allclose(cost, expected, atol=1e-6)
    limited = routing.travel_matrix(G, bases_at([1]), points, limit_s=650)
    assert np.isinf(limited[0, 4:]).all() and np.allclose(limited[0, :4], [0, 200, 400, 600])
    # the nearest-base field agrees with the matrix minimum
    near = planning.nearest_travel(G, bases_at([1, 4]), points, prof.response_model)
    np.testing.assert_allclose(near["travel_seconds"].to_numpy(), expected.min(axis=0), atol=1e-6)


def test_adding_a_base_at_a_node_covers_it_and_removing_the_only_nearby_base_uncovers(prof, policy):
    from geo_response.planning.scenarios import apply_scenario, scenario_table

    G = line_graph()
    lsoas = tiny_lsoas()
    current = bases_at([1], ["South"])
    # base at node 1: urban LSOAs 1-4 within target (0..600 s travel + 276 s <= 900 s), 5-10 not
    added = apply_scenario(
        current, scenario_table([{"action": "add", "name": "Top", "latitude": LATS[9], "longitude": LON}])
    )
    cmp = planning.compare(G, current, added, lsoas, prof, policy)
    change = dict(zip(cmp.lsoas["lsoa_code"], cmp.lsoas["coverage_change"], strict=True))
    assert [change[f"L{k}"] for k in range(1, 11)] == ["kept"] * 4 + ["never"] * 2 + ["gained"] * 4
    assert cmp.lsoas.loc[cmp.lsoas.lsoa_code == "L10", "travel_min_scenario"].item() == 0.0
    assert cmp.lsoas.loc[cmp.lsoas.lsoa_code == "L10", "nearest_base_scenario"].item() == "Top"
    overall = cmp.table[cmp.table.district == "all"].set_index("measure")
    pop = lsoas["population"].to_numpy()
    assert overall.loc["population_within_target", "current"] == pop[:4].sum()
    assert overall.loc["population_within_target", "scenario"] == pop[:4].sum() + pop[6:].sum()
    assert overall.loc["population_within_target", "change"] == pop[6:].sum()
    # per district: North holds LSOAs 6-10, all gained but 6
    north = cmp.table[(cmp.table.district == "North") & (cmp.table.measure == "population_within_target")]
    assert north["current"].item() == 0 and north["scenario"].item() == pop[6:].sum()
    assert cmp.summary["bases"]["added"] == ["Top"] and cmp.summary["lsoas"]["gained"] == 4

    # now remove Top again: its area is no longer within target
    removed = apply_scenario(added, scenario_table([{"action": "remove", "name": "Top"}]))
    back = planning.compare(G, added.drop(columns="change"), removed, lsoas, prof, policy)
    change = dict(zip(back.lsoas["lsoa_code"], back.lsoas["coverage_change"], strict=True))
    assert [change[f"L{k}"] for k in range(7, 11)] == ["lost"] * 4
    assert back.summary["bases"]["removed"] == ["Top"]
    assert back.summary["lsoas"]["population_lost"] == pop[6:].sum()


def test_rural_lsoas_get_the_20_minute_target(prof, policy):
    G = line_graph()
    lsoas = tiny_lsoas(settings=["rural"] * 10)
    cmp = planning.compare(G, bases_at([1]), bases_at([1]), lsoas, prof, policy)
    # rural: 800 s + 276 <= 1200 (LSOA 5 covered), 1000 s + 276 > 1200 (LSOA 6 not)
    assert cmp.lsoas["within_target_current"].tolist() == [True] * 5 + [False] * 5
    assert (cmp.lsoas["coverage_change"].isin(["kept", "never"])).all()


def test_optimise_on_the_line_picks_the_far_end_and_ranks_closures(prof, policy):
    G = line_graph()
    lsoas = tiny_lsoas(populations=[100] * 10)
    cands = gpd.GeoDataFrame(
        {"name": [f"node {n}" for n in (2, 6, 9, 10)]},
        geometry=[Point(LON, LATS[n - 1]) for n in (2, 6, 9, 10)],
        crs=4326,
    )
    run = siting.optimise(G, bases_at([1, 2], ["One", "Two"]), lsoas, prof, policy, 1, candidates=cands)
    # bases at 1, 2 cover LSOAs 1-5 (3 edges either side). Node 2 adds nothing, node 6 (3-9) adds 6-9,
    # node 9 (6-10) adds 6-10 = 500 people, node 10 (7-10) adds 7-10
    assert run.sites["name"].tolist() == ["node 9"]
    assert run.sites["gain"].tolist() == [500.0]
    assert run.mclp.covered_before == 500 and run.mclp.covered_after == 1000
    assert run.greedy.gain == 500
    # closures: One alone covers nothing that Two does not (Two covers 1-5); Two alone covers LSOA 5
    closures = run.closures.set_index("name")
    assert closures.loc["One", "loss"] == 0 and closures.loc["Two", "loss"] == 100
    assert run.closures["name"].iloc[0] == "One"


def test_siting_outputs_chart_and_gis(prof, policy, tmp_path):
    import pyogrio

    from geo_response.planning import report as planning_report

    G = line_graph()
    cands = gpd.GeoDataFrame({"name": ["node <9>"]}, geometry=[Point(LON, LATS[8])], crs=4326)
    run = siting.optimise(
        G, bases_at([1, 2], ["One", "Two"]), tiny_lsoas(populations=[100] * 10), prof, policy, 1, candidates=cands
    )
    paths = planning_report.write_siting(run, tmp_path)
    html = paths["report_html"].read_text(encoding="utf-8")
    # the chart of cumulative gain (0 -> 500 people with one site), the escaped name, no script
    assert 'data-chart="siting-gain"' in html and "node &lt;9&gt;" in html and "<script" not in html
    chosen = pyogrio.read_dataframe(paths["gis"], layer="optimal_sites")
    assert chosen["name"].tolist() == ["node <9>"] and chosen["gain"].tolist() == [500.0]
    assert chosen.geometry.iloc[0].coords[0] == pytest.approx((LON, LATS[8]))


def test_compare_outputs_are_written_and_escaped(prof, policy, tmp_path):
    from geo_response.planning import report as planning_report
    from geo_response.planning.scenarios import apply_scenario, scenario_table

    G = line_graph()
    lsoas = tiny_lsoas()
    lsoas.loc[9, "lsoa_name"] = "<script>alert(1)</script>"
    current = bases_at([1], ["South <b>HQ</b>"])
    scn = apply_scenario(
        current,
        scenario_table(
            [{"action": "add", "name": "Top <img src=x onerror=alert(2)>", "latitude": LATS[9], "longitude": LON}]
        ),
    )
    cmp = planning.compare(G, current, scn, lsoas, prof, policy)
    paths = planning_report.write_comparison(cmp, tmp_path, attribution="Contains OS data", offline=False)
    page = paths["map"].read_text(encoding="utf-8")
    # names reach the page HTML-escaped (folium's JSON then writes "&" as \u0026)
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>HQ" not in page
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page
    assert "Top \\u0026lt;img src=x onerror=alert(2)\\u0026gt;" in page
    table = pd.read_csv(paths["comparison"])
    assert set(table.columns) == {"district", "measure", "unit", "current", "scenario", "change"}
    summary = json.loads(paths["summary"].read_text())
    assert summary["lsoas"]["gained"] == 4 and summary["delay"]["seconds"] == 276
    report = paths["report"].read_text()
    assert "4 LSOAs" in report and "Incident compliance was not computed" in report
    assert "<img" not in report and "Added: Top &lt;img src=x onerror=alert(2)&gt;." in report


def test_coverage_map_colours_come_from_the_colour_blind_safe_palette(prof, policy, tmp_path):
    import re

    from geo_response.planning import report as planning_report
    from geo_response.planning.scenarios import apply_scenario, scenario_table
    from geo_response.reporting import palette

    current = bases_at([1])
    # the only base moves from node 1 to node 10: L1-L4 lost, L7-L10 gained, L5-L6 outside target in both
    scn = apply_scenario(
        current, scenario_table([{"action": "move", "name": "Base 1", "latitude": LATS[9], "longitude": LON}])
    )
    cmp = planning.compare(line_graph(), current, scn, tiny_lsoas(), prof, policy)
    assert (cmp.summary["lsoas"]["gained"], cmp.summary["lsoas"]["lost"]) == (4, 4)
    page = planning_report.coverage_change_map(cmp).get_root().render()
    fills = set(re.findall(r'"fillColor": "(#[0-9A-Fa-f]{6})", "fillOpacity": 0.(?:55|35)', page))
    assert fills == set(palette.CHANGE_COLOURS.values()) == {"#0072B2", "#D55E00", "#999999"}
    assert "#1a9850" not in page and "#d73027" not in page  # the old green / red
    legend = page[page.index("Emergency target coverage") :]
    for word, colour in (("gained", "#0072B2"), ("lost", "#D55E00"), ("outside target in both", "#999999")):
        assert f"<span style='color:{colour}'>&#9632;</span> {word}" in legend


# --------------------------------------------------------------------------------------------------
# the command line (needs the data bundle for the force geography)
# --------------------------------------------------------------------------------------------------
TINY_TOWN = __import__("pathlib").Path(__file__).parent / "fixtures" / "osm" / "tiny_town.osm"


def run_cli(args: list[str]):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    return CliRunner().invoke(get_app(), args)


def test_cli_compare_and_its_errors(data_dir, tmp_path):
    scenario = tmp_path / "s.csv"
    scenario.write_text(
        "action,name,latitude,longitude,units\nadd,North End,51.735,0.470,2\nset_units,Tiny Town Police Station,,,3\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    incidents = tmp_path / "incidents.csv"
    incidents.write_text(
        "grade,category,latitude,longitude\nemergency,Burglary,51.735,0.470\npriority,Burglary,51.735,0.470\n",
        encoding="utf-8",
    )
    r = run_cli(
        [
            "plan",
            "compare",
            "--osm",
            str(TINY_TOWN),
            "--scenario",
            str(scenario),
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--online",
            "--incidents",
            str(incidents),
        ]
    )
    assert r.exit_code == 0, r.output
    assert "bases: 1 now -> 2 in the scenario (added 1, removed 0, moved 0)" in r.output
    assert "% emergency met, all (modelled)" in r.output and "% priority met, all (modelled)" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["incidents"]["count"] == 2 and summary["incidents"]["categories"] == ["emergency", "priority"]
    # both incidents sit at the new North End base: its travel is ~0, so both are modelled as very likely met
    assert (
        summary["overall"]["pct_emergency_met_all"]["scenario"]
        >= summary["overall"]["pct_emergency_met_all"]["current"]
    )
    assert summary["bases"]["added"] == ["North End"]
    assert summary["bases"]["units_changed"] == ["Tiny Town Police Station"]
    assert summary["sources"]["scenario"] == str(scenario)
    assert {p.name for p in out.iterdir()} >= {
        "comparison.csv",
        "summary.json",
        "report.md",
        "coverage_change.html",
        "lsoa_coverage.csv",
    }

    scenario.write_text("action,name\nremove,Tiny Town Police Statoin\n", encoding="utf-8")
    r = run_cli(
        [
            "plan",
            "compare",
            "--osm",
            str(TINY_TOWN),
            "--scenario",
            str(scenario),
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ]
    )
    assert r.exit_code == 2
    assert "change 1 (remove 'Tiny Town Police Statoin')" in r.output
    assert "did you mean ['Tiny Town Police Station']" in r.output


def test_cli_optimise_with_candidates(data_dir, tmp_path):
    cands = tmp_path / "c.csv"
    cands.write_text("name,latitude,longitude\nNorth,51.735,0.470\nEast,51.734,0.472\n", encoding="utf-8")
    out = tmp_path / "opt"
    r = run_cli(
        [
            "plan",
            "optimise",
            "--osm",
            str(TINY_TOWN),
            "--add",
            "1",
            "--candidates",
            str(cands),
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ]
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["candidates"] == 2 and summary["k"] == 1
    assert summary["mclp"]["gain"] >= summary["greedy"]["gain"]
    closures = pd.read_csv(out / "closures.csv")
    assert closures["name"].tolist() == ["Tiny Town Police Station"]
    # no candidate adds coverage here: report.html says so, and there is no sites.gpkg to open
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "no site adds coverage" in html and "<script" not in html and "Closures" in html
    assert not (out / "sites.gpkg").exists() and pd.read_csv(out / "sites.csv").empty
    r = run_cli(
        [
            "plan",
            "optimise",
            "--osm",
            str(TINY_TOWN),
            "--add",
            "3",
            "--candidates",
            str(cands),
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ]
    )
    assert r.exit_code == 2 and "cannot choose 3 sites from 2 candidates" in r.output


@pytest.mark.slow
def test_optimise_on_the_essex_network_beats_or_equals_greedy(essex_graph, essex_bases, lsoas, prof, policy):
    from geo_response.planning import optimise as opt

    rng = np.random.default_rng(5)
    pick = rng.choice(len(lsoas), 40, replace=False)
    cands = planning.lsoa_candidates(lsoas.iloc[pick])
    run = siting.optimise(essex_graph, essex_bases, lsoas, prof, policy, 2, candidates=cands)
    assert run.mclp.gain >= run.greedy.gain
    assert run.mclp.covered_before == pytest.approx(float(run.demand.loc[run.demand["covered_before"], "weight"].sum()))
    # the closure ranking is by loss: the first base loses least
    assert run.closures["loss"].is_monotonic_increasing
    assert len(run.closures) == len(essex_bases)
    assert run.summary["network"]["standin"] is True
    # brute force over the 40 candidates agrees with the MCLP
    demand = run.demand
    cost = routing.travel_matrix(essex_graph, cands, demand, limit_s=924) + 276
    exist = routing.travel_matrix(essex_graph, essex_bases, demand, limit_s=924) + 276
    ex = opt.exhaustive_sites(
        opt.coverage_matrix(cost, demand["target_s"]),
        demand["weight"].to_numpy(),
        2,
        opt.coverage_matrix(exist, demand["target_s"]),
    )
    assert run.mclp.covered_after == pytest.approx(ex.covered_after)

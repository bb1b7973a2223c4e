"""The simulation workflow and its CLI (``simulate``, ``plan staff``) on the tiny fixture network.

tiny_town.osm has one ``amenity=police`` base (Tiny Town Police Station, at 51.7315, 0.4705) and roads
around 51.730-51.735 N, 0.470-0.472 E; the incidents below sit on those roads (two LSOAs of Chelmsford).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES

from geo_response.errors import SimulationError
from geo_response.simulation.engine import CAUSES
from geo_response.study_area import load_study_area
from geo_response.workflows.simulate import run_simulation

TINY = FIXTURES / "osm" / "tiny_town.osm"
BASE = "Tiny Town Police Station"
POINTS = [(51.7315, 0.4705), (51.735, 0.470), (51.734, 0.472), (51.7305, 0.4702), (51.733, 0.4701)]
GRADES = ("emergency", "priority", "routine")
OUTPUTS = {
    "incidents.csv",
    "compliance_by_month.csv",
    "compliance_by_hour.csv",
    "utilisation.csv",
    "causes.csv",
    "summary.json",
    "report.md",
    "report.html",
}


def _incidents(path, extra: str = "") -> None:
    rows = ["incident_id,occurred_at,grade,latitude,longitude"]
    for i in range(20):
        lat, lon = POINTS[i % 5]
        rows.append(
            f"I{i:02d},2022-03-0{1 + i // 4}T{(i % 4) * 5:02d}:{(i * 7) % 60:02d}:00,{GRADES[i % 3]},{lat},{lon}"
        )
    path.write_text("\n".join(rows) + "\n" + extra, encoding="utf-8")


@pytest.fixture(scope="module")
def case(tmp_path_factory, data_dir):
    d = tmp_path_factory.mktemp("sim")
    # two extra rows: one earlier than the row before it (out of order, kept), one after the 7 days (ledgered)
    _incidents(
        d / "incidents.csv",
        "L1,2022-03-01T01:00:00,emergency,51.7315,0.4705\nL2,2022-03-20T10:00:00,priority,51.7315,0.4705\n",
    )
    (d / "roster.csv").write_text(f"base,units,start,end\n{BASE},1,07:00,19:00\n{BASE},1,19:00,07:00\n")
    (d / "zero.csv").write_text(f"base,units,start,end\n{BASE},0,00:00,24:00\n")
    (d / "bad.csv").write_text("base,units,start,end\nTiny Twn Police Statoin,1,07:00,19:00\n")
    (d / "days.csv").write_text(f"base,units,start,end\n{BASE},1,07:00,19:00\n")
    return d


@pytest.fixture(scope="module")
def area(data_dir):
    return load_study_area(TINY, data_dir=data_dir)


@pytest.fixture(scope="module")
def run(area, case):
    return run_simulation(
        area,
        case / "incidents.csv",
        case / "out",
        roster=case / "roster.csv",
        replications=2,
        days=7,
        seed=3,
        workers=0,
        progress=False,
    )


def test_outputs_counts_and_causes(run, case):
    out = case / "out"
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    s = json.loads((out / "summary.json").read_text())
    inc = pd.read_csv(out / "incidents.csv")
    ledger = pd.read_csv(out / "ledger.csv")
    outside = ledger[ledger["reason"] == "outside_period"]
    assert list(outside["incident_id"]) == ["L2"]
    assert list(ledger.loc[ledger["reason"] == "out_of_order", "incident_id"]) == ["L1"]
    # simulation.gpkg: the causes of failure per district, the same counts as causes.csv (aggregates only)
    import pyogrio

    layers = dict(pyogrio.list_layers(out / "simulation.gpkg"))
    assert "simulation_causes_district" in layers and "Polygon" in layers["simulation_causes_district"]
    by_district = pyogrio.read_dataframe(out / "simulation.gpkg", layer="simulation_causes_district").set_index(
        "district"
    )
    causes = pd.read_csv(out / "causes.csv")
    chelmsford = causes[(causes["grade"] == "all") & (causes["district"] == "Chelmsford")]
    assert chelmsford["missed"].sum() > 0
    assert by_district.loc["Chelmsford", "missed_total"] == pytest.approx(chelmsford["missed"].sum(), abs=1e-6)
    assert s["ledger"]["accepted"] == 22 and len(inc) == 21 == s["ledger"]["accepted"] - len(outside)
    assert list(inc.columns) == [
        "row_number",
        "incident_id",
        "grade",
        "urban_rural",
        "district",
        "lsoa_code",
        "delay_minutes",
        "queue_minutes",
        "travel_minutes",
        "response_minutes",
        "unit_id",
        "met",
        "cause",
    ]
    assert not {"latitude", "longitude", "geometry"} & set(inc.columns)
    assert set(inc["cause"].dropna()) <= set(CAUSES[1:])
    assert np.allclose(
        inc["response_minutes"], inc[["delay_minutes", "queue_minutes", "travel_minutes"]].sum(axis=1), atol=2e-3
    )
    assert inc["unit_id"].between(0, 1).all() and (inc["travel_minutes"] > 0).all()
    # the published layout: the grade totals count every judged incident once per replication (means)
    month = pd.read_csv(out / "compliance_by_month.csv")
    tot = month[(month["urban_rural"] == "all") & (month["district"] == "all") & (month["month"] == "Total")]
    assert (tot["met"] + tot["not_met"]).sum() == pytest.approx(2 * len(inc))  # grade rows + the 'all' row
    assert {"pct_met_low", "pct_met_high", "replications"} <= set(month.columns)
    hour = pd.read_csv(out / "compliance_by_hour.csv", dtype={"hour": str})
    assert set(hour["hour"]) - {"Total"} <= {f"{h:02d}" for h in range(24)}
    util = pd.read_csv(out / "utilisation.csv")
    assert set(util["shift"]) == {"07:00-19:00", "19:00-07:00"} and (util["utilisation"].between(0, 1)).all()
    assert s["scale"]["factor"] == 1.0 and "times of occurrence" in s["scale"]["source"]
    assert s["inputs"]["roster"]["sha256"] and len(s["inputs"]["incidents"][0]["sha256"]) == 64
    assert s["seeds"]["root"] == 3 and s["replications"] == 2 and s["network"]["standin"] is False
    report = (out / "report.md").read_text()
    assert "STAND-IN" not in report and "Volume scale x1.0000" in report


def test_zero_units_every_incident_queues(area, case):
    r = run_simulation(
        area, case / "incidents.csv", None, roster=case / "zero.csv", replications=1, days=7, workers=0, progress=False
    )
    inc = r.tables["incidents"]
    assert len(inc) == 21 and (inc["cause"] == "queue").all() and inc["unit_id"].isna().all()
    assert not inc["met"].astype(bool).any()
    assert any("no unit on duty" in w for w in r.summary["warnings"])


def test_uncovered_hours_and_overload_are_warned(area, case):
    r = run_simulation(
        area,
        case / "incidents.csv",
        None,
        roster=case / "days.csv",
        replications=1,
        days=7,
        workers=0,
        progress=False,
        scale=40.0,
    )
    notes = " ".join(r.summary["warnings"])
    assert "no unit on duty in Mon 00:00-07:00, Mon 19:00-07:00" in notes
    assert "utilisation" in notes and "backlog" in notes
    assert r.summary["scale"] == {
        "factor": 40.0,
        "source": "given (--scale)",
        "incidents_in_period": 21,
        "data_days": 7,
    }


def test_patrol_posts_move_where_units_wait(area, case, run):
    (case / "posts.csv").write_text(f"base,latitude,longitude\n{BASE},51.735,0.470\n")
    r = run_simulation(
        area,
        case / "incidents.csv",
        None,
        roster=case / "roster.csv",
        posts=case / "posts.csv",
        replications=2,
        days=7,
        seed=3,
        workers=0,
        progress=False,
    )
    at_post = (r.built.incidents["lsoa_code"] == run.built.incidents["lsoa_code"].iloc[1]).to_numpy()
    near, far = r.tables["incidents"]["travel_minutes"], run.tables["incidents"]["travel_minutes"]
    assert near[at_post].mean() < far[at_post].mean()
    assert r.summary["posts"] == [BASE, f"{BASE} post 1"] and r.summary["inputs"]["posts"]["sha256"]
    (case / "badposts.csv").write_text("base,latitude,longitude\nNowhere Station,51.735,0.470\n")
    with pytest.raises(
        SimulationError, match=r"posts file \S*badposts.csv line 2 names unknown base 'Nowhere Station'"
    ):
        run_simulation(
            area,
            case / "incidents.csv",
            None,
            roster=case / "roster.csv",
            posts=case / "badposts.csv",
            days=7,
            workers=0,
        )


def test_posts_file_is_checked_line_by_line(area, case):
    from shapely.geometry import box

    from geo_response.workflows.simulate import read_posts

    path = case / "posts_checked.csv"
    path.write_text(f"Base, Latitude ,longitude\n{BASE},51.735,0.470\n", encoding="utf-8")
    table = read_posts(path, [BASE], box(0.4, 51.7, 0.5, 51.8))
    assert table.to_dict(orient="records") == [{"base": BASE, "latitude": 51.735, "longitude": 0.47, "line": 2}]
    path.write_text(f"base,latitude,longitude\n{BASE},51.735,0.470\n\n{BASE},51.731,0.471\n", encoding="utf-8")
    with pytest.raises(SimulationError, match=f"line 4: base '{BASE}' already has a post"):
        read_posts(path, [BASE])
    path.write_text(f"base,latitude,longitude\n{BASE},0.470,51.735\n", encoding="utf-8")
    with pytest.raises(SimulationError, match=r"line 2: \(0.47, 51.735\) is outside the force area"):
        read_posts(path, [BASE], box(0.4, 51.7, 0.5, 51.8))
    path.write_text("base,lat,lon\n", encoding="utf-8")
    with pytest.raises(SimulationError, match=r"lacks column\(s\) \['latitude', 'longitude'\]"):
        read_posts(path, [BASE])


def test_unknown_base_fails_before_the_network_loads(data_dir, case):
    fresh = load_study_area(TINY, data_dir=data_dir)
    with pytest.raises(SimulationError, match="nearest names: Tiny Town Police Station"):
        run_simulation(fresh, case / "incidents.csv", None, roster=case / "bad.csv", days=7, workers=0)
    assert fresh._network is None


def _cli(args):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    return CliRunner().invoke(get_app(), args)


def test_cli_simulate_with_dask_matches_in_process(run, case, data_dir):
    out = case / "cli"
    args = [
        "simulate",
        "--osm",
        str(TINY),
        "--incidents",
        str(case / "incidents.csv"),
        "--roster",
        str(case / "roster.csv"),
        "--replications",
        "2",
        "--days",
        "7",
        "--seed",
        "3",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
    ]
    r = _cli(args)  # default: a 2-worker Dask LocalCluster
    assert r.exit_code == 0, r.output
    assert "emergency:" in r.output and "% met (95% CI" in r.output
    a = pd.read_csv(out / "incidents.csv")
    b = pd.read_csv(case / "out" / "incidents.csv")
    pd.testing.assert_frame_equal(a, b)  # same seed, same results whatever the workers
    bad = _cli([*args[:6], str(case / "bad.csv"), "--out", str(case / "cli_bad"), "--data-dir", str(data_dir)])
    assert bad.exit_code == 2, bad.output
    assert "unknown base 'Tiny Twn Police Statoin'; did you mean 'Tiny Town Police Station'?" in bad.output
    assert not (case / "cli_bad").exists()


def test_cli_plan_staff(case, data_dir):
    out = case / "staff"
    r = _cli(
        [
            "plan",
            "staff",
            "--add-units",
            "1",
            "--osm",
            str(TINY),
            "--incidents",
            str(case / "incidents.csv"),
            "--roster",
            str(case / "roster.csv"),
            "--replications",
            "2",
            "--days",
            "7",
            "--workers",
            "0",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ]
    )
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {"staff.csv", "summary.json", "report.md"}
    staff = pd.read_csv(out / "staff.csv")
    assert list(staff["base"]) == [BASE] and staff["shift"].iloc[0] in ("07:00-19:00", "19:00-07:00")
    assert staff["screen_emergency_after"].iloc[0] >= staff["screen_emergency_before"].iloc[0]
    s = json.loads((out / "summary.json").read_text())
    assert s["common_random_numbers"] and set(s["simulation_check"]) >= {"emergency", "priority"}
    assert s["simulation_check"]["emergency"]["plan"] >= s["simulation_check"]["emergency"]["baseline"]
    bad = _cli(
        [
            "plan",
            "staff",
            "--add-units",
            "1",
            "--shift",
            "01:00-02:00",
            "--osm",
            str(TINY),
            "--incidents",
            str(case / "incidents.csv"),
            "--roster",
            str(case / "roster.csv"),
            "--out",
            str(case / "s2"),
            "--data-dir",
            str(data_dir),
        ]
    )
    assert bad.exit_code == 2 and "is not a shift of the roster" in bad.output


def test_report_html_has_the_hour_and_cause_charts(run, case):
    page = (case / "out" / "report.html").read_text()
    assert "report.html" in json.loads((case / "out" / "summary.json").read_text())["outputs"]
    assert 'data-chart="sim-hour"' in page and page.count("<svg") >= 1
    assert "<script" not in page and "Misses by cause and district" in page
    if run.tables["causes"]["missed"].sum() > 0:
        assert 'data-chart="sim-causes"' in page


def test_map_with_simulation_folder_draws_the_cause_layer(area, case, run, monkeypatch):
    from geo_response.workflows import maps as map_workflow
    from geo_response.workflows.maps import MapOptions, build_map

    monkeypatch.setattr(map_workflow, "corridor_layer", lambda *_: None)  # tiny_town has no A12

    out = case / "map.html"
    opts = MapOptions(category=None, isochrone_speeds=(), simulation=case / "out", aggregate="lsoa")
    summary = build_map(area, case / "incidents.csv", out, opts)
    inc = run.tables["incidents"]
    per_lsoa = inc.groupby("lsoa_code")["met"].apply(lambda s: s.notna().sum())
    assert summary["cause_cells"] == {"drawn": int((per_lsoa >= 5).sum()), "suppressed": int((per_lsoa < 5).sum())}
    page = out.read_text()
    assert ("Cause of failure (simulated)" in page) == (summary["cause_cells"]["drawn"] > 0)
    # no incident point reaches the page (POINTS[0] is the base itself, drawn as a base)
    assert not [p for p in POINTS[1:] if f"{p[1]}, {p[0]}]" in page]

"""One number everywhere (issue 15): one fixture, one calibration record, the same % met from every command.

A hand-written incident file (30 rows at LSOA population-weighted centroids near Chelmsford, urban and rural,
grades given, no response times so outcomes are modelled) is fitted once with ``compliance --calibrate-to 0.8``;
``compliance``, ``map`` and ``plan compare`` (a scenario that changes nothing) then run with ``--calibration`` and
must report the same emergency and priority % met over the same denominators.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo_response import config, geography

CHELMSFORD = (51.736, 0.469)


def _cli(*args: str):
    from geo_response.cli import create_app

    result = CliRunner().invoke(create_app(), [str(a) for a in args])
    assert result.exit_code == 0 or "--bad" in args, result.output
    return result


@pytest.fixture(scope="module")
def fixture_csv(tmp_path_factory, data_dir):
    lsoas = geography.load_lsoas(config.load_profile(), data_dir)
    d = np.hypot(lsoas["pwc_lat"] - CHELMSFORD[0], (lsoas["pwc_lon"] - CHELMSFORD[1]) * 0.62)
    near = lsoas.assign(d=d).sort_values("d")
    urban = near[near["urban_rural"] == "urban"].head(18)
    rural = near[near["urban_rural"] == "rural"].head(12)
    rows = ["incident_id,month,grade,category,latitude,longitude"]
    for i, (_, place) in enumerate(pd.concat([urban, rural]).iterrows()):
        grade = "emergency" if i % 3 != 2 else "priority"
        month = "2022-0" + str(1 + (i // 3) % 3)  # every month has both grades
        rows.append(f"F{i:02d},{month},{grade},Burglary,{place['pwc_lat']:.6f},{place['pwc_lon']:.6f}")
    path = tmp_path_factory.mktemp("fixture") / "incidents.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fitted(fixture_csv, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "fit"
    _cli("compliance", "--incidents", fixture_csv, "--out", out, "--calibrate-to", "0.8", "--data-dir", data_dir)
    return out


def _compliance_totals(out) -> dict:
    long = pd.read_csv(out / "compliance_by_month.csv", dtype={"month": str})
    total = long[
        (long["month"] == "Total")
        & (long["category"] == "all")
        & (long["district"] == "all")
        & (long["urban_rural"] == "all")
    ].set_index("grade")
    return {
        g: (round(float(total.loc[g, "pct_met"]), 1), round(float(total.loc[g, "met"] + total.loc[g, "not_met"])))
        for g in ("emergency", "priority")
    }


def _printed(output: str) -> dict:
    return {g: round(float(m), 1) for g, m in re.findall(r"^\s+(emergency|priority): ([0-9.]+)% met", output, re.M)}


def test_the_same_number_from_every_command(fixture_csv, fitted, data_dir, tmp_path):
    record_path = fitted / "calibration.json"
    record = json.loads(record_path.read_text())
    assert record["target_rate"] == 0.8 and record["policy"] == "essex-2022" and record["delay_scale"] > 0
    assert record["period"] == {"first_month": "2022-01", "last_month": "2022-03"}
    assert record["incident_files"][0]["name"] == "incidents.csv" and len(record["hash"]) == 64
    fit_summary = json.loads((fitted / "summary.json").read_text())
    assert fit_summary["calibration_used"]["hash"] == record["hash"]
    fit = _compliance_totals(fitted)

    # compliance --calibration: no refit, the record's scale, the same figures
    out = tmp_path / "compliance"
    res = _cli(
        "compliance", "--incidents", fixture_csv, "--out", out, "--calibration", record_path, "--data-dir", data_dir
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calibration"] is None  # not refitted
    assert summary["calibration_used"]["hash"] == record["hash"]
    assert summary["response_model"]["delay_scale"] == pytest.approx(record["delay_scale"])
    assert record["hash"][:12] in (out / "report.md").read_text()
    prov = summary["provenance"]["files"]
    assert prov["incidents"][0]["sha256"] == record["incident_files"][0]["sha256"]
    assert prov["network"]["sha256"] == record["network_sha256"] and prov["lsoas"]["sha256"]
    compliance = _compliance_totals(out)
    assert compliance == fit
    assert _printed(res.output) == {g: v[0] for g, v in compliance.items()}

    # map --calibration: the judged incidents behind the map give the same figures, and say which calibration
    html = tmp_path / "map.html"
    res = _cli(
        "map",
        "--incidents",
        fixture_csv,
        "--out",
        html,
        "--calibration",
        record_path,
        "--offline",
        "--no-isochrones",
        "--data-dir",
        data_dir,
    )
    assert _printed(res.output) == {g: v[0] for g, v in compliance.items()}
    assert record["hash"][:12] in res.output and record["hash"][:12] in html.read_text()
    assert "30 accepted" in res.output

    # plan compare --calibration with a scenario that changes nothing: the 'current' column
    scenario = tmp_path / "same.csv"
    scenario.write_text("action,name,latitude,longitude,units\nset_units,Witham Police Station,,,1\n", encoding="utf-8")
    plan = tmp_path / "plan"
    res = _cli(
        "plan",
        "compare",
        "--scenario",
        scenario,
        "--incidents",
        fixture_csv,
        "--out",
        plan,
        "--calibration",
        record_path,
        "--data-dir",
        data_dir,
    )
    ps = json.loads((plan / "summary.json").read_text())
    assert ps["calibration_used"]["hash"] == record["hash"]
    assert ps["parameters"]["delay_scale"] == pytest.approx(record["delay_scale"])
    assert (plan / "ledger.csv").is_file() and "ledger.csv" in res.output
    assert record["hash"][:12] in (plan / "report.md").read_text() and record["hash"][:12] in res.output
    ov = ps["overall"]
    planned = {
        g: (round(ov[f"pct_{g}_met_all"]["current"], 1), round(ov[f"{g}_incidents_all"]["current"]))
        for g in ("emergency", "priority")
    }
    assert planned == compliance
    print("one number:", {"fit": fit, "compliance": compliance, "plan_current": planned})


def test_compliance_map_and_plan_agree_with_collisions(fixture_csv, fitted, data_dir, tmp_path):
    """With --collisions given to each, compliance, the map and plan compare still give one number."""
    collisions = Path(__file__).parent / "fixtures" / "incidents" / "stats19_snapping.csv"
    record_path = fitted / "calibration.json"
    out = tmp_path / "compliance"
    common = ["--incidents", fixture_csv, "--collisions", collisions, "--calibration", record_path]
    res = _cli("compliance", *common, "--out", out, "--data-dir", data_dir)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["collisions"]["accepted"] > 0 and "collisions (stats19_snapping.csv)" in res.output
    with_collisions = _compliance_totals(out)
    assert with_collisions["emergency"][1] > _compliance_totals(fitted)["emergency"][1]  # they joined the count
    html = tmp_path / "map.html"
    res = _cli("map", *common, "--out", html, "--offline", "--no-isochrones", "--data-dir", data_dir)
    assert _printed(res.output) == {g: v[0] for g, v in with_collisions.items()}
    assert "collisions (stats19_snapping.csv)" in res.output
    # plan compare (a scenario that changes nothing): the same figures over the same denominators
    scenario = tmp_path / "same.csv"
    scenario.write_text("action,name,latitude,longitude,units\nset_units,Witham Police Station,,,1\n", encoding="utf-8")
    plan = tmp_path / "plan"
    res = _cli("plan", "compare", "--scenario", scenario, *common, "--out", plan, "--data-dir", data_dir)
    ps = json.loads((plan / "summary.json").read_text())
    ov = ps["overall"]
    planned = {
        g: (round(ov[f"pct_{g}_met_all"]["current"], 1), round(ov[f"{g}_incidents_all"]["current"]))
        for g in ("emergency", "priority")
    }
    assert planned == with_collisions
    assert ps["collisions"]["accepted"] == summary["collisions"]["accepted"]
    assert (
        "collisions (stats19_snapping.csv)" in res.output and "STATS19 collisions" in (plan / "report.md").read_text()
    )
    # optimise takes them too (demand weights); without incidents they are refused in one line
    res = _cli("plan", "optimise", "--add", "1", *common, "--out", tmp_path / "opt", "--data-dir", data_dir)
    assert json.loads((tmp_path / "opt" / "summary.json").read_text())["collisions"]["accepted"] > 0
    from geo_response.cli import create_app

    args = ["plan", "compare", "--scenario", scenario, "--no-incidents", "--collisions", common[3], "--out"]
    bad = CliRunner().invoke(create_app(), [str(a) for a in (*args, tmp_path / "p2", "--data-dir", data_dir)])
    assert bad.exit_code == 2 and "drop --no-incidents, or drop --collisions" in bad.output


def test_a_tampered_record_is_refused(fixture_csv, fitted, data_dir, tmp_path):
    record = json.loads((fitted / "calibration.json").read_text())
    record["delay_scale"] = record["delay_scale"] * 0.5
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(record), encoding="utf-8")
    from geo_response.cli import create_app

    res = CliRunner().invoke(
        create_app(),
        [
            "compliance",
            "--incidents",
            str(fixture_csv),
            "--out",
            str(tmp_path / "o"),
            "--calibration",
            str(bad),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert res.exit_code == 2, res.output
    assert "changed after fitting" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_a_record_for_another_policy_is_refused_unless_forced(fixture_csv, fitted, data_dir, tmp_path):
    from geo_response.cli import create_app

    other = [p for p in config.load_profile().policies if p != "essex-2022"][0]
    args = [
        "compliance",
        "--incidents",
        str(fixture_csv),
        "--calibration",
        str(fitted / "calibration.json"),
        "--policy",
        other,
        "--data-dir",
        str(data_dir),
    ]
    res = CliRunner().invoke(create_app(), [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 2 and "fitted under policy 'essex-2022'" in res.output, res.output
    assert "--force-calibration" in res.output
    res = CliRunner().invoke(create_app(), [*args, "--out", str(tmp_path / "b"), "--force-calibration"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["calibration_used"]["policy"] == "essex-2022"


def test_optimise_scales_its_fixed_delay_and_writes_a_ledger(fixture_csv, fitted, data_dir, tmp_path):
    record = json.loads((fitted / "calibration.json").read_text())
    out = tmp_path / "opt"
    res = _cli(
        "plan",
        "optimise",
        "--add",
        "1",
        "--incidents",
        fixture_csv,
        "--out",
        out,
        "--calibration",
        fitted / "calibration.json",
        "--data-dir",
        data_dir,
    )
    s = json.loads((out / "summary.json").read_text())
    assert s["calibration_used"]["hash"] == record["hash"]
    assert f"scaled x{record['delay_scale']:.4f}" in s["calibration_stamp"] and "scaled" in res.output
    assert (out / "ledger.csv").is_file()


def test_the_demo_gives_the_same_number_with_the_same_record(fixture_csv, fitted, data_dir, tmp_path):
    record = json.loads((fitted / "calibration.json").read_text())
    out = tmp_path / "demo"
    res = _cli(
        "demo",
        "--incidents",
        fixture_csv,
        "--no-collisions",  # the other commands run without collisions: the same inputs everywhere
        "--out",
        out,
        "--calibration",
        fitted / "calibration.json",
        "--data-dir",
        data_dir,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["collisions"] is None  # --no-collisions: the bundle's stats19/ sample is left out
    assert summary["calibration"] is None  # the record's scale, not refitted
    assert summary["calibration_used"]["hash"] == record["hash"]
    assert summary["response_model"]["delay_scale"] == pytest.approx(record["delay_scale"])
    copied = json.loads((out / "calibration.json").read_text())
    assert copied["hash"] == record["hash"] and copied["delay_scale"] == record["delay_scale"]
    for name in ("report.md", "report.html", "essex_compliance.html"):
        assert record["hash"][:12] in (out / name).read_text(encoding="utf-8"), name
    assert record["hash"][:12] in res.output
    assert record["hash"][:12] in summary["simulation"]["calibration_stamp"]  # its simulation's delays too
    demo = _compliance_totals(out)
    assert demo == _compliance_totals(fitted)
    # the demo's own headline (summary.json) is the same figure over the same incidents
    e = summary["policies"]["essex-2022"]["emergency"]
    assert (round(100 * e["all"], 1), e["incidents"]) == demo["emergency"]
    print("one number, demo:", demo, summary["timings_seconds"])


def _simulate_args(fixture_csv, data_dir, out, *more, days="7"):
    return [
        "simulate",
        "--incidents",
        fixture_csv,
        "--days",
        days,
        "--replications",
        "1",
        "--workers",
        "0",
        "--seed",
        "5",
        "--out",
        out,
        "--data-dir",
        data_dir,
        *more,
    ]


def test_simulate_scales_its_delays_by_the_record_and_refuses_another_policy(fixture_csv, fitted, data_dir, tmp_path):
    record_path = fitted / "calibration.json"
    record = json.loads(record_path.read_text())
    plain, scaled = tmp_path / "plain", tmp_path / "scaled"
    res = _cli(*_simulate_args(fixture_csv, data_dir, plain))
    assert "calibration: none" in res.output
    res = _cli(*_simulate_args(fixture_csv, data_dir, scaled, "--calibration", record_path))
    assert record["hash"][:12] in res.output
    s = json.loads((scaled / "summary.json").read_text())
    assert s["calibration_used"]["hash"] == record["hash"]
    assert s["calibration_used"]["delay_scale"] == record["delay_scale"]
    assert record["hash"][:12] in (scaled / "report.md").read_text(encoding="utf-8")
    assert json.loads((plain / "summary.json").read_text())["calibration_used"] is None
    a = pd.read_csv(plain / "incidents.csv")
    b = pd.read_csv(scaled / "incidents.csv")
    assert len(a) == len(b) > 0 and (a["incident_id"] == b["incident_id"]).all()
    # the same draws, each answer + handling delay times the record's scale (rounded to 3 dp in the file)
    assert np.allclose(b["delay_minutes"], a["delay_minutes"] * record["delay_scale"], atol=0.0005 * 3)
    assert not np.allclose(b["delay_minutes"], a["delay_minutes"])

    from geo_response.cli import create_app

    other = [p for p in config.load_profile().policies if p != "essex-2022"][0]
    bad = tmp_path / "other"
    res = CliRunner().invoke(
        create_app(),
        [str(x) for x in _simulate_args(fixture_csv, data_dir, bad, "--calibration", record_path, "--policy", other)],
    )
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip() and not ln.startswith("incidents:")]
    assert len(lines) == 1 and "fitted under policy 'essex-2022'" in lines[0], res.output
    assert not bad.exists()


def test_simulate_fits_the_job_scale_and_reports_what_it_implies(fixture_csv, data_dir, tmp_path):
    from geo_response.cli import create_app

    # the fixture's 30 rows are month-only police.uk-like data, scaled up to the force's attended volume but all
    # near Chelmsford: the roster cannot reach the reported 82.7% at any job scale in the bracket, and says so
    reported = config.load_profile().reported["emergency_met"]
    res = CliRunner().invoke(
        create_app(),
        [str(x) for x in _simulate_args(fixture_csv, data_dir, tmp_path / "r", "--calibrate-to", "reported")],
    )
    assert res.exit_code == 2 and f"target {reported} is outside" in res.output, res.output
    assert not (tmp_path / "r").exists()
    out = tmp_path / "fit"
    res = _cli(*_simulate_args(fixture_csv, data_dir, out, "--calibrate-to", "0.1", days="31"))  # both grades
    s = json.loads((out / "summary.json").read_text())
    jc = s["job_calibration"]
    assert jc["target_emergency_met"] == 0.1
    assert 0.25 <= jc["job_scale"] <= 4.0 and jc["evaluations"] >= 3
    # one replication with the fit's seed: the reported run is the fitted one (% met is a step function of the
    # scale on a day's incidents, so the fit lands within a step of the target)
    assert s["headline"]["emergency"]["pct_met"] == pytest.approx(100 * jc["achieved_in_fit"], abs=0.01)
    assert jc["achieved_in_fit"] == pytest.approx(jc["target_emergency_met"], abs=0.05)
    implied = jc["implied_pct_met"]
    assert implied["emergency"]["all"] == pytest.approx(s["headline"]["emergency"]["pct_met"], abs=0.01)
    assert implied["priority"]["all"] == pytest.approx(s["headline"]["priority"]["pct_met"], abs=0.01)
    assert set(implied["emergency"]) == {"all", "urban", "rural"}
    assert "fitted job-time scale" in res.output and "priority:" in res.output
    assert "Calibration of the job-time scale" in (out / "report.md").read_text(encoding="utf-8")
    print("job calibration:", jc)

"""Observed compliance tables (hand-computed), the published layout, report and CLI outputs."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_response import config
from geo_response.compliance import report
from geo_response.compliance import tables as compliance
from geo_response.incidents import classification, grading
from geo_response.incidents import load as incidents
from geo_response.study_area import load_study_area, study_area_from_network
from geo_response.workflows.compliance import run_compliance

FIX = Path(__file__).parent / "fixtures" / "incidents"


@pytest.fixture(scope="module")
def tiny_lsoas() -> gpd.GeoDataFrame:
    return gpd.read_file(FIX / "tiny_lsoas.geojson")


@pytest.fixture(scope="module")
def policy():
    return config.load_profile().policy("essex-2022")


def _observed(path, lsoas, policy):
    boundary = shapely.union_all(lsoas.geometry.values)
    r = incidents.load_incidents(path, boundary, policy, lsoas)
    inc = grading.assign_targets(classification.classify(r.incidents, lsoas), policy)
    return compliance.observed_outcomes(inc)


def _row(table, name):
    return table.loc[name].tolist()


def test_hand_computed_tables(tiny_lsoas, policy):
    inc = _observed(FIX / "observed_small.csv", tiny_lsoas, policy)
    # OBS-02: 15 min against 15 -> met (<=); OBS-05: explicit grade 1 in rural Beta, 17 > 15 -> not met
    assert inc.set_index("incident_id")["p_met"].to_dict() == pytest.approx(
        {
            "OBS-01": 1,
            "OBS-02": 1,
            "OBS-03": 0,
            "OBS-04": 1,
            "OBS-05": 0,
            "OBS-06": 1,
            "OBS-07": 0,
            "OBS-08": 1,
            "OBS-09": 0,
            "OBS-10": np.nan,
            "OBS-11": np.nan,
        },
        nan_ok=True,
    )
    long = compliance.compliance_long(inc)
    assert list(long.columns) == ["grade", "category", "urban_rural", "district", "month", "met", "not_met", "pct_met"]
    t = compliance.wide_table(long, grade="emergency")
    assert list(t.columns) == ["Apr-21", "May-21", "Total"]
    assert _row(t, "Met") == ["3", "1", "4"]
    assert _row(t, "Not Met") == ["2", "1", "3"]
    assert _row(t, "% Met") == ["60.0%", "50.0%", "57.1%"]
    t = compliance.wide_table(long, grade="emergency", urban_rural="urban")
    assert (_row(t, "Met"), _row(t, "Not Met"), _row(t, "% Met")) == (
        ["2", "1", "3"],
        ["1", "0", "1"],
        ["66.7%", "100.0%", "75.0%"],
    )
    t = compliance.wide_table(long, grade="emergency", urban_rural="rural")
    assert (_row(t, "Met"), _row(t, "Not Met"), _row(t, "% Met")) == (
        ["1", "0", "1"],
        ["1", "1", "2"],
        ["50.0%", "0.0%", "33.3%"],
    )
    t = compliance.wide_table(long, grade="emergency", district="Beta")
    assert _row(t, "% Met") == ["50.0%", "0.0%", "33.3%"]
    t = compliance.wide_table(long, grade="emergency", category="Burglary")
    assert (_row(t, "Met"), _row(t, "Not Met"), _row(t, "% Met")) == (
        ["2", "0", "2"],
        ["1", "1", "2"],
        ["66.7%", "0.0%", "50.0%"],
    )
    t = compliance.wide_table(long, grade="priority")
    assert list(t.columns) == ["May-21", "Total"] and _row(t, "% Met") == ["50.0%", "50.0%"]
    # non-attended grades are counted separately, never in the tables
    assert compliance.excluded_counts(inc) == {"appointment": 1, "resolution_without_deployment": 1}
    top = long[
        (long[["grade", "category", "urban_rural", "district"]] == "all").all(axis=1) & (long["month"] == "Total")
    ].iloc[0]
    assert (top["met"], top["not_met"]) == (5, 4)


def test_long_table_is_consistent(tiny_lsoas, policy):
    long = compliance.compliance_long(_observed(FIX / "observed_small.csv", tiny_lsoas, policy))
    key = ["grade", "category", "district", "month"]
    parts = long[long["urban_rural"] != "all"].groupby(key)[["met", "not_met"]].sum()
    whole = long[long["urban_rural"] == "all"].set_index(key)[["met", "not_met"]].loc[parts.index]
    pd.testing.assert_frame_equal(parts, whole)
    months = (
        long[long["month"] != "Total"]
        .groupby(["grade", "category", "urban_rural", "district"])[["met", "not_met"]]
        .sum()
    )
    total = (
        long[long["month"] == "Total"]
        .set_index(["grade", "category", "urban_rural", "district"])[["met", "not_met"]]
        .loc[months.index]
    )
    pd.testing.assert_frame_equal(months, total)
    assert np.allclose(long["pct_met"], np.floor(1000 * long["met"] / (long["met"] + long["not_met"]) + 0.5) / 10)


def test_reproduces_a_published_monthly_row(tmp_path, tiny_lsoas, policy):
    """Met 412 / Not Met 88 is 82.4%; 430 / 70 is 86.0%; 377 / 123 is 75.4%; Total 1,219 / 281 is 81.3%."""
    counts = {"2021-04": (412, 88), "2021-05": (430, 70), "2021-06": (377, 123)}
    rows = []
    for month, (met, not_met) in counts.items():
        rows += [(f"{month}-10T10:00:00", 9.5)] * met + [(f"{month}-10T10:00:00", 15.01)] * not_met
    df = pd.DataFrame(rows, columns=["occurred_at", "response_minutes"])
    df["grade"], df["latitude"], df["longitude"] = "emergency", 51.75, 0.45
    df.to_csv(tmp_path / "pub.csv", index=False)
    long = compliance.compliance_long(_observed(tmp_path / "pub.csv", tiny_lsoas, policy))
    t = compliance.wide_table(long, grade="emergency", urban_rural="urban")
    assert list(t.columns) == ["Apr-21", "May-21", "Jun-21", "Total"]
    assert _row(t, "Met") == ["412", "430", "377", "1,219"]
    assert _row(t, "Not Met") == ["88", "70", "123", "281"]
    assert _row(t, "% Met") == ["82.4%", "86.0%", "75.4%", "81.3%"]


def test_percent_rounds_half_up():
    # 1 of 8 = 12.5% exactly -> 12.5; 1 of 16 = 6.25% -> 6.3 (banker's rounding would give 6.2)
    assert compliance.pct_half_up(np.array([1, 1, 2]), np.array([8, 16, 3]), integer=True).tolist() == [12.5, 6.3, 66.7]
    assert np.isnan(compliance.pct_half_up(np.array([0]), np.array([0]), integer=True)[0])


def test_modelled_probabilities_give_expected_counts():
    inc = pd.DataFrame(
        {
            "grade_category": ["emergency"] * 3,
            "category": "Robbery",
            "urban_rural": "urban",
            "district": "Alpha",
            "month": "2018-01",
            "attended": True,
            "p_met": [0.25, 0.5, 0.333],
        }
    )
    long = compliance.compliance_long(inc)
    row = long[
        (long["month"] == "Total")
        & (long["grade"] == "all")
        & (long["category"] == "all")
        & (long["urban_rural"] == "all")
        & (long["district"] == "all")
    ].iloc[0]
    assert (row["met"], row["not_met"], row["pct_met"]) == (1.08, 1.92, 36.1)
    t = compliance.wide_table(long, grade="emergency")
    assert _row(t, "Met") == ["1.08", "1.08"]


def test_missing_observed_times_are_warned_and_counted_not_met(tmp_path, tiny_lsoas, policy):
    f = tmp_path / "m.csv"
    f.write_text(
        "grade,response_minutes,latitude,longitude,month\nemergency,10,51.75,0.45,2021-04\n"
        "emergency,,51.75,0.45,2021-04\n"
    )
    inc = _observed(f, tiny_lsoas, policy)
    w = compliance.missing_time_warnings(inc)
    assert w["row_number"].tolist() == [3] and w["reason"].tolist() == ["missing_response_time"]  # file line
    # one rule everywhere: the incident with no time is in the denominator, as not met, and said apart
    assert inc["no_outcome"].isna().tolist() == [True, False] and inc["no_outcome"].iloc[1] == "no response time"
    long = compliance.compliance_long(inc)
    total = long[
        (long["grade"] == "all")
        & (long["month"] == "Total")
        & (long["urban_rural"] == "all")
        & (long["district"] == "all")
        & (long["category"] == "all")
    ].iloc[0]
    assert (total["met"], total["not_met"], total["pct_met"]) == (1, 1, 50.0)


def test_report_markdown_and_escaped_html(tmp_path, tiny_lsoas, policy):
    inc = _observed(FIX / "observed_small.csv", tiny_lsoas, policy)
    inc["category"] = inc["category"].replace({"Robbery": "<script>alert(1)</script>"})
    long = compliance.compliance_long(inc)
    summary = {
        "policy": "essex-2022",
        "policy_label": "Essex <2022>",
        "outcomes": "observed",
        "grades_sampled": False,
        "ledger": {"input_rows": 11, "accepted": 11, "rejected": 0, "rejected_by_reason": {}, "warnings": {}},
    }
    md = report.write_report(long, summary, tmp_path / "report.md").read_text()
    assert "| % Met | 60.0% | 50.0% | 57.1% |" in md
    assert "| Met | 3 | 1 | 4 |" in md
    # Markdown viewers render inline HTML: data strings are escaped there too
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "Essex &lt;2022&gt;" in md
    page = report.write_report(long, summary, tmp_path / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "Essex &lt;2022&gt;" in page
    path = report.write_summary({"x": np.float64("nan"), "n": np.int64(3), "p": tmp_path}, tmp_path / "s.json")
    assert json.loads(path.read_text()) == {"x": None, "n": 3, "p": str(tmp_path)}


def _cli_app():
    """The geo-response app (every command registered by the app factory)."""
    from geo_response.cli import create_app

    return create_app()


def _bundle_or_skip():
    from geo_response import datadir

    try:
        datadir.find_file("essex/essex_lsoa11_ruc11.geojson")
        datadir.find_file("essex/essex_pfa_from_lsoa21_bgc.geojson")
    except Exception:  # noqa: BLE001
        pytest.skip("the data bundle (essex/) is not present")


def test_cli_observed_run_writes_every_output(tmp_path):
    _bundle_or_skip()
    from typer.testing import CliRunner

    from geo_response import geography

    lsoas = geography.load_lsoas(config.load_profile())
    urban = lsoas[lsoas["urban_rural"] == "urban"].iloc[0]
    rural = lsoas[lsoas["urban_rural"] == "rural"].iloc[0]
    rows = ["incident_id,month,grade,category,response_minutes,latitude,longitude"]
    for i, (place, grade, minutes) in enumerate(
        [
            (urban, "emergency", 14),
            (urban, "emergency", 16),
            (rural, "emergency", 19),
            (rural, "1", 16),
            (rural, "priority", 45),
            (urban, "5", ""),
        ]
    ):
        rows.append(f"E{i},2021-04,{grade},Burglary,{minutes},{place['pwc_lat']},{place['pwc_lon']}")
    rows.append("E9,2021-04,emergency,Burglary,5,48.85,2.35")  # Paris: outside
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(
        _cli_app(), ["compliance", "--incidents", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["input"], summary["accepted"], summary["rejected"]) == (7, 6, 1)
    assert summary["rejected_by_reason"] == {"outside_force_area": 1}
    assert summary["warnings"] == {"grade_setting_mismatch": 1}
    assert summary["outcomes"] == "observed" and summary["grades_sampled"] is False
    assert summary["seeds"] == {"grades": None, "monte_carlo": None}  # nothing random in an observed run
    assert summary["excluded_not_attended"] == {"resolution_without_deployment": 1}
    ledger = pd.read_csv(out / "ledger.csv")
    assert ledger["reason"].tolist() == ["grade_setting_mismatch", "outside_force_area"]
    long = pd.read_csv(out / "compliance_by_month.csv", dtype={"month": str})
    em = long[
        (long["grade"] == "emergency")
        & (long["category"] == "all")
        & (long["district"] == "all")
        & (long["month"] == "Total")
    ].set_index("urban_rural")
    # urban: 14 met, 16 not (15 min); rural: 19 met (20 min), explicit grade 1 at 16 min not met (15 min)
    assert em.loc["urban", ["met", "not_met"]].tolist() == [1, 1]
    assert em.loc["rural", ["met", "not_met"]].tolist() == [1, 1]
    assert em.loc["all", "pct_met"] == 50.0
    assert "| % Met | 50.0% | 50.0% |" in (out / "report.md").read_text()


def test_empty_grade_cells_are_sampled_and_flagged(tmp_path, data_dir):
    """A graded file with an empty grade cell: that row is sampled (and warned), not rejected."""
    from geo_response import geography

    urban = geography.load_lsoas(config.load_profile(), data_dir).query("urban_rural == 'urban'").iloc[0]
    rows = [
        "incident_id,month,grade,category,response_minutes,latitude,longitude",
        f"A,2021-04,,Burglary,30,{urban['pwc_lat']},{urban['pwc_lon']}",  # empty grade: sampled
        f"B,2021-04,emergency,Robbery,14,{urban['pwc_lat']},{urban['pwc_lon']}",  # 14 <= 15: met
        f"C,2021-04,bogus,Robbery,14,{urban['pwc_lat']},{urban['pwc_lon']}",
    ]  # not a grade: rejected
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n")
    run = run_compliance(load_study_area(data_dir=data_dir), tmp_path / "in.csv", tmp_path / "out")
    s = run.summary
    assert (s["input"], s["accepted"], s["rejected"]) == (3, 2, 1)
    assert s["rejected_by_reason"] == {"unknown_grade": 1}
    assert s["grades_sampled"] is True and s["grades_sampled_rows"] == 1
    assert s["warnings"] == {"grade_sampled": 1}
    ledger = pd.read_csv(tmp_path / "out" / "ledger.csv")
    assert ledger[["row_number", "status", "reason"]].values.tolist() == [
        [2, "warning", "grade_sampled"],
        [4, "rejected", "unknown_grade"],
    ]  # file lines: header = 1
    per_incident = pd.read_csv(tmp_path / "out" / "incidents.csv", dtype={"grade": str}).set_index("incident_id")
    assert per_incident["grade_sampled"].to_dict() == {"A": True, "B": False}
    assert per_incident.loc["B", ["grade", "target_minutes", "p_met"]].tolist() == ["1", 15.0, 1.0]
    assert "latitude" not in per_incident.columns and "longitude" not in per_incident.columns
    assert "1 of 2 accepted incidents had no call grade" in (tmp_path / "out" / "report.md").read_text()
    # the table says how its outcomes and grades were made (honest time series)
    written = pd.read_csv(tmp_path / "out" / "compliance_by_month.csv")
    assert set(written["outcomes"]) == {"observed"} and set(written["grades"]) == {"sampled per crime type"}


def test_relative_incident_paths_fall_back_to_the_data_folder(tmp_path, data_dir, monkeypatch, capsys):
    from types import SimpleNamespace

    from geo_response.cli.common import resolve_incidents

    monkeypatch.chdir(tmp_path)
    area = SimpleNamespace(data_dir=data_dir)
    got = resolve_incidents(area, ["police_uk/2018-0[12]-*.csv"])
    assert got == [str(data_dir / "police_uk/2018-0[12]-*.csv")]
    assert "is not in the working folder; using" in capsys.readouterr().out
    (tmp_path / "police_uk").mkdir()
    (tmp_path / "police_uk" / "2018-01-x.csv").write_text("a\n")
    assert resolve_incidents(area, ["police_uk/2018-0[12]-*.csv"]) == ["police_uk/2018-0[12]-*.csv"]  # here first


@pytest.mark.parametrize("response_column", [True, False], ids=["observed", "modelled"])
def test_a_file_with_no_good_row_still_writes_its_ledger(tmp_path, data_dir, response_column):
    """Every row rejected (outside the force area, no coordinates): no crash, the ledger has both rows."""
    header = "month,category,latitude,longitude" + (",response_minutes" if response_column else "")
    extra = ",12" if response_column else ""
    (tmp_path / "in.csv").write_text(f"{header}\n2018-01,Burglary,53.0,-1.0{extra}\n2018-01,Robbery,,{extra}\n")
    run = run_compliance(load_study_area(data_dir=data_dir), tmp_path / "in.csv", tmp_path / "out")
    s = run.summary
    assert (s["input"], s["accepted"], s["rejected"]) == (2, 0, 2)
    assert s["rejected_by_reason"] == {"outside_force_area": 1, "missing_coordinates": 1}
    assert pd.read_csv(tmp_path / "out" / "ledger.csv")["row_number"].tolist() == [2, 3]
    assert len(pd.read_csv(tmp_path / "out" / "incidents.csv")) == 0
    assert len(pd.read_csv(tmp_path / "out" / "compliance_by_month.csv")) == 0


def test_cli_reports_unreadable_file(tmp_path):
    _bundle_or_skip()
    from typer.testing import CliRunner

    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    result = CliRunner().invoke(
        _cli_app(), ["compliance", "--incidents", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "no coordinate columns" in result.output


@pytest.mark.slow
def test_whole_police_uk_bundle_modelled_and_calibrated(tmp_path, essex_graph, essex_bases, data_dir):
    """The 2018 police.uk bundle through the modelled, calibrated run: every row accounted for.

    (Its run time, the < 2 min target, is measured by ``geo-response compliance`` in the closing note and
    docs/PERFORMANCE.md, not asserted here.)"""
    area = study_area_from_network(essex_graph, bases=essex_bases, data_dir=data_dir)
    run = run_compliance(area, data_dir / "police_uk", tmp_path, calibrate_to=0.827)
    s = run.summary
    assert s["input"] == 115065 == s["accepted"] + s["rejected"]
    ledger = pd.read_csv(tmp_path / "ledger.csv")
    assert (ledger["status"] == "rejected").sum() == s["rejected"]
    assert s["grades_sampled"] is True and s["outcomes"] == "modelled"
    # one rule: every attended incident is judged; those with no route are not met and counted apart
    assert s["judged"] == s["attended"] and s["no_outcome"] > 0
    incidents_out = pd.read_csv(tmp_path / "incidents.csv", low_memory=False)
    no_route = incidents_out[incidents_out["no_outcome"].notna()]
    assert len(no_route) == s["no_outcome"] and (no_route["p_met"] == 0).all()
    assert no_route["no_outcome"].str.startswith("no route: ").all()
    assert s["warnings"]["not_routable"] == s["no_outcome"]
    assert s["calibration"]["achieved_rate"] == pytest.approx(0.827, abs=0.002)
    long = pd.read_csv(tmp_path / "compliance_by_month.csv", dtype={"month": str})
    top = long[
        (long["grade"] == "emergency")
        & (long["category"] == "all")
        & (long["urban_rural"] == "all")
        & (long["district"] == "all")
        & (long["month"] == "Total")
    ].iloc[0]
    assert top["pct_met"] == pytest.approx(82.7, abs=0.1)
    assert s["seeds"] == {"grades": 20180101, "monte_carlo": 20220401}

"""The end-to-end demo (`geo-response demo`, what `make demo` runs) on the bundle, and its report tables."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo_response.cli import get_app
from geo_response.workflows import demo as pipeline

OUTPUTS = {
    "essex_compliance.html",
    "isochrones.gpkg",
    "compliance_by_month.csv",
    "hotspots.csv",
    "ledger.csv",
    "summary.json",
    "report.md",
    "report.html",
    "board_pack.xlsx",
    "board_pack",
    "geo_response.gpkg",
}


def test_corridor_readable_formats_hand_figures():
    table = pd.DataFrame(
        {
            "group": ["A12 corridor", "all incidents"],
            "emergency_incidents": [421, 28848],
            "emergency_pct_met": [83.9813, 82.7],
            "emergency_expected_failures": [67.43875, 4983.438],
            "emergency_share_of_failures": [67.43875 / 4983.438, 1.0],
        }
    )
    out = pipeline.corridor_readable(table)
    assert out.to_dict(orient="records") == [
        {
            "group": "A12 corridor",
            "emergency incidents": "421",
            "% met": "84.0%",
            "expected failures": "67.4",
            "share of all failures": "1.4%",
        },
        {
            "group": "all incidents",
            "emergency incidents": "28,848",
            "% met": "82.7%",
            "expected failures": "4,983.4",
            "share of all failures": "100.0%",
        },
    ]


def test_every_command_is_registered():
    result = CliRunner().invoke(get_app(), ["--help"])
    assert result.exit_code == 0
    for command in ("network", "travel-times", "isochrones", "compliance", "map", "plan", "fetch", "demo"):
        assert command in result.output


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(get_app(), ["demo", "--out", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_writes_every_output_and_accounts_for_every_row(demo_out):
    out, printed = demo_out
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    summary = json.loads((out / "summary.json").read_text())
    # the 2018 police.uk bundle and, by default, the bundle's STATS19 sample: every row accepted or rejected
    assert summary["input"] == 115065 + 1000 == summary["accepted"] + summary["rejected"]
    assert sum(summary["rejected_by_reason"].values()) == summary["rejected"]
    ledger = pd.read_csv(out / "ledger.csv")
    assert (ledger["status"] == "rejected").sum() == summary["rejected"]
    assert "116,065 in" in printed
    # the collisions: 25 Essex of 1,000, the rest ledgered with their file line; their period said apart
    c = summary["collisions"]
    assert (c["input_rows"], c["accepted"], c["rejected_by_reason"]) == (1000, 25, {"other_police_force": 975})
    assert c["snap_methods"] == {"ref": 8, "class": 11, "nearest": 6}
    assert c["period"] == {"first_month": "2005-03", "last_month": "2014-10"}
    assert summary["period"] == {"first_month": "2018-01", "last_month": "2018-07"}
    stats19_rows = ledger[ledger["file"].str.endswith("stats19_gb_sample1000_2005_2014.csv")]
    assert len(stats19_rows) == 975 and stats19_rows["row_number"].between(2, 1001).all()
    assert summary["provenance"]["files"]["collisions"][0]["sha256"]
    assert "2005-03 to 2014-10; incidents 2018-01 to 2018-07: a different period" in printed
    # provenance: network, policy, seeds
    assert summary["network"]["standin"] is True and "stand-in" in summary["network"]["label"]
    assert summary["seeds"] == {"grades": 20180101, "monte_carlo": 20220401}
    policies = summary["policies"]
    assert set(policies) == {"essex-2022", "ncmg"}
    # ncmg's emergency target (20 min everywhere) is never stricter than essex-2022's 15 / 20 min
    assert policies["ncmg"]["emergency"]["all"] >= policies["essex-2022"]["emergency"]["all"]
    assert policies["ncmg"]["emergency"]["rural"] == pytest.approx(policies["essex-2022"]["emergency"]["rural"])
    assert (out / "ncmg" / "compliance_by_month.csv").is_file()
    # the demo's own calibration record, passed to the second policy's run and stamped in both
    record = json.loads((out / "calibration.json").read_text())
    assert summary["calibration_used"]["hash"] == record["hash"] and record["policy"] == "essex-2022"
    ncmg = json.loads((out / "ncmg" / "summary.json").read_text())
    assert ncmg["calibration_used"]["hash"] == record["hash"] and ncmg["calibration"] is None
    assert record["hash"][:12] in (out / "report.md").read_text()


def test_demo_isochrones_hotspots_corridor_and_map(demo_out):
    out, _ = demo_out
    iso = gpd.read_file(out / "isochrones.gpkg")
    assert set(iso["profile"]) == {"blue_light", "normal"}
    assert set(iso["threshold_min"]) == {5, 10, 15, 20}
    combined = iso[iso["base_id"] == -1].sort_values(["profile", "threshold_min"])
    # reach and population grow with the threshold, for each profile
    for _, group in combined.groupby("profile"):
        assert group["area_km2"].is_monotonic_increasing and group["population"].is_monotonic_increasing
    spots = pd.read_csv(out / "hotspots.csv")
    assert len(spots) > 0 and set(spots["urban_rural"]) <= {"urban", "rural"}
    assert (spots["q_value"] <= 0.05).all() and (spots["failure_rate"] > spots["force_failure_rate"]).all()
    corridor = pd.read_csv(out / "corridor.csv")
    assert corridor["group"].str.startswith("A12 corridor").any()
    # rounded for people (82.70000017 reads 82.7)
    pct = corridor.filter(like="pct_met")
    assert (pct.round(2) == pct).all().all() and (
        corridor.filter(like="share").round(4) == corridor.filter(like="share")
    ).all().all()
    # which incident types the corridor rests on: police.uk crime categories and the 25 STATS19 collisions
    types = pd.read_csv(out / "corridor_incident_types.csv")
    everyone = types[types["group"] == "all incidents"]
    summary = json.loads((out / "summary.json").read_text())
    assert everyone["incidents"].sum() == sum(summary["corridor_incident_types"].values())
    collisions = types[types["category"] == "road collision"]
    assert (collisions["source"] == "STATS19").all() and (
        types.loc[types["source"] == "STATS19", "category"] == "road collision"
    ).all()
    assert everyone.set_index("category").loc["road collision", "incidents"] == 25
    assert summary["corridor_rests_on"].startswith("The corridor figures rest on ")
    assert summary["corridor_rests_on"].endswith("STATS19 road collisions: 25.")
    page = (out / "essex_compliance.html").read_text(encoding="utf-8")
    assert (out / "essex_compliance.html").stat().st_size < 20e6
    assert "Incidents (points)" not in page  # aggregates only by default
    assert "synthetic stand-in" in page
    assert "unpkg.com" not in page and "cdn.jsdelivr" not in page  # offline
    # time of day: normal traffic at the weekday morning peak and at night, as two layers
    assert "normal at 08:00 weekday" in page and "normal at 03:00 weekday" in page
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "SYNTHETIC stand-in" in report and "| A12 corridor" in report
    assert "The corridor figures rest on" in report and "STATS19 road collisions: 25." in report
    assert "ANOTHER PERIOD than the incidents (2018-01 to 2018-07)" in report
    # the simulation in the map (cause of failure per LSOA), the report, the board pack and the GeoPackage
    assert "Cause of failure (simulated)" in page
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-chart="sim-hour"' in html and 'data-chart="sim-causes"' in html
    assert (out / "simulation" / "report.html").is_file()
    sheets = pd.ExcelFile(out / "board_pack.xlsx").sheet_names
    assert {"simulation_by_hour", "simulation_causes"} <= set(sheets)
    layer = gpd.read_file(out / "geo_response.gpkg", layer="simulation_causes_district")
    causes = pd.read_csv(out / "simulation" / "causes.csv")
    per_district = (
        causes[(causes["grade"] == "all") & (causes["district"] != "all")].groupby("district")["missed"].sum()
    )
    assert layer.set_index("district")["missed_total"].reindex(per_district.index).to_numpy() == pytest.approx(
        per_district.to_numpy(), abs=0.02
    )


def test_demo_calibration_converges_to_the_reported_rate(demo_out):
    """This only shows the fit converged: the delay scale was chosen to give 82.7%."""
    out, _ = demo_out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policies"]["essex-2022"]["emergency"]["all"] == pytest.approx(0.827, abs=0.002)


def test_demo_outputs_agree_with_each_other(demo_out):
    """Checks that do not follow from the calibration: the per-incident file, the monthly table and the summary
    are computed separately and must give the same emergency denominator and rate."""
    out, _ = demo_out
    summary = json.loads((out / "summary.json").read_text())
    incidents = pd.read_csv(out / "incidents.csv", low_memory=False)
    emergency = incidents[(incidents["grade_category"] == "emergency") & incidents["attended"]]
    long = pd.read_csv(out / "compliance_by_month.csv", dtype={"month": str})
    total = long[
        (long["grade"] == "emergency")
        & (long["category"] == "all")
        & (long["urban_rural"] == "all")
        & (long["district"] == "all")
        & (long["month"] == "Total")
    ].iloc[0]
    # one denominator everywhere: every attended emergency, those with no route counted as not met
    assert (
        round(total["met"] + total["not_met"])
        == len(emergency)
        == summary["policies"]["essex-2022"]["emergency"]["incidents"]
    )
    assert emergency["p_met"].notna().all()
    assert total["met"] == pytest.approx(emergency["p_met"].sum(), abs=0.01)
    # the board pack's totals equal the sum of its detail rows
    detail = pd.read_csv(out / "board_pack" / "compliance_detail.csv")
    totals = pd.read_csv(out / "board_pack" / "compliance_totals.csv")
    assert "all" not in set(detail["district"].astype(str)) and "Total" not in set(detail["month"].astype(str))
    # expected counts to 2 dp in each cell: the sum of the rounded cells stays within a count of the total
    assert detail["met"].sum() == pytest.approx(totals["met"].sum(), abs=1.0)
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(out / "geo_response.gpkg")}
    assert {"hexagon_results", "lsoa_results", "hotspots", "gi_star", "isochrones"} <= layers
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 5 and "<script" not in page


def test_demo_answers_the_staffing_question(demo_out):
    out, _ = demo_out
    summary = json.loads((out / "summary.json").read_text())
    st = summary["staffing_vs_base"]
    assert st["outputs"] == "staffing_vs_base/" and "Clacton Police Station" in st["rule"]
    assert st["sentence"] in (out / "report.md").read_text()
    detail = json.loads((out / "staffing_vs_base" / "summary.json").read_text())
    assert detail["common_random_numbers"] is True and detail["target"] == "Clacton Police Station"
    assert detail["donor"] != detail["target"] and "stand-in" in detail["network"]
    table = pd.read_csv(out / "staffing_vs_base" / "simulated_comparison.csv")
    assert set(table["scenario"]) == {"move_to_Clacton Police Station", "new_base", "post_night_units"}
    # the third option posts Clacton's own night units at the new base's site: no unit added or moved
    post = detail["scenarios"]["post_night_units"]
    assert post["units_scenario"] == post["units_current"] == detail["scenarios"]["new_base"]["units_current"]
    assert post["changes"][0]["action"] == "set_post" and post["changes"][0]["name"] == "Clacton Police Station"
    # common random numbers: every option is judged against the same current runs
    assert table.groupby(["district", "grade"])["current_pct"].nunique().eq(1).all()
    # paired differences: the change is the difference of the means, inside its own interval
    assert ((table["change_low"] <= table["change_pp"]) & (table["change_pp"] <= table["change_high"])).all()
    assert ((table["scenario_pct"] - table["current_pct"] - table["change_pp"]).abs() <= 0.02).all()
    assert (out / "staffing_vs_base" / "report.md").is_file()

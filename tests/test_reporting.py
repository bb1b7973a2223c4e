"""report.html, its figures and charts, on hand-made incidents (no data bundle needed)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from geo_response import hotspots
from geo_response.compliance import tables as compliance
from geo_response.reporting import html_report, palette
from geo_response.reporting import stats as rstats

XSS = "<script>window.__xss=1</script>$x^2$"
KPIS = [
    {"name": "Emergency attendance", "policy": "essex-2022", "categories": ["emergency"], "threshold": 0.90},
    {"name": "Priority attendance", "policy": "essex-2022", "categories": ["priority"], "threshold": 0.84},
]


def make_report_incidents(observed: bool = True, seed: int = 7) -> gpd.GeoDataFrame:
    """14 months x 3 grades x urban/rural x 3 districts; emergency ~88% met, priority ~80%, routine ~95%;
    one hexagon of 60 late incidents."""
    rng = np.random.default_rng(seed)
    n = 3000
    grade = rng.choice(["emergency", "priority", "routine"], n, p=[0.4, 0.4, 0.2])
    setting = rng.choice(["urban", "rural"], n, p=[0.7, 0.3])
    district = rng.choice(["Chelmsford", "Maldon", XSS], n)
    months = [str(p) for p in pd.period_range("2017-06", "2018-07", freq="M")]
    month = rng.choice(months, n)
    target = np.select(
        [grade == "emergency", grade == "priority"], [np.where(setting == "urban", 15.0, 20.0), 60.0], 240.0
    )
    rate = np.select([grade == "emergency", grade == "priority"], [0.88, 0.80], 0.95) - 0.08 * (setting == "rural")
    response = np.where(rng.random(n) < rate, target * rng.uniform(0.3, 1.0, n), target * rng.uniform(1.01, 2.0, n))
    lon = np.where(setting == "urban", 0.48, 0.68) + rng.normal(0, 0.01, n)
    lat = 51.73 + rng.normal(0, 0.01, n)
    # a failure cluster: 60 rural incidents at one spot, all late
    setting[:60], lon[:60], lat[:60] = "rural", 0.70, 51.75
    response[:60] = target[:60] * 1.5
    frame = pd.DataFrame(
        {
            "grade_category": grade,
            "category": rng.choice(["burglary", "violence"], n),
            "urban_rural": setting,
            "district": district,
            "month": month,
            "attended": True,
            "target_minutes": target,
            "response_minutes": response,
            "travel_minutes": response * 0.6,
        }
    )
    if observed:
        frame["p_met"] = (frame["response_minutes"] <= frame["target_minutes"]).astype(float)
    else:
        frame["p_met"] = np.clip(rate + rng.normal(0, 0.05, n), 0, 1)
        frame.loc[:59, "p_met"] = 0.02
    return gpd.GeoDataFrame(frame, geometry=[Point(x, y) for x, y in zip(lon, lat, strict=True)], crs=4326)


def make_summary(observed: bool = True) -> dict:
    return {
        "outcomes": "observed" if observed else "modelled",
        "policy": "essex-2022",
        "policy_label": f"Essex 2022 {XSS}",
        "generated_at": "2026-12-03T09:00:00+00:00",
        "ledger": {"input_rows": 3010, "accepted": 3000, "rejected": 10},
        "attribution": "data.police.uk",
    }


def make_corridor() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["A12 corridor", "all trunk and motorway roads", "rest", "all incidents"],
            "emergency_pct_met": [70.0, 75.0, 88.0, 85.0],
            "emergency_share_of_failures": [0.2, 0.35, 0.65, 1.0],
        }
    )


def report_inputs(observed: bool = True) -> dict:
    inc = make_report_incidents(observed)
    long = compliance.compliance_long(inc)
    agg = hotspots.hex_aggregate(inc, resolution=8)
    spots = hotspots.find_hotspots(agg, min_count=5, alpha=0.9)
    roads = gpd.GeoDataFrame({"ref": ["A12"]}, geometry=[LineString([(0.40, 51.70), (0.75, 51.76)])], crs=4326)
    places = gpd.GeoDataFrame(
        {"name": ["Chelmsford", XSS]}, geometry=[Point(0.48, 51.735), Point(0.68, 51.73)], crs=4326
    )
    gi = hotspots.gi_star_spots(agg, min_count=5, towns=places)
    return {
        "long": long,
        "summary": make_summary(observed),
        "kpis": KPIS,
        "incidents": inc,
        "corridor": make_corridor(),
        "hotspots": spots.head(3),
        "roads": roads,
        "places": places,
        "gi": gi,
    }


def test_rag_wilson_and_p_chart():
    assert [rstats.rag_status(r, 0.9) for r in (0.95, 0.9, 0.86, 0.849, None)] == [
        "green",
        "green",
        "amber",
        "red",
        "n/a",
    ]
    lo, hi = rstats.wilson_interval([0, 10], [10, 10])
    assert lo[0] == 0 and 0.2775 < hi[0] < 0.2776 and hi[1] == 1 and 0.7224 < lo[1] < 0.7225  # z^2 / (n + z^2)
    spc = rstats.p_chart_limits([90, 90, 50], [100, 100, 100])
    assert spc["centre"].iloc[0] == pytest.approx(230 / 300)
    assert spc["ucl"].iloc[0] == pytest.approx(230 / 300 + 3 * np.sqrt(230 / 300 * 70 / 300 / 100))
    assert spc["signal"].tolist() == [True, True, True]


def test_period_comparison():
    s = pd.DataFrame(
        {
            "month": [str(p) for p in pd.period_range("2017-01", "2018-01", freq="M")],
            "met": [8.0] * 12 + [9.0],
            "n": [10.0] * 13,
        }
    )
    s["pct"] = s["met"] / s["n"]
    c = rstats.period_comparison(s)
    assert c["month"] == "2018-01" and c["rate"] == 0.9
    assert c["last_month_rate"] == 0.8 and c["last_year_rate"] == 0.8
    assert c["rolling12_months"] == 12 and c["rolling12_rate"] == pytest.approx((11 * 8 + 9) / 120)


def test_rolling12():
    s = pd.DataFrame(
        {
            "month": ["2017-01", "2017-06", "2018-01", "2018-02"],
            "met": [1.0, 2.0, 3.0, 4.0],
            "n": [10.0, 10.0, 10.0, 10.0],
        }
    )
    r = rstats.rolling12(s)
    assert list(r["months"]) == [1, 2, 2, 3]  # Feb-17..Jan-18 holds Jun-17 and Jan-18
    assert r["rate"].tolist() == pytest.approx([0.1, 0.15, 0.25, 0.3])


def test_kpis_for_policy():
    assert [k.threshold for k in rstats.kpis_for("essex-2022")] == [0.90, 0.84]
    assert rstats.kpis_for("ncmg") == []


def test_palette_is_cividis():
    assert palette.pct_colour(10) == palette.sequential_colours(len(palette.PCT_BINS))[0]
    assert palette.pct_colour(99) == palette.sequential_colours(len(palette.PCT_BINS))[-1]


@pytest.mark.parametrize("observed", [True, False])
def test_report_html_escaped_and_self_contained(observed):
    inputs = report_inputs(observed)
    n_spots = len(inputs["hotspots"])
    assert n_spots >= 1
    page = html_report.render_report_html(inputs.pop("long"), inputs.pop("summary"), **inputs)
    assert "<script" not in page and "window.__xss" not in page.replace("&lt;script&gt;window.__xss", "")
    assert "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    figures = re.findall(r'<figure class="chart" data-chart="([^"]+)"><svg', page)
    assert "trend" in figures and "times" in figures and "corridor" in figures
    assert sum(f.startswith("hotspot-") for f in figures) == n_spots
    assert any(f.startswith("split-district") for f in figures)
    assert ("OBSERVED" if observed else "MODELLED") in page
    assert "Hot and cold spots (Getis-Ord Gi*)" in page
    n_hot = int((inputs["gi"]["gi_class"] == "hot").sum())
    assert n_hot >= 1 and f"Top {min(n_hot, 10)} hot spots" in page
    if observed:
        assert any(f.startswith("spc-") for f in figures) and "rolling12" in figures
        assert "GREEN" in page or "AMBER" in page or "RED" in page
    else:
        assert not any(f.startswith("spc-") for f in figures) and "no time signal" in page


def test_report_md_has_kpi_scorecard():
    from geo_response.compliance import report

    inputs = report_inputs(True)
    summary = dict(inputs["summary"], kpis=KPIS)
    text = report.render_markdown(report.report_blocks(inputs["long"], summary))
    assert "## KPIs" in text and "Emergency attendance" in text and "90.0%" in text
    assert any(f"| {rag} |" in text for rag in ("GREEN", "AMBER", "RED"))
    modelled = report.render_markdown(
        report.report_blocks(report_inputs(False)["long"], dict(make_summary(False), kpis=KPIS))
    )
    assert "no time signal" in modelled
    assert report.kpi_blocks(inputs["long"], dict(summary, policy="ncmg")) == []


def test_compliance_write_report_html_is_the_chart_page(tmp_path):
    from geo_response.compliance import report

    inputs = report_inputs(True)
    page = report.write_report(
        inputs["long"], dict(inputs["summary"], kpis=KPIS), tmp_path / "report.html", incidents=inputs["incidents"]
    ).read_text()
    assert 'data-chart="trend"' in page and 'data-chart="times"' in page
    assert "Details and tables" in page and "<th>% Met</th>" in page and "<script" not in page

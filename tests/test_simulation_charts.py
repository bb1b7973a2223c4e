"""The simulation in the reports and the map: hour-of-day and cause charts, board-pack sheets, GeoPackage layers,
and the map's "Cause of failure" layer, on small hand-made tables (no network)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo_response import map_causes, maps
from geo_response.errors import MapError
from geo_response.reporting import board_pack, charts, gis, html_report, palette
from geo_response.reporting import stats as rstats

KPI = rstats.KpiTarget("Emergency attendance", ("emergency",), 0.9)
XSS = "<script>window.__xss=1</script>"


def hour_table() -> pd.DataFrame:
    """Force-wide rows: emergency pct = 4 x hour (0..92), priority 50 flat; a district row and Totals to ignore."""
    rows = []
    for h in range(24):
        for grade, pct in (("emergency", 4.0 * h), ("priority", 50.0)):
            rows.append(("all", "all", grade, f"{h:02d}", pct, pct - 2, pct + 2))
        rows.append(("all", "all", "all", f"{h:02d}", 60.0, 58.0, 62.0))
        rows.append(("urban", "Basildon", "emergency", f"{h:02d}", 10.0, 5.0, 15.0))
    rows.append(("all", "all", "emergency", "Total", 46.0, 45.0, 47.0))
    t = pd.DataFrame(
        rows, columns=["urban_rural", "district", "grade", "hour", "pct_met", "pct_met_low", "pct_met_high"]
    )
    t["met"], t["not_met"], t["replications"] = 1.0, 1.0, 3
    return t


def causes_table() -> pd.DataFrame:
    """Misses per replication: by grade (district all) and by district (grade all), plus detail rows."""
    rows = [
        ("all", "emergency", "travel", 4.0),
        ("all", "emergency", "queue", 2.0),
        ("all", "priority", "queue", 6.0),
        ("all", "priority", "delay", 1.0),
        ("all", "all", "queue", 8.0),
        ("Basildon", "all", "travel", 3.0),
        ("Basildon", "all", "queue", 1.0),
        (XSS, "all", "queue", 7.0),
        (XSS, "all", "distance", 2.0),
        ("Basildon", "emergency", "travel", 3.0),
        (XSS, "priority", "queue", 6.0),
    ]
    t = pd.DataFrame(rows, columns=["district", "grade", "cause", "missed"])
    t["share_of_misses"], t["replications"] = 0.5, 3
    return t


def _path_points(svg: str, gid: str) -> np.ndarray:
    """Vertices of the first path inside the SVG group with id `gid`."""
    m = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]+)"', svg)
    assert m, gid
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", m.group(1))]
    return np.asarray(nums).reshape(-1, 2)


def test_hour_chart_draws_each_grade_band_and_kpi():
    svg = charts.hour_chart(hour_table(), [KPI])
    assert svg.startswith("<svg") and "<script" not in svg
    assert svg.count('id="hour-line-') == 2 and svg.count('id="hour-band-') == 2 and svg.count('id="hour-kpi-') == 1
    # the emergency line has 24 points whose heights are linear in the hand-made % (4 x hour)
    pts = _path_points(svg, "hour-line-0")
    assert len(pts) == 24
    slope, intercept = np.polyfit(4.0 * np.arange(24), pts[:, 1], 1)
    assert slope < 0 and np.allclose(pts[:, 1], slope * 4.0 * np.arange(24) + intercept, atol=0.05)
    # priority is flat at 50%: every vertex at the same height, halfway between 0% and 100% of emergency's scale
    flat = _path_points(svg, "hour-line-1")[:, 1]
    assert np.ptp(flat) < 1e-6 and flat[0] == pytest.approx(slope * 50 + intercept, abs=0.05)
    assert charts.hour_chart(hour_table().query("hour == 'Total'"), [KPI]) is None


def test_causes_chart_stacks_bars_in_proportion():
    svg = charts.causes_chart(causes_table())
    assert "<script" not in svg and "window.__xss" not in svg  # names are drawn as paths
    # by grade: 2 grades x each cause present there; by district: 2 districts x causes present there
    assert len(re.findall(r'id="cause-grade-(travel|queue|delay)-\d"', svg)) == 2 * 3
    assert len(re.findall(r'id="cause-district-(travel|queue|distance)-\d"', svg)) == 2 * 3

    def width(gid: str) -> float:
        return float(np.ptp(_path_points(svg, gid)[:, 0]))

    # emergency: travel 4, queue 2; priority: queue 6 (rows in sorted order: emergency 0, priority 1)
    assert width("cause-grade-travel-0") / width("cause-grade-queue-0") == pytest.approx(2.0, rel=1e-3)
    assert width("cause-grade-queue-1") / width("cause-grade-queue-0") == pytest.approx(3.0, rel=1e-3)
    assert width("cause-grade-travel-1") == pytest.approx(0.0, abs=1e-6)
    assert charts.causes_chart(causes_table().assign(missed=0.0)) is None


def test_report_pages_carry_the_simulation_sections():
    tables = {"compliance_by_hour": hour_table(), "causes": causes_table()}
    page = html_report.render_simulation_html(
        {"policy": "essex-2022", "replications": 3, "network": {"standin": True, "label": XSS}},
        tables,
        appendix=["<p>appendix</p>"],
    )
    assert 'data-chart="sim-hour"' in page and 'data-chart="sim-causes"' in page
    assert XSS not in page and html_report.e(XSS) in page and "<p>appendix</p>" in page
    # the district table: Basildon travel 3, queue 1
    assert re.search(r"<td>Basildon</td><td>3\.0</td><td>1\.0</td>", page)
    assert html_report.simulation_sections(None, [KPI]) == []


def test_board_pack_and_gis_tables():
    t = board_pack.simulation_tables({"compliance_by_hour": hour_table(), "causes": causes_table()})
    by_hour = t["simulation_by_hour"]
    assert len(by_hour) == 48 and set(by_hour["grade"]) == {"emergency", "priority"}
    assert "urban_rural" not in by_hour and "Total" not in set(by_hour["hour"])
    assert len(t["simulation_causes"]) == 2 and t["simulation_causes"]["missed"].sum() == 9.0
    districts = gpd.GeoDataFrame(
        {"district": ["Basildon", XSS, "Maldon"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs=4326,
    )
    layer = gis.causes_by_district(causes_table(), districts)
    assert layer["missed_total"].tolist() == [4.0, 9.0, 0.0]
    assert layer["main_cause"].tolist() == ["travel", "queue", "none"]
    assert layer["missed_distance"].tolist() == [0.0, 2.0, 0.0]


@pytest.fixture
def lsoas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"lsoa_code": ["A", "B", "C", "D"], "lsoa_name": ["Alpha", "Beta", XSS, "Delta"], "district": ["d1"] * 4},
        geometry=[
            box(0.10, 51.70, 0.11, 51.71),
            box(0.2, 51.7, 0.21, 51.71),
            box(0.3, 51.7, 0.31, 51.71),
            box(0.4, 51.7, 0.41, 51.71),
        ],
        crs=4326,
    )


def sim_incidents() -> pd.DataFrame:
    rows = (
        # A: 6 judged, queue 2, travel 1 -> queue, 2/3 of the misses
        [("A", "False", "queue")] * 2
        + [("A", "False", "travel")]
        + [("A", "True", "")] * 3
        # B: 4 judged (+ 2 without a target) -> left out
        + [("B", "False", "delay")] * 4
        + [("B", "", "")] * 2
        # C: 5 judged, no miss -> drawn, 'none'
        + [("C", "True", "")] * 5
        # D: tie travel 3 / distance 3 -> travel (the order of palette.CAUSE_ORDER)
        + [("D", "False", "distance")] * 3
        + [("D", "False", "travel")] * 3
        # an LSOA not in the layer
        + [("Z", "False", "queue")] * 9
    )
    return pd.DataFrame(rows, columns=["lsoa_code", "met", "cause"])


def test_cause_cells_dominant_cause_and_suppression(lsoas):
    cells = map_causes.cause_cells(sim_incidents(), lsoas, min_count=5).set_index("lsoa_code")
    assert list(cells.index) == ["A", "C", "D"] and cells.attrs["suppressed"] == 1
    assert cells.loc["A", ["judged", "misses", "queue", "travel"]].tolist() == [6, 3, 2, 1]
    assert cells.loc["A", "dominant"] == "queue" and cells.loc["A", "dominant_share"] == pytest.approx(2 / 3)
    assert cells.loc["C", "dominant"] == "none" and np.isnan(cells.loc["C", "dominant_share"])
    assert cells.loc["D", "dominant"] == "travel" and cells.loc["D", "dominant_share"] == 0.5
    # B has 4 judged: drawn with a threshold of 4
    assert "B" in set(map_causes.cause_cells(sim_incidents(), lsoas, min_count=4)["lsoa_code"])
    with pytest.raises(MapError, match="lack columns"):
        map_causes.cause_cells(sim_incidents().drop(columns="cause"), lsoas)


def test_cause_layer_on_the_map(lsoas, tmp_path):
    cells = map_causes.cause_cells(sim_incidents(), lsoas, min_count=5)
    m = maps.compliance_map(districts=lsoas.dissolve("district").reset_index(), causes=cells, simplify_m=0.0)
    path = tmp_path / "map.html"
    maps.save_map(m, path, offline=True)
    page = path.read_text()
    assert "Cause of failure (simulated)" in page
    assert palette.CAUSE_COLOURS["queue"] in page and palette.CAUSE_COLOURS["travel"] in page
    assert "queue (67% of misses)" in page and "no miss" in page
    assert XSS not in page  # the LSOA name is escaped
    # B (suppressed) has no polygon of its own in the cause layer: its tooltip name never appears
    features = re.findall(r'"lsoa": "([^"]*)"', page)
    assert len(features) == 3 and {"Alpha", "Delta"} <= set(features) and "Beta" not in page
    assert "lt;script" in next(f for f in features if f not in ("Alpha", "Delta"))


def test_read_simulation_incidents(tmp_path):
    with pytest.raises(MapError, match="no incidents.csv"):
        map_causes.read_simulation_incidents(tmp_path)
    (tmp_path / "incidents.csv").write_text("lsoa_code,met\nA,True\n")
    with pytest.raises(MapError, match="lacks columns"):
        map_causes.read_simulation_incidents(tmp_path)
    sim_incidents().to_csv(tmp_path / "incidents.csv", index=False)
    table = map_causes.read_simulation_incidents(tmp_path)
    assert len(table) == len(sim_incidents()) and (table["met"] == "").sum() == 2


def test_cli_map_refuses_a_folder_without_simulated_incidents(tmp_path, data_dir):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    out = tmp_path / "map.html"
    args = ["map", "--simulation", str(tmp_path), "--out", str(out), "--data-dir", str(data_dir)]
    result = CliRunner().invoke(get_app(), args)
    assert result.exit_code == 2 and "no incidents.csv there" in result.output and not out.exists()

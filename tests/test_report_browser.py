"""report.html in headless Chromium: no console errors, no requests, every chart an <svg> with a size.

Needs Debian's chromium and chromedriver (/usr/bin); skipped, with the reason, only when they are absent.
"""

from __future__ import annotations

import pytest
from test_map_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, browser  # noqa: F401  (fixture)
from test_reporting import report_inputs

from geo_response.reporting import html_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="headless Chromium or chromedriver is not installed"
    ),
]


@pytest.mark.parametrize("observed", [True, False])
def test_report_in_chromium(browser, tmp_path, observed):  # noqa: F811
    from test_simulation_charts import causes_table, hour_table

    inputs = report_inputs(observed)
    if observed:  # the demo's page: compliance charts and the simulation's
        inputs["simulation"] = {"compliance_by_hour": hour_table(), "causes": causes_table()}
    path = html_report.write_report_html(tmp_path / "report.html", inputs.pop("long"), inputs.pop("summary"), **inputs)
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return window.__errors") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    charts = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.chart')).map(f => {"
        "  const s = f.querySelector(':scope > svg'); if (!s) return [f.dataset.chart, 0, 0];"
        "  const r = s.getBoundingClientRect(); return [f.dataset.chart, r.width, r.height]; })"
    )
    assert len(charts) >= 8
    assert ({"sim-hour", "sim-causes"} <= {c[0] for c in charts}) == observed
    assert all(w > 50 and h > 50 for _, w, h in charts), charts
    assert browser.execute_script("return window.__xss") == 0
    assert "<script>window.__xss=1</script>" in browser.find_element("tag name", "body").text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.set_window_size(1200, 4000)
    assert browser.save_screenshot(str(ARTIFACTS / f"report_{'observed' if observed else 'modelled'}.png"))


def test_simulation_report_in_chromium(browser, tmp_path):  # noqa: F811
    from test_simulation_charts import XSS, causes_table, hour_table

    summary = {"policy": "essex-2022", "replications": 3, "network": {"standin": True, "label": XSS}}
    page = html_report.render_simulation_html(summary, {"compliance_by_hour": hour_table(), "causes": causes_table()})
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return window.__errors") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    charts = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.chart')).map(f => {"
        "  const s = f.querySelector(':scope > svg'); if (!s) return [f.dataset.chart, 0, 0];"
        "  const r = s.getBoundingClientRect(); return [f.dataset.chart, r.width, r.height]; })"
    )
    assert [c[0] for c in charts] == ["sim-hour", "sim-causes"]
    assert all(w > 50 and h > 50 for _, w, h in charts), charts
    # every stacked bar of the cause chart is in the page (2 grades x 3 causes, 2 districts x 3 causes)
    assert browser.execute_script("return document.querySelectorAll('[id^=cause-]').length") == 12
    assert browser.execute_script("return window.__xss") == 0
    ARTIFACTS.mkdir(exist_ok=True)
    browser.set_window_size(1200, 1600)
    assert browser.save_screenshot(str(ARTIFACTS / "report_simulation.png"))

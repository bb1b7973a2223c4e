"""A real browser opens the offline map: no JavaScript errors, no network requests, the layers render,
tooltips show hostile strings as text, and a screenshot is kept in tests/artifacts/ (git-ignored).

Needs Debian's chromium and chromedriver (/usr/bin); selenium is given the driver path, so nothing is
downloaded. Skipped, with the reason, only when they are absent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box
from test_maps import XSS, make_bases, make_districts, make_incidents, make_lsoas

from geo_response import hotspots, maps

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="headless Chromium (/usr/bin/chromium) or chromedriver (/usr/bin/chromedriver) "
        "is not installed: apt-get install chromium chromium-driver",
    ),
]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    profile_dir = tempfile.mkdtemp(prefix="gr-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile_dir}",
        "--window-size=1200,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # collect uncaught errors from the very start of every page
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": (
                "window.__errors = []; window.__xss = 0;"
                "window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });"
            )
        },
    )
    yield driver
    driver.quit()
    shutil.rmtree(profile_dir, ignore_errors=True)


def _settled(element, seconds: float = 10.0) -> None:
    """Wait until `element` stops moving (its position and size unchanged over 0.2 s)."""
    import time

    last, end = None, time.monotonic() + seconds
    while time.monotonic() < end:
        rect = element.rect
        if rect == last:
            return
        last = rect
        time.sleep(0.2)
    raise AssertionError(f"the element kept moving for {seconds} s")


def build_offline_map(path: Path) -> dict:
    """A map with every layer type; returns the number of features each layer draws."""
    inc = make_incidents()
    inc["category"] = "<img src=x onerror=window.__xss=1>"
    bases = make_bases()
    bases.loc[0, "name"] = "<img src=y onerror=window.__xss=2>"
    agg = hotspots.hex_aggregate(inc[inc["attended"]])
    hot = hotspots.find_hotspots(agg, min_count=1, alpha=0.9)
    iso = gpd.GeoDataFrame(
        {
            "base": ["all", "all"],
            "threshold_min": [10, 20],
            "profile": ["blue_light"] * 2,
            "area_km2": [100.0, 400.0],
            "population": [1000, 5000],
        },
        geometry=[box(0.4, 51.7, 0.5, 51.78), box(0.35, 51.66, 0.6, 51.81)],
        crs=4326,
    )
    m = maps.compliance_map(
        inc,
        bases=bases,
        isochrones=iso,
        hotspots=hot,
        lsoas=make_lsoas(),
        districts=make_districts(),
        corridor=LineString([(0.36, 51.66), (0.85, 51.80)]),
        corridor_name="A12 corridor",
        corridor_buffer_m=500,
        show_points=True,
        network_label=maps.STANDIN_LABEL,
        policy_label="Essex Police attendance policy (2022)",
        attribution="Contains OS data © Crown copyright; data.police.uk",
        min_cell_count=1,
    )
    maps.save_map(m, path, offline=True)
    return {
        "shading": 2,
        "districts": 2,
        "choropleth": len(agg),
        "corridor": 2,
        "hotspots": len(hot),
        "bases": 2,
        "points": len(inc),
        "isochrones": 2,
    }


def test_offline_map_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    path = tmp_path / "offline_map.html"
    counts = build_offline_map(path)
    browser.get(path.resolve().as_uri())
    browser.implicitly_wait(2)
    assert browser.execute_script("return typeof L === 'object' && L.version") == "1.9.3"
    assert browser.execute_script("return window.__errors") == []
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    # a self-contained file: the page fetched nothing (inlined images are data: URIs, not requests)
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0

    labels = browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    overlays = [e.text.strip() for e in labels]
    assert overlays == [
        "Urban / rural (ONS)",
        "District boundaries",
        "Compliance: % met by hexagon",
        "Isochrones: blue_light",
        "A12 corridor",
        "Failure hotspots",
        "Bases",
        "Incidents (points)",
    ]
    features = browser.find_elements(By.CSS_SELECTOR, "svg path.leaflet-interactive")
    visible = sum(v for k, v in counts.items() if k != "isochrones")
    assert len(features) == visible  # isochrones start hidden

    assert browser.find_element(By.CSS_SELECTOR, ".leaflet-control-scale-line").text.strip() != ""
    attribution = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    assert "data.police.uk" in attribution and "synthetic stand-in network" in attribution
    legend = browser.find_element(By.CSS_SELECTOR, ".gr-panel").text
    assert "Target: Emergency (urban) 15 min; Emergency (rural) 20 min" in legend

    # hover the first incident point (drawn last): the hostile category shows as text. Wait for the map's
    # zoom animation to end first: mid-animation the point is still moving and the hover lands beside it
    _settled(features[-1])
    ActionChains(browser).move_to_element(features[-1]).perform()
    # the tooltip opens on the next animation frame: wait for its text (a loaded machine is slow)
    from selenium.webdriver.support.ui import WebDriverWait

    # (the pointer crosses the polygons on its way, whose tooltips may open first: wait for the point's)
    tooltip = WebDriverWait(browser, 10).until(
        lambda b: next((e for e in b.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip") if "onerror" in e.text), None)
    )
    assert "<img src=x onerror=window.__xss=1>" in tooltip.text
    assert tooltip.find_elements(By.TAG_NAME, "img") == []
    base_marker = features[-1 - counts["points"]]  # the last base drawn before the points
    ActionChains(browser).move_to_element(base_marker).perform()
    assert browser.execute_script("return window.__xss") == 0
    assert browser.execute_script("return window.__errors") == []

    # toggle the isochrones on in the layer control: their two polygons appear
    checkbox = browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")[3]
    checkbox.click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg path.leaflet-interactive")) == visible + 2

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "offline_map.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert XSS not in path.read_text()

"""Maps people can read: title / period / policy / stamp, main roads, place labels by zoom, isochrone bands,
an opt-in attributed basemap; in headless Chromium, offline."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Point, box
from test_map_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401  (fixture)
from test_maps import XSS, make_districts, make_incidents

from geo_response import map_layers, maps
from geo_response.errors import MapError


def readable_map(**kwargs):
    roads = gpd.GeoDataFrame(
        {"highway": ["trunk", "primary"], "ref": ["A12", XSS], "name": ["", "Main Rd"]},
        geometry=[LineString([(0.36, 51.66), (0.85, 51.80)]), LineString([(0.45, 51.70), (0.70, 51.75)])],
        crs=4326,
    )
    places = gpd.GeoDataFrame(
        {"name": ["Chelmsford", "Danbury", XSS], "place": ["city", "village", "hamlet"]},
        geometry=[Point(0.4822, 51.7393), Point(0.5766, 51.7167), Point(0.62, 51.70)],
        crs=4326,
    )
    iso = gpd.GeoDataFrame(
        {"base": ["all"] * 4, "threshold_min": [5, 10, 15, 20], "profile": ["blue_light"] * 4},
        geometry=[
            box(0.46, 51.72, 0.50, 51.75),
            box(0.43, 51.70, 0.53, 51.77),
            box(0.40, 51.68, 0.57, 51.79),
            box(0.36, 51.66, 0.62, 51.81),
        ],
        crs=4326,
    )
    return maps.compliance_map(
        make_incidents(),
        districts=make_districts(),
        roads=roads,
        places=places,
        isochrones=iso,
        show_isochrones=True,
        title=f"Emergency compliance {XSS}",
        period="2018-01 to 2018-07",
        outcomes="modelled",
        policy_label="Essex Police attendance policy (2022)",
        min_cell_count=1,
        **kwargs,
    )


def test_title_roads_places_bands_in_page(tmp_path):
    page = maps.save_map(readable_map(), tmp_path / "m.html").read_text()
    assert XSS not in page
    assert "MODELLED" in page and "2018-01 to 2018-07" in page and "gr-title" in page
    assert '"Main roads"' in page and '"Place names"' in page
    for band in ("0-5 min", "5-10 min", "10-15 min", "15-20 min"):
        assert band in page
    assert "basemaps.cartocdn.com" not in page and "tile.openstreetmap.org" not in page  # no basemap unless asked


def test_basemap_is_opt_in_and_attributed(tmp_path):
    page = maps.save_map(readable_map(basemap="carto"), tmp_path / "m.html").read_text()
    assert "basemaps.cartocdn.com" in page and "CARTO" in page and "OpenStreetMap contributors" in page
    assert maps.external_resources(page) == []  # tiles are images loaded by Leaflet, no CDN code
    with pytest.raises(MapError, match="basemap"):
        readable_map(basemap="google")


def test_isochrone_bands_do_not_overlap():
    iso = gpd.GeoDataFrame(
        {"threshold_min": [5, 10], "profile": ["normal", "normal"]},
        geometry=[box(0, 0, 1000, 1000), box(-1000, -1000, 2000, 2000)],
        crs=27700,
    )
    bands = map_layers.isochrone_bands(iso, "EPSG:27700").to_crs(27700)
    assert list(bands["band"]) == ["5-10 min", "0-5 min"]
    assert bands.geometry.iloc[0].area == pytest.approx(9e6 - 1e6, rel=1e-3)
    assert bands.geometry.iloc[0].intersection(bands.geometry.iloc[1]).area < 1
    # a difference that leaves a line sliver still gives a polygon band (no GeometryCollection for folium)
    touching = gpd.GeoDataFrame(
        {"threshold_min": [5, 10], "profile": ["normal", "normal"]},
        geometry=[box(0, 0, 1000, 1000), box(0, 0, 1000, 2000)],
        crs=27700,
    )
    assert set(map_layers.isochrone_bands(touching, "EPSG:27700", closing_m=0).geom_type) <= {"Polygon", "MultiPolygon"}
    assert (
        map_layers._polygonal(shapely.GeometryCollection([box(0, 0, 1, 1), LineString([(2, 2), (3, 3)])])).geom_type
        == "MultiPolygon"
    )


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="headless Chromium not installed")
def test_readable_map_in_chromium(browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    path = maps.save_map(readable_map(), tmp_path / "readable.html")
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return window.__errors") == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    title = browser.find_element(By.CSS_SELECTOR, ".gr-title").text
    assert "MODELLED" in title and "Period: 2018-01 to 2018-07" in title and XSS in title
    overlays = [
        e.text.strip() for e in browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    ]
    assert "Main roads" in overlays and "Place names" in overlays
    legend = browser.find_element(By.CSS_SELECTOR, ".gr-panel").text
    assert "15-20 min" in legend

    def labels():
        return sorted(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".gr-place"))

    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.__m = Object.values(window).find(v => v instanceof L.Map);")
    # the opening fitBounds animates; zooming is ignored until it ends (slow on a loaded machine)
    WebDriverWait(browser, 15).until(lambda b: b.execute_script("return !window.__m._animatingZoom"))
    browser.execute_script("window.__m.setView([51.72, 0.55], 9, {animate: false});")
    assert labels() == ["Chelmsford"]  # villages and hamlets wait for a closer zoom
    browser.execute_script("window.__m.setView([51.72, 0.55], 13, {animate: false});")
    assert labels() == sorted(["Chelmsford", "Danbury", XSS])
    assert browser.find_elements(By.CSS_SELECTOR, ".gr-place img") == []
    assert browser.execute_script("return window.__xss") == 0


def test_inline_notebook_map_is_offline_iframe():
    view = maps.inline(readable_map(), height=500)
    out = view._repr_html_()
    assert out.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in out and "height:500px" in out
    assert "<script" not in out  # the page is an escaped attribute, not markup of the notebook
    assert "L.version" in view.page or "leaflet" in view.page.lower()
    assert maps.external_resources(view.page) == []


def test_main_roads_from_a_network():
    import networkx as nx

    from geo_response.roads.roadnet import RoadNetwork

    G = nx.MultiDiGraph()
    G.add_node(1, x=0.4, y=51.7)
    G.add_node(2, x=0.5, y=51.7)
    G.add_node(3, x=0.5, y=51.8)
    G.add_edge(1, 2, highway="trunk", ref="A12", name=["A", "B"])
    G.add_edge(2, 1, highway="trunk", ref="A12")
    G.add_edge(2, 3, highway="residential")
    roads = map_layers.main_roads(RoadNetwork.from_networkx(G))
    assert list(roads["road_class"]) == ["trunk_motorway"] and roads["ref"].iloc[0] == "A12"
    assert roads["name"].iloc[0] == "A;B" and roads.crs.to_epsg() == 4326

"""Map layers that make a compliance map readable: title stamp, main roads, place labels, isochrone bands,
and an optional attributed basemap. Used by :func:`geo_response.maps.compliance_map`.

Offline first (issue 11 item 9): saved maps inline Leaflet from the installed XStatic-Leaflet package and
load no script, stylesheet or font from a CDN, so there is nothing for Subresource Integrity to protect and
the page works on a police network with no internet. Main roads and place names come from data the tool
already has (the road network and OSM ``place`` nodes / ONS built-up areas), so an offline map can still be
read when zoomed in. A tile basemap (CARTO Positron or OpenStreetMap, attributed) is opt-in: tiles are
images, so even then no third-party code runs in the page.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import MacroElement
from folium.template import Template

from geo_response.errors import MapError
from geo_response.reporting import palette

BASEMAPS = {
    "carto": (
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        "&copy; OpenStreetMap contributors &copy; CARTO",
    ),
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "&copy; OpenStreetMap contributors"),
}
ROAD_STYLE = {"motorway": (4.0, "#3d3d3d"), "trunk": (3.4, "#4d4d4d"), "primary": (2.4, "#6b6b6b")}
#: Smallest zoom at which each kind of place is labelled.
PLACE_MIN_ZOOM = {"city": 0, "town": 0, "built-up area": 0, "village": 11, "hamlet": 13}
ISOCHRONE_CLOSING_M = 250.0
SIMPLIFY_BEFORE_CLOSING_M = 25.0

TITLE_CSS = """<style>
.gr-title { background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 Arial, Helvetica, sans-serif; max-width: 420px; }
.gr-title h3 { margin: 0 0 3px; font-size: 15px; }
.gr-stamp { display: inline-block; border: 2px solid #222; padding: 0 5px; font-weight: bold;
  letter-spacing: 0.05em; margin-right: 6px; }
.gr-place { background: none; border: none; font: bold 11px Arial, Helvetica, sans-serif; color: #222;
  white-space: nowrap; text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff; }
.gr-place-town, .gr-place-city, .gr-place-built-up-area { font-size: 13px; }
.gr-place-hamlet { font-weight: normal; font-size: 10px; }
</style>"""


def title_html(title: str, period: str | None, policy_label: str | None, outcomes: str | None, escape) -> str:
    """Inner HTML of the title panel: title, a MODELLED / OBSERVED stamp, period and policy (escaped)."""
    parts = [f"<h3>{escape(title)}</h3>"]
    line = []
    if outcomes:
        line.append(f'<span class="gr-stamp">{escape(str(outcomes).upper())}</span>')
    if period:
        line.append(f"Period: {escape(period)}")
    if line:
        parts.append("<div>" + " ".join(line) + "</div>")
    if policy_label:
        parts.append(f"<div>Policy: {escape(policy_label)}</div>")
    return "".join(parts)


class _PlaceLabels(MacroElement):
    """Text labels (Leaflet divIcons filled with ``textContent``, never HTML) added to the parent layer;
    villages and hamlets appear only when zoomed in.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var group = {{ this._parent.get_name() }};
            var places = {{ this.places|tojson }};
            var markers = places.map(function(p) {
                var span = document.createElement('span');
                span.textContent = p[2];
                var icon = L.divIcon({className: 'gr-place gr-place-' + p[3], html: span, iconSize: null});
                return [L.marker([p[0], p[1]], {icon: icon, interactive: false, keyboard: false}), p[4]];
            });
            function update() {
                var map = group._map; if (!map) { return; }
                var z = map.getZoom();
                markers.forEach(function(m) {
                    if (z >= m[1]) { group.addLayer(m[0]); } else { group.removeLayer(m[0]); }
                });
            }
            var hooked = false;
            function hook() {
                if (!hooked && group._map) { group._map.on('zoomend', update); hooked = true; }
                update();
            }
            group.on('add', hook);
            if (group._map) { hook(); }
        })();
        {% endmacro %}
    """)

    def __init__(self, places: list[list]):
        super().__init__()
        self._name = "PlaceLabels"
        self.places = places


def place_labels(m: folium.Map, places: gpd.GeoDataFrame, name: str = "Place names") -> None:
    """A layer of place names (``name``, ``place`` kind, points); small places only when zoomed in."""
    pts = places[places.geometry.notna() & (places.geom_type == "Point")].to_crs(4326)
    kinds = pts["place"].astype(str) if "place" in pts.columns else pd.Series("town", index=pts.index)
    rows = [
        [round(float(g.y), 5), round(float(g.x), 5), str(n), k.replace(" ", "-"), PLACE_MIN_ZOOM.get(k, 12)]
        for g, n, k in zip(pts.geometry, pts["name"], kinds, strict=True)
        if isinstance(n, str) and n
    ]
    group = folium.FeatureGroup(name=name, show=True)
    _PlaceLabels(rows).add_to(group)
    group.add_to(m)


def road_layer(
    roads: gpd.GeoDataFrame, escape, simplify_m: float = 20.0, projected_crs: str = "EPSG:27700"
) -> tuple[dict, callable, dict]:
    """GeoJSON, style and tooltip fields of main roads (lines; ``highway``/``road_class``, ``ref``, ``name``)."""
    lines = roads[roads.geometry.notna() & ~roads.geometry.is_empty].to_crs(projected_crs)
    lines = lines.set_geometry(lines.geometry.simplify(simplify_m)).to_crs(4326)
    cls_col = "road_class" if "road_class" in lines.columns else "highway" if "highway" in lines.columns else None
    classes = [str(c).split("_")[0] if cls_col else "primary" for c in (lines[cls_col] if cls_col else lines.index)]

    def col(c: str) -> list[str]:
        return [escape(v) for v in lines[c]] if c in lines.columns else [""] * len(lines)

    features = []
    for geom, ref, nm, cls in zip(lines.geometry, col("ref"), col("name"), classes, strict=True):
        coords = geom.__geo_interface__
        features.append(
            {
                "type": "Feature",
                "geometry": _round(coords),
                "properties": {"ref": ref, "name": nm, "kind": cls if cls in ROAD_STYLE else "primary"},
            }
        )

    def style(feature: dict) -> dict:
        weight, colour = ROAD_STYLE[feature["properties"]["kind"]]
        return {"color": colour, "weight": weight, "opacity": 0.85}

    return {"type": "FeatureCollection", "features": features}, style, {"ref": "Road", "name": "Name"}


def _round(geo: dict, decimals: int = 5) -> dict:
    def r(c):
        return [r(x) for x in c] if isinstance(c[0], list | tuple) else [round(float(v), decimals) for v in c]

    return {"type": geo["type"], "coordinates": r(geo["coordinates"])}


def isochrone_bands(
    iso: gpd.GeoDataFrame, projected_crs: str = "EPSG:27700", closing_m: float = ISOCHRONE_CLOSING_M
) -> gpd.GeoDataFrame:
    """Non-overlapping bands (0-5, 5-10, ... minutes) per profile from nested isochrones.

    Each isochrone is first *closed* (buffered out by `closing_m` then back in) so the reached-road
    outline reads as an area rather than spaghetti; each band is its threshold's area minus the next
    smaller one's. Returns ``profile, threshold_min, band, colour, geometry`` (EPSG:4326), largest first.
    """
    rows = []
    for profile, part in iso.to_crs(projected_crs).groupby("profile", sort=True):
        merged = part.dissolve(by="threshold_min").sort_index()
        thresholds = [float(t) for t in merged.index]
        colours = palette.sequential_colours(len(thresholds))
        previous, lower = None, 0.0
        for t, colour in zip(thresholds, colours, strict=True):
            # simplified first (the map draws at ~30 m anyway): closing the full-detail outline of a county-wide
            # isochrone takes seconds per buffer
            outline = shapely.simplify(merged.loc[t, "geometry"], SIMPLIFY_BEFORE_CLOSING_M)
            shape = outline.buffer(closing_m, quad_segs=4).buffer(-closing_m, quad_segs=4)
            band = _polygonal(shape if previous is None else shape.difference(previous))
            rows.append(
                {
                    "profile": str(profile),
                    "threshold_min": t,
                    "band": f"{lower:g}-{t:g} min",
                    "colour": colour,
                    "geometry": band,
                }
            )
            previous = shape if previous is None else previous.union(shape)
            lower = t
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=projected_crs).to_crs(4326)
    return out.sort_values(["profile", "threshold_min"], ascending=[True, False]).reset_index(drop=True)


def _polygonal(geom):
    """The polygon parts of a geometry as one (Multi)Polygon: differences can leave slivers of lines."""
    from shapely.geometry import MultiPolygon, Polygon

    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        p
        for g in shapely.get_parts(geom)
        for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])
        if isinstance(p, Polygon) and not p.is_empty
    ]
    return MultiPolygon(parts) if parts else Polygon()


def band_legend(bands: gpd.GeoDataFrame, escape) -> str:
    """Legend rows for isochrone bands (one per band of the first profile)."""
    if bands.empty:
        return ""
    first = bands[bands["profile"] == bands["profile"].iloc[0]].sort_values("threshold_min")
    rows = "".join(
        f'<div><span class="gr-sw" style="background:{c};opacity:0.7"></span>{escape(b)}</div>'
        for b, c in zip(first["band"], first["colour"], strict=True)
    )
    return f'<div class="gr-note">Reached within (isochrones, {escape(first["profile"].iloc[0])}):</div>{rows}'


def basemap(m: folium.Map, name: str) -> None:
    """Add an attributed tile basemap (``'carto'`` or ``'osm'``); tiles load only with a network."""
    if name not in BASEMAPS:
        raise MapError(f"basemap must be one of {sorted(BASEMAPS)}, got {name!r}")
    url, attribution = BASEMAPS[name]
    folium.TileLayer(url, attr=attribution, name=f"Basemap ({name})", max_zoom=19, control=True).add_to(m)


def main_roads(net, classes: tuple[str, ...] = ("trunk_motorway", "primary")) -> gpd.GeoDataFrame:
    """Main road lines of a road network (each two-way road once) for the map.

    Parameters
    ----------
    net : RoadNetwork
        The drive network (:func:`geo_response.roads.network.load_network`).
    classes : tuple of str
        Road classes kept (:func:`geo_response.corridor.road_class`).

    Returns
    -------
    GeoDataFrame
        ``road_class, ref, name, geometry`` in EPSG:4326.
    """
    from geo_response.corridor import road_class

    edges = net.edges
    highway = (
        edges["highway"].astype(object).to_numpy()
        if "highway" in edges.columns
        else pd.Series(None, index=edges.index).to_numpy()
    )
    klass = {h: road_class(str(h).split(";")) for h in pd.unique(highway)}
    cls = pd.Series(highway).map(klass).to_numpy()
    keep = pd.Series(cls).isin(classes).to_numpy().copy()
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    # each road once: of u->v and v->u keep the one whose u is smaller (one-way roads always kept)
    pair = pd.MultiIndex.from_arrays([u, v])
    reverse = pd.MultiIndex.from_arrays([v, u])
    has_reverse = reverse.isin(pair)
    keep &= ~has_reverse | (u < v)
    rows = np.flatnonzero(keep)

    def text(col: str) -> list[str]:
        return [] if col not in edges.columns else edges[col].astype(object).iloc[rows].fillna("").astype(str).tolist()

    return gpd.GeoDataFrame(
        {"road_class": cls[rows], "ref": text("ref") or [""] * len(rows), "name": text("name") or [""] * len(rows)},
        geometry=net.edge_geometries(rows),
        crs=4326,
    )


def pct_colours(n: int) -> tuple[str, ...]:
    """The choropleth colours: `n` cividis stops, dark (low % met) to light (high), shared with the charts."""
    return tuple(palette.sequential_colours(n))


__all__ = [
    "BASEMAPS",
    "TITLE_CSS",
    "band_legend",
    "basemap",
    "isochrone_bands",
    "main_roads",
    "pct_colours",
    "place_labels",
    "road_layer",
    "title_html",
]

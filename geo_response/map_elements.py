"""Building blocks of the Folium maps: escaping, geometry preparation, GeoJSON layers, HTML panels.

Used by :mod:`geo_response.maps` (which re-exports :func:`escape` and :func:`prepare_geometries`).
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import MacroElement
from folium.template import Template

from geo_response.errors import MapError

COORD_DECIMALS = 5


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------
def escape(value: object) -> str:
    """HTML-escape any value for display (missing values become an empty string)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _pct(value: float, decimals: int = 1) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.{decimals}f}%"


def _num(value: float, decimals: int = 1) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:,.{decimals}f}"


def _minutes(value: float) -> str:
    if not np.isfinite(value):
        return ""
    if value >= 120 and value % 60 == 0:
        return f"{int(value // 60)} h"
    return f"{value:g} min"


def prepare_geometries(
    gdf: gpd.GeoDataFrame, simplify_m: float = 0.0, projected_crs: str = "EPSG:27700", decimals: int = COORD_DECIMALS
) -> gpd.GeoDataFrame:
    """Simplify (in the projected CRS, topology preserved) and round coordinates, in EPSG:4326."""
    if gdf.crs is None:
        raise MapError("a layer has no CRS; set it (EPSG:4326 for lon/lat) before mapping")
    out = gdf.to_crs(4326)
    if simplify_m > 0:
        projected = out.geometry.to_crs(projected_crs).simplify(simplify_m, preserve_topology=True)
        out = out.set_geometry(projected.to_crs(4326))
    rounded = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    out = out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=4326))
    return out[~(out.geometry.isna() | out.geometry.is_empty)]


def _feature_collection(gdf: gpd.GeoDataFrame, properties: pd.DataFrame) -> dict:
    """A GeoJSON FeatureCollection with only the given (already escaped / formatted) properties."""
    features = []
    for i, (geom, props) in enumerate(zip(gdf.geometry, properties.to_dict("records"), strict=True)):
        features.append(
            {"type": "Feature", "id": str(i), "geometry": shapely.geometry.mapping(geom), "properties": props}
        )
    return {"type": "FeatureCollection", "features": features}


def _tooltip(fields: dict[str, str]) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(
        fields=list(fields), aliases=[escape(a) for a in fields.values()], sticky=True, style="font-size: 12px;"
    )


def _layer(
    fc: dict,
    name: str,
    style,
    tooltip_fields: dict[str, str] | None,
    show: bool = True,
    marker: folium.CircleMarker | None = None,
    **options,
) -> folium.GeoJson:
    return folium.GeoJson(
        fc,
        name=escape(name),
        style_function=style,
        show=show,
        marker=marker,
        tooltip=_tooltip(tooltip_fields) if tooltip_fields and fc["features"] else None,
        **options,
    )


class _HtmlControl(MacroElement):
    """A Leaflet control whose inner HTML is built (and escaped) in Python and passed as JSON."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function() {
                var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
                div.innerHTML = {{ this.inner_html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, inner_html: str, position: str = "bottomright", css_class: str = "gr-panel"):
        super().__init__()
        self._name = "HtmlControl"
        self.inner_html = inner_html
        self.position = position
        self.css_class = css_class


class _Attribution(MacroElement):
    """Add an (escaped) attribution to the map's attribution control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = escape(text)


PANEL_CSS = """<style>
.leaflet-container { background: #f2efe9; }
.gr-panel { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 Arial, Helvetica, sans-serif; max-width: 320px; }
.gr-panel h4 { margin: 0 0 4px; font-size: 13px; }
.gr-panel .gr-sw { display: inline-block; width: 14px; height: 10px; margin-right: 5px;
  border: 1px solid #777; vertical-align: middle; }
.gr-panel .gr-note { color: #555; font-size: 11px; }
.leaflet-bottom.leaflet-right .leaflet-control-attribution { max-width: 45vw; white-space: normal; }
</style>"""

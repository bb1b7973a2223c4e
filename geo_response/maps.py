"""Folium maps of attendance-target compliance: aggregated, escaped, and able to work offline.

:func:`compliance_map` builds a :class:`folium.Map` from whatever layers it is given (all optional):
urban/rural shading, district boundaries, a compliance choropleth (% met by H3 hexagon or LSOA),
isochrones per speed profile, the A12 corridor, failure hotspots, bases and, only when asked,
individual incident points. :func:`save_map` writes it; with ``offline=True`` Leaflet's JS and CSS are
inlined from the PyPI package XStatic-Leaflet and folium's other CDN resources (jQuery, Bootstrap,
awesome-markers, Font Awesome) are dropped, so the file opens on a network with no internet.

Safety
    Every string that comes from input data is HTML-escaped (:func:`html.escape`) before it reaches
    the map: tooltips are GeoJSON properties that Leaflet puts into ``innerHTML``, so an escaped
    ``<img src=x onerror=alert(1)>`` shows as text. No data string is ever pasted into JavaScript source
    (folium's plain ``Tooltip`` does that, so it is not used); properties travel as JSON.
Privacy
    Incidents are drawn as aggregates; points only with ``show_points=True``. Cells with fewer than
    ``min_cell_count`` attended incidents are left out (drawn grey without figures only when points are
    shown anyway), and hexagons finer than H3 resolution 9 need ``show_points``.
Readability
    A title panel (title, period, policy, MODELLED / OBSERVED stamp), the cividis palette shared with the
    report charts (colour-blind safe), isochrones as 0-5 / 5-10 / ... minute bands with a legend, and main
    roads and place names drawn from the tool's own data so the map reads offline
    (:mod:`geo_response.map_layers`). ``basemap='carto'`` or ``'osm'`` adds attributed tiles (images only).
Offline by default (issue 11 item 9)
    :func:`save_map` inlines Leaflet and drops folium's CDN scripts and stylesheets, so no third-party code
    is loaded and Subresource Integrity has nothing to protect; ``offline=False`` keeps folium's CDN links
    and is not recommended. :func:`inline` shows the offline page in a notebook (sandboxed iframe).
Size
    Polygons are simplified in EPSG:27700 (``simplify_m``) and coordinates rounded to 5 decimal places
    (about 1 m).
"""

from __future__ import annotations

from collections.abc import Iterable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo_response import hotspots as hotspots_mod
from geo_response import map_causes, map_layers
from geo_response.config import Policy
from geo_response.errors import MapError
from geo_response.map_elements import (  # noqa: F401  (escape and prepare_geometries are public here too)
    COORD_DECIMALS,
    PANEL_CSS,
    _Attribution,
    _feature_collection,
    _HtmlControl,
    _layer,
    _minutes,
    _num,
    _pct,
    escape,
    prepare_geometries,
)
from geo_response.map_offline import (  # noqa: F401  (the public API of maps)
    LEAFLET_LICENCE,
    InlineMap,
    external_resources,
    inline,
    inline_map,
    leaflet_resources,
    make_offline,
    map_summary,
    save_map,
)

PCT_BINS = (0.0, 50.0, 70.0, 80.0, 90.0, 95.0, 100.0)
#: cividis (colour-blind safe, shared with the report charts): dark = low % met, light = high
PCT_COLOURS = map_layers.pct_colours(6)
TOO_FEW_COLOUR = "#bdbdbd"
# finest H3 resolution drawn without show_points: resolution 9 hexagons are ~0.1 km2 (edge ~0.17 km)
MAX_AGGREGATE_RESOLUTION = 9
COMBINED_BASE_NAMES = {"all", "all bases", "combined", "*", "any"}
STANDIN_LABEL = "synthetic stand-in network (NOT OpenStreetMap)"


def pct_colour(pct_met: float, bins: tuple[float, ...] = PCT_BINS, colours: tuple[str, ...] = PCT_COLOURS) -> str:
    """Fill colour of a % met value: bins are closed on the left, the top bin includes 100."""
    if pct_met is None or not np.isfinite(pct_met):
        return TOO_FEW_COLOUR
    i = int(np.searchsorted(np.asarray(bins[1:-1]), pct_met, side="right"))
    return colours[min(i, len(colours) - 1)]


# --------------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------------
def target_description(incidents: pd.DataFrame) -> str:
    """The targets of the incidents' grades, e.g. 'Emergency (urban) 15 min; Emergency (rural) 20 min'
    (plain text; escape before display).
    """
    if "target_minutes" not in incidents.columns:
        return ""
    names = incidents["grade_name"] if "grade_name" in incidents.columns else incidents.get("grade")
    frame = pd.DataFrame({"name": names if names is not None else "", "target": incidents["target_minutes"]})
    frame = frame.dropna(subset=["target"]).drop_duplicates().sort_values(["target", "name"])
    parts = [
        f"{n} {_minutes(float(t))}".strip() if isinstance(n, str) else _minutes(float(t))
        for n, t in zip(frame["name"], frame["target"], strict=True)
    ]
    return "; ".join(dict.fromkeys(parts))


def _select_category(incidents: gpd.GeoDataFrame, category: str | None) -> tuple[gpd.GeoDataFrame, str]:
    if category is None or "grade_category" not in incidents.columns:
        return incidents, "attended"
    chosen = incidents[incidents["grade_category"] == category]
    if chosen.empty:
        known = sorted(incidents["grade_category"].dropna().astype(str).unique())
        raise MapError(f"no incident has grade category {category!r}; choose one of {known} or None for all")
    return chosen, category


def _choropleth(
    m: folium.Map,
    agg: gpd.GeoDataFrame,
    cell_label: str,
    target: str,
    min_cell_count: int,
    simplify_m: float,
    projected_crs: str,
    draw_small: bool,
) -> None:
    agg = agg[agg["incidents"] > 0]
    if not draw_small:
        # even a grey outline would say "an incident happened here": small cells are left out altogether
        agg = agg[agg["attended"] >= min_cell_count]
    geo = prepare_geometries(agg, simplify_m if cell_label == "LSOA" else 0.0, projected_crs)
    enough = geo["attended"] >= min_cell_count
    withheld = f"fewer than {min_cell_count} attended: figures withheld"
    name_col = geo["lsoa_name"] if "lsoa_name" in geo.columns else geo["cell"]
    props = pd.DataFrame(
        {
            "cell": [escape(v) for v in name_col],
            "district": [escape(v) for v in geo["district"]],
            "setting": [escape(v) for v in geo["urban_rural"]],
            "attended": np.where(enough, geo["attended"].map(lambda v: f"{int(v):,}"), withheld),
            "failures": np.where(enough, geo["failures"].map(_num), ""),
            "pct_met": np.where(enough, geo["pct_met"].map(_pct), ""),
            "target": escape(target),
            "fill": [pct_colour(p) if ok else TOO_FEW_COLOUR for p, ok in zip(geo["pct_met"], enough, strict=True)],
        },
        index=geo.index,
    )
    fc = _feature_collection(geo, props)

    def style(feature: dict) -> dict:
        return {"fillColor": feature["properties"]["fill"], "color": "#555555", "weight": 0.4, "fillOpacity": 0.75}

    fields = {
        "cell": cell_label,
        "district": "District",
        "setting": "Setting",
        "attended": "Attended incidents",
        "failures": "Failures (expected)",
        "pct_met": "% met",
        "target": "Target",
    }
    _layer(fc, f"Compliance: % met by {cell_label}", style, fields).add_to(m)


def _shading(m: folium.Map, lsoas: gpd.GeoDataFrame, simplify_m: float, projected_crs: str) -> None:
    if "urban_rural" not in lsoas.columns:
        raise MapError("lsoas need an urban_rural column (geography.load_lsoas)")
    pop = lsoas["population"] if "population" in lsoas.columns else pd.Series(0, index=lsoas.index)
    work = gpd.GeoDataFrame(
        {"urban_rural": lsoas["urban_rural"].astype(str), "population": pop, "lsoas": 1},
        geometry=lsoas.geometry,
        crs=lsoas.crs,
    )
    dissolved = work.dissolve(by="urban_rural", aggfunc="sum").reset_index()
    geo = prepare_geometries(dissolved, simplify_m, projected_crs)
    total = float(geo["population"].sum()) or 1.0
    props = pd.DataFrame(
        {
            "setting": [escape(v.capitalize()) for v in geo["urban_rural"]],
            "lsoas": geo["lsoas"].map(lambda v: f"{int(v):,}"),
            "population": [f"{int(p):,} ({100 * p / total:.1f}%)" for p in geo["population"]],
            "kind": [escape(v) for v in geo["urban_rural"]],
        },
        index=geo.index,
    )
    fills = {"urban": "#9e9e9e", "rural": "#a1d99b"}

    def style(feature: dict) -> dict:
        return {
            "fillColor": fills.get(feature["properties"]["kind"], "#dddddd"),
            "color": "#999999",
            "weight": 0,
            "fillOpacity": 0.35,
        }

    fields = {"setting": "Setting (ONS RUC 2011)", "lsoas": "LSOAs", "population": "Population (mid-2019)"}
    _layer(_feature_collection(geo, props), "Urban / rural (ONS)", style, fields).add_to(m)


def _districts(m: folium.Map, districts: gpd.GeoDataFrame, simplify_m: float, projected_crs: str) -> None:
    geo = prepare_geometries(districts, simplify_m, projected_crs)
    props = pd.DataFrame({"district": [escape(v) for v in geo["district"]]}, index=geo.index)

    def style(feature: dict) -> dict:
        return {"color": "#333333", "weight": 1.6, "fill": False, "dashArray": "4 3"}

    _layer(_feature_collection(geo, props), "District boundaries", style, {"district": "District"}).add_to(m)


def _coverage_text(iso: pd.DataFrame) -> dict[float, str]:
    """Threshold -> 'within N min: area km², population' when the rows carry one figure per threshold."""
    out = {}
    for t, rows in iso.groupby("threshold_min"):
        if len(rows) != 1:
            continue
        r = rows.iloc[0]
        bits = [
            f"{r['area_km2']:,.0f} km²" if "area_km2" in r and np.isfinite(r["area_km2"]) else "",
            f"{r['population']:,.0f} people" if "population" in r and np.isfinite(r["population"]) else "",
        ]
        out[float(t)] = f"within {t:g} min: " + ", ".join(b for b in bits if b)
    return out


def _isochrones(
    m: folium.Map, isochrones: gpd.GeoDataFrame, simplify_m: float, projected_crs: str, show: bool
) -> gpd.GeoDataFrame:
    """Isochrones as non-overlapping bands (0-5, 5-10, ... min) per profile; returns the bands."""
    needed = [c for c in ("threshold_min", "profile") if c not in isochrones.columns]
    if needed:
        raise MapError(f"isochrones lack columns {needed}; build them with isochrones.isochrones")
    iso = isochrones
    if "base" in iso.columns:
        combined = iso["base"].isna() | iso["base"].astype(str).str.strip().str.lower().isin(COMBINED_BASE_NAMES)
        if "base_id" in iso.columns:
            combined |= iso["base_id"].eq(-1)
        if combined.any():
            iso = iso[combined]
    bands = map_layers.isochrone_bands(iso, projected_crs)
    geo = prepare_geometries(bands, simplify_m, projected_crs)
    for profile, part in geo.groupby("profile", sort=True):
        covered = _coverage_text(iso[iso["profile"] == profile])
        props = pd.DataFrame(
            {
                "band": [escape(b) for b in part["band"]],
                "profile": escape(profile),
                "covered": [escape(covered.get(float(t), "")) for t in part["threshold_min"]],
                "colour": list(part["colour"]),
            },
            index=part.index,
        )

        def style(feature: dict) -> dict:
            c = feature["properties"]["colour"]
            return {"fillColor": c, "color": c, "weight": 0.5, "fillOpacity": 0.45}

        fields = {"band": "Reached within", "profile": "Speed profile", "covered": "Whole isochrone"}
        _layer(_feature_collection(part, props), f"Isochrones: {profile}", style, fields, show=show).add_to(m)
    return bands


def _corridor(
    m: folium.Map,
    corridor: BaseGeometry | gpd.GeoDataFrame,
    name: str,
    buffer_m: float | None,
    summary: pd.DataFrame | None,
    projected_crs: str,
) -> None:
    lines = corridor.union_all() if isinstance(corridor, gpd.GeoDataFrame | gpd.GeoSeries) else corridor
    parts = {"road": lines}
    if buffer_m:
        projected = gpd.GeoSeries([lines], crs=4326).to_crs(projected_crs)
        parts["buffer"] = projected.buffer(buffer_m).simplify(10).to_crs(4326).iloc[0]
    figures = {"emergency": "", "all": ""}
    if summary is not None and len(summary):
        rows = summary[summary["group"] == name]
        for scope, key in (("emergency", "emergency"), ("all grades", "all")):
            row = rows[rows["scope"] == scope]
            if len(row):
                r = row.iloc[0]
                figures[key] = (
                    f"{int(r['incidents']):,} incidents, {_pct(r['pct_met'])} met, "
                    f"{_pct(100 * r['share_of_failures'])} of failures"
                )
    geo = prepare_geometries(
        gpd.GeoDataFrame({"part": list(parts)}, geometry=list(parts.values()), crs=4326), 0.0, projected_crs
    )
    props = pd.DataFrame(
        {
            "name": escape(name),
            "part": ["road (from the network)" if p == "road" else f"{buffer_m:g} m buffer" for p in geo["part"]],
            "emergency": escape(figures["emergency"]),
            "all": escape(figures["all"]),
            "kind": list(geo["part"]),
        },
        index=geo.index,
    )

    def style(feature: dict) -> dict:
        if feature["properties"]["kind"] == "road":
            return {"color": "#6a1b9a", "weight": 3, "opacity": 0.9}
        return {"color": "#6a1b9a", "weight": 1.5, "dashArray": "6 4", "fillColor": "#ce93d8", "fillOpacity": 0.15}

    fields = {"name": "Corridor", "part": "Shown", "emergency": "Emergency", "all": "All grades"}
    _layer(_feature_collection(geo, props), name, style, fields).add_to(m)


def _hotspots(m: folium.Map, hot: pd.DataFrame) -> None:
    if isinstance(hot, gpd.GeoDataFrame) and hot.geometry.notna().any():
        geo = prepare_geometries(hot, 0.0)
    elif {"centre_lon", "centre_lat"} <= set(hot.columns):
        geo = gpd.GeoDataFrame(hot, geometry=gpd.points_from_xy(hot["centre_lon"], hot["centre_lat"]), crs=4326)
    else:
        raise MapError("hotspots need geometry (hotspots.find_hotspots) or centre_lon / centre_lat columns")
    props = pd.DataFrame(
        {
            "name": [escape(v) for v in geo["name"]],
            "rank": [f"{escape(s)} #{int(r)}" for s, r in zip(geo["urban_rural"], geo["rank"], strict=True)],
            "attended": geo["attended"].map(lambda v: f"{int(v):,}"),
            "failures": geo["failures"].map(_num),
            "rate": [
                f"{_pct(100 * r)} (force {_pct(100 * f)})"
                for r, f in zip(geo["failure_rate"], geo["force_failure_rate"], strict=True)
            ],
            "q": geo["q_value"].map(lambda q: f"{q:.2g}"),
        },
        index=geo.index,
    )

    def style(feature: dict) -> dict:
        return {"color": "#000000", "weight": 2.5, "fillColor": "#000000", "fillOpacity": 0.05}

    fields = {
        "name": "Hotspot",
        "rank": "Rank",
        "attended": "Attended incidents",
        "failures": "Failures",
        "rate": "Failure rate",
        "q": "q-value (BH)",
    }
    marker = folium.CircleMarker(radius=8, fill=True) if (geo.geom_type == "Point").all() else None
    _layer(_feature_collection(geo, props), "Failure hotspots", style, fields, marker=marker).add_to(m)


def _bases(m: folium.Map, bases: gpd.GeoDataFrame) -> None:
    geo = prepare_geometries(bases, 0.0)
    props = pd.DataFrame(
        {
            "name": [escape(v) for v in geo["name"]],
            "type": [escape(v) for v in geo.get("type", pd.Series("", index=geo.index))],
            "units": [escape(v) for v in geo.get("units", pd.Series("", index=geo.index))],
        },
        index=geo.index,
    )

    def style(feature: dict) -> dict:
        return {"color": "#ffffff", "weight": 2, "fillColor": "#0d47a1", "fillOpacity": 1.0, "radius": 6}

    fields = {"name": "Base", "type": "Type", "units": "Units"}
    marker = folium.CircleMarker(radius=6, fill=True)
    _layer(_feature_collection(geo, props), "Bases", style, fields, marker=marker).add_to(m)


def _points(m: folium.Map, incidents: gpd.GeoDataFrame) -> None:
    geo = prepare_geometries(incidents, 0.0)
    p = pd.to_numeric(geo["p_met"], errors="coerce") if "p_met" in geo.columns else pd.Series(np.nan, geo.index)
    outcome = np.where(p.isna(), "not attended / no outcome", np.where(p >= 0.5, "met", "not met"))

    def col(name: str) -> list[str]:
        return [escape(v) for v in geo[name]] if name in geo.columns else [""] * len(geo)

    props = pd.DataFrame(
        {
            "category": col("category"),
            "grade": col("grade"),
            "month": col("month"),
            "p_met": [f"{v:.2f}" if np.isfinite(v) else "" for v in p],
            "outcome": outcome,
        },
        index=geo.index,
    )
    colours = {"met": PCT_COLOURS[-1], "not met": PCT_COLOURS[0]}

    def style(feature: dict) -> dict:
        return {
            "color": colours.get(feature["properties"]["outcome"], "#757575"),
            "weight": 1,
            "fillOpacity": 0.8,
            "radius": 3,
        }

    fields = {"category": "Category", "grade": "Grade", "month": "Month", "p_met": "P(met)", "outcome": "Outcome"}
    _layer(
        _feature_collection(geo, props),
        "Incidents (points)",
        style,
        fields,
        marker=folium.CircleMarker(radius=3, fill=True),
    ).add_to(m)


def _legend_html(
    title: str,
    target: str,
    policy_label: str | None,
    network_label: str | None,
    layers: Iterable[str],
    min_cell_count: int,
    draw_small: bool = True,
) -> str:
    rows = []
    for lo, hi, colour in zip(PCT_BINS[:-1], PCT_BINS[1:], PCT_COLOURS, strict=True):
        label = f"{lo:g}–{hi:g}%" if hi < 100 else f"{lo:g}–100%"
        rows.append(f'<div><span class="gr-sw" style="background:{colour}"></span>{label}</div>')
    if draw_small:
        rows.append(
            f'<div><span class="gr-sw" style="background:{TOO_FEW_COLOUR}"></span>'
            f"fewer than {int(min_cell_count)} attended</div>"
        )
    else:
        rows.append(
            f'<div class="gr-note">Cells with fewer than {int(min_cell_count)} attended incidents '
            "are not drawn (privacy).</div>"
        )
    extra = {
        "Urban / rural (ONS)": '<div><span class="gr-sw" style="background:#9e9e9e"></span>urban '
        '<span class="gr-sw" style="background:#a1d99b;margin-left:6px"></span>rural</div>',
        "hotspots": '<div><span class="gr-sw" style="border:2.5px solid #000"></span>failure hotspot</div>',
        "corridor": '<div><span class="gr-sw" style="background:#ce93d8;border:1.5px dashed #6a1b9a">'
        "</span>A12 corridor</div>",
    }
    parts = [f"<h4>{escape(title)}</h4>"]
    if target:
        parts.append(f'<div class="gr-note">Target: {escape(target)}</div>')
    if policy_label:
        parts.append(f'<div class="gr-note">{escape(policy_label)}</div>')
    parts.extend(rows)
    parts.extend(extra[k] for k in layers if k in extra)
    if network_label:
        parts.append(f'<div class="gr-note">Road network: {escape(network_label)}</div>')
    return "".join(parts)


# --------------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------------
def compliance_map(  # noqa: C901
    incidents: gpd.GeoDataFrame | None = None,
    *,
    bases: gpd.GeoDataFrame | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    hotspots: pd.DataFrame | None = None,
    corridor: BaseGeometry | gpd.GeoDataFrame | None = None,
    corridor_name: str = "A12 corridor",
    corridor_buffer_m: float | None = None,
    corridor_summary: pd.DataFrame | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    cells: gpd.GeoDataFrame | None = None,
    aggregate: str = "hex",
    resolution: int = hotspots_mod.DEFAULT_RESOLUTION,
    category: str | None = "emergency",
    min_cell_count: int = 5,
    network_label: str | None = None,
    policy_label: str | None = None,
    policy: Policy | None = None,
    standin: bool | None = None,
    attribution: str | None = None,
    title: str | None = None,
    show_points: bool = False,
    show_isochrones: bool = False,
    tiles: str | None = None,
    simplify_m: float = 30.0,
    projected_crs: str = "EPSG:27700",
    roads: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    period: str | None = None,
    outcomes: str | None = None,
    basemap: str | None = None,
    causes: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """A Folium map of attendance-target compliance. Every layer is optional.

    Parameters
    ----------
    incidents : GeoDataFrame, optional
        Incidents after compliance (``p_met``, ``attended``, ``grade_category``, ``target_minutes``,
        ``urban_rural``, ``district``, ``lsoa_code``); drawn as a choropleth of % met.
    bases : GeoDataFrame, optional
        ``name, type, units, geometry`` (drawn as circle markers: no icon fonts needed offline).
    isochrones : GeoDataFrame, optional
        ``base, threshold_min, profile, area_km2, population, geometry``; one layer per profile. Rows for
        all bases combined are drawn when present (``base_id`` -1, ``base`` 'all bases' or NA), else every row.
    hotspots : DataFrame, optional
        From :func:`geo_response.hotspots.find_hotspots` (or its CSV with centre_lon/centre_lat).
    corridor : shapely geometry or GeoDataFrame, optional
        The corridor's road (:func:`geo_response.corridor.corridor_geometry`).
    corridor_name, corridor_buffer_m, corridor_summary
        Its label, buffer drawn around it, and :attr:`CorridorAnalysis.summary` for the tooltip.
    lsoas : GeoDataFrame, optional
        :func:`geography.load_lsoas`: urban/rural shading, and the cells when ``aggregate="lsoa"``.
    districts : GeoDataFrame, optional
        :func:`geography.load_districts`: boundaries.
    cells : GeoDataFrame, optional
        A ready aggregate (:func:`hotspots.hex_aggregate` / :func:`hotspots.lsoa_aggregate`) to draw as the
        choropleth instead of aggregating `incidents` (`category` is then ignored; the legend names the
        targets of all attended incidents).
    aggregate : {"hex", "lsoa"}
        Choropleth cells: H3 hexagons (``resolution``) or LSOAs.
    category : str or None, default "emergency"
        Grade category shown; None for all attended incidents.
    min_cell_count : int, default 5
        Cells with fewer attended incidents are not drawn at all (privacy, noise); with ``show_points`` they
        are drawn grey without figures.
    network_label, policy_label, attribution, title : str, optional
        Text for the legend and the attribution control (escaped). Attribution should name the data
        sources (``profile.attribution``); the network label says whether the roads are OpenStreetMap
        or the synthetic stand-in.
    policy : config.Policy, optional
        Supplies ``policy_label`` when that is not given.
    standin : bool, optional
        When True and no ``network_label`` is given, the roads are labelled as the synthetic stand-in.
    show_points : bool, default False
        Draw individual incidents. Off by default: maps are aggregated.
    show_isochrones : bool, default False
        Show the isochrone layers when the map opens (they can always be toggled in the layer control).
    tiles : str, optional
        A folium tile name or URL for a basemap; None (default) draws no tiles, so the map works offline.
    roads : GeoDataFrame, optional
        Main roads to draw (lines with ``highway`` or ``road_class``, ``ref``, ``name``; e.g. the
        network's motorway / trunk / primary edges), so the map reads offline.
    places : GeoDataFrame, optional
        Place names (:func:`geo_response.places.named_places`): towns always, villages and hamlets when
        zoomed in.
    period, outcomes : str, optional
        Shown in the title panel: the months covered and ``'modelled'`` or ``'observed'`` (a stamp).
    basemap : {'carto', 'osm'}, optional
        An attributed tile layer (loads only with a network; the map stays usable without it).
    causes : GeoDataFrame, optional
        :func:`geo_response.map_causes.cause_cells` (simulated misses per LSOA): the toggleable
        "Cause of failure" layer (hidden when the map opens) and its legend.
    simplify_m : float
        Polygon simplification tolerance in metres.
    projected_crs : str
        Metric CRS for simplification and buffers.

    Returns
    -------
    folium.Map
    """
    if policy_label is None and policy is not None:
        policy_label = policy.label
    if network_label is None and standin is not None:
        network_label = STANDIN_LABEL if standin else "OpenStreetMap contributors"
    if aggregate not in ("hex", "lsoa"):
        raise MapError(f"aggregate must be 'hex' or 'lsoa', got {aggregate!r}")
    if aggregate == "hex" and int(resolution) > MAX_AGGREGATE_RESOLUTION and not show_points:
        raise MapError(
            f"H3 resolution {resolution} makes cells small enough to locate single incidents; use "
            f"{MAX_AGGREGATE_RESOLUTION} or coarser (8 suits a county), or ask for points explicitly "
            "(show_points=True / --show-points)"
        )
    frames = [f for f in (districts, lsoas, incidents, cells, bases) if f is not None and len(f)]
    if not frames:
        raise MapError("nothing to map: give at least districts, lsoas, incidents or bases")
    west, south, east, north = frames[0].to_crs(4326).total_bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=9,
        tiles=tiles,
        control_scale=True,
        attribution_control=True,
    )
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    m.get_root().header.add_child(folium.Element(PANEL_CSS + map_layers.TITLE_CSS), name="gr_panel_css")
    if basemap:
        map_layers.basemap(m, basemap)
    m.get_root().title = escape(title or "Attendance compliance")

    shown: list[str] = []
    if lsoas is not None:
        _shading(m, lsoas, simplify_m, projected_crs)
        shown.append("Urban / rural (ONS)")
    if districts is not None:
        _districts(m, districts, simplify_m, projected_crs)
    target = ""
    legend_title = None
    if incidents is not None:
        chosen, label = _select_category(incidents, None if cells is not None else category)
        if "attended" in chosen.columns:
            chosen = chosen[chosen["attended"].fillna(False).astype(bool)]
        target = target_description(chosen)
    if cells is not None:
        cell_label = "LSOA" if cells.attrs.get("cell_type") == "lsoa" or "lsoa_code" in cells.columns else "hexagon"
        _choropleth(m, cells, cell_label, target, min_cell_count, simplify_m, projected_crs, show_points)
        legend_title = f"% of attended incidents meeting their target, by {cell_label}"
    elif incidents is not None:
        if aggregate == "lsoa":
            if lsoas is None:
                raise MapError("aggregate='lsoa' needs the lsoas layer (geography.load_lsoas)")
            agg = hotspots_mod.lsoa_aggregate(chosen, lsoas)
            cell_label = "LSOA"
        else:
            agg = hotspots_mod.hex_aggregate(chosen, resolution)
            cell_label = "hexagon"
        _choropleth(m, agg, cell_label, target, min_cell_count, simplify_m, projected_crs, show_points)
        legend_title = (
            f"% of attended incidents meeting their target, by {cell_label}"
            if category is None
            else f"% of {label} incidents attended within target, by {cell_label}"
        )
    bands = None
    if isochrones is not None and len(isochrones):
        bands = _isochrones(m, isochrones, simplify_m, projected_crs, show_isochrones)
    if roads is not None and len(roads):
        fc, style, fields = map_layers.road_layer(roads, escape, projected_crs=projected_crs)
        _layer(fc, "Main roads", style, fields).add_to(m)
    if corridor is not None:
        _corridor(m, corridor, corridor_name, corridor_buffer_m, corridor_summary, projected_crs)
        shown.append("corridor")
    if hotspots is not None and len(hotspots):
        _hotspots(m, hotspots)
        shown.append("hotspots")
    if causes is not None and len(causes):
        map_causes.add_cause_layer(m, causes, simplify_m, projected_crs)
    if bases is not None and len(bases):
        _bases(m, bases)
    if show_points and incidents is not None:
        _points(m, incidents)
    if places is not None and len(places):
        map_layers.place_labels(m, places)

    panel = _legend_html(
        legend_title or (title or "Attendance"),
        target,
        policy_label,
        network_label,
        shown,
        min_cell_count,
        draw_small=show_points,
    )
    if bands is not None:
        panel += map_layers.band_legend(bands, escape)
    if causes is not None and len(causes):
        panel += map_causes.cause_legend_html(causes.attrs.get("min_count", min_cell_count))
    _HtmlControl(panel, position="bottomright").add_to(m)
    heading = map_layers.title_html(title or "Attendance compliance", period, policy_label, outcomes, escape)
    _HtmlControl(heading, position="topleft", css_class="gr-title").add_to(m)
    texts = [t for t in (attribution, f"Roads: {network_label}" if network_label else None) if t]
    for text in texts:
        _Attribution(text).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m

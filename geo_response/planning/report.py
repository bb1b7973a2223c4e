"""Outputs of deployment planning: comparison and siting tables, Markdown reports and the coverage map.

Everything shown in HTML goes through :func:`geo_response.maps.escape`; text from input files in Markdown
goes through :func:`geo_response.compliance.report.md_escape` (no links, images or HTML); every CSV is
written by :func:`geo_response.outputs.write_csv` (formula cells neutralised, atomic). Maps are saved offline
by default (:func:`geo_response.maps.save_map`).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_response.compliance.report import md_escape
from geo_response.outputs import write_csv, write_text
from geo_response.planning.compare import ALL, MEASURE_UNITS, Comparison
from geo_response.planning.scenarios import moved_from, removed_bases
from geo_response.planning.siting import SitingRun
from geo_response.reporting import palette

#: Colour-blind-safe (Okabe-Ito blue / vermillion / grey) from the shared palette: gained, lost, never.
CHANGE_COLOURS = palette.CHANGE_COLOURS
MEASURE_LABELS = {
    "pct_population_within_target": "% population within emergency target (modelled)",
    "pct_population_within_15_min": "% population within 15 min drive",
    "pct_population_within_20_min": "% population within 20 min drive",
    "population_within_15_min": "population within 15 min drive",
    "population_within_20_min": "population within 20 min drive",
    "mean_travel_min": "mean travel (min, population-weighted)",
    "p90_travel_min": "90th percentile travel (min, population-weighted)",
}
_MET = re.compile(r"pct_(?P<category>[a-z_]+)_met_(?P<setting>urban|rural|all)")
_UNROUTABLE = re.compile(r"(?P<category>[a-z_]+)_unroutable_(?P<setting>urban|rural|all)")


def measure_label(measure: str) -> str | None:
    """A readable label for a comparison measure, or None for the ones reports leave out (counts).

    Examples
    --------
    >>> measure_label("pct_emergency_met_rural"), measure_label("urgent_unroutable_all")
    ('% emergency met, rural (modelled)', 'urgent incidents no base can reach, all')
    """
    if measure in MEASURE_LABELS:
        return MEASURE_LABELS[measure]
    if m := _MET.fullmatch(measure):
        return f"% {m['category'].replace('_', ' ')} met, {m['setting']} (modelled)"
    if m := _UNROUTABLE.fullmatch(measure):
        return f"{m['category'].replace('_', ' ')} incidents no base can reach, {m['setting']}"
    return None


def headline_measures(measures) -> list[str]:
    """The measures shown per district and on the console: coverage, travel, and % met of each category."""
    base = [
        "pct_population_within_target",
        "pct_population_within_15_min",
        "pct_population_within_20_min",
        "mean_travel_min",
        "p90_travel_min",
    ]
    return base + [m for m in dict.fromkeys(measures) if (x := _MET.fullmatch(m)) and x["setting"] == "all"]


def fmt(value: float, unit: str, signed: bool = False) -> str:
    """A measure for display: people and incidents whole, % to 0.1, minutes to 0.01; 'n/a' when missing.

    Examples
    --------
    >>> fmt(-0.04, "%", signed=True), fmt(1234.4, "people", signed=True), fmt(float("nan"), "min")
    ('0.0', '+1,234', 'n/a')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    decimals = 0 if unit in ("people", "incidents") else 1 if unit == "%" else 2
    value = round(float(value), decimals) + 0.0  # no "-0.0"
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:,.{decimals}f}"


def _names(names: list[str]) -> str:
    """Base names from user files for a Markdown line (escaped), or 'none'."""
    return ", ".join(md_escape(n) for n in names) or "none"


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(md_escape(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def roster_change_text(ch: dict) -> str:
    """One roster change in words (``move_units`` / ``add_units`` / ``set_post`` from a summary's block)."""
    units = "all" if ch.get("units") is None else str(ch["units"])
    shift = f" on shift {ch['shift']}" if ch.get("shift") else ""
    if ch["action"] == "set_post":
        return (
            f"change {ch['change']}: {units} unit(s) of {ch['from']}{shift} wait at patrol post {ch['post']} "
            f"({ch['latitude']:.5f}, {ch['longitude']:.5f})"
        )
    if ch["action"] == "add_units":
        return f"change {ch['change']}: {units} unit(s) added at {ch['to']}{shift}, every day"
    return f"change {ch['change']}: {units} unit(s) moved from {ch['from']} to {ch['to']}{shift}"


def simulated_table(sim: dict) -> pd.DataFrame:
    """The simulated force-wide % met per grade of a roster scenario, formatted for people."""
    return pd.DataFrame(
        [
            {
                "grade": g,
                "current % met": f"{r['current_pct']:.1f}",
                "scenario % met": f"{r['scenario_pct']:.1f}",
                "change (pp)": f"{r['change_pp']:+.2f}",
                "95% interval": f"{r['change_low']:+.2f} to {r['change_high']:+.2f}",
            }
            for g, r in sim["overall"].items()
        ],
        columns=["grade", "current % met", "scenario % met", "change (pp)", "95% interval"],
    )


def simulation_markdown(sim: dict) -> list[str]:
    """The report section of a roster-changing scenario: paired simulated % met changes with intervals."""
    parts = [
        "## Simulated: current roster against the scenario roster",
        "",
        f"Units on the roster: {sim['units_current']} now, {sim['units_scenario']} in the scenario; "
        f"{sim['replications']} replications of {sim['days']:g} days with the same seeds (common random "
        f"numbers), {sim['simulated_incidents']:,} incidents. Change = scenario - current, in percentage "
        "points, with the 95% interval of the paired differences.",
        "",
        _md_table(simulated_table(sim)),
    ]
    parts += ["", "Per district: `simulated_comparison.csv`.", ""]
    if changes := sim.get("roster_changes"):
        parts += ["Roster changes:", ""] + [f"- {md_escape(roster_change_text(ch))}" for ch in changes] + [""]
    parts += [f"- {md_escape(n)}" for n in sim.get("notes", [])] + ([""] if sim.get("notes") else [])
    return parts


def force_wide_table(t: pd.DataFrame) -> pd.DataFrame:
    """Force-wide rows of a comparison table for people: ``measure, current, scenario, change`` (formatted)."""
    rows = [
        {
            "measure": measure_label(r.measure),
            "current": fmt(r.current, r.unit),
            "scenario": fmt(r.scenario, r.unit),
            "change": fmt(r.change, r.unit, signed=True),
        }
        for r in t[t["district"] == ALL].itertuples()
        if measure_label(r.measure)
    ]
    return pd.DataFrame(rows, columns=["measure", "current", "scenario", "change"])


def district_change_table(t: pd.DataFrame) -> pd.DataFrame:
    """The headline measures' changes per district (formatted; empty without districts)."""
    keys = headline_measures(t["measure"])
    per = t[(t["district"] != ALL) & t["measure"].isin(keys)]
    if per.empty:
        return pd.DataFrame()
    wide = per.pivot(index="district", columns="measure", values="change")
    wide = wide[[k for k in keys if k in wide.columns]]
    shown = pd.DataFrame({"district": wide.index})
    for k in wide.columns:
        shown[measure_label(k) + " (change)"] = [fmt(v, MEASURE_UNITS.get(k, "%"), signed=True) for v in wide[k]]
    return shown


def comparison_html(comparison: Comparison) -> str:
    """The ``report.html`` of a comparison: the same content as ``report.md`` with charts of the change per district
    (inline SVG, no script; every value from the scenario or the data escaped).
    """
    from geo_response.maps import escape as e
    from geo_response.reporting import charts
    from geo_response.reporting.html_report import figure_html, page, table_html

    s, t = comparison.summary, comparison.table
    title = "Deployment scenario: change against the current bases"
    b, lsoa = s["bases"], s["lsoas"]
    parts = [
        f"<h1>{e(title)}</h1>",
        f'<p><span class="stamp">MODELLED</span> Policy {e(s["policy"])}; emergency targets '
        + e(", ".join(f"{v:g} min {k}" for k, v in (s.get("targets_min") or {}).items()))
        + f". {e(s.get('calibration_stamp') or '')}</p>",
    ]
    if s["network"].get("standin"):
        parts.append(
            f'<p class="warn">Road network: {e(s["network"]["label"])}. Travel times are computed on a synthetic '
            "stand-in, not real Essex roads: they exercise the method; they are not advice.</p>"
        )
    parts += [
        "<h2>Scenario</h2>",
        f"<p>Bases: {b['current']} now, {b['scenario']} in the scenario. Added: {e(_names(b['added']))}. "
        f"Removed: {e(_names(b['removed']))}. Moved: {e(_names(b['moved']))}. "
        f"Units changed: {e(_names(b['units_changed']))}. Note: {e(b['note'])}.</p>",
        f"<p>{lsoa['gained']} LSOAs ({lsoa['population_gained']:,.0f} people) newly within the emergency target; "
        f"{lsoa['lost']} LSOAs ({lsoa['population_lost']:,.0f} people) no longer within it. "
        "Map: coverage_change.html; GIS layers: coverage.gpkg.</p>",
        table_html(force_wide_table(t), "Force-wide: now, in the scenario and the change"),
    ]
    for measure in ("pct_population_within_target", "pct_emergency_met_all"):
        label = measure_label(measure)
        parts.append(
            figure_html(
                f"change-{measure}",
                charts.scenario_change_chart(t, measure, label),
                f"{label} per district: open circle now, filled the scenario (blue a rise, vermillion a fall)",
            )
        )
    shown = district_change_table(t)
    if len(shown):
        parts.append(table_html(shown, "Change by district (full figures: comparison.csv)"))
    if sim := s.get("simulation"):
        parts += [
            "<h2>Simulated: current roster against the scenario roster</h2>",
            f'<p><span class="stamp">SIMULATED</span> Units: {sim["units_current"]} now, {sim["units_scenario"]} '
            f"in the scenario; {sim['replications']} paired replications of {sim['days']:g} days (common random "
            "numbers). Per district: simulated_comparison.csv.</p>",
            table_html(simulated_table(sim), "Simulated % met, force-wide"),
        ]
        changes = [roster_change_text(ch) for ch in sim.get("roster_changes", [])]
        parts += ["<ul>" + "".join(f"<li>{e(c)}</li>" for c in changes + sim.get("notes", [])) + "</ul>"]
    parts += ["<h2>Assumptions</h2>", "<ul>" + "".join(f"<li>{e(a)}</li>" for a in s["assumptions"]) + "</ul>"]
    parts.append(f"<p><small>Network sha256 {e(s['network']['source_sha256'])}.</small></p>")
    return page(title, parts)


def comparison_layers(comparison: Comparison) -> dict[str, gpd.GeoDataFrame]:
    """GeoPackage layers of a comparison: per-LSOA coverage now and in the scenario, the bases both ways and any
    patrol posts the scenario sets (``coverage.gpkg``; aggregates and bases only, no incident points).
    """
    cols = ["name", "type", "units", "geometry"]
    scn = comparison.scenario_bases
    layers = {
        "scenario_coverage": comparison.lsoas.copy(),
        "current_bases": comparison.current_bases[[c for c in cols if c in comparison.current_bases.columns]],
        "scenario_bases": scn[[c for c in [*cols, "change"] if c in scn.columns]],
    }
    posts = [ch for ch in scn.attrs.get("roster_changes", []) if ch["action"] == "set_post"]
    if posts:
        layers["scenario_posts"] = gpd.GeoDataFrame(
            {
                "post": [ch["post"] for ch in posts],
                "base": [ch["from"] for ch in posts],
                "shift": [ch["shift"] or "all" for ch in posts],
                "units": [-1 if ch["units"] is None else int(ch["units"]) for ch in posts],
            },
            geometry=gpd.points_from_xy([ch["longitude"] for ch in posts], [ch["latitude"] for ch in posts]),
            crs=4326,
        )
    return layers


def comparison_markdown(comparison: Comparison) -> str:
    """The ``report.md`` of a comparison: changes, force-wide and per-district deltas, assumptions."""
    s = comparison.summary
    t = comparison.table
    parts = ["# Deployment scenario: change against the current bases", ""]
    if s["network"].get("standin"):
        parts += [
            f"> **Road network: {md_escape(s['network']['label'])}.** Travel times are computed on a synthetic "
            "stand-in, not real Essex roads; use them to exercise the method, not to decide.",
            "",
        ]
    b = s["bases"]
    parts += [
        "## Scenario",
        "",
        f"Bases: {b['current']} now, {b['scenario']} in the scenario. "
        f"Added: {_names(b['added'])}. Removed: {_names(b['removed'])}. "
        f"Moved: {_names(b['moved'])}. Units changed: {_names(b['units_changed'])}.",
        "",
        f"Note: {b['note']}.",
        "",
    ]
    lsoa = s["lsoas"]
    parts += [
        "## Coverage of LSOAs (emergency target)",
        "",
        f"{lsoa['gained']} LSOAs ({lsoa['population_gained']:,.0f} people) newly within target; "
        f"{lsoa['lost']} LSOAs ({lsoa['population_lost']:,.0f} people) no longer within target. "
        "Map: `coverage_change.html`.",
        "",
    ]
    parts += ["## Force-wide", "", _md_table(force_wide_table(t)), ""]
    shown = district_change_table(t)
    if len(shown):
        parts += [
            "## Change by district",
            "",
            _md_table(shown),
            "",
            "Full figures (current, scenario, change for every measure and district): `comparison.csv`.",
            "",
        ]
    if s.get("incidents") is None:
        parts += ["Incident compliance was not computed (`--no-incidents`, or `compare(..., incidents=None)`).", ""]
    if s.get("simulation"):
        parts += simulation_markdown(s["simulation"])
    parts += ["## Assumptions", ""] + [f"- {a}" for a in s["assumptions"]] + [""]
    if s.get("incidents"):
        parts += [f"- incidents: {s['incidents']['incident_compliance']}", ""]
    if c := s.get("collisions"):
        cp = c.get("period") or {}
        parts += [
            f"- STATS19 collisions joined the incidents as road incidents on their carriageway, graded by severity: "
            f"{c['accepted']:,} of {c['input_rows']:,} rows accepted "
            f"({md_escape(', '.join(Path(f['file']).name for f in c['files']))}; "
            f"{cp.get('first_month')} to {cp.get('last_month')}).",
            "",
        ]
    parts += [
        f"Policy {md_escape(s['policy'])}; targets {s['targets_min']}; "
        f"network {md_escape(s['network']['label'])} "
        f"(sha256 {s['network']['source_sha256']}).",
        "",
    ]
    if s.get("calibration_stamp"):
        parts += [
            f"Delay scale {s['parameters'].get('delay_scale', 1.0):.4g}; {md_escape(s['calibration_stamp'])}.",
            "",
        ]
    return "\n".join(parts)


def coverage_change_map(comparison: Comparison, simplify_m: float = 25.0, attribution: str = ""):
    """Folium map of LSOAs gained and lost (emergency target), with current and scenario bases.

    Every name shown is HTML-escaped (:func:`geo_response.maps.escape`); properties travel as GeoJSON.
    """
    import folium

    from geo_response.maps import escape, prepare_geometries

    lsoas = comparison.lsoas
    bounds = lsoas.total_bounds
    m = folium.Map(
        location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
        zoom_start=9,
        tiles=None,
        control_scale=True,
    )
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    # context: districts (dissolved LSOAs) and LSOAs outside target both now and in the scenario
    districts = prepare_geometries(lsoas[["district", "geometry"]].dissolve("district").reset_index(), 200.0)
    folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {"district": escape(d)}}
                for g, d in zip(districts.geometry, districts["district"], strict=True)
            ],
        },
        name="Districts",
        style_function=lambda f: {"color": "#555555", "weight": 1, "fill": False},
        tooltip=folium.GeoJsonTooltip(fields=["district"], aliases=["District"], sticky=True),
    ).add_to(m)
    never = lsoas[lsoas["coverage_change"] == "never"]
    if len(never):
        geo = prepare_geometries(never[["geometry"]], simplify_m)
        folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {}} for g in geo.geometry
                ],
            },
            name=escape(f"outside target now and in the scenario ({len(never)} LSOAs)"),
            style_function=lambda f: {
                "color": CHANGE_COLOURS["never"],
                "weight": 0,
                "fillColor": CHANGE_COLOURS["never"],
                "fillOpacity": 0.35,
            },
        ).add_to(m)
    for change in ("gained", "lost"):
        colour = CHANGE_COLOURS[change]
        part = lsoas[lsoas["coverage_change"] == change]
        if len(part) == 0:
            continue
        geo = prepare_geometries(part, simplify_m)
        features = []
        for _, r in geo.iterrows():
            features.append(
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(r.geometry),
                    "properties": {
                        "lsoa": escape(f"{r['lsoa_name']} ({r['lsoa_code']})"),
                        "district": escape(r["district"]),
                        "setting": escape(r["urban_rural"]),
                        "population": f"{int(r['population']):,}",
                        "now": escape(
                            fmt(r["travel_min_current"], "min") + " min from " + str(r["nearest_base_current"])
                        ),
                        "then": escape(
                            fmt(r["travel_min_scenario"], "min") + " min from " + str(r["nearest_base_scenario"])
                        ),
                    },
                }
            )
        fields = {
            "lsoa": "LSOA",
            "district": "District",
            "setting": "Setting",
            "population": "Population",
            "now": "Travel now",
            "then": "Travel in scenario",
        }
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=escape(f"{change} ({len(part)} LSOAs)"),
            style_function=lambda f, c=colour: {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.55},
            tooltip=folium.GeoJsonTooltip(
                fields=list(fields), aliases=[escape(a) for a in fields.values()], sticky=True
            ),
        ).add_to(m)
    scn = comparison.scenario_bases
    removed = removed_bases(comparison.current_bases, scn)
    old = moved_from(comparison.current_bases, scn)
    layers = [
        ("Scenario bases", scn, "#0d47a1", None),
        ("Removed bases", removed, "#757575", "removed"),
        ("Moved bases: old positions", old, "#90caf9", "moved away"),
    ]
    posts = [ch for ch in scn.attrs.get("roster_changes", []) if ch["action"] == "set_post"]
    if posts:  # where the scenario's units wait (set_post): not bases, so drawn apart
        frame = gpd.GeoDataFrame(
            {
                "name": [f"{ch['post']} (post of {ch['from']})" for ch in posts],
                "units": ["all" if ch["units"] is None else str(ch["units"]) for ch in posts],
                "change": [f"set_post, shift {ch['shift'] or 'all'}" for ch in posts],
            },
            geometry=gpd.points_from_xy([ch["longitude"] for ch in posts], [ch["latitude"] for ch in posts]),
            crs=4326,
        )
        layers.append(("Patrol posts (scenario)", frame, "#e69f00", None))
    for name, frame, colour, what in layers:
        if len(frame) == 0:
            continue
        features = [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(g),
                "properties": {"name": escape(n), "units": escape(u), "change": escape(c or "unchanged")},
            }
            for g, n, u, c in zip(
                frame.geometry,
                frame["name"],
                frame["units"],
                frame["change"] if what is None else [what] * len(frame),
                strict=True,
            )
        ]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=escape(name),
            marker=folium.CircleMarker(radius=6, fill=True),
            style_function=lambda f, c=colour: {"color": "#ffffff", "weight": 2, "fillColor": c, "fillOpacity": 1.0},
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "units", "change"], aliases=["Base", "Units", "Change"], sticky=True
            ),
        ).add_to(m)
    label = comparison.summary["network"].get("label") or ""
    legend = (
        "<div style='position: fixed; bottom: 24px; left: 12px; z-index: 9999; background: white; "
        "padding: 6px 9px; border: 1px solid #999; font: 12px Arial, sans-serif;'>"
        "<b>Emergency target coverage: scenario vs now</b><br>"
        f"<span style='color:{CHANGE_COLOURS['gained']}'>&#9632;</span> gained (newly within target)<br>"
        f"<span style='color:{CHANGE_COLOURS['lost']}'>&#9632;</span> lost (no longer within target)<br>"
        f"<span style='color:{CHANGE_COLOURS['never']}'>&#9632;</span> outside target in both<br>"
        f"<i>Roads: {escape(label)}</i></div>"
    )
    m.get_root().html.add_child(folium.Element(legend))
    if attribution:
        m.get_root().html.add_child(
            folium.Element(
                f"<div style='position: fixed; bottom: 2px; right: 6px; z-index: 9999; font: 10px Arial; "
                f"background: rgba(255,255,255,0.8)'>{escape(attribution)}</div>"
            )
        )
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def write_comparison(
    comparison: Comparison, out_dir: str | Path, attribution: str = "", offline: bool = True
) -> dict[str, Path]:
    """Write ``comparison.csv``, ``lsoa_coverage.csv``, ``summary.json``, ``report.md``, ``report.html``,
    ``coverage_change.html`` and ``coverage.gpkg`` (:func:`comparison_layers`) into ``out_dir``.
    """
    from geo_response.compliance.report import write_summary
    from geo_response.maps import save_map
    from geo_response.reporting import gis

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "comparison": out / "comparison.csv",
        "lsoas": out / "lsoa_coverage.csv",
        "summary": out / "summary.json",
        "report": out / "report.md",
        "report_html": out / "report.html",
        "map": out / "coverage_change.html",
        "gis": out / "coverage.gpkg",
    }
    write_csv(comparison.table, paths["comparison"])
    lsoas = pd.DataFrame(comparison.lsoas.drop(columns="geometry"))
    travel = [c for c in lsoas.columns if c.startswith("travel_min")]
    write_csv(lsoas.assign(**{c: lsoas[c].astype(float).round(3) for c in travel}), paths["lsoas"])
    write_text(comparison_markdown(comparison), paths["report"])
    write_text(comparison_html(comparison), paths["report_html"])
    gis.write_gis(paths["gis"], comparison_layers(comparison))
    save_map(coverage_change_map(comparison, attribution=attribution), paths["map"], offline=offline)
    summary = {**comparison.summary, "outputs": {k: str(v) for k, v in paths.items()}}
    write_summary(summary, paths["summary"])
    return paths


def _siting_text(run: SitingRun) -> tuple[str, str]:
    """The demand sentence and the coverage sentence of a siting run (plain text)."""
    s = run.summary
    m, g = s["mclp"], s["greedy"]
    demand = (
        f"Demand: {s['demand_points']} LSOA population-weighted centroids weighted by {s['weight']}; "
        f"{s['candidates']} candidate sites ({s['candidate_source']}). {s['coverage_rule']} "
        f"(fixed delay {s['delay']['seconds'] / 60:.1f} min, {s['delay']['statistic']} of the stages)."
    )
    covered = (
        f"Covered now: {m['covered_before']:,.0f} of {m['total_weight']:,.0f} "
        f"({100 * (m['share_before'] or 0):.1f}%). "
        f"With the optimal sites: {m['covered_after']:,.0f} ({100 * (m['share_after'] or 0):.1f}%), "
        f"gain {m['gain']:,.0f}. Greedy baseline gain: {g['gain']:,.0f} "
        f"(optimal minus greedy: {s['mclp_minus_greedy']:,.0f})."
    )
    return demand, covered


def siting_tables(run: SitingRun) -> list[tuple[str, pd.DataFrame, str]]:
    """(title, table for people, note) of a siting run: optimal sites, greedy baseline, closures."""
    s = run.summary
    w = s["weight"]
    out = []
    for title, frame, result in (
        ("Optimal sites (spopt MCLP, CBC)", run.sites, s["mclp"]),
        ("Greedy baseline", run.greedy_sites, s["greedy"]),
    ):
        shown = pd.DataFrame(
            {
                "order": frame["order"],
                "site": frame["name"],
                "district": frame["district"],
                f"gain ({w})": [f"{v:,.0f}" for v in frame["gain"]],
                f"gain if added alone ({w})": [f"{v:,.0f}" for v in frame["gain_alone"]],
            }
        )
        if w != "population":
            shown["population gained"] = [f"{v:,.0f}" for v in frame["gain_population"]]
        shown["lat, lon"] = [f"{a:.5f}, {b:.5f}" for a, b in zip(frame["latitude"], frame["longitude"], strict=True)]
        out.append((title, shown, f"Note: {result['note']}." if result.get("note") else ""))
    c = run.closures
    shown = pd.DataFrame(
        {
            "rank": c["rank"],
            "base": c["name"],
            f"{w} lost": [f"{v:,.0f}" for v in c["loss"]],
            "population lost": [f"{v:,.0f}" for v in c["population_lost"]],
            f"{w} it covers": [f"{v:,.0f}" for v in c["covers"]],
        }
    )
    if "added_seconds" in c.columns:
        shown["added response (s, mean over demand)"] = [f"{v:,.1f}" for v in c["added_seconds"]]
    out.append(
        (
            "Closures: loss if one base closed (others open), least loss first",
            shown,
            "Loss = demand that only this base covers within target; equal losses are ranked by the mean "
            "rise in response time over all demand (capped at the target).",
        )
    )
    return out


def _solver_text(run: SitingRun) -> str:
    m = run.summary["mclp"]
    red = m.get("reduction")
    if not red:
        return ""
    return (
        f"{m['solver']}, status {m.get('status', 'n/a')}, {m['seconds']:.2f} s. "
        f"Problem reduced before solving: {red['reduced_candidates']} of {red['candidates']} candidates, "
        f"{red['reduced_demand_groups']} demand groups from {red['demand_points']} points "
        f"({red['demand_already_covered']} already covered)."
    )


def siting_markdown(run: SitingRun) -> str:
    """The ``report.md`` of a siting run: chosen sites, greedy comparison, closures."""
    s = run.summary
    parts = [f"# New sites: {s['k']} added to the existing bases", ""]
    if s["network"].get("standin"):
        parts += [
            f"> **Road network: {md_escape(s['network']['label'])}.** Results on a synthetic stand-in are a "
            "test of the method, not advice.",
            "",
        ]
    demand, covered = _siting_text(run)
    parts += [md_escape(demand), "", covered, ""]
    for title, shown, note in siting_tables(run):
        empty = "No site adds coverage." if not title.startswith("Closures") else ""
        parts += [f"## {title}", ""]
        if title.startswith("Closures"):
            parts += [note, "", _md_table(shown), ""]
        else:
            parts += [_md_table(shown) if len(shown) else empty, ""] + ([note, ""] if note else [])
    if solver := _solver_text(run):
        parts += ["## Solver", "", solver, ""]
    if run.summary.get("calibration_stamp"):
        parts += [f"{md_escape(run.summary['calibration_stamp'])}.", ""]
    return "\n".join(parts)


def siting_html(run: SitingRun) -> str:
    """The ``report.html`` of a siting run: the same content as ``report.md`` with the chart of cumulative gain by
    site, optimal against greedy (inline SVG, no script, every value escaped).
    """
    from geo_response.maps import escape as e
    from geo_response.reporting import charts
    from geo_response.reporting.html_report import figure_html, page, table_html

    s = run.summary
    title = f"New sites: {s['k']} added to the existing bases"
    parts = [f"<h1>{e(title)}</h1>", f'<p><span class="stamp">MODELLED</span> Policy {e(s.get("policy", ""))}.</p>']
    if s["network"].get("standin"):
        parts.append(
            f'<p class="warn">Road network: {e(s["network"]["label"])}. Results on a synthetic stand-in are a test '
            "of the method, not advice.</p>"
        )
    parts += [f"<p>{e(t)}</p>" for t in _siting_text(run)]
    curves = {
        "optimal (MCLP)": run.sites["gain"].to_numpy(float),
        "greedy": run.greedy_sites["gain"].to_numpy(float),
    }
    parts.append(
        figure_html(
            "siting-gain",
            charts.cumulative_gain_chart(curves, s["weight"]),
            f"Cumulative {s['weight']} newly within target as sites are added, optimal against greedy",
        )
    )
    for t, shown, note in siting_tables(run):
        parts.append(table_html(shown, t) if len(shown) else f"<p>{e(t)}: no site adds coverage.</p>")
        if note:
            parts.append(f"<p>{e(note)}</p>")
    if solver := _solver_text(run):
        parts.append(f"<p><small>{e(solver)}</small></p>")
    if s.get("calibration_stamp"):
        parts.append(f"<p>{e(s['calibration_stamp'])}.</p>")
    return page(title, parts)


def write_siting(run: SitingRun, out_dir: str | Path) -> dict[str, Path]:
    """Write ``sites.csv``, ``greedy_sites.csv``, ``closures.csv``, ``summary.json``, ``report.md``,
    ``report.html`` and ``sites.gpkg`` (layers ``optimal_sites``, ``greedy_sites``).
    """
    from geo_response.compliance.report import write_summary
    from geo_response.reporting import gis

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "sites": out / "sites.csv",
        "greedy_sites": out / "greedy_sites.csv",
        "closures": out / "closures.csv",
        "summary": out / "summary.json",
        "report": out / "report.md",
        "report_html": out / "report.html",
        "gis": out / "sites.gpkg",
    }
    write_csv(pd.DataFrame(run.sites.drop(columns="geometry")), paths["sites"])
    write_csv(pd.DataFrame(run.greedy_sites.drop(columns="geometry")), paths["greedy_sites"])
    write_csv(run.closures, paths["closures"])
    write_text(siting_markdown(run), paths["report"])
    write_text(siting_html(run), paths["report_html"])
    sites = {"optimal_sites": run.sites, "greedy_sites": run.greedy_sites}
    layers = {k: f.to_crs(4326) for k, f in sites.items() if len(f) and f.crs is not None}
    if layers:
        gis.write_gis(paths["gis"], layers)
    else:  # no site adds coverage: nothing to map
        del paths["gis"]
    write_summary({**run.summary, "outputs": {k: str(v) for k, v in paths.items()}}, paths["summary"])
    return paths

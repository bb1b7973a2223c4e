"""``report.html``: one self-contained offline page of compliance charts (inline SVG, no script, no CDN).

Build it with :func:`render_report_html` (a string) or :func:`write_report_html` (a file). Every piece of
text that reaches the page goes through :func:`html.escape`; chart text is drawn as SVG paths.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response.compliance.tables import ALL
from geo_response.reporting import charts, palette
from geo_response.reporting import stats as rstats

e = html.escape
MAX_HOTSPOT_MAPS = 6
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:80em;margin:1.5em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #bbb;padding:2px 8px;"
    "text-align:right}th:first-child,td:first-child{text-align:left}caption{font-weight:bold;text-align:left}"
    "figure.chart{margin:1em 0}figure.chart svg{max-width:100%;height:auto}figcaption{font-size:0.9em;"
    "color:#444}.stamp{display:inline-block;padding:2px 8px;border:2px solid #222;font-weight:bold;"
    "letter-spacing:0.05em}.rag{display:inline-block;padding:1px 6px;border-radius:3px;color:#000;"
    "font-weight:bold}.maps{display:flex;flex-wrap:wrap;gap:0.5em}.warn{border-left:4px solid #E69F00;"
    "padding-left:0.6em}"
)


def _groups(long: pd.DataFrame, kpis: list[rstats.KpiTarget]) -> list[tuple[str, tuple[str, ...], float | None]]:
    """(label, categories, threshold) per KPI present in the table; per grade when no KPI applies."""
    grades = [g for g in long["grade"].unique() if g != ALL]
    out = [(k.name, k.categories, k.threshold) for k in kpis if any(c in grades for c in k.categories)]
    return out or [(str(g).replace("_", " ").capitalize(), (g,), None) for g in grades[:2]]


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.1f}%"


def _delta(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "no data"
    return f"{100 * (a - b):+.1f} pts"


def _rag(rate: float | None, threshold: float | None) -> str:
    if threshold is None:
        return "no KPI"
    status = rstats.rag_status(rate, threshold)
    return f'<span class="rag" style="background:{palette.RAG_COLOURS[status]}">{e(status.upper())}</span>'


def scorecard(long: pd.DataFrame, groups: Sequence[tuple[str, tuple[str, ...], float | None]]) -> pd.DataFrame:
    """One row per KPI: whole period, latest month, last month, same month last year, rolling 12 months.

    Rates are shares (0-1); ``threshold`` is None for grades without a KPI.
    """
    rows = []
    for label, cats, threshold in groups:
        met, n = rstats.whole_period(long, cats)
        cmp_ = rstats.period_comparison(rstats.monthly_series(long, cats))
        rows.append(
            {
                "kpi": label,
                "threshold": threshold,
                "judged": n,
                "period_rate": met / n if n else None,
                "month": cmp_.get("month"),
                "month_rate": cmp_.get("rate"),
                "last_month_rate": cmp_.get("last_month_rate"),
                "last_year_rate": cmp_.get("last_year_rate"),
                "rolling12_rate": cmp_.get("rolling12_rate"),
                "rolling12_months": cmp_.get("rolling12_months"),
            }
        )
    return pd.DataFrame(rows)


def _scorecard_html(card: pd.DataFrame, integer: bool) -> str:
    head = (
        "<tr><th>KPI</th><th>target</th><th>whole period</th><th>RAG</th><th>latest month</th><th>RAG</th>"
        "<th>vs last month</th><th>vs same month last year</th><th>rolling 12 months</th><th>judged</th></tr>"
    )
    rows = []
    for r in card.itertuples():
        t = None if r.threshold is None or pd.isna(r.threshold) else float(r.threshold)
        rows.append(
            f"<tr><td>{e(str(r.kpi))}</td><td>{e(_pct(t))}</td><td>{e(_pct(r.period_rate))}</td>"
            f"<td>{_rag(r.period_rate, t)}</td><td>{e(str(r.month or 'n/a'))}: {e(_pct(r.month_rate))}</td>"
            f"<td>{_rag(r.month_rate, t)}</td><td>{e(_delta(r.month_rate, r.last_month_rate))}</td>"
            f"<td>{e(_delta(r.month_rate, r.last_year_rate))}</td>"
            f"<td>{e(_pct(r.rolling12_rate))} ({e(str(r.rolling12_months or 0))} months)</td>"
            f"<td>{e(f'{r.judged:,.0f}' if integer else f'{r.judged:,.2f}')}</td></tr>"
        )
    return (
        "<table><caption>KPI scorecard (GREEN at or above target, AMBER within "
        f"{100 * rstats.AMBER_MARGIN:.0f} points below, RED further below)</caption>"
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure(name: str, svg: str | None, caption: str) -> str:
    if svg is None:
        return ""
    return f'<figure class="chart" data-chart="{e(name)}">{svg}<figcaption>{e(caption)}</figcaption></figure>'


def _table_html(df: pd.DataFrame, caption: str) -> str:
    head = "".join(f"<th>{e(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False)
    )
    return f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _time_sections(incidents: pd.DataFrame | None, grades: Sequence[str], modelled: bool) -> list[str]:
    if incidents is None or "grade_category" not in incidents.columns:
        return []
    col = "response_minutes" if not modelled and "response_minutes" in incidents.columns else "travel_minutes"
    if col not in incidents.columns:
        return []
    what = "attendance time" if col == "response_minutes" else "modelled travel time"
    att = incidents[incidents["attended"].astype(bool)] if "attended" in incidents.columns else incidents
    times, targets, rows = {}, {}, []
    for g in grades:
        sub = att[att["grade_category"] == g]
        times[g] = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=float)
        tg = sorted(
            pd.to_numeric(sub.get("target_minutes", pd.Series(dtype=float)), errors="coerce").dropna().unique().tolist()
        )
        targets[g] = tg
        s = rstats.time_summary(times[g])
        if s["n"]:
            rows.append(
                {
                    "grade": str(g).replace("_", " "),
                    "incidents": f"{s['n']:,}",
                    "mean": f"{s['mean']:.1f}",
                    "median": f"{s['median']:.1f}",
                    "90th percentile": f"{s['p90']:.1f}",
                    "target": ", ".join(f"{t:g}" for t in tg),
                }
            )
    svg = charts.times_chart(times, targets, what)
    if svg is None:
        return []
    note = (
        "Travel only (from the nearest base on the road network); call handling and dispatch delays "
        "are not included, so the whole attendance time is longer."
        if col == "travel_minutes"
        else "Observed attendance time: arrived minus created."
    )
    return [
        "<h2>" + e(f"Distribution of {what}") + "</h2>",
        f"<p>{e(note)}</p>",
        _figure("times", svg, f"{what.capitalize()} per grade: mean, median, 90th percentile and target"),
        _table_html(pd.DataFrame(rows), f"{what.capitalize()} (minutes)"),
    ]


def _hotspot_sections(
    hotspots: gpd.GeoDataFrame | None,
    roads: gpd.GeoDataFrame | None,
    places: gpd.GeoDataFrame | None,
    projected_crs: str,
) -> list[str]:
    if hotspots is None or len(hotspots) == 0:
        return ["<h2>Hotspots</h2>", "<p>No hotspot given or none significant.</p>"] if hotspots is not None else []
    cols = [
        c
        for c in (
            "urban_rural",
            "rank",
            "name",
            "attended",
            "pct_met",
            "excess_failures",
            "q_value",
            "gi_z",
            "gi_class",
            "cell",
        )
        if c in hotspots.columns
    ]
    table = pd.DataFrame(hotspots[cols]).copy()
    for c in ("pct_met", "excess_failures", "gi_z"):
        if c in table:
            table[c] = table[c].astype(float).round(1)
    if "q_value" in table:
        table["q_value"] = table["q_value"].map(lambda v: f"{v:.2g}")
    maps = []
    for i, row in enumerate(hotspots.head(MAX_HOTSPOT_MAPS).itertuples()):
        title = f"{i + 1}. {getattr(row, 'name', '')}"[:60]
        cell = gpd.GeoSeries([row.geometry], crs=hotspots.crs)
        maps.append(
            _figure(
                f"hotspot-{i + 1}",
                charts.hotspot_map(cell, roads, places, title, projected_crs),
                f"{getattr(row, 'name', '')}: cell {getattr(row, 'cell', '')}",
            )
        )
    return [
        "<h2>Hotspots</h2>",
        _table_html(table, "Failure hotspots (full figures in hotspots.csv)"),
        f'<div class="maps">{"".join(maps)}</div>',
    ]


def _gi_sections(gi: gpd.GeoDataFrame | None, top: int = 10) -> list[str]:
    """Getis-Ord Gi* hot and cold spots (from :func:`geo_response.hotspots.gi_star_spots`): counts and the top."""
    if gi is None or "gi_class" not in gi.columns:
        return []
    counts = gi["gi_class"].value_counts()
    parts = [
        "<h2>Hot and cold spots (Getis-Ord Gi*)</h2>",
        f"<p>{e(str(gi.attrs.get('method', 'Getis-Ord Gi*')))} on {len(gi):,} cells with at least "
        f"{e(str(gi.attrs.get('min_count', '')))} attended incidents: {int(counts.get('hot', 0)):,} hot spots "
        f"(failure rate clustered high) and {int(counts.get('cold', 0)):,} cold spots (clustered low) at 95% "
        f"confidence{' after Benjamini-Hochberg' if gi.attrs.get('fdr') else ''}.</p>",
    ]
    for kind in ("hot", "cold"):
        sel = gi[gi["gi_class"] == kind].head(top)
        if len(sel):
            table = pd.DataFrame(
                {
                    "name": sel.get("name", sel["cell"]),
                    "cell": sel["cell"],
                    "attended": sel["attended"].astype(int),
                    "failure rate": (100 * sel["failure_rate"]).round(1).astype(str) + "%",
                    "Gi* z": sel["gi_z"].round(2),
                    "bin": sel["gi_bin"],
                }
            )
            parts.append(_table_html(table, f"Top {len(sel)} {kind} spots"))
    return parts


def simulation_sections(tables: dict[str, pd.DataFrame] | None, kpis: Sequence[rstats.KpiTarget]) -> list[str]:
    """The simulation's charts: % met by hour of day (replication band, KPI lines) and misses by cause.

    Parameters
    ----------
    tables : dict or None
        :attr:`geo_response.workflows.simulate.SimulationRun.tables` (``compliance_by_hour``, ``causes``);
        None gives no section.
    kpis : sequence of KpiTarget
        The policy's KPIs (:func:`geo_response.reporting.stats.kpis_for`).

    Returns
    -------
    list of str
        HTML fragments (escaped).
    """
    if not tables:
        return []
    parts = ["<h2>Busy units: simulated dispatch</h2>"]
    by_hour = tables.get("compliance_by_hour")
    if by_hour is not None and len(by_hour):
        parts.append(
            _figure(
                "sim-hour",
                charts.hour_chart(by_hour, kpis),
                "Simulated % met by hour of day per grade; shaded: 95% interval over replications; "
                "dashed black lines: KPI targets",
            )
        )
    causes = tables.get("causes")
    if causes is not None and len(causes):
        parts.append(
            _figure(
                "sim-causes",
                charts.causes_chart(causes),
                "Misses by cause (mean per replication): travel = even a free unit at the nearest post could "
                "not arrive in time; queue = waited for a unit; distance = sent at once but from farther away "
                "(nearer units busy or off duty); delay = call handling alone spent the target",
            )
        )
        t = causes[causes["grade"].astype(str) == "all"].pivot_table(
            index="district", columns="cause", values="missed", aggfunc="sum"
        )
        t = t[[c for c in palette.CAUSE_ORDER if c in t.columns]].fillna(0.0).round(1).reset_index()
        parts.append(_table_html(t, "Misses by cause and district (mean per replication; full table causes.csv)"))
    return parts


def _header(long: pd.DataFrame, summary: dict, title: str) -> list[str]:
    modelled = summary.get("outcomes") == "modelled"
    months = sorted(m for m in long["month"].unique() if rstats.is_month(m))
    period = f"{months[0]} to {months[-1]}" if months else "no dated months"
    policy = summary.get("policy_label") or summary.get("policy") or "unknown policy"
    parts = [
        f"<h1>{e(title)}</h1>",
        f'<p><span class="stamp">{"MODELLED" if modelled else "OBSERVED"}</span> '
        f"Policy: {e(str(policy))}. Period: {e(period)}. Generated {e(str(summary.get('generated_at', '')))}.</p>",
    ]
    if modelled:
        parts.append(
            '<p class="warn">Response times are MODELLED, not observed: Met / Not Met are expected counts '
            "(sums of each incident's probability of meeting target). The model has no time signal, so "
            "month-to-month differences reflect only where incidents happened.</p>"
        )
    if summary.get("grades_sampled"):
        parts.append(
            '<p class="warn">Grades were SAMPLED from the force profile\'s published mix '
            f"(seed {e(str(summary.get('grade_seed')))}), not recorded.</p>"
        )
    net = summary.get("network") or {}
    if net.get("standin"):
        parts.append(
            f'<p class="warn">Road network: {e(str(net.get("label")))}. Travel times on it are '
            "illustrative, not real journey times.</p>"
        )
    ledger = summary.get("ledger") or {}
    if ledger:
        parts.append(
            f"<p>Input rows {ledger.get('input_rows', 0):,} = accepted {ledger.get('accepted', 0):,} + "
            f"rejected {ledger.get('rejected', 0):,} (ledger.csv).</p>"
        )
    return parts


def _trend_sections(
    long: pd.DataFrame, groups: list, grades: list[str], kpis: list[rstats.KpiTarget], modelled: bool
) -> list[str]:
    parts = [
        "<h2>Monthly compliance</h2>",
        _figure(
            "trend",
            charts.trend_chart(long, grades, kpis, modelled),
            "Monthly % met per grade; dashed black lines are the KPI targets",
        ),
    ]
    if not modelled:
        series = {label: rstats.monthly_series(long, cats) for label, cats, _ in groups}
        parts.append(
            _figure(
                "rolling12",
                charts.rolling_chart(series, {lab: t for lab, _, t in groups}),
                "Rolling 12-month % met per KPI",
            )
        )
    parts.append("<h2>Statistical process control</h2>")
    if modelled:
        parts.append(
            "<p>No SPC chart: modelled outcomes have no time signal, so control limits would only "
            "describe the model, not the service.</p>"
        )
        return parts
    for label, cats, threshold in groups:
        series = rstats.monthly_series(long, cats)
        if len(series) < 2:
            parts.append(f"<p>{e(label)}: fewer than two months, no SPC chart.</p>")
            continue
        kpi = rstats.KpiTarget(label, cats, threshold if threshold is not None else np.nan)
        parts.append(
            _figure(
                f"spc-{'-'.join(cats)}",
                charts.spc_chart(series, kpi),
                f"{label}: p-chart with 3-sigma limits; ringed points are special-cause signals",
            )
        )
    return parts


def _split_sections(long: pd.DataFrame, groups: list) -> list[str]:
    parts = ["<h2>Urban and rural, and by district</h2>"]
    for label, cats, threshold in groups:
        for by, what in (("urban_rural", "urban / rural"), ("district", "district")):
            table = rstats.split_table(long, cats, by)
            if len(table):
                parts.append(
                    _figure(
                        f"split-{by}-{'-'.join(cats)}",
                        charts.split_chart(table, threshold, f"{label}: by {what}"),
                        f"{label} by {what}, whole period, with 95% Wilson intervals",
                    )
                )
    return parts


def render_report_html(
    long: pd.DataFrame,
    summary: dict,
    *,
    kpis: Iterable | None = None,
    incidents: pd.DataFrame | None = None,
    corridor: pd.DataFrame | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    projected_crs: str = "EPSG:27700",
    title: str | None = None,
    appendix: Sequence[str] | None = None,
    gi: gpd.GeoDataFrame | None = None,
    simulation: dict[str, pd.DataFrame] | None = None,
) -> str:
    """The report page as a string.

    Parameters
    ----------
    long : DataFrame
        :func:`geo_response.compliance.tables.compliance_long` output.
    summary : dict
        The run summary (``outcomes``, ``policy``, ``policy_label``, ``ledger``, ``network``, ...).
    kpis : iterable, optional
        ``Kpi`` objects (``profile.kpis``) or dicts; those of ``summary['policy']`` apply. Default: the
        embedded profile's.
    incidents : DataFrame, optional
        Per-incident frame (``grade_category``, ``attended``, ``target_minutes`` and ``response_minutes``
        or ``travel_minutes``) for the attendance-time distribution.
    corridor : DataFrame, optional
        ``CorridorAnalysis.table`` (``corridor.csv``).
    hotspots : GeoDataFrame, optional
        :func:`geo_response.hotspots.find_hotspots` output (or Gi* hot spots); one small map each (top 6).
    roads, places : GeoDataFrame, optional
        Main road lines and named places (``name``, points) drawn on the hotspot maps.
    projected_crs : str
        Metric CRS for the hotspot maps.
    title : str, optional
    gi : GeoDataFrame, optional
        :func:`geo_response.hotspots.gi_star_spots` output: hot and cold spot counts and the top ten of each.
    simulation : dict, optional
        A simulation's tables (``SimulationRun.tables``): the hour-of-day and cause-of-failure charts.
    appendix : sequence of str, optional
        HTML fragments appended at the end, **already escaped** (e.g. the report's tables from
        :func:`geo_response.compliance.report.html_fragments`).

    Returns
    -------
    str
        A complete HTML document with no script and no external resource.
    """
    modelled = summary.get("outcomes") == "modelled"
    targets = rstats.kpis_for(summary.get("policy"), kpis)
    title = title or f"Attendance compliance: {summary.get('policy_label') or summary.get('policy') or ''}"
    parts = _header(long, summary, title)
    if long.empty:
        parts.append("<p>No attended incident has an outcome, so there are no charts.</p>")
    else:
        groups = _groups(long, targets)
        grades = [g for g in long["grade"].unique() if g != ALL]
        integer = pd.api.types.is_integer_dtype(long["met"])
        parts += ["<h2>KPIs</h2>", _scorecard_html(scorecard(long, groups), integer)]
        parts += _trend_sections(long, groups, grades, targets, modelled)
        parts += _split_sections(long, groups)
        parts += _time_sections(incidents, grades, modelled)
        emergency = next((k for k in targets if "emergency" in k.categories), None)
        svg = charts.corridor_chart(corridor, emergency) if corridor is not None else None
        if svg:
            parts += [
                "<h2>A12 corridor and trunk roads</h2>",
                _figure("corridor", svg, "Emergency incidents by road group; dashed line: emergency KPI"),
            ]
    parts += _hotspot_sections(hotspots, roads, places, projected_crs)
    parts += _gi_sections(gi)
    parts += simulation_sections(simulation, targets)
    parts += list(appendix or [])
    if summary.get("attribution"):
        parts.append(f"<p><small>{e(str(summary['attribution']))}</small></p>")
    return _page(title, parts)


def _page(title: str, parts: Sequence[str]) -> str:
    """A complete page (no script, a Content-Security-Policy that allows no external resource)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def render_simulation_html(
    summary: dict, tables: dict[str, pd.DataFrame], *, kpis: Iterable | None = None, appendix: Sequence[str] = ()
) -> str:
    """``report.html`` of ``geo-response simulate``: the hour-of-day and cause charts, then `appendix`.

    Parameters
    ----------
    summary : dict
        The simulation summary (``policy``, ``network``, ``replications``, ``generated_at``).
    tables : dict
        ``SimulationRun.tables``.
    kpis : iterable, optional
        ``profile.kpis`` (default: the embedded profile's); those of ``summary['policy']`` apply.
    appendix : sequence of str
        Escaped HTML fragments (the ``report.md`` blocks as HTML).

    Returns
    -------
    str
        A complete HTML document with no script and no external resource.
    """
    title = "Dispatch simulation of response units"
    net = summary.get("network") or {}
    parts = [
        f"<h1>{e(title)}</h1>",
        f'<p><span class="stamp">SIMULATED</span> Policy: {e(str(summary.get("policy", "")))}. '
        f"{e(str(summary.get('replications', '')))} replications. Generated {e(str(summary.get('generated_at', '')))}."
        "</p>",
    ]
    if net.get("standin"):
        parts.append(
            f'<p class="warn">Road network: {e(str(net.get("label")))}. These results exercise the method only; '
            "they are not findings about real roads.</p>"
        )
    parts += simulation_sections(tables, rstats.kpis_for(summary.get("policy"), kpis))
    parts += list(appendix)
    return _page(title, parts)


def _write_text(text: str, path: str | Path) -> Path:
    """The one place this module writes a file: the shared atomic writer."""
    from geo_response.outputs import write_text

    return write_text(text, path)


def write_report_html(path: str | Path, long: pd.DataFrame, summary: dict, **kwargs) -> Path:
    """Write :func:`render_report_html` to `path` (``report.html``); keyword arguments as for it."""
    return _write_text(render_report_html(long, summary, **kwargs), path)


def page(title: str, parts: Sequence[str]) -> str:
    """A complete report page around escaped HTML `parts` (no script, nothing external): for other reports."""
    return _page(title, parts)


def figure_html(name: str, svg: str | None, caption: str) -> str:
    """A chart (inline SVG) with its caption, escaped; empty when `svg` is None."""
    return _figure(name, svg, caption)


def table_html(df: pd.DataFrame, caption: str) -> str:
    """A table with every cell and the caption escaped."""
    return _table_html(df, caption)

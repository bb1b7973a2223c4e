"""Report charts: matplotlib figures rendered to inline SVG strings (no pyplot, no global state).

Text is drawn as paths (``svg.fonttype = 'path'``) with mathtext off (``text.parse_math = False``), so a
hostile name (``<script>``, ``$x$``) can neither reach the page as markup nor be parsed as TeX. Each chart
gets its own ``svg.hashsalt`` so element ids never clash between charts inlined in one page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_response.reporting import palette
from geo_response.reporting import stats as rstats

_RC = {
    "svg.fonttype": "path",
    "text.parse_math": False,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.image_inline": True,
}
_counter = iter(range(10**9))


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element (XML prologue, DOCTYPE and creation date stripped)."""
    buf = io.StringIO()
    with mpl.rc_context({**_RC, "svg.hashsalt": f"gr{next(_counter)}"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :].strip()


def new_figure(width: float = 7.5, height: float = 3.2, ncols: int = 1) -> tuple[Figure, np.ndarray]:
    """A figure and a flat array of its axes, with the report style."""
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, ncols, squeeze=False)[0])
    for ax in axes:
        ax.grid(True, color=palette.GRID_COLOUR, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def _label(text: object) -> str:
    return re.sub(r"\s+", " ", str(text).replace("_", " ")).strip()


def _months_axis(ax, months: Sequence[str]) -> None:
    ticks = list(range(len(months)))
    step = max(1, len(months) // 12)
    ax.set_xticks(
        ticks[::step], [pd.Period(m, freq="M").strftime("%b-%y") for m in months][::step], rotation=45, ha="right"
    )


def trend_chart(
    long: pd.DataFrame, grades: Sequence[str], kpis: Sequence[rstats.KpiTarget], modelled: bool
) -> str | None:
    """Monthly % met per grade with each KPI line; modelled outcomes as one band per grade, not a trend.

    Returns None when the table has no ``YYYY-MM`` month.
    """
    series = {g: rstats.monthly_series(long, [g]) for g in grades}
    series = {g: s for g, s in series.items() if len(s)}
    if not series:
        return None
    months = sorted(set().union(*(s["month"] for s in series.values())))
    pos = {m: i for i, m in enumerate(months)}
    fig, (ax,) = new_figure()
    for i, (g, s) in enumerate(series.items()):
        st = palette.series_style(i)
        x = [pos[m] for m in s["month"]]
        if modelled:
            lo, hi = 100 * s["pct"].min(), 100 * s["pct"].max()
            met, n = rstats.whole_period(long, [g])
            ax.axhspan(lo, hi, color=st["color"], alpha=0.25, linewidth=0)
            ax.axhline(
                100 * met / n,
                color=st["color"],
                linestyle=st["linestyle"],
                label=f"{_label(g)}: {100 * met / n:.1f}% (monthly range {lo:.1f}-{hi:.1f}%)",
            )
        else:
            ax.plot(x, 100 * s["pct"], label=_label(g), **st)
    for k in kpis:
        if any(c in series for c in k.categories):
            ax.axhline(100 * k.threshold, color=palette.KPI_COLOUR, linewidth=1.2, linestyle=(0, (6, 2)))
            ax.annotate(
                f"KPI {'/'.join(map(_label, k.categories))} {100 * k.threshold:.0f}%",
                (0, 100 * k.threshold),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=8,
            )
    if modelled:
        ax.text(
            0.5,
            0.02,
            "MODELLED outcomes carry no time signal: one band per grade (range of monthly values), not a trend",
            transform=ax.transAxes,
            ha="center",
            fontsize=8,
            style="italic",
        )
    _months_axis(ax, months)
    ax.set_ylabel("% met")
    ax.set_ylim(0, 100)
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    ax.set_title("Monthly % of attended incidents meeting target, by grade")
    return to_svg(fig)


def rolling_chart(series: dict[str, pd.DataFrame], thresholds: dict[str, float | None]) -> str | None:
    """Rolling 12-month % met per KPI (windows of fewer months marked hollow) with each KPI line."""
    if not series or not any(len(s) for s in series.values()):
        return None
    months = sorted(set().union(*(s["month"] for s in series.values())))
    pos = {m: i for i, m in enumerate(months)}
    fig, (ax,) = new_figure(height=2.8)
    for i, (label, s) in enumerate(series.items()):
        st = palette.series_style(i)
        r = rstats.rolling12(s)
        x = [pos[m] for m in r["month"]]
        ax.plot(x, 100 * r["rate"], color=st["color"], linestyle=st["linestyle"], label=_label(label))
        full = (r["months"] >= 12).to_numpy()
        ax.scatter(np.asarray(x)[full], 100 * r["rate"].to_numpy()[full], color=st["color"], marker=st["marker"])
        ax.scatter(
            np.asarray(x)[~full],
            100 * r["rate"].to_numpy()[~full],
            facecolors="none",
            edgecolors=st["color"],
            marker=st["marker"],
        )
        if thresholds.get(label) is not None:
            ax.axhline(100 * thresholds[label], color=st["color"], linestyle=(0, (6, 2)), linewidth=1)
    _months_axis(ax, months)
    ax.set_ylabel("% met, rolling 12 months")
    ax.set_title("Rolling 12-month % met (hollow: fewer than 12 months of data); dashed: KPI")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    return to_svg(fig)


def spc_chart(series: pd.DataFrame, kpi: rstats.KpiTarget) -> str:
    """SPC p-chart of one KPI's monthly share met: centre line, 3-sigma limits, signals marked."""
    limits = rstats.p_chart_limits(series["met"], series["n"])
    x = np.arange(len(series))
    fig, (ax,) = new_figure(height=2.8)
    band = palette.sequential_colours(3)[2]
    ax.fill_between(
        x,
        100 * limits["lcl"],
        100 * limits["ucl"],
        step="mid",
        color=band,
        alpha=0.35,
        linewidth=0,
        label="3-sigma control limits",
    )
    ax.axhline(
        100 * limits["centre"].iloc[0],
        color=palette.sequential_colours(3)[1],
        linewidth=1,
        label=f"centre {100 * limits['centre'].iloc[0]:.1f}%",
    )
    ax.plot(x, 100 * limits["p"], color=palette.sequential_colours(1)[0], marker="o", label="month")
    sig = limits["signal"].to_numpy()
    if sig.any():
        ax.scatter(
            x[sig],
            100 * limits["p"].to_numpy()[sig],
            s=80,
            facecolors="none",
            edgecolors=palette.RAG_COLOURS["red"],
            linewidths=1.5,
            label="special cause",
            zorder=3,
        )
    ax.axhline(
        100 * kpi.threshold,
        color=palette.KPI_COLOUR,
        linestyle=(0, (6, 2)),
        linewidth=1.2,
        label=f"KPI {100 * kpi.threshold:.0f}%",
    )
    _months_axis(ax, list(series["month"]))
    ax.set_ylabel("% met")
    ax.set_title(f"SPC p-chart: {_label(kpi.name)}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    return to_svg(fig)


def split_chart(table: pd.DataFrame, threshold: float | None, title: str) -> str:
    """Whole-period % met per group with 95% Wilson intervals and the KPI line (horizontal dot plot)."""
    t = table.sort_values("pct").reset_index(drop=True)
    fig, (ax,) = new_figure(height=max(1.6, 0.28 * len(t) + 0.9))
    y = np.arange(len(t))
    colours = [palette.pct_colour(100 * p) for p in t["pct"]]
    ax.errorbar(
        100 * t["pct"],
        y,
        xerr=[100 * (t["pct"] - t["lo"]), 100 * (t["hi"] - t["pct"])],
        fmt="none",
        ecolor="#555555",
        elinewidth=1,
        capsize=3,
    )
    ax.scatter(100 * t["pct"], y, c=colours, edgecolors="#222222", s=40, zorder=3)
    xlabel = "% met (95% Wilson interval)"
    if threshold is not None:
        ax.axvline(100 * threshold, color=palette.KPI_COLOUR, linestyle=(0, (6, 2)), linewidth=1.2)
        xlabel += f"; dashed line: KPI {100 * threshold:.0f}%"
    ax.set_yticks(y, [f"{_label(g)} (n={n:,.0f})" for g, n in zip(t["group"], t["n"], strict=True)])
    ax.set_xlabel(xlabel)
    ax.set_xlim(max(0, 100 * float(t["lo"].min()) - 5), 100)
    ax.set_title(title)
    return to_svg(fig)


def times_chart(times: dict[str, np.ndarray], targets: dict[str, list[float]], what: str) -> str | None:
    """Histogram of attendance (or modelled travel) minutes per grade with mean, median, p90 and target."""
    grades = [g for g, x in times.items() if np.isfinite(x).any()]
    if not grades:
        return None
    fig, axes = new_figure(width=3.0 * len(grades) + 1, height=2.8, ncols=len(grades))
    dark, mid, light = palette.sequential_colours(3)
    for ax, g in zip(axes, grades, strict=True):
        x = times[g][np.isfinite(times[g])]
        s = rstats.time_summary(x)
        ax.hist(
            x, bins=30, range=(0, float(np.percentile(x, 99)) * 1.05 + 1e-9), color=light, edgecolor=mid, linewidth=0.4
        )
        for value, style, name in ((s["mean"], "-", "mean"), (s["median"], "--", "median"), (s["p90"], ":", "p90")):
            ax.axvline(value, color=dark, linestyle=style, linewidth=1.2, label=f"{name} {value:.1f}")
        for t in targets.get(g, []):
            ax.axvline(t, color=palette.RAG_COLOURS["red"], linewidth=1.6, label=f"target {t:g}")
        ax.set_title(f"{_label(g)} (n={s['n']:,})")
        ax.set_xlabel(f"{what} (minutes)")
        ax.legend(frameon=False, fontsize=7)
    axes[0].set_ylabel("incidents")
    return to_svg(fig)


def corridor_chart(table: pd.DataFrame, kpi: rstats.KpiTarget | None) -> str | None:
    """Emergency % met and share of all emergency failures per corridor group (``corridor.csv`` layout)."""
    need = {"group", "emergency_pct_met", "emergency_share_of_failures"}
    if table is None or table.empty or not need <= set(table.columns):
        return None
    t = table.reset_index(drop=True)
    fig, axes = new_figure(height=max(1.8, 0.35 * len(t) + 1), ncols=2)
    y = np.arange(len(t))
    labels = [_label(g) for g in t["group"]]
    pct = t["emergency_pct_met"].astype(float).to_numpy()
    axes[0].barh(y, pct, color=[palette.pct_colour(p) for p in pct], edgecolor="#333333", linewidth=0.5)
    axes[0].set_yticks(y, labels)
    axes[0].set_xlim(0, 100)
    axes[0].set_xlabel("emergency % met")
    if kpi is not None:
        axes[0].axvline(100 * kpi.threshold, color=palette.KPI_COLOUR, linestyle=(0, (6, 2)), linewidth=1.2)
    share = 100 * t["emergency_share_of_failures"].astype(float).to_numpy()
    axes[1].barh(y, share, color=palette.sequential_colours(3)[1], edgecolor="#333333", linewidth=0.5)
    axes[1].set_yticks(y, [""] * len(y))
    axes[1].set_xlabel("share of all emergency failures (%)")
    fig.suptitle("A12 corridor and trunk roads against the rest (emergency incidents)", fontsize=10)
    return to_svg(fig)


def hotspot_map(
    cell: gpd.GeoSeries,
    roads: gpd.GeoDataFrame | None,
    places: gpd.GeoDataFrame | None,
    title: str,
    projected_crs: str = "EPSG:27700",
    radius_m: float = 3000.0,
) -> str:
    """A small map of one hotspot cell over nearby roads (and named places), in the projected CRS."""
    shape = gpd.GeoSeries(cell, crs=cell.crs).to_crs(projected_crs)
    cx, cy = shape.union_all().centroid.coords[0]
    box = (cx - radius_m, cy - radius_m, cx + radius_m, cy + radius_m)
    fig, (ax,) = new_figure(width=2.6, height=2.6)
    ax.grid(False)
    dark, mid, light = palette.sequential_colours(3)
    if roads is not None and len(roads):
        r = roads.to_crs(projected_crs).clip(box)
        if len(r):
            r.plot(ax=ax, color="#888888", linewidth=1.0)
    shape.plot(ax=ax, facecolor=palette.RAG_COLOURS["red"], alpha=0.45, edgecolor=dark, linewidth=1.2)
    if places is not None and len(places):
        p = places.to_crs(projected_crs).clip(box)
        for name, pt in zip(p["name"], p.geometry, strict=True):
            ax.plot(pt.x, pt.y, marker="o", color=dark, markersize=3)
            ax.annotate(_label(name), (pt.x, pt.y), xytext=(3, 3), textcoords="offset points", fontsize=7)
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.plot([box[0] + 300, box[0] + 1300], [box[1] + 300, box[1] + 300], color="#000000", linewidth=2)
    ax.annotate("1 km", (box[0] + 800, box[1] + 400), ha="center", fontsize=7)
    ax.set_title(title, fontsize=8)
    return to_svg(fig)


def hour_chart(by_hour: pd.DataFrame, kpis: Sequence[rstats.KpiTarget]) -> str | None:
    """Simulated % met by hour of day per grade, with the replication 95% band and each KPI line.

    SVG ids: ``hour-line-<i>`` and ``hour-band-<i>`` per grade (in table order), ``hour-kpi-<j>`` per KPI drawn.

    Parameters
    ----------
    by_hour : DataFrame
        ``compliance_by_hour.csv`` (``grade, urban_rural, district, hour, pct_met, pct_met_low,
        pct_met_high``); the force-wide rows (``urban_rural`` and ``district`` ``all``) are drawn.
    kpis : sequence of KpiTarget
        KPI lines drawn for the grades they cover.

    Returns
    -------
    str or None
        The SVG, or None when there is no hourly row.
    """
    t = by_hour[
        (by_hour["urban_rural"].astype(str) == "all")
        & (by_hour["district"].astype(str) == "all")
        & (by_hour["grade"].astype(str) != "all")
        & (by_hour["hour"].astype(str) != "Total")
    ].copy()
    if t.empty:
        return None
    t["h"] = pd.to_numeric(t["hour"], errors="coerce")
    t = t.dropna(subset=["h"]).sort_values("h")
    grades = list(dict.fromkeys(t["grade"].astype(str)))
    fig, (ax,) = new_figure()
    for i, g in enumerate(grades):
        s = t[t["grade"].astype(str) == g]
        st = palette.series_style(i)
        lo, hi = s["pct_met_low"].astype(float), s["pct_met_high"].astype(float)
        if lo.notna().any():
            ax.fill_between(s["h"], lo, hi, color=st["color"], alpha=0.2, linewidth=0, gid=f"hour-band-{i}")
        ax.plot(s["h"], s["pct_met"].astype(float), label=_label(g), gid=f"hour-line-{i}", **st)
    for j, k in enumerate(kpis):
        if any(c in grades for c in k.categories):
            ax.axhline(
                100 * k.threshold, color=palette.KPI_COLOUR, linewidth=1.2, linestyle=(0, (6, 2)), gid=f"hour-kpi-{j}"
            )
            ax.annotate(
                f"KPI {'/'.join(map(_label, k.categories))} {100 * k.threshold:.0f}%",
                (0, 100 * k.threshold),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=8,
            )
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.5, 23.5)
    ax.set_ylim(0, 100)
    ax.set_xlabel("hour of day (incident created)")
    ax.set_ylabel("% met (simulated)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    ax.set_title("Simulated % met by hour of day, by grade (band: 95% interval over replications)")
    return to_svg(fig)


def _stacked(ax, labels: list[str], table: pd.DataFrame, panel: str) -> None:
    """Horizontal stacked bars of misses per cause (columns of `table`, rows in `labels` order).

    Each bar has the SVG id ``cause-<panel>-<cause>-<row>`` (so a page or a test can find it).
    """
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    for cause in palette.CAUSE_ORDER:
        if cause not in table.columns:
            continue
        v = table[cause].reindex(labels).fillna(0).to_numpy(float)
        bars = ax.barh(
            y,
            v,
            left=left,
            color=palette.CAUSE_COLOURS[cause],
            hatch=palette.CAUSE_HATCHES[cause],
            edgecolor="#333333",
            linewidth=0.4,
            label=cause,
        )
        for j, bar in enumerate(bars):
            bar.set_gid(f"cause-{panel}-{cause}-{j}")
        left += v
    ax.set_yticks(y, [_label(v) for v in labels])
    ax.invert_yaxis()


def causes_chart(causes: pd.DataFrame) -> str | None:
    """Simulated misses by cause (travel / queue / distance / delay): stacked bars per grade and per district.

    Parameters
    ----------
    causes : DataFrame
        ``causes.csv`` (``district, grade, cause, missed``): mean misses per replication.

    Returns
    -------
    str or None
        The SVG, or None when the table has no miss at all.
    """
    c = causes.assign(district=causes["district"].astype(str), grade=causes["grade"].astype(str))
    c = c.assign(missed=pd.to_numeric(c["missed"], errors="coerce").fillna(0.0))
    if c.empty or c["missed"].sum() <= 0:
        return None
    by_grade = c[(c["district"] == "all") & (c["grade"] != "all")].pivot_table(
        index="grade", columns="cause", values="missed", aggfunc="sum"
    )
    by_district = c[(c["grade"] == "all") & (c["district"] != "all")].pivot_table(
        index="district", columns="cause", values="missed", aggfunc="sum"
    )
    rows = max(len(by_grade), len(by_district), 1)
    fig, axes = new_figure(width=8.5, height=max(2.2, 0.3 * rows + 1.2), ncols=2)
    _stacked(axes[0], list(by_grade.index), by_grade, "grade")
    axes[0].set_xlabel("misses per replication (mean)")
    axes[0].set_title("by grade")
    _stacked(axes[1], list(by_district.index), by_district, "district")
    axes[1].set_xlabel("misses per replication (mean)")
    axes[1].set_title("by district (all grades)")
    found = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(label, handle)
    labels = [c for c in palette.CAUSE_ORDER if c in found]
    fig.legend([found[c] for c in labels], labels, loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    fig.suptitle("Simulated misses by cause of failure", fontsize=10)
    return to_svg(fig)


def scenario_change_chart(table: pd.DataFrame, measure: str, title: str) -> str | None:
    """Current -> scenario of one measure per district (a dumbbell per district, force-wide first).

    ``table`` is ``Comparison.table`` (``district, measure, current, scenario, change``). Rises are drawn in the
    palette's "gained" blue, falls in "lost" vermillion, no change in grey; None when the measure is absent.
    """
    t = table[table["measure"] == measure].dropna(subset=["current", "scenario"])
    if t.empty:
        return None
    t = pd.concat([t[t["district"] != "all"].iloc[::-1], t[t["district"] == "all"]], ignore_index=True)
    fig, (ax,) = new_figure(height=max(1.6, 0.26 * len(t) + 0.9))
    y = np.arange(len(t))
    change = (t["scenario"] - t["current"]).to_numpy(float)
    colours = [
        palette.CHANGE_COLOURS["gained"] if c > 1e-9 else palette.CHANGE_COLOURS["lost"] if c < -1e-9 else "#999999"
        for c in change
    ]
    ax.hlines(y, t["current"], t["scenario"], colors=colours, linewidth=2)
    ax.scatter(t["current"], y, facecolors="white", edgecolors="#222222", s=30, zorder=3, label="now")
    ax.scatter(t["scenario"], y, c=colours, edgecolors="#222222", s=36, zorder=4, label="scenario")
    ax.set_yticks(y, [_label(d) for d in t["district"]])
    ax.set_xlabel(_label(title))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax.set_title(title)
    return to_svg(fig)


def cumulative_gain_chart(curves: dict[str, np.ndarray], weight: str) -> str | None:
    """Cumulative gain as sites are added, one line per method (e.g. optimal and greedy); None when empty."""
    curves = {k: np.asarray(v, float) for k, v in curves.items() if len(v)}
    if not curves:
        return None
    fig, (ax,) = new_figure(height=2.6)
    styles = zip(("#0072B2", "#E69F00", "#009E73"), "osD", ("-", "--", ":"), (7, 5, 4), strict=True)
    for (name, gains), (colour, marker, line, size) in zip(curves.items(), styles, strict=False):
        x = np.arange(0, len(gains) + 1)
        y = np.concatenate([[0.0], np.cumsum(gains)])
        ax.plot(x, y, marker=marker, markersize=size, linestyle=line, color=colour, label=_label(name))
    ax.set_xlabel("sites added")
    ax.set_ylabel(f"{_label(weight)} newly within target")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, fontsize=8)
    return to_svg(fig)

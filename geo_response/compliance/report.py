"""Write the compliance outputs: long CSV, ledger, Markdown / HTML report and ``summary.json``.

The report is built once as a list of blocks (headings, paragraphs, tables) and rendered to Markdown
or HTML; every piece of text that reaches HTML goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from geo_response.compliance import tables as compliance
from geo_response.outputs import jsonable, write_csv, write_json, write_text

Block = tuple  # ("h1"|"h2"|"h3", text) | ("p", text) | ("table", caption, DataFrame)


_jsonable = jsonable  # the one JSON conversion lives in geo_response.outputs


def write_summary(summary: dict, path: str | Path) -> Path:
    """Write ``summary.json`` atomically (numpy values converted; NaN and inf written as null)."""
    return write_json(summary, path)


def write_ledger(ledger: pd.DataFrame, path: str | Path) -> Path:
    """Write the ledger CSV (``file, row_number, incident_id, status, reason, detail``), cells neutralised."""
    return write_csv(ledger, path)


def write_long(long: pd.DataFrame, path: str | Path) -> Path:
    """Write ``compliance_by_month.csv`` (cells neutralised, atomic)."""
    return write_csv(long, path)


INCIDENT_COLUMNS = (
    "source_file",
    "row_number",
    "incident_id",
    "month",
    "category",
    "severity",
    "road",
    "snap_method",
    "snapped_road",
    "grade",
    "grade_name",
    "grade_category",
    "grade_sampled",
    "urban_rural",
    "district",
    "lsoa_code",
    "target_minutes",
    "attended",
    "response_minutes",
    "dispatch_minutes",
    "travel_minutes_observed",
    "on_scene_minutes",
    "nearest_base",
    "travel_minutes",
    "snap_distance_m",
    "travel_status",
    "speed_when",
    "delay_median_minutes",
    "p_met",
    "no_outcome",
    "outcome_source",
)


OPTIONAL_COLUMNS = (
    "dispatch_minutes",
    "travel_minutes_observed",
    "on_scene_minutes",
    "severity",
    "road",
    "snap_method",
    "snapped_road",
)


def write_incidents(incidents: pd.DataFrame, path: str | Path) -> Path:
    """Write ``incidents.csv``: one row per accepted incident with its target and probability of meeting it.

    ``p_met`` is 0 or 1 for observed response times and the Monte Carlo probability for modelled ones; an attended
    incident without an outcome (no time, or no route) is 0 with the reason in ``no_outcome``; NaN where the
    incident is not attended. Modelled rows carry the parts of their time: ``nearest_base``, ``travel_minutes``
    (at ``speed_when``) and ``delay_median_minutes`` (the median of the calibrated delay distribution).
    Coordinates are left out on purpose (victims' locations are sensitive); ``row_number`` and ``source_file``
    join back to the input and ``lsoa_code`` is the finest location given. A command-and-control export with
    dispatch times adds ``dispatch_minutes`` and ``travel_minutes_observed``; ``on_scene_minutes`` when given.
    STATS19 collisions add ``severity``, ``road`` (their DfT road), ``snap_method`` and ``snapped_road`` (the
    carriageway they were routed to; their ``snap_distance_m`` is the distance to it).
    """
    p = Path(path)
    table = incidents[[c for c in INCIDENT_COLUMNS if c in incidents.columns]].copy()
    # the command-and-control columns only when the file gave them
    empty = [c for c in OPTIONAL_COLUMNS if c in table.columns and table[c].isna().all()]
    table = table.drop(columns=empty)
    for col, digits in (
        ("travel_minutes", 3),
        ("delay_median_minutes", 3),
        ("dispatch_minutes", 3),
        ("travel_minutes_observed", 3),
        ("snap_distance_m", 1),
        ("p_met", 5),
    ):
        if col in table.columns:
            table[col] = table[col].astype(float).round(digits)
    return write_csv(table, p)


def _title(text: str) -> str:
    return str(text).replace("_", " ").capitalize()


def collision_sentences(summary: dict) -> list[str]:
    """What a report says of the STATS19 collisions that joined the incidents (none when there are none):
    counts and ledger, how they were graded and routed, and their period against the incidents' own.
    """
    c = summary.get("collisions")
    if not c:
        return []
    files = ", ".join(Path(f["file"]).name for f in c["files"])
    reasons = ", ".join(f"{k} {v:,}" for k, v in c["rejected_by_reason"].items()) or "none"
    out = [
        f"STATS19 road collisions ({files}): {c['input_rows']:,} rows = {c['accepted']:,} accepted as road "
        f"incidents (category 'road collision', police force {c.get('police_force')}) + {c['rejected']:,} "
        f"rejected ({reasons}; each in ledger.csv with its file line)."
    ]
    if c.get("note"):
        return [*out, f"Note: {c['note']}."]
    mapping = ", ".join(f"{k.replace('_', ' ')}: {v.replace('_', ' ')}" for k, v in c.get("grade_mapping", {}).items())
    snaps = ", ".join(f"{k} {v:,}" for k, v in c.get("snap_methods", {}).items())
    out.append(
        f"Graded from severity by the force profile ({mapping}); {c.get('attended', 0):,} attended. Each is routed "
        f"to its point on its own carriageway (snapped by road ref, road class or nearest road: {snaps}); the "
        "corridor counts it on that carriageway."
    )
    cp, ip = c.get("period") or {}, summary.get("period") or {}
    if cp.get("first_month"):
        text = f"The collisions are from {cp['first_month']} to {cp['last_month']}"
        if ip.get("first_month") and (cp["first_month"], cp["last_month"]) != (ip["first_month"], ip["last_month"]):
            text += (
                f", ANOTHER PERIOD than the incidents ({ip['first_month']} to {ip['last_month']}): every table counts "
                "both, and the monthly tables include the collisions' months"
            )
        out.append(text + ".")
    return out


def collision_blocks(summary: dict) -> list[Block]:
    """The report's paragraph on STATS19 collisions (see :func:`collision_sentences`)."""
    sentences = collision_sentences(summary)
    return [("p", " ".join(sentences))] if sentences else []


def report_blocks(long: pd.DataFrame, summary: dict, max_categories: int = 20) -> list[Block]:  # noqa: C901 (see docs/DESIGN.md, "Long functions")
    """The report's content as blocks: provenance, ledger, model, headline and the monthly tables."""
    modelled = summary.get("outcomes") == "modelled"
    blocks: list[Block] = [("h1", f"Attendance compliance: {summary.get('policy_label', summary.get('policy', ''))}")]
    if summary.get("grades_sampled"):
        blocks.append(
            (
                "p",
                "GRADES WERE SAMPLED: "
                + (
                    f"{summary['grades_sampled_rows']:,} of {summary['accepted']:,} accepted incidents had no call "
                    "grade, so their grade was drawn "
                    if summary.get("grades_sampled_rows", summary.get("accepted")) != summary.get("accepted")
                    else "the input has no call grades, so each incident's grade was drawn "
                )
                + f"per crime type from the force profile's published mix (seed {summary.get('grade_seed')}). "
                "Tables show what compliance would look like under that mix, not recorded grades.",
            )
        )
    if modelled:
        blocks.append(
            (
                "p",
                "RESPONSE TIMES ARE MODELLED, not observed. Met / Not Met are expected counts (sums of "
                "each incident's probability of meeting target), shown to 2 decimal places.",
            )
        )
    net = summary.get("network") or {}
    if net.get("standin"):
        blocks.append(
            (
                "p",
                f"Road network: {net.get('label')}. Travel times computed on it are illustrative, "
                "not real Essex journey times.",
            )
        )
    ledger = summary.get("ledger", {})
    blocks.append(("h2", "Data and ledger"))
    blocks.append(
        (
            "p",
            f"Input rows {ledger.get('input_rows', 0):,} = accepted {ledger.get('accepted', 0):,} + "
            f"rejected {ledger.get('rejected', 0):,}. Every rejected row is listed in ledger.csv with its "
            "file, row number and reason.",
        )
    )
    reasons = ledger.get("rejected_by_reason", {})
    warnings = ledger.get("warnings", {})
    if reasons or warnings:
        rows = [{"status": "rejected", "reason": k, "rows": f"{v:,}"} for k, v in reasons.items()]
        rows += [{"status": "warning", "reason": k, "rows": f"{v:,}"} for k, v in warnings.items()]
        blocks.append(("table", "Ledger by reason", pd.DataFrame(rows)))
    blocks += collision_blocks(summary)
    excluded = summary.get("excluded_not_attended", {})
    if excluded:
        blocks.append(
            (
                "p",
                "Not attendance incidents (excluded from compliance, counted separately): "
                + "; ".join(f"{_title(k)} {v:,}" for k, v in excluded.items())
                + ".",
            )
        )
    if summary.get("no_outcome"):
        blocks.append(
            (
                "p",
                f"Attended incidents without an outcome (no response time, or no route): "
                f"{summary['no_outcome']:,}, counted as not met in every table (one rule everywhere; "
                "each is a ledger warning).",
            )
        )
    files = summary.get("data_sources", {})
    if files:
        blocks.append(("p", "Data sources: " + "; ".join(f"{k}: {v}" for k, v in files.items() if v) + "."))
    if modelled:
        model = summary.get("response_model", {})
        blocks.append(("h2", "Response model"))
        blocks.append(
            (
                "p",
                f"Predicted response = {model.get('formula', '')}. Travel: {model.get('travel_model', '')}. "
                f"Delays: {model.get('delay_distribution', '')}; Monte Carlo with {model.get('draws')} "
                f"draws, seed {model.get('seed')}, delay scale {model.get('delay_scale', 1.0):.4g}.",
            )
        )
        params = model.get("delay_parameters", {})
        if params:
            blocks.append(
                (
                    "table",
                    "Delay stages (seconds)",
                    pd.DataFrame(
                        [
                            {
                                "stage": _title(k),
                                "median_s": f"{v['median_s']:.1f}",
                                "p90_s": f"{v['p90_s']:.1f}",
                            }
                            for k, v in params.items()
                        ]
                    ),
                )
            )
        if summary.get("calibration_stamp"):
            blocks.append(("p", f"Calibration used: {summary['calibration_stamp']}."))
        cal = summary.get("calibration")
        if cal:
            blocks.append(("h3", "Calibration"))
            blocks.append(
                (
                    "p",
                    f"Delay scale fitted to {cal['target_rate']:.1%} "
                    f"{'/'.join(cal['categories'])} compliance: x{cal['delay_scale']:.4f} "
                    f"(achieved {cal['achieved_rate']:.2%} over {cal['n_incidents']:,} incidents).",
                )
            )
            for key, label in (("by_urban_rural", "urban_rural"), ("by_district", "district")):
                rows = cal.get(key) or []
                if rows:
                    blocks.append(
                        (
                            "table",
                            f"Calibrated compliance by {label.replace('_', '/')}",
                            pd.DataFrame(
                                [
                                    {
                                        label: r[label],
                                        "incidents": f"{r['incidents']:,}",
                                        "expected % met": f"{100 * r['expected_rate']:.1f}%",
                                    }
                                    for r in rows
                                ]
                            ),
                        )
                    )
    if long.empty:
        blocks.append(("p", "No attended incident has an outcome, so there are no compliance tables."))
        return blocks

    grades = [g for g in long["grade"].unique() if g != compliance.ALL]
    blocks.append(
        (
            "p",
            "In the tables 'grade' is the grade family (under essex-2022, emergency covers grade 1, "
            "urban, 15 min and grade 2, rural, 20 min); urban / rural is the class of the LSOA the "
            "incident lies in. Met means response time <= target. % Met is to one decimal place.",
        )
    )
    blocks.append(("h2", "Headline (whole period)"))
    integer = compliance.is_observed(long)
    head = compliance.headline(long)
    head = head[head["grade"] != compliance.ALL]
    blocks.append(
        (
            "table",
            "Met / Not Met by grade and setting",
            pd.DataFrame(
                {
                    "grade": head["grade"].map(_title),
                    "setting": head["urban_rural"],
                    "met": [compliance.format_count(v, integer) for v in head["met"]],
                    "not met": [compliance.format_count(v, integer) for v in head["not_met"]],
                    "% met": [f"{v:.1f}%" for v in head["pct_met"]],
                }
            ),
        )
    )
    blocks += kpi_blocks(long, summary)
    blocks.append(("h2", "Monthly tables by grade, urban / rural"))
    for g in grades:
        for setting in (compliance.ALL, "urban", "rural"):
            t = compliance.wide_table(long, grade=g, urban_rural=setting)
            if not t.empty and len(t.columns):
                label = "urban and rural" if setting == compliance.ALL else setting
                blocks.append(("table", f"{_title(g)} - {label}", t))
    districts = sorted(d for d in long["district"].unique() if d != compliance.ALL)
    if districts:
        blocks.append(("h2", "Monthly tables by district"))
        for g in grades:
            for d in districts:
                t = compliance.wide_table(long, grade=g, district=d)
                if not t.empty and len(t.columns):
                    blocks.append(("table", f"{_title(g)} - {d}", t))
    cats = long[
        (long["category"] != compliance.ALL)
        & (long["month"] == compliance.TOTAL)
        & (long["grade"] == compliance.ALL)
        & (long["urban_rural"] == compliance.ALL)
        & (long["district"] == compliance.ALL)
    ]
    cats = cats.assign(n=cats["met"] + cats["not_met"]).sort_values("n", ascending=False)["category"].tolist()
    if cats:
        blocks.append(("h2", "Monthly tables by grade and category"))
        for g in grades:
            for c in cats[:max_categories]:
                t = compliance.wide_table(long, grade=g, category=c)
                if not t.empty and len(t.columns):
                    blocks.append(("table", f"{_title(g)} - {c}", t))
    if summary.get("attribution"):
        blocks.append(("p", summary["attribution"]))
    return blocks


def summary_kpis(summary: dict) -> list:
    """The KPIs for a run: ``summary['kpis']`` when present, else those of the profile the run used."""
    if summary.get("kpis") is not None:
        return list(summary["kpis"])
    from geo_response import config

    path = (summary.get("profile") or {}).get("path")
    try:
        return list(config.load_profile(path).kpis if path else config.load_profile().kpis)
    except (OSError, ValueError):
        return list(config.load_profile().kpis)


def kpi_blocks(long: pd.DataFrame, summary: dict) -> list[Block]:
    """The KPI scorecard (whole period, latest month, vs last month / last year, rolling 12 months, RAG)."""
    from geo_response.reporting import html_report
    from geo_response.reporting import stats as rstats

    targets = rstats.kpis_for(summary.get("policy"), summary_kpis(summary))
    groups = [
        (k.name, k.categories, k.threshold) for k in targets if any(c in set(long["grade"]) for c in k.categories)
    ]
    if not groups:
        return []
    card = html_report.scorecard(long, groups)

    def pct(v: Any) -> str:
        return "n/a" if v is None or pd.isna(v) else f"{100 * v:.1f}%"

    def delta(a: Any, b: Any) -> str:
        return "no data" if a is None or b is None or pd.isna(a) or pd.isna(b) else f"{100 * (a - b):+.1f} pts"

    table = pd.DataFrame(
        {
            "KPI": card["kpi"],
            "target": card["threshold"].map(pct),
            "whole period": card["period_rate"].map(pct),
            "RAG": [
                rstats.rag_status(r, t).upper() for r, t in zip(card["period_rate"], card["threshold"], strict=True)
            ],
            "latest month": [f"{m}: {pct(r)}" for m, r in zip(card["month"], card["month_rate"], strict=True)],
            "vs last month": [delta(a, b) for a, b in zip(card["month_rate"], card["last_month_rate"], strict=True)],
            "vs same month last year": [
                delta(a, b) for a, b in zip(card["month_rate"], card["last_year_rate"], strict=True)
            ],
            "rolling 12 months": card["rolling12_rate"].map(pct),
        }
    )
    note = (
        f"RAG: GREEN at or above the KPI, AMBER within {100 * rstats.AMBER_MARGIN:.0f} points below, RED further below."
    )
    if summary.get("outcomes") == "modelled":
        note += " Modelled rates have no time signal: month-to-month changes reflect only where incidents were."
    return [("h2", "KPIs"), ("table", "KPI scorecard", table), ("p", note)]


_MD_PUNCTUATION = re.compile(r"([\\`*\[\]~])")
_MD_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def md_escape(value: Any, newlines: bool = False) -> str:
    """Text for a Markdown table cell or line that renders as the same text and nothing else.

    HTML is escaped (viewers render inline HTML), as are the characters that make links, images, code and
    emphasis (``\\ ` * [ ] ~``, a ``(`` after ``]``, ``_`` at a word's edge) and ``|`` (table cells).
    Newlines become spaces unless ``newlines`` (paragraphs).

    Examples
    --------
    >>> md_escape("<img src=x onerror=alert(1)> | x")
    '&lt;img src=x onerror=alert(1)&gt; \\\\| x'
    >>> print(md_escape("![](http://tracker) [x](javascript:alert(1)) pct_met"))
    !\\[\\]\\(http://tracker) \\[x\\]\\(javascript:alert(1)) pct_met
    """
    text = html.escape(str(value), quote=False)
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    text = _MD_EDGE_UNDERSCORE.sub(r"\\_", text).replace("\\](", "\\]\\(").replace("|", "\\|")
    return text if newlines else text.replace("\n", " ")


def render_markdown(blocks: list[Block]) -> str:
    """Render blocks as Markdown (pipe tables)."""
    lines: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + md_escape(block[1]), ""]
        elif kind == "p":
            lines += [md_escape(block[1], newlines=True), ""]
        elif kind == "table":
            caption, df = block[1], block[2]
            first = "" if isinstance(df.index, pd.RangeIndex) else " "
            header = ([first] if first else []) + [md_escape(c) for c in df.columns]
            lines += [
                f"**{md_escape(caption)}**",
                "",
                "| " + " | ".join(header) + " |",
                "|" + "|".join(["---"] * len(header)) + "|",
            ]
            for idx, row in df.iterrows():
                cells = ([md_escape(idx)] if first else []) + [md_escape(v) for v in row]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def html_fragments(blocks: list[Block]) -> list[str]:
    """Blocks as escaped HTML fragments (headings, paragraphs, tables), for a page or an appendix."""
    e = html.escape
    parts = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{e(str(block[1]))}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{e(str(block[1]))}</p>")
        elif kind == "table":
            caption, df = block[1], block[2]
            named = not isinstance(df.index, pd.RangeIndex)
            head = ("<th></th>" if named else "") + "".join(f"<th>{e(str(c))}</th>" for c in df.columns)
            rows = []
            for idx, row in df.iterrows():
                cells = (f"<th>{e(str(idx))}</th>" if named else "") + "".join(f"<td>{e(str(v))}</td>" for v in row)
                rows.append(f"<tr>{cells}</tr>")
            parts.append(
                f"<table><caption>{e(str(caption))}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>"
            )
    return parts


def render_html(blocks: list[Block], title: str = "geo-response compliance report") -> str:
    """Render blocks as a standalone HTML page (tables only, no charts); all text is escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto}table{border-collapse:collapse;"
        "margin:0.5em 0 1.5em}td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}"
        "th:first-child{text-align:left}caption{font-weight:bold;text-align:left}</style></head><body>",
    ]
    parts += html_fragments(blocks)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(long: pd.DataFrame, summary: dict, path: str | Path, **chart_inputs: Any) -> Path:
    """Write the report as Markdown (``.md``) or HTML (``.html``), chosen by the file suffix.

    HTML is the chart page (:func:`geo_response.reporting.html_report.render_report_html`, with the KPIs of
    the run's profile) followed by every table of the Markdown report; `chart_inputs` (``incidents``,
    ``corridor``, ``hotspots``, ``roads``, ``places``, ``kpis``) are passed to it.
    """
    p = Path(path)
    blocks = report_blocks(long, summary)
    if p.suffix.lower() in (".html", ".htm"):
        from geo_response.reporting import html_report

        chart_inputs.setdefault("kpis", summary_kpis(summary))
        appendix = ["<h2>Details and tables</h2>"] + html_fragments([b for b in blocks if b[0] != "h1"])
        return write_text(html_report.render_report_html(long, summary, appendix=appendix, **chart_inputs), p)
    return write_text(render_markdown(blocks), p)


def now_utc() -> str:
    """The current time, ISO 8601 UTC (for provenance)."""
    return datetime.now(UTC).isoformat(timespec="seconds")

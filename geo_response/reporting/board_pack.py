"""The board pack: tidy CSVs (detail rows only, totals in their own file, rounded for people) and
``board_pack.xlsx`` with one formatted sheet per table and the KPI RAG status.

Files written by :func:`write_board_pack` (shares are 0-1 in CSVs, formatted as % in Excel):

``compliance_detail.csv``
    One row per grade x category x urban_rural x district x month: no ``all`` rows, no ``Total`` month,
    so a plain sum of ``met`` is the true total.
``compliance_totals.csv``
    One row per grade over the whole period; its sums equal the detail file's.
``kpi_scorecard.csv``, ``kpi_monthly.csv``
    Each KPI over the whole period, latest month, vs last month / same month last year, rolling 12
    months, and its monthly series, with a RAG status.
``urban_rural.csv``, ``districts.csv``
    Whole-period share met per KPI and group with 95% Wilson intervals.
``corridor.csv``, ``hotspots.csv``
    When given: the corridor and hotspot tables rounded for people (no raw floats).
``simulation_by_hour.csv``, ``simulation_causes.csv``
    When a simulation is given: force-wide simulated Met / Not Met and % met (mean of replications, 95%
    interval) per grade and hour of day, and mean misses per replication by district, grade and cause (detail
    rows only: their sums are the totals).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from geo_response.compliance.tables import ALL, TOTAL
from geo_response.errors import OutputError
from geo_response.reporting import html_report, palette
from geo_response.reporting import stats as rstats

DETAIL_COLUMNS = ["grade", "category", "urban_rural", "district", "month", "met", "not_met", "judged", "pct_met"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: object) -> object:
    """Strings that a spreadsheet would run as a formula get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """The one place this module writes a CSV: the shared safe writer (neutralised cells, atomic)."""
    from geo_response.outputs import write_csv

    return write_csv(table, path)


def _counts(table: pd.DataFrame, integer: bool) -> pd.DataFrame:
    out = table.copy()
    out["judged"] = out["met"] + out["not_met"]
    for c in ("met", "not_met", "judged"):
        out[c] = out[c].round().astype(np.int64) if integer else out[c].astype(float).round(2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pct_met"] = (100 * table["met"] / (table["met"] + table["not_met"])).round(1)
    return out


def detail_table(long: pd.DataFrame) -> pd.DataFrame:
    """Detail rows of the long table only (no ``all`` aggregate, no ``Total`` month), ``judged`` added."""
    dims = ["grade", "category", "urban_rural", "district"]
    sel = long[(long[dims] != ALL).all(axis=1) & (long["month"] != TOTAL)]
    return _counts(sel, pd.api.types.is_integer_dtype(long["met"]))[DETAIL_COLUMNS].reset_index(drop=True)


def totals_table(long: pd.DataFrame) -> pd.DataFrame:
    """Whole-period totals per grade (one row each): the sums of :func:`detail_table` by grade."""
    dims = ["category", "urban_rural", "district"]
    sel = long[(long[dims] == ALL).all(axis=1) & (long["month"] == TOTAL) & (long["grade"] != ALL)]
    out = _counts(sel, pd.api.types.is_integer_dtype(long["met"]))
    return out[["grade", "met", "not_met", "judged", "pct_met"]].reset_index(drop=True)


def kpi_tables(long: pd.DataFrame, summary: dict, kpis: Iterable | None = None) -> dict[str, pd.DataFrame]:
    """``kpi_scorecard``, ``kpi_monthly``, ``urban_rural`` and ``districts`` tables (shares rounded to 4 dp)."""
    groups = html_report._groups(long, rstats.kpis_for(summary.get("policy"), kpis))
    card = html_report.scorecard(long, groups)
    card["period_rag"] = [
        rstats.rag_status(r, t) if t is not None and np.isfinite(t) else "no KPI"
        for r, t in zip(card["period_rate"], card["threshold"], strict=True)
    ]
    card["month_rag"] = [
        rstats.rag_status(r, t) if t is not None and np.isfinite(t) else "no KPI"
        for r, t in zip(card["month_rate"], card["threshold"], strict=True)
    ]
    monthly, splits = [], {"urban_rural": [], "district": []}
    for label, cats, threshold in groups:
        s = rstats.monthly_series(long, cats)
        s.insert(0, "kpi", label)
        s["threshold"] = threshold
        s["rag"] = [rstats.rag_status(p, threshold) if threshold is not None else "no KPI" for p in s["pct"]]
        monthly.append(s)
        for by in splits:
            t = rstats.split_table(long, cats, by).rename(columns={"group": by})
            t.insert(0, "kpi", label)
            splits[by].append(t)
    out = {
        "kpi_scorecard": card,
        "kpi_monthly": pd.concat(monthly, ignore_index=True) if monthly else pd.DataFrame(),
        "urban_rural": pd.concat(splits["urban_rural"], ignore_index=True) if groups else pd.DataFrame(),
        "districts": pd.concat(splits["district"], ignore_index=True) if groups else pd.DataFrame(),
    }
    for t in out.values():
        num = t.select_dtypes("floating").columns
        t[num] = t[num].round(4)
        if "rolling12_months" in t:
            t["rolling12_months"] = t["rolling12_months"].fillna(0).astype(int)
        for c in ("met", "n", "judged"):
            if c in t:
                t[c] = t[c].round(1)
    return out


def rounded(table: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """A copy with float columns rounded (geometry dropped): for corridor and hotspot tables."""
    t = pd.DataFrame(table.drop(columns="geometry", errors="ignore")).copy()
    floats = t.select_dtypes("floating").columns
    t[floats] = t[floats].round(decimals)
    for c in [c for c in ("p_value", "q_value") if c in t]:
        t[c] = table[c].map(lambda v: float(f"{v:.3g}") if pd.notna(v) else v)
    return t


SHARE_COLUMNS = (
    "threshold",
    "period_rate",
    "month_rate",
    "last_month_rate",
    "last_year_rate",
    "rolling12_rate",
    "pct",
    "lo",
    "hi",
    "failure_rate",
    "force_failure_rate",
)
RAG_COLUMNS = ("period_rag", "month_rag", "rag")


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "sheet"
    out, i = base, 2
    while out.lower() in used:
        out = f"{base[:28]}_{i}"
        i += 1
    used.add(out.lower())
    return out


def _format_sheet(ws, table: pd.DataFrame) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header = PatternFill("solid", fgColor=palette.sequential_colours(1)[0].lstrip("#"))
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = header
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for j, col in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        width = max([len(str(col))] + [len(str(v)) for v in table[col].head(200)]) + 2
        ws.column_dimensions[letter].width = min(max(width, 8), 50)
        fmt = "0.0%" if col in SHARE_COLUMNS else ("#,##0" if pd.api.types.is_integer_dtype(table[col]) else None)
        for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            cell = row[0]
            if fmt and isinstance(cell.value, (int, float)):
                cell.number_format = fmt
            if col in RAG_COLUMNS and str(cell.value) in palette.RAG_COLOURS:
                cell.fill = PatternFill("solid", fgColor=palette.RAG_COLOURS[str(cell.value)].lstrip("#"))
                cell.value = str(cell.value).upper()
                cell.font = Font(bold=True)


def write_workbook(tables: dict[str, pd.DataFrame], path: str | Path, notes: list[str] | None = None) -> Path:
    """Write ``board_pack.xlsx``: a ``README`` sheet of notes, then one formatted sheet per table.

    Header row bold on the palette's dark colour, frozen and filtered; shares as ``0.0%``, counts as
    ``#,##0``; RAG cells filled (Okabe-Ito) and spelled out. Text that a spreadsheet would run as a formula
    gets a leading apostrophe.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise OutputError("board_pack.xlsx needs openpyxl: pip install openpyxl") from exc
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    for i, line in enumerate(notes or [], start=1):
        readme.cell(row=i, column=1, value=_safe_text(str(line))).font = Font(bold=i == 1)
    readme.column_dimensions["A"].width = 120
    used = {"readme"}
    for name, table in tables.items():
        ws = wb.create_sheet(_sheet_name(name, used))
        ws.append([str(c) for c in table.columns])
        for row in table.itertuples(index=False):
            ws.append(
                [
                    None
                    if (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA
                    else (v.item() if isinstance(v, np.generic) else _safe_text(v))
                    for v in row
                ]
            )
        _format_sheet(ws, table)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    wb.save(p)
    return p


def _notes(long: pd.DataFrame, summary: dict) -> list[str]:
    months = sorted(m for m in long["month"].unique() if rstats.is_month(m))
    stamp = "MODELLED (expected counts)" if summary.get("outcomes") == "modelled" else "OBSERVED"
    notes = [
        f"Attendance compliance board pack: {summary.get('policy_label') or summary.get('policy', '')}",
        f"Outcomes: {stamp}. Period: {months[0] + ' to ' + months[-1] if months else 'no dated months'}.",
        "compliance_detail holds detail rows only: sum any column freely. compliance_totals holds the "
        "whole-period total per grade (equal to the sums of the detail rows).",
        f"RAG: GREEN at or above the KPI, AMBER within {100 * rstats.AMBER_MARGIN:.0f} points below, RED "
        "further below. Intervals are 95% Wilson score intervals.",
    ]
    if summary.get("grades_sampled"):
        notes.append("Grades were SAMPLED from the force profile's mix, not recorded.")
    if (summary.get("network") or {}).get("standin"):
        notes.append("Travel times come from a SYNTHETIC stand-in road network: illustrative only.")
    return notes


def simulation_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The board's view of a simulation (``SimulationRun.tables``): by hour of day, and misses by cause.

    Returns
    -------
    dict
        ``simulation_by_hour`` (grade x hour, force-wide) and ``simulation_causes`` (district x grade x cause,
        no ``all`` rows), for the tables present.
    """
    out = {}
    hour = tables.get("compliance_by_hour")
    if hour is not None and len(hour):
        sel = hour[
            (hour["urban_rural"].astype(str) == ALL)
            & (hour["district"].astype(str) == ALL)
            & (hour["grade"].astype(str) != ALL)
            & (hour["hour"].astype(str) != TOTAL)
        ]
        out["simulation_by_hour"] = sel.drop(columns=["urban_rural", "district"]).reset_index(drop=True)
    causes = tables.get("causes")
    if causes is not None and len(causes):
        sel = causes[(causes["district"].astype(str) != ALL) & (causes["grade"].astype(str) != ALL)]
        out["simulation_causes"] = sel.reset_index(drop=True)
    return out


def write_board_pack(
    out_dir: str | Path,
    long: pd.DataFrame,
    summary: dict,
    *,
    kpis: Iterable | None = None,
    corridor: pd.DataFrame | None = None,
    hotspots: pd.DataFrame | None = None,
    xlsx_name: str = "board_pack.xlsx",
    xlsx_path: str | Path | None = None,
    simulation: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Path]:
    """Write the board pack CSVs and workbook to `out_dir`.

    Parameters
    ----------
    out_dir : str or Path
        Folder (created).
    long : DataFrame
        :func:`geo_response.compliance.tables.compliance_long` output.
    summary : dict
        The run summary (``policy``, ``policy_label``, ``outcomes``, ...).
    kpis : iterable, optional
        ``profile.kpis``; default the embedded profile's.
    corridor, hotspots : DataFrame, optional
        ``CorridorAnalysis.table`` and :func:`geo_response.hotspots.find_hotspots` (or its table).
    xlsx_name : str
        Workbook file name inside `out_dir`.
    xlsx_path : str or Path, optional
        Write the workbook here instead (e.g. beside ``report.html`` while the CSVs go to a subfolder).
    simulation : dict, optional
        ``SimulationRun.tables``: adds :func:`simulation_tables` as sheets and CSVs.

    Returns
    -------
    dict
        Table name -> path written (``board_pack`` -> the workbook).
    """
    out = Path(out_dir)
    tables = {
        "compliance_detail": detail_table(long),
        "compliance_totals": totals_table(long),
        **kpi_tables(long, summary, kpis),
    }
    if corridor is not None:
        tables["corridor"] = rounded(corridor)
    if hotspots is not None:
        tables["hotspots"] = rounded(hotspots)
    tables.update(simulation_tables(simulation or {}))
    tables = {k: v for k, v in tables.items() if len(v.columns)}
    paths = {name: _write_csv(t, out / f"{name}.csv") for name, t in tables.items()}
    paths["board_pack"] = write_workbook(tables, xlsx_path or out / xlsx_name, _notes(long, summary))
    return paths

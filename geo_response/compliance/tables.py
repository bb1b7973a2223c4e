"""Attendance target compliance: per-incident outcomes and Met / Not Met tables.

Every attended incident carries ``p_met``, the probability it met its target: 1.0 or 0.0 when response
times were observed (met means ``response_minutes <= target_minutes``), a Monte Carlo probability when
they were modelled (:mod:`geo_response.response_model`). Tables sum ``p_met``: observed tables hold
counts, modelled tables hold expected counts (floats, rounded to 2 dp).

Incidents of grades that are not attended (resolution without deployment, appointments) are excluded
from attendance compliance and counted separately (:func:`excluded_counts`).

The long table (:func:`compliance_long`) has one row per cell of grade x category x urban_rural x
district x month, with ``'all'`` for aggregates and month ``'Total'`` for the whole period; the wide
table (:func:`wide_table`) is the layout Essex Police publishes: columns are months and Total, rows
``Met``, ``Not Met``, ``% Met`` (percentages to one decimal place, halves rounded up).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from geo_response.errors import ComplianceError
from geo_response.ledger import ledger_rows

LONG_COLUMNS = ["grade", "category", "urban_rural", "district", "month", "met", "not_met", "pct_met"]
#: Long-table dimension -> incident column it is read from.
DIMENSIONS = {
    "grade": "grade_category",
    "category": "category",
    "urban_rural": "urban_rural",
    "district": "district",
}
ALL = "all"
TOTAL = "Total"
UNKNOWN = "unknown"


def observed_outcomes(incidents: pd.DataFrame) -> pd.DataFrame:
    """Set ``p_met`` (1.0 met, 0.0 not met) from observed response times; ``outcome_source = 'observed'``.

    One rule for incidents without an outcome (as in the model): an attended incident with no response time
    counts as not met (``p_met`` 0) and says why in ``no_outcome``; non-attended incidents get NaN.
    """
    for col in ("response_minutes", "target_minutes", "attended"):
        if col not in incidents.columns:
            raise ComplianceError(
                f"incidents lack column {col!r}; load them with response times and run grading.assign_targets first"
            )
    out = incidents.copy()
    rt = out["response_minutes"].astype(float).to_numpy()
    target = out["target_minutes"].astype(float).to_numpy()
    attended = out["attended"].to_numpy(dtype=bool)
    p = np.full(len(out), np.nan)
    judged = attended & ~np.isnan(rt)
    p[judged] = (rt[judged] <= target[judged]).astype(float)
    missing = attended & np.isnan(rt)
    p[missing] = 0.0
    out["p_met"] = p
    out["no_outcome"] = np.where(missing, "no response time", None)
    out["outcome_source"] = "observed"
    return out


def missing_time_warnings(incidents: pd.DataFrame) -> pd.DataFrame:
    """Ledger warnings for attended incidents with no observed response time (not in the tables)."""
    m = incidents["attended"].to_numpy(dtype=bool) & incidents["response_minutes"].isna().to_numpy()
    return ledger_rows(
        incidents[m],
        "missing_response_time",
        "attended grade but no response time: counted as not met (and reported apart)",
    )


def pct_half_up(met: np.ndarray, total: np.ndarray, integer: bool) -> np.ndarray:
    """100 * met / total to one decimal place, halves rounded up (as published); NaN where total is 0."""
    met = np.asarray(met, dtype=float)
    total = np.asarray(total, dtype=float)
    out = np.full(met.shape, np.nan)
    ok = total > 0
    if integer:
        m, t = met[ok].astype(np.int64), total[ok].astype(np.int64)
        out[ok] = ((2000 * m + t) // (2 * t)) / 10.0
    else:
        out[ok] = np.floor(1000.0 * met[ok] / total[ok] + 0.5 + 1e-9) / 10.0
    return out


def compliance_long(incidents: pd.DataFrame, month_column: str = "month") -> pd.DataFrame:
    """Met / Not Met / % Met for every cell and aggregate.

    Parameters
    ----------
    incidents : DataFrame
        With ``grade_category`` (written as ``grade``), ``category``, ``urban_rural``, ``district``,
        ``month``, ``attended`` and ``p_met``. Missing values in a dimension are reported as ``'unknown'``.

    Returns
    -------
    DataFrame
        ``grade, category, urban_rural, district, month, met, not_met, pct_met``; ``'all'`` marks an
        aggregate over a dimension, month ``'Total'`` the whole period. ``met + not_met`` is the number of
        judged incidents in the cell. Observed outcomes give integer counts; modelled ones expected
        counts rounded to 2 dp. ``pct_met`` is rounded half up to 1 dp.
    """
    need = list(DIMENSIONS.values()) + [month_column, "attended", "p_met"]
    missing = [c for c in need if c not in incidents.columns]
    if missing:
        raise ComplianceError(
            f"incidents lack columns {missing}; run classification.classify, "
            "grading.assign_targets and an outcome step (observed or modelled) first"
        )
    judged = incidents["attended"].to_numpy(dtype=bool) & incidents["p_met"].notna().to_numpy()
    frame = pd.DataFrame({dim: incidents.loc[judged, col].astype("object") for dim, col in DIMENSIONS.items()})
    frame["month"] = incidents.loc[judged, month_column].astype("object")
    frame = frame.where(frame.notna(), UNKNOWN).astype(str)
    p = incidents.loc[judged, "p_met"].astype(float).to_numpy()
    integer = bool(np.all((p == 0.0) | (p == 1.0)))
    frame["met"] = p
    frame["n"] = 1.0
    dims = list(DIMENSIONS) + ["month"]
    parts = []
    for mask in itertools.product((True, False), repeat=len(dims)):
        keys = [d for d, keep in zip(dims, mask, strict=True) if keep]
        if keys:
            g = frame.groupby(keys, sort=False, observed=True)[["met", "n"]].sum().reset_index()
        else:
            g = pd.DataFrame({"met": [frame["met"].sum()], "n": [float(len(frame))]})
        for d, keep in zip(dims, mask, strict=True):
            if not keep:
                g[d] = TOTAL if d == "month" else ALL
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out = out[out["n"] > 0]
    if integer:
        out["met"] = out["met"].round().astype(np.int64)
        out["not_met"] = (out["n"].round().astype(np.int64) - out["met"]).astype(np.int64)
        out["pct_met"] = pct_half_up(out["met"].to_numpy(), out["n"].to_numpy(), integer=True)
    else:
        out["pct_met"] = pct_half_up(out["met"].to_numpy(), out["n"].to_numpy(), integer=False)
        out["not_met"] = (out["n"] - out["met"]).round(2)
        out["met"] = out["met"].round(2)
    out = out[LONG_COLUMNS]
    # grades in order of their (median) target, shortest first: emergency, urgent/priority, ...
    rank = (
        pd.Series(
            incidents.loc[judged, "target_minutes"].astype(float).to_numpy()
            if "target_minutes" in incidents.columns
            else np.zeros(len(frame)),
            index=frame.index,
        )
        .groupby(frame["grade"])
        .median()
    )
    order = {
        c: out[c].map(lambda v, c=c: (v in (ALL, TOTAL), rank.get(v, 0.0) if c == "grade" else 0.0, v)) for c in dims
    }
    out = out.assign(**{f"_{c}": order[c] for c in dims}).sort_values([f"_{c}" for c in dims])
    return out.drop(columns=[f"_{c}" for c in dims]).reset_index(drop=True)


def month_label(month: str) -> str:
    """``'2021-04' -> 'Apr-21'`` (the published column style); other values unchanged."""
    try:
        return pd.Timestamp(f"{month}-01").strftime("%b-%y")
    except (ValueError, TypeError):
        return str(month)


def format_count(v: float, integer: bool) -> str:
    """A count as published (``1,219``), or an expected count to 2 dp (``888.50``)."""
    return f"{int(round(v)):,}" if integer else f"{v:,.2f}"


def is_observed(long: pd.DataFrame) -> bool:
    """True when a long table holds whole counts (observed outcomes), False for expected counts."""
    return pd.api.types.is_integer_dtype(long["met"])


def wide_table(
    long: pd.DataFrame,
    grade: str = ALL,
    category: str = ALL,
    urban_rural: str = ALL,
    district: str = ALL,
    published_months: bool = True,
) -> pd.DataFrame:
    """One published-style table: columns months then Total, rows Met / Not Met / % Met (formatted strings).

    Parameters
    ----------
    long : DataFrame
        From :func:`compliance_long`.
    grade, category, urban_rural, district : str
        The cell to show (``'all'`` for the aggregate).
    published_months : bool
        Label months ``Apr-21`` as Essex Police do (else ``2021-04``).

    Returns
    -------
    DataFrame
        Index ``['Met', 'Not Met', '% Met']``; empty when the cell has no incidents.
    """
    sel = long[
        (long["grade"] == grade)
        & (long["category"] == category)
        & (long["urban_rural"] == urban_rural)
        & (long["district"] == district)
    ]
    if sel.empty:
        return pd.DataFrame(index=["Met", "Not Met", "% Met"])
    integer = is_observed(long)
    months = sorted(m for m in sel["month"].unique() if m != TOTAL) + ([TOTAL] if TOTAL in set(sel["month"]) else [])
    sel = sel.set_index("month").loc[months]
    cols = [month_label(m) if published_months and m != TOTAL else m for m in months]
    data = {
        "Met": [format_count(v, integer) for v in sel["met"]],
        "Not Met": [format_count(v, integer) for v in sel["not_met"]],
        "% Met": ["" if np.isnan(v) else f"{v:.1f}%" for v in sel["pct_met"]],
    }
    return pd.DataFrame.from_dict(data, orient="index", columns=cols)


def excluded_counts(incidents: pd.DataFrame) -> dict[str, int]:
    """Incidents of non-attended grades (excluded from compliance), by grade category."""
    f = incidents[~incidents["attended"].to_numpy(dtype=bool)]
    return {str(k): int(v) for k, v in f["grade_category"].value_counts().sort_index().items()}


def headline(long: pd.DataFrame) -> pd.DataFrame:
    """Whole-period compliance per grade, split urban / rural / all (``month == 'Total'``, all else 'all')."""
    sel = long[(long["month"] == TOTAL) & (long["category"] == ALL) & (long["district"] == ALL)]
    return sel[["grade", "urban_rural", "met", "not_met", "pct_met"]].reset_index(drop=True)

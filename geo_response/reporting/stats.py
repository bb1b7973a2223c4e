"""The figures behind the report charts: KPI series, RAG status, period comparisons, Wilson and SPC limits.

All of them read the long compliance table (:func:`geo_response.compliance.tables.compliance_long`):
``met`` and ``not_met`` are counts (observed) or expected counts (modelled); ``n = met + not_met``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo_response.compliance.tables import ALL, TOTAL, UNKNOWN
from geo_response.errors import ComplianceError

#: A KPI below its threshold by less than this (as a share) is AMBER, further below RED.
AMBER_MARGIN = 0.05


@dataclass(frozen=True)
class KpiTarget:
    """A KPI as the report uses it: a name, the grade categories it covers and its threshold (share)."""

    name: str
    categories: tuple[str, ...]
    threshold: float


def kpis_for(policy: str | None, kpis: Iterable | None = None) -> list[KpiTarget]:
    """The KPIs that apply to `policy` (``Kpi`` objects of a force profile, or dicts with the same keys).

    Parameters
    ----------
    policy : str or None
        The policy the tables were made under (``summary['policy']``); KPIs of other policies are dropped.
    kpis : iterable, optional
        Default: the KPIs of the embedded force profile (``[[kpis]]`` in ``data/essex.toml``).
    """
    if kpis is None:
        from geo_response import config

        kpis = config.load_profile().kpis
    out = []
    for k in kpis:
        get = k.get if isinstance(k, dict) else lambda key, k=k: getattr(k, key, None)
        if policy is not None and get("policy") not in (None, policy):
            continue
        out.append(KpiTarget(str(get("name")), tuple(str(c) for c in get("categories")), float(get("threshold"))))
    return out


def rag_status(rate: float | None, threshold: float, amber_margin: float = AMBER_MARGIN) -> str:
    """``'green'`` at or above the threshold, ``'amber'`` within `amber_margin` below it, else ``'red'``.

    Examples
    --------
    >>> rag_status(0.91, 0.90), rag_status(0.87, 0.90), rag_status(0.80, 0.90), rag_status(None, 0.9)
    ('green', 'amber', 'red', 'n/a')
    """
    if rate is None or not np.isfinite(rate):
        return "n/a"
    if rate >= threshold - 1e-12:
        return "green"
    return "amber" if rate >= threshold - amber_margin - 1e-12 else "red"


def wilson_interval(
    met: Sequence[float] | float, n: Sequence[float] | float, z: float = 1.96
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion (as shares, 0-1); NaN where ``n`` is 0.

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.49, 0.943)
    """
    met = np.asarray(met, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = met / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    bad = ~(n > 0)
    lo, hi = centre - half, centre + half
    lo = np.where(bad, np.nan, np.clip(lo, 0, 1))
    hi = np.where(bad, np.nan, np.clip(hi, 0, 1))
    return lo, hi


def p_chart_limits(met: Sequence[float], n: Sequence[float]) -> pd.DataFrame:
    """SPC p-chart of the share met: centre line p-bar and 3-sigma limits per point.

    Returns
    -------
    DataFrame
        ``p`` (share met), ``centre``, ``lcl``, ``ucl`` (clipped to [0, 1]) and ``signal`` (point outside
        the limits: special-cause variation).
    """
    met = np.asarray(met, dtype=float)
    n = np.asarray(n, dtype=float)
    if n.sum() <= 0:
        raise ComplianceError("a p-chart needs at least one judged incident")
    pbar = met.sum() / n.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(pbar * (1 - pbar) / n)
        p = met / n
    lcl, ucl = np.clip(pbar - 3 * sigma, 0, 1), np.clip(pbar + 3 * sigma, 0, 1)
    return pd.DataFrame({"p": p, "centre": pbar, "lcl": lcl, "ucl": ucl, "signal": (p < lcl) | (p > ucl)})


def _cell(long: pd.DataFrame, urban_rural: str, district: str, category: str = ALL) -> pd.DataFrame:
    return long[(long["category"] == category) & (long["urban_rural"] == urban_rural) & (long["district"] == district)]


def is_month(value: object) -> bool:
    """True for a ``YYYY-MM`` month label."""
    try:
        pd.Period(str(value), freq="M")
    except (ValueError, TypeError):
        return False
    return len(str(value)) == 7


def monthly_series(
    long: pd.DataFrame, categories: Sequence[str], urban_rural: str = ALL, district: str = ALL
) -> pd.DataFrame:
    """Monthly ``met``, ``n`` and ``pct`` (share 0-1) of the grades in `categories` summed, months in order.

    Months that are not ``YYYY-MM`` (``Total``, ``unknown``) are left out.
    """
    sel = _cell(long, urban_rural, district)
    sel = sel[sel["grade"].isin(list(categories)) & sel["month"].map(is_month)]
    g = sel.groupby("month")[["met", "not_met"]].sum().sort_index()
    out = pd.DataFrame(
        {
            "month": g.index.astype(str),
            "met": g["met"].to_numpy(dtype=float),
            "n": (g["met"] + g["not_met"]).to_numpy(dtype=float),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pct"] = out["met"] / out["n"]
    return out.reset_index(drop=True)


def period_comparison(series: pd.DataFrame) -> dict:
    """The latest month against last month, the same month last year and the rolling 12 months.

    Parameters
    ----------
    series : DataFrame
        From :func:`monthly_series`.

    Returns
    -------
    dict
        ``month`` (latest), ``rate``, ``last_month`` / ``last_month_rate``, ``last_year`` /
        ``last_year_rate`` (None when the data do not have that month), ``rolling12_rate`` and
        ``rolling12_months`` (how many of the 12 months ending with the latest have data).
    """
    if series.empty:
        return {}
    s = series.assign(period=[pd.Period(m, freq="M") for m in series["month"]]).set_index("period")
    latest = s.index.max()

    def rate(p: pd.Period) -> float | None:
        return float(s.loc[p, "pct"]) if p in s.index else None

    window = s[(s.index > latest - 12) & (s.index <= latest)]
    return {
        "month": str(latest),
        "rate": rate(latest),
        "last_month": str(latest - 1),
        "last_month_rate": rate(latest - 1),
        "last_year": str(latest - 12),
        "last_year_rate": rate(latest - 12),
        "rolling12_rate": float(window["met"].sum() / window["n"].sum()) if window["n"].sum() > 0 else None,
        "rolling12_months": int(len(window)),
    }


def rolling12(series: pd.DataFrame) -> pd.DataFrame:
    """Rolling 12-month share met of a :func:`monthly_series` (calendar months; fewer at the start).

    Returns
    -------
    DataFrame
        ``month``, ``rate`` (share) and ``months`` (months with data in the window).
    """
    periods = [pd.Period(m, freq="M") for m in series["month"]]
    rows = []
    for p in periods:
        win = [i for i, q in enumerate(periods) if p - 12 < q <= p]
        met, n = series["met"].iloc[win].sum(), series["n"].iloc[win].sum()
        rows.append({"month": str(p), "rate": met / n if n > 0 else np.nan, "months": len(win)})
    return pd.DataFrame(rows, columns=["month", "rate", "months"])


def whole_period(
    long: pd.DataFrame, categories: Sequence[str], urban_rural: str = ALL, district: str = ALL
) -> tuple[float, float]:
    """``(met, n)`` over the whole period (month ``Total``) for the grades in `categories`."""
    sel = _cell(long, urban_rural, district)
    sel = sel[sel["grade"].isin(list(categories)) & (sel["month"] == TOTAL)]
    return float(sel["met"].sum()), float((sel["met"] + sel["not_met"]).sum())


def split_table(long: pd.DataFrame, categories: Sequence[str], by: str) -> pd.DataFrame:
    """Whole-period share met with its Wilson interval for each value of `by` (``urban_rural``/``district``).

    Returns
    -------
    DataFrame
        ``group``, ``met``, ``n``, ``pct``, ``lo``, ``hi`` (shares), ``unknown`` and ``all`` left out.
    """
    other = "district" if by == "urban_rural" else "urban_rural"
    sel = long[
        (long["category"] == ALL)
        & (long[other] == ALL)
        & (long["month"] == TOTAL)
        & long["grade"].isin(list(categories))
        & ~long[by].isin([ALL, UNKNOWN])
    ]
    g = sel.groupby(by)[["met", "not_met"]].sum()
    out = pd.DataFrame(
        {
            "group": g.index.astype(str),
            "met": g["met"].to_numpy(dtype=float),
            "n": (g["met"] + g["not_met"]).to_numpy(dtype=float),
        }
    )
    out = out[out["n"] > 0].reset_index(drop=True)
    out["pct"] = out["met"] / out["n"]
    out["lo"], out["hi"] = wilson_interval(out["met"], out["n"])
    return out


def time_summary(minutes: Sequence[float]) -> dict:
    """``n``, ``mean``, ``median`` and ``p90`` of attendance (or travel) minutes, NaN dropped."""
    x = np.asarray(minutes, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return {"n": 0, "mean": np.nan, "median": np.nan, "p90": np.nan}
    return {
        "n": int(len(x)),
        "mean": float(x.mean()),
        "median": float(np.median(x)),
        "p90": float(np.percentile(x, 90)),
    }

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
from dataclasses import dataclass
from typing import Any

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

    Attended incidents without a response time get NaN (see :func:`missing_time_warnings`);
    non-attended incidents get NaN.
    """
    for col in ("response_minutes", "target_minutes", "attended"):
        if col not in incidents.columns:
            raise ComplianceError(
                f"incidents lack column {col!r}; load them with response times and run grading.assign_targets first"
            )
    out = incidents.copy()
    rt = out["response_minutes"].astype(float).to_numpy()
    target = out["target_minutes"].astype(float).to_numpy()
    judged = out["attended"].to_numpy(dtype=bool) & ~np.isnan(rt)
    p = np.full(len(out), np.nan)
    p[judged] = (rt[judged] <= target[judged]).astype(float)
    out["p_met"] = p
    out["outcome_source"] = "observed"
    return out


def missing_time_warnings(incidents: pd.DataFrame) -> pd.DataFrame:
    """Ledger warnings for attended incidents with no observed response time (not in the tables)."""
    m = incidents["attended"].to_numpy(dtype=bool) & incidents["response_minutes"].isna().to_numpy()
    return ledger_rows(
        incidents[m],
        "missing_response_time",
        "attended grade but no response time: left out of Met / Not Met",
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


@dataclass
class ComplianceRun:
    """Everything one compliance run produced (see :func:`run_compliance`).

    Attributes
    ----------
    incidents : GeoDataFrame
        Accepted incidents with class, grade, target and outcome columns.
    long : DataFrame
        :func:`compliance_long` output.
    ledger : DataFrame
        Rejected rows and warnings.
    summary : dict
        What ``summary.json`` holds.
    calibration : CalibrationResult or None
    """

    incidents: pd.DataFrame
    long: pd.DataFrame
    ledger: pd.DataFrame
    summary: dict
    calibration: Any = None


def run_compliance(
    incidents_path,
    out_dir=None,
    *,
    profile=None,
    policy: str = "essex-2022",
    osm=None,
    bases_csv=None,
    calibrate_to: float | None = None,
    delay_scale: float | None = None,
    data_dir=None,
    seed: int | None = None,
    draws: int | None = None,
    report_format: str = "md",
    G=None,
    bases=None,
) -> ComplianceRun:
    """Load, classify, grade and judge incidents, then (when ``out_dir`` is given) write every output.

    Observed compliance when the file has response times; modelled otherwise (travel on the road
    network from the nearest base plus Monte Carlo delays), optionally calibrated to an observed rate.

    Parameters
    ----------
    incidents_path : str, Path or list
        A file, a folder of files or a glob (see :func:`geo_response.incidents.load.load_incidents`).
    out_dir : str or Path, optional
        Writes ``compliance_by_month.csv``, ``report.md`` (or ``report.html``), ``ledger.csv`` and
        ``summary.json`` there.
    profile : ForceProfile, optional
        Default: the embedded Essex profile.
    policy : str
        Grading policy name (``essex-2022`` or ``ncmg``).
    osm, bases_csv : path, optional
        Road network file (default: the bundle's stand-in) and a bases CSV (default: ``amenity=police``
        from the OSM file). Used only when times are modelled.
    calibrate_to : float, optional
        Fit the delay scale so modelled emergency compliance equals this rate.
    delay_scale : float, optional
        A delay scale to apply without fitting (e.g. one fitted under another policy); default 1.
    data_dir : path, optional
        Data directory (boundary, LSOAs, default network).
    seed : int, optional
        Seed for sampled grades and the Monte Carlo (defaults from the profile).
    draws : int, optional
        Monte Carlo draws (default from the profile).
    report_format : {'md', 'html'}
    G, bases : optional
        An already loaded network and bases (skip loading them).

    Returns
    -------
    ComplianceRun
    """
    import time
    from pathlib import Path

    from geo_response import config, datadir, geography
    from geo_response.compliance import model as response_model
    from geo_response.compliance import report
    from geo_response.incidents import classification, grading
    from geo_response.incidents import load as incidents

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if report_format not in ("md", "html"):
        raise ComplianceError(f"report format must be 'md' or 'html', got {report_format!r}")
    prof = profile or config.load_profile()
    pol = prof.policy(policy)
    boundary = geography.load_boundary(prof, data_dir)
    lsoas = geography.load_lsoas(prof, data_dir)
    loaded = incidents.load_incidents(incidents_path, boundary=boundary, policy=pol, lsoas=lsoas)
    timings["load_seconds"] = time.perf_counter() - t0
    if calibrate_to is not None and loaded.summary["has_response_times"]:
        raise ComplianceError(
            "--calibrate-to applies to modelled response times, but this file has observed "
            "response times; drop --calibrate-to (or the response time column)"
        )
    inc = classification.classify(loaded.incidents, lsoas)
    loaded = incidents.add_warnings(loaded, classification.unclassified_warnings(inc))
    grade_seed = prof.grade_mix_seed if seed is None else int(seed)
    inc, sample_warnings = grading.fill_missing_grades(inc, prof, pol, seed=grade_seed)
    loaded = incidents.add_warnings(loaded, sample_warnings)
    sampled = bool(inc["grade_sampled"].any())
    inc = grading.assign_targets(inc, pol)
    loaded = incidents.add_warnings(loaded, grading.grade_warnings(inc))
    timings["classify_grade_seconds"] = time.perf_counter() - t0 - timings["load_seconds"]

    calibration = None
    base_issues: list = []
    network_info = None
    model_info = None
    sources = {
        "incidents": ", ".join(f["file"] for f in loaded.summary["files"]),
        "boundary": str(datadir.find_file(prof.geography.boundary, data_dir)),
        "classification": f"{datadir.find_file(prof.geography.lsoa, data_dir)} "
        f"({prof.geography.ruc_field}: urban {'/'.join(prof.geography.urban_ruc)}, "
        f"rural {'/'.join(prof.geography.rural_ruc)})",
        "force_profile": prof.path,
    }
    if loaded.summary["has_response_times"]:
        inc = observed_outcomes(inc)
        loaded = incidents.add_warnings(loaded, missing_time_warnings(inc))
        outcomes = "observed"
    else:
        t1 = time.perf_counter()
        if G is None:
            from geo_response.roads import network

            G = network.load_network(osm, profile=prof, data_dir=data_dir)
        if bases is None:
            from geo_response import bases as bases_module
            from geo_response.roads import network

            osm_path = osm if osm is not None else network.essex_standin_path(data_dir)
            bases, base_issues = bases_module.load_bases(
                csv_path=bases_csv,
                osm_path=None if bases_csv else osm_path,
                boundary=boundary,
                area=geography.buffer_boundary(boundary, prof.geography.boundary_buffer_m, prof.projected_crs),
                projected_crs=prof.projected_crs,
            )
        timings["network_seconds"] = time.perf_counter() - t1
        network_info = {
            "label": G.graph.get("network_label"),
            "standin": bool(G.graph.get("standin", False)),
            "source": str(G.graph.get("source")),
            "source_sha256": G.graph.get("source_sha256"),
            "nodes": G.number_of_nodes(),
            "edges": G.number_of_edges(),
            "bases": int(len(bases)),
        }
        sources["network"] = f"{G.graph.get('source')} ({G.graph.get('network_label')})"
        sources["bases"] = str(bases_csv) if bases_csv else f"amenity=police in {sources['network']}"
        t2 = time.perf_counter()
        inc = response_model.model_response(
            inc, G, bases, prof, pol, seed=seed, draws=draws, delay_scale=1.0 if delay_scale is None else delay_scale
        )
        timings["model_seconds"] = time.perf_counter() - t2
        loaded = incidents.add_warnings(loaded, response_model.unroutable_warnings(inc))
        if calibrate_to is not None:
            calibration = response_model.calibrate(inc, prof, calibrate_to, seed=seed, draws=draws)
            inc = calibration.incidents
        model_info = inc.attrs.get("response_model", {})
        outcomes = "modelled"

    long = compliance_long(inc)
    attended = inc["attended"].to_numpy(dtype=bool)
    s = loaded.summary
    summary = {
        "input": s["input_rows"],
        "accepted": s["accepted"],
        "rejected": s["rejected"],
        "rejected_by_reason": s["rejected_by_reason"],
        "warnings": s["warnings"],
        "ledger": {k: s[k] for k in ("input_rows", "accepted", "rejected", "rejected_by_reason", "warnings")},
        "policy": pol.name,
        "policy_label": pol.label,
        "grades_sampled": sampled,
        "grades_sampled_rows": int(inc["grade_sampled"].sum()),
        "grade_seed": grade_seed if sampled else None,
        "grade_mix": grading.mix_shares(prof).to_dict(orient="records") if sampled else None,
        "outcomes": outcomes,
        "times": outcomes,
        "attended": int(attended.sum()),
        "judged": int((attended & inc["p_met"].notna().to_numpy()).sum()),
        "not_judged": int((attended & inc["p_met"].isna().to_numpy()).sum()),
        "excluded_not_attended": excluded_counts(inc),
        "headline": headline(long).to_dict(orient="records") if not long.empty else [],
        "response_model": model_info,
        "calibration": calibration.to_dict() if calibration else None,
        "network": network_info,
        "base_issues": base_issues,
        "data_sources": sources,
        "input_files": s["files"],
        "input_columns": s["columns"],
        "coordinates": s["coordinates"],
        "seed": seed,
        "seeds": {"grades": grade_seed if sampled else None,
                  "monte_carlo": (prof.response_model.seed if seed is None else int(seed))
                  if outcomes == "modelled" else None},
        "profile": {"path": prof.path, "sha256": prof.sha256, "force": prof.name},
        "attribution": prof.attribution,
        "generated_at": report.now_utc(),
    }
    assert summary["input"] == summary["accepted"] + summary["rejected"]
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        report_name = "report.html" if report_format == "html" else "report.md"
        summary["outputs"] = ["compliance_by_month.csv", "incidents.csv", report_name, "ledger.csv", "summary.json"]
        report.write_long(long, out / "compliance_by_month.csv")
        report.write_incidents(inc, out / "incidents.csv")
        report.write_ledger(loaded.ledger, out / "ledger.csv")
        report.write_report(long, summary, out / report_name)
        summary["timings"] = {k: round(v, 3) for k, v in dict(timings, total_seconds=time.perf_counter() - t0).items()}
        report.write_summary(summary, out / "summary.json")
    return ComplianceRun(inc, long, loaded.ledger, summary, calibration)

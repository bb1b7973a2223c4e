"""The compliance workflow: incidents in, judged incidents, Met / Not Met tables and the outputs out.

Steps, each a function of its own so planning and the maps reuse them:

1. :func:`prepare_incidents`: load with the ledger, classify urban / rural, sample missing grades (seeded),
   assign targets under a policy;
2. :func:`judge`: observed outcomes when the file has response times, else modelled ones (travel from the
   nearest base plus Monte Carlo delays), optionally calibrated;
3. :func:`compliance_summary`: what ``summary.json`` holds;
4. :func:`write_outputs`: the CSVs, report and summary.

:func:`run_compliance` runs them in order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response import calibration as calibration_records
from geo_response.compliance import model as response_model
from geo_response.compliance import report, tables
from geo_response.errors import ComplianceError
from geo_response.incidents import classification, grading
from geo_response.incidents import load as loader
from geo_response.outputs import OutputFolder
from geo_response.study_area import StudyArea

__all__ = ["ComplianceRun", "PreparedIncidents", "judge", "prepare_incidents", "run_compliance"]

LOG = logging.getLogger(__name__)


@dataclass
class PreparedIncidents:
    """Incidents loaded, classified and graded under one policy, with their ledger.

    Attributes
    ----------
    incidents : GeoDataFrame
        With ``lsoa_code, urban_rural, district, grade, grade_category, target_minutes, attended,
        speed_profile, grade_sampled``.
    loaded : LoadResult
        The loader's result with every warning added to its ledger.
    grade_seed : int
        Seed of the sampled grades.
    """

    incidents: gpd.GeoDataFrame
    loaded: loader.LoadResult
    grade_seed: int

    @property
    def sampled(self) -> bool:
        """True when any grade was sampled."""
        return bool(self.incidents["grade_sampled"].any())

    def warn(self, rows: pd.DataFrame) -> None:
        """Add warning rows to the ledger."""
        self.loaded = loader.add_warnings(self.loaded, rows)


def prepare_incidents(
    area: StudyArea,
    incidents_path: Any,
    policy: str = "essex-2022",
    seed: int | None = None,
    show_points: bool = False,
    require_rows: bool = True,
    collisions: Any = None,
) -> PreparedIncidents:
    """Load, classify (ONS RUC) and grade incidents under ``policy`` (missing grades sampled, seeded).

    With ``collisions`` the STATS19 collisions join them as graded road incidents on their carriageway
    (:func:`geo_response.incidents.collisions.load_collisions`; graded from severity, never sampled, so the
    incidents' sampled grades are the same with or without them); their rejected rows join the ledger.

    Parameters
    ----------
    area : StudyArea
        Supplies the force profile, boundary and LSOAs.
    incidents_path : str, Path or list
        A file, a folder of files or a glob (:func:`geo_response.incidents.load.load_incidents`).
    policy : str
        Grading policy name.
    seed : int, optional
        Seed for sampled grades (default: the profile's ``grade_mix.seed``).
    show_points : bool
        Let the ledger name a rejected row's 1 km grid square (off by default: locations are sensitive).
    collisions : str, Path or list, optional
        STATS19 collision file(s) or a glob (the CLI's ``--collisions``); None: none.
    require_rows : bool
        Raise :class:`~geo_response.errors.InputFileError` when rows were read but none was accepted (naming the
        commonest reason and what to do; :func:`geo_response.incidents.load.require_accepted`). The compliance
        run passes False so it still writes its ledger; its command then exits 2.
    """
    pol = area.policy(policy)
    loaded = loader.load_incidents(
        incidents_path,
        boundary=area.boundary,
        policy=pol,
        lsoas=area.lsoas,
        max_response_minutes=area.force.response_model.max_response_minutes,
        show_points=show_points,
    )
    if require_rows:
        loader.require_accepted(loaded.summary)
    inc = classification.classify(loaded.incidents, area.lsoas)
    prepared = PreparedIncidents(inc, loaded, area.force.grade_mix_seed if seed is None else int(seed))
    prepared.warn(classification.unclassified_warnings(inc))
    inc, sample_warnings = grading.fill_missing_grades(inc, area.force, pol, seed=prepared.grade_seed)
    prepared.warn(sample_warnings)
    inc = grading.assign_targets(inc, pol)
    prepared.warn(grading.grade_warnings(inc))
    prepared.incidents = inc
    if collisions is not None:
        _join_collisions(area, prepared, collisions, pol)
    return prepared


def _join_collisions(area: StudyArea, prepared: PreparedIncidents, path: Any, pol: Any) -> None:
    """Load, snap, classify and grade the collisions and add them to the prepared incidents and the ledger."""
    from geo_response.incidents import collisions as collision_module

    col = collision_module.load_collisions(path, area.network, area.force, pol, boundary=area.boundary)
    if col.summary.get("note"):
        LOG.warning("collisions: %s", col.summary["note"])
    prepared.loaded = collision_module.merge_results(prepared.loaded, col)
    if col.incidents.empty:
        return
    graded = classification.classify(col.incidents, area.lsoas)
    prepared.warn(classification.unclassified_warnings(graded))
    graded = grading.assign_targets(graded, pol)
    prepared.warn(grading.grade_warnings(graded))
    joined = pd.concat([prepared.incidents, graded], ignore_index=True)
    prepared.incidents = gpd.GeoDataFrame(joined, geometry="geometry", crs=prepared.incidents.crs)


def judge(
    area: StudyArea,
    prepared: PreparedIncidents,
    *,
    calibrate_to: float | None = None,
    delay_scale: float | None = None,
    seed: int | None = None,
    draws: int | None = None,
    when: str | None = None,
) -> tuple[gpd.GeoDataFrame, str, Any]:
    """Outcomes of the prepared incidents: observed when the file has response times, else modelled.

    Returns
    -------
    (GeoDataFrame, str, CalibrationResult or None)
        The incidents with ``p_met``, ``'observed'`` or ``'modelled'``, and the calibration when fitted.
    """
    inc = prepared.incidents
    if prepared.loaded.summary["has_response_times"]:
        if "collisions" in prepared.loaded.summary:
            raise ComplianceError(
                "--collisions joins modelled incidents, but this incident file has observed response times "
                "(STATS19 holds none for the collisions); drop --collisions, or the response time column"
            )
        if calibrate_to is not None:
            raise ComplianceError(
                "--calibrate-to applies to modelled response times, but this file has observed "
                "response times; drop --calibrate-to (or the response time column)"
            )
        inc = tables.observed_outcomes(inc)
        prepared.warn(tables.missing_time_warnings(inc))
        return inc, "observed", None
    scale = 1.0 if delay_scale is None else delay_scale
    inc = response_model.model_response(
        inc, area.network, area.bases, area.force, seed=seed, draws=draws, delay_scale=scale, when=when
    )
    prepared.warn(response_model.unroutable_warnings(inc))
    calibration = None
    if calibrate_to is not None:
        calibration = response_model.calibrate(inc, area.force, calibrate_to, seed=seed, draws=draws)
        inc = calibration.incidents
    return inc, "modelled", calibration


@dataclass
class ComplianceRun:
    """Everything one compliance run produced (see :func:`run_compliance`)."""

    incidents: pd.DataFrame
    long: pd.DataFrame
    ledger: pd.DataFrame
    summary: dict
    calibration: Any = None
    paths: dict = field(default_factory=dict)
    record: Any = None  # the CalibrationRecord used (given, or fitted this run), or None


def compliance_summary(
    area: StudyArea,
    prepared: PreparedIncidents,
    inc: pd.DataFrame,
    long: pd.DataFrame,
    outcomes: str,
    calibration: Any,
    policy: str,
    seed: int | None,
) -> dict:
    """The ``summary.json`` of a compliance run: counts, policy, seeds, model, sources and provenance."""
    pol = area.policy(policy)
    s = prepared.loaded.summary
    attended = inc["attended"].to_numpy(dtype=bool)
    sampled = prepared.sampled
    collisions = s.get("collisions")
    sources = {
        "incidents": ", ".join(f["file"] for f in s["files"]),
        **({"collisions": ", ".join(f["file"] for f in collisions["files"])} if collisions else {}),
        **area.sources(),
        "classification": f"{area.sources()['lsoas']} ({area.force.geography.ruc_field}: urban "
        f"{'/'.join(area.force.geography.urban_ruc)}, rural "
        f"{'/'.join(area.force.geography.rural_ruc)})",
    }
    network = None
    if outcomes == "modelled":
        network = {**area.network_summary(), "bases": int(len(area.bases))}
        sources["network"] = f"{network['source']} ({network['label']})"
        sources["bases"] = area.bases_source
    return {
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
        "grade_seed": prepared.grade_seed if sampled else None,
        "grade_mix": grading.mix_shares(area.force).to_dict(orient="records") if sampled else None,
        "outcomes": outcomes,
        "times": outcomes,
        "attended": int(attended.sum()),
        "judged": int((attended & inc["p_met"].notna().to_numpy()).sum()),
        "no_outcome": int(inc["no_outcome"].notna().sum()) if "no_outcome" in inc.columns else 0,
        "excluded_not_attended": tables.excluded_counts(inc),
        "headline": tables.headline(long).to_dict(orient="records") if not long.empty else [],
        "response_model": inc.attrs.get("response_model", {}) if outcomes == "modelled" else None,
        "calibration": calibration.to_dict() if calibration else None,
        "network": network,
        "base_issues": area.base_issues if outcomes == "modelled" else [],
        "data_sources": sources,
        "input_files": s["files"] + (collisions["files"] if collisions else []),
        "input_columns": s["columns"],
        "collisions": collision_summary(collisions, inc) if collisions else None,
        "coordinates": s["coordinates"],
        "seed": seed,
        "seeds": {
            "grades": prepared.grade_seed if sampled else None,
            "monte_carlo": (area.force.response_model.seed if seed is None else int(seed))
            if outcomes == "modelled"
            else None,
        },
        "profile": {"path": area.force.path, "sha256": area.force.sha256, "force": area.force.name},
        "attribution": area.force.attribution,
        "generated_at": report.now_utc(),
    }


def collision_summary(loaded: dict, inc: pd.DataFrame) -> dict:
    """What ``summary.json`` says of the STATS19 collisions: file(s), ledger counts, snapping, grades, period and
    how many of them were judged (attended, with ``p_met``).
    """
    from geo_response.incidents.collisions import is_collision

    rows = inc[is_collision(inc)]
    attended = rows["attended"].to_numpy(dtype=bool) if len(rows) else np.zeros(0, dtype=bool)
    keys = (
        "files",
        "input_rows",
        "accepted",
        "rejected",
        "rejected_by_reason",
        "police_force",
        "snap_methods",
        "snap_limits_m",
        "access_leg",
        "severity",
        "grade_mapping",
        "grades",
        "evidence",
        "period",
        "note",
    )
    out = {k: loaded[k] for k in keys if k in loaded}
    out["attended"] = int(attended.sum())
    out["by_grade_category"] = {str(k): int(v) for k, v in rows["grade_category"].value_counts().items()}
    return out


def output_names(report_format: str = "md") -> dict[str, str]:
    """The files a compliance run writes, by key."""
    return {
        "compliance_by_month": "compliance_by_month.csv",
        "incidents": "incidents.csv",
        "ledger": "ledger.csv",
        "report": "report.html" if report_format == "html" else "report.md",
        "summary": "summary.json",
    }


def labelled_long(long: pd.DataFrame, summary: dict) -> pd.DataFrame:
    """The long table as written: each row says how its outcomes and grades were made (an honest time series:
    modelled rates have no time signal, so months differ only by where the incidents were).
    """
    outcomes = (
        "observed"
        if summary.get("outcomes") == "observed"
        else "modelled: no time signal (months differ only by where incidents were)"
    )
    grades = "sampled per crime type" if summary.get("grades_sampled") else "given"
    return long.assign(outcomes=outcomes, grades=grades)


def write_outputs(out_dir: str | Path, run: ComplianceRun, report_format: str = "md") -> dict[str, Path]:
    """Write ``compliance_by_month.csv``, ``incidents.csv``, ``ledger.csv``, the report and ``summary.json``.

    ``out_dir`` is a folder of an open :class:`geo_response.outputs.OutputFolder` (files appear together when it
    closes), or any folder for a caller that manages its own writes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {key: out / name for key, name in output_names(report_format).items()}
    run.summary["outputs"] = [p.name for p in paths.values()]
    report.write_long(labelled_long(run.long, run.summary), paths["compliance_by_month"])
    report.write_incidents(run.incidents, paths["incidents"])
    report.write_ledger(run.ledger, paths["ledger"])
    report.write_report(run.long, run.summary, paths["report"])
    report.write_summary(run.summary, paths["summary"])
    return paths


def run_compliance(
    area: StudyArea,
    incidents_path: Any,
    out_dir: str | Path | None = None,
    *,
    policy: str = "essex-2022",
    calibrate_to: float | None = None,
    delay_scale: float | None = None,
    seed: int | None = None,
    draws: int | None = None,
    report_format: str = "md",
    overwrite: bool = False,
    show_points: bool = False,
    when: str | None = None,
    calibration: Any = None,
    force_calibration: bool = False,
    collisions: Any = None,
) -> ComplianceRun:
    """Load, classify, grade and judge incidents, then (when ``out_dir`` is given) write every output.

    Observed compliance when the file has response times; modelled otherwise (travel on the road network from
    the nearest base plus Monte Carlo delays), optionally calibrated to an observed rate (``calibrate_to``) or
    with a given ``delay_scale``. Outputs are written as one transaction (:class:`geo_response.outputs.OutputFolder`):
    an ``out_dir`` that holds an input is refused, files geo-response did not write are not replaced unless
    ``overwrite``, and a failed run leaves the previous outputs untouched.

    ``collisions`` (STATS19 file(s) or a glob) join the modelled incidents as graded road incidents routed to
    their carriageway (:func:`prepare_incidents`); ``summary["collisions"]`` holds their counts, grades and
    period (``summary["period"]`` stays the incidents' own), ``provenance.files.collisions`` their sha256.

    Returns
    -------
    ComplianceRun
    """
    t0 = time.perf_counter()
    if report_format not in ("md", "html"):
        raise ComplianceError(f"report format must be 'md' or 'html', got {report_format!r}")
    area.policy(policy)
    record = calibration_records.load(calibration, area, policy, force=force_calibration)
    if record is not None:
        if calibrate_to is not None or delay_scale is not None:
            raise ComplianceError("--calibration gives the delay scale: drop --calibrate-to / --delay-scale")
        delay_scale = record.delay_scale
    model = dict(calibrate_to=calibrate_to, delay_scale=delay_scale, seed=seed, draws=draws, when=when)
    if out_dir is None:
        return _run(area, incidents_path, policy, model, show_points, t0, record, collisions)
    names = [*output_names(report_format).values(), CALIBRATION_FILE]
    inputs = _inputs(area, incidents_path, collisions) + ([record.path] if record is not None and record.path else [])
    with OutputFolder(out_dir, inputs=inputs, overwrite=overwrite, expected=names) as out:
        run = _run(area, incidents_path, policy, model, show_points, t0, record, collisions)
        run.paths = write_outputs(out.root, run, report_format)
        if run.calibration is not None and run.record is not None:
            run.paths["calibration"] = run.record.write(Path(out.root) / CALIBRATION_FILE)
            run.summary["outputs"].append(CALIBRATION_FILE)
            report.write_summary(run.summary, run.paths["summary"])
    run.paths = {k: Path(out_dir) / p.name for k, p in run.paths.items()}
    return run


CALIBRATION_FILE = "calibration.json"


def incident_period(inc: pd.DataFrame) -> dict:
    """First and last month of the accepted incidents (None when the file has no months); STATS19 collisions,
    from another source and often another period, are left out (their period is ``summary["collisions"]``).
    """
    from geo_response.incidents.collisions import is_collision

    inc = inc[~is_collision(inc)]
    months = inc["month"].dropna().astype(str) if "month" in inc.columns else pd.Series([], dtype=str)
    return {"first_month": months.min() if len(months) else None, "last_month": months.max() if len(months) else None}


def _stamp(summary: dict, record: Any, fitted: bool) -> None:
    """Record which calibration (or none) the modelled outcomes used: ``calibration_used`` and its one line."""
    summary["calibration_used"] = None if record is None else {**record.stamp(), "fitted_this_run": fitted}
    summary["calibration_stamp"] = (
        calibration_records.stamp(record)
        if summary["outcomes"] == "modelled"
        else "calibration: not applicable (observed times)"
    )


def provenance(area: StudyArea, prepared: PreparedIncidents, outcomes: str, period: dict) -> dict:
    """The files actually read this run, each with its sha256, the network cache entry, and the period."""
    from geo_response.outputs import sha256_file

    def entry(path: Any) -> dict:
        p = Path(str(path))
        return {"path": str(p), "sha256": sha256_file(p) if p.is_file() else None}

    src = area.sources()
    files = {
        "incidents": [entry(f["file"]) for f in prepared.loaded.summary["files"]],
        "force_profile": {"path": str(area.force.path), "sha256": area.force.sha256},
        "boundary": entry(src["boundary"]),
        "lsoas": entry(src["lsoas"]),
    }
    collisions = prepared.loaded.summary.get("collisions")
    if collisions:
        files["collisions"] = [entry(f["file"]) for f in collisions["files"]]
    if outcomes == "modelled":
        net = area.network_summary()
        files["network"] = {
            "path": net["source"],
            "sha256": net["source_sha256"],
            "label": net["label"],
            "cache": net.get("cache"),
        }
    out = {"files": files, "period": period}
    if collisions:
        out["collisions_period"] = collisions.get("period")
    return out


def _inputs(area: StudyArea, incidents_path: Any, collisions: Any = None) -> list:
    """Every input file of a run (an --out holding one is refused)."""
    paths = list(incidents_path) if isinstance(incidents_path, list | tuple) else [incidents_path]
    more = list(collisions) if isinstance(collisions, list | tuple) else [collisions]
    return [p for p in (*paths, *more, area.osm, area.bases_csv) if p is not None]


def _run(
    area: StudyArea,
    incidents_path: Any,
    policy: str,
    model: dict,
    show_points: bool,
    t0: float,
    record: Any = None,
    collisions: Any = None,
) -> ComplianceRun:
    """Prepare and judge the incidents (``model``: calibrate_to, delay_scale, seed, draws, when)."""
    prepared = prepare_incidents(
        area, incidents_path, policy, model["seed"], show_points=show_points, require_rows=False, collisions=collisions
    )
    t1 = time.perf_counter()
    inc, outcomes, calibration = judge(area, prepared, **model)
    long = tables.compliance_long(inc)
    summary = compliance_summary(area, prepared, inc, long, outcomes, calibration, policy, model["seed"])
    summary["timings"] = {"prepare_seconds": round(t1 - t0, 3), "judge_seconds": round(time.perf_counter() - t1, 3)}
    period = incident_period(inc)
    if calibration is not None:
        record = calibration_records.CalibrationRecord.from_result(calibration, area, policy, summary, period)
    record = record if outcomes == "modelled" else None
    _stamp(summary, record, fitted=calibration is not None)
    summary["provenance"] = provenance(area, prepared, outcomes, period)
    summary["period"] = period
    return ComplianceRun(inc, long, prepared.loaded.ledger, summary, calibration, record=record)

"""The planning workflows behind ``geo-response plan compare`` and ``geo-response plan optimise``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo_response import calibration as calibration_records
from geo_response import planning
from geo_response.compliance.report import write_ledger
from geo_response.errors import PlanningError, ScenarioError
from geo_response.outputs import OutputFolder, write_csv
from geo_response.planning import report as planning_report
from geo_response.planning import scenarios, siting
from geo_response.roads.speeds import When
from geo_response.study_area import StudyArea
from geo_response.workflows import plan_units
from geo_response.workflows.compliance import collision_summary, incident_period, prepare_incidents

__all__ = ["check_scenario", "incidents_for_planning", "run_compare", "run_optimise"]


def incidents_for_planning(
    area: StudyArea,
    incidents_path: Any,
    policy: str,
    seed: int | None = None,
    ledger_to: str | Path | None = None,
    collisions: Any = None,
) -> tuple[gpd.GeoDataFrame | None, dict | None]:
    """Incidents loaded, classified and graded for planning, and what the loader said of them (or None, None).

    With ``ledger_to`` (a folder, normally an open :class:`OutputFolder`'s root), the ledger of rejected rows and
    warnings is written there as ``ledger.csv``: every command that reads incidents writes its ledger.
    ``collisions`` (STATS19 file(s) or a glob) join the incidents as graded road incidents on their carriageway,
    as in ``compliance`` (:func:`geo_response.workflows.compliance.prepare_incidents`); ``info['collisions']``
    says what they were.
    """
    if incidents_path is None:
        return None, None
    prepared = prepare_incidents(area, incidents_path, policy, seed, collisions=collisions)
    if ledger_to is not None:
        write_ledger(prepared.loaded.ledger, Path(ledger_to) / LEDGER_FILE)
    s = prepared.loaded.summary
    info = {k: s[k] for k in ("input_rows", "accepted", "rejected", "rejected_by_reason") if k in s}
    info.update(
        {
            "files": [f["file"] for f in s.get("files", [])],
            "grades_sampled": prepared.sampled,
            "grade_seed": prepared.grade_seed if prepared.sampled else None,
            "unclassified": int(prepared.incidents["lsoa_code"].isna().sum()),
        }
    )
    info["ledger"] = LEDGER_FILE if ledger_to is not None else None
    info["period"] = incident_period(prepared.incidents)
    info["collisions"] = collision_summary(s["collisions"], prepared.incidents) if "collisions" in s else None
    return prepared.incidents, info


LEDGER_FILE = "ledger.csv"


def _sources(area: StudyArea) -> dict:
    return {**area.sources(), "bases": area.bases_source, "network": str(area.network.graph.get("source"))}


def _inputs(area: StudyArea, *paths: Any) -> list:
    flat = [q for p in paths if p for q in (p if isinstance(p, list | tuple) else [p])]
    return [p for p in (*flat, area.osm, area.bases_csv) if p is not None]


def run_compare(
    area: StudyArea,
    scenario: str | Path,
    out: str | Path,
    *,
    policy: str = "essex-2022",
    incidents_path: Any = None,
    seed: int | None = None,
    delay_scale: float = 1.0,
    delay: str = "median",
    offline: bool = True,
    overwrite: bool = False,
    calibration: Any = None,
    force_calibration: bool = False,
    when: When | str | None = None,
    roster: str | Path | None = None,
    posts: str | Path | None = None,
    replications: int = 3,
    days: float = 28.0,
    collisions: Any = None,
) -> tuple[planning.Comparison, dict[str, Path]]:
    """Apply a scenario to the current bases, compare coverage, travel and modelled compliance; write outputs.

    Outputs are one transaction in ``out`` (see :class:`geo_response.outputs.OutputFolder`). With ``calibration``
    (a record or a calibration.json), its delay scale replaces ``delay_scale``. With incidents, ``ledger.csv`` is
    written beside the other outputs. ``when`` is the time of the week for time-of-day speeds
    (``"08:00 weekday"``; None: none).

    A scenario with ``move_units`` / ``add_units`` / ``set_post`` changes is also simulated (``roster``: the
    current roster, default the profile's; ``posts``: where its units wait, default their bases;
    ``replications`` of ``days`` days, common random numbers): ``summary['simulation']``
    and ``simulated_comparison.csv`` (paired % met changes per district and grade, see
    :mod:`geo_response.workflows.plan_units`). It needs incidents. ``collisions`` (STATS19) join the incidents
    of the modelled comparison as in ``compliance``; the simulation runs on the incidents alone (said in its
    notes: collisions come from another source and usually another period).
    """
    table = check_scenario(area, scenario, roster, posts)
    _need_incidents(incidents_path, collisions)
    simulated = bool(table["action"].isin(scenarios.ROSTER_ACTIONS).any())
    if simulated and incidents_path is None:
        raise ScenarioError(
            "the scenario changes units (move_units / add_units / set_post), which only the simulation judges: "
            "it needs incidents (drop --no-incidents)"
        )
    record = calibration_records.load(calibration, area, policy, force=force_calibration)
    if record is not None:
        delay_scale = record.delay_scale
    with OutputFolder(
        out,
        inputs=_inputs(area, scenario, incidents_path, collisions, roster, posts, record and record.path),
        overwrite=overwrite,
    ) as folder:
        result = _compare(area, table, policy, incidents_path, seed, delay_scale, delay, folder.root, when, collisions)
        _stamp(result.summary, record)
        sim_table = None
        if simulated:
            new_bases = scenarios.apply_scenario(
                area.bases, table, area=area.area, boundary=area.boundary, projected_crs=area.force.projected_crs
            )
            block, sim_table = plan_units.simulate_scenario(
                area,
                new_bases,
                incidents_path,
                policy=policy,
                roster=roster,
                posts=posts,
                replications=replications,
                days=days,
                seed=seed,
            )
            if collisions is not None:
                block["notes"].append(
                    "STATS19 collisions are in the modelled comparison only: the simulation runs on the incidents"
                )
            result.summary["simulation"] = block
        paths = planning_report.write_comparison(
            result, folder.root, attribution=area.force.attribution, offline=offline
        )
        if sim_table is not None:
            write_csv(sim_table, folder.root / "simulated_comparison.csv")
            paths = {**paths, "simulated": folder.root / "simulated_comparison.csv"}
    if (result.summary.get("incident_file") or {}).get("ledger"):
        paths = {**paths, "ledger": Path(LEDGER_FILE)}
    return result, {k: Path(out) / p.name for k, p in paths.items()}


def _need_incidents(incidents_path: Any, collisions: Any) -> None:
    if collisions is not None and incidents_path is None:
        raise PlanningError("--collisions joins the incidents: drop --no-incidents, or drop --collisions")


def _stamp(summary: dict, record: Any, note: str | None = None) -> None:
    summary["calibration_used"] = None if record is None else record.stamp()
    summary["calibration_stamp"] = calibration_records.stamp(record) + (f"; {note}" if note else "")


def _scaled_profile(profile: Any, delay_scale: float) -> Any:
    """The force profile with every delay stage (median and p90) scaled: the planning fixed delay scales too."""
    if delay_scale == 1.0:
        return profile
    rm = profile.response_model
    stages = {
        f"{st}_{q}_s": getattr(rm, f"{st}_{q}_s") * delay_scale
        for st in ("call_answer", "call_handling", "dispatch")
        for q in ("median", "p90")
    }
    return dataclasses.replace(profile, response_model=dataclasses.replace(rm, **stages))


def check_scenario(
    area: StudyArea, scenario: str | Path, roster: str | Path | None = None, posts: str | Path | None = None
) -> Any:
    """Read a scenario and apply it to the bases as read, before any road network is loaded.

    A misspelt base name, a coordinate outside the force area or a bad action is reported (with a "did you
    mean" for names) in a fraction of a second instead of after the network has loaded.

    Parameters
    ----------
    area : StudyArea
        The study area; only its profile, geography and unattached bases are read.
    scenario : str or Path
        The scenario file (.csv or .toml).
    roster : str or Path, optional
        The current roster, checked with the scenario's ``move_units`` / ``add_units`` / ``set_post`` changes
        (default: the force profile's); shift names are resolved against it.
    posts : str or Path, optional
        The current patrol posts file, checked with the roster.

    Returns
    -------
    DataFrame
        The scenario table (from :func:`geo_response.planning.scenarios.read_scenario`).

    Raises
    ------
    ScenarioError
        Naming the first change that cannot be applied.
    """
    table = scenarios.read_scenario(scenario)
    # a network already in memory (a notebook, study_area_from_network) has its bases: check against those
    new_bases = scenarios.apply_scenario(
        area.bases if area.network_loaded else area.unattached_bases[0],
        table,
        area=area.area,
        boundary=area.boundary,
        projected_crs=area.force.projected_crs,
    )
    if new_bases.attrs["roster_changes"]:
        plan_units.check_roster_changes(area, new_bases, roster, posts)
    return table


def _compare(
    area: StudyArea,
    scenario,
    policy,
    incidents_path,
    seed,
    delay_scale,
    delay,
    ledger_to=None,
    when=None,
    collisions=None,
) -> planning.Comparison:
    pol = area.policy(policy)
    table = scenario if isinstance(scenario, pd.DataFrame) else scenarios.read_scenario(scenario)
    scenario = table.attrs.get("source", "scenario")
    new_bases = scenarios.apply_scenario(
        area.bases, table, area=area.area, boundary=area.boundary, projected_crs=area.force.projected_crs
    )
    inc, inc_info = incidents_for_planning(
        area, incidents_path, policy, seed, ledger_to=ledger_to, collisions=collisions
    )
    result = planning.compare(
        area.network,
        area.bases,
        new_bases,
        area.lsoas,
        area.force,
        pol,
        incidents=inc,
        seed=seed,
        delay_scale=delay_scale,
        delay=delay,
        when=when,
    )
    result.summary.update(
        {
            "sources": {**_sources(area), "scenario": str(scenario)},
            "incident_file": inc_info,
            "collisions": inc_info and inc_info.pop("collisions"),
            "when": None if when is None else str(when),
            "base_issues": area.base_issues,
        }
    )
    return result


def run_optimise(
    area: StudyArea,
    add: int,
    out: str | Path,
    *,
    policy: str = "essex-2022",
    candidates: str | Path | None = None,
    incidents_path: Any = None,
    seed: int | None = None,
    delay: str = "median",
    time_limit: float | None = None,
    overwrite: bool = False,
    calibration: Any = None,
    force_calibration: bool = False,
    when: When | str | None = None,
    collisions: Any = None,
) -> tuple[planning.SitingRun, dict[str, Path]]:
    """Choose ``add`` new sites (spopt MCLP, greedy baseline) and rank closures; write outputs (one transaction).

    With ``calibration``, the planning fixed delay (``delay``: median or mean of the stages) is scaled by the
    record's delay scale, and the summary says so. With incidents, ``ledger.csv`` is written beside the outputs.
    ``when`` is the time of the week for time-of-day speeds (``"08:00 weekday"``; None: none). ``collisions``
    (STATS19) join the incidents as in ``compliance``.
    """
    _need_incidents(incidents_path, collisions)
    record = calibration_records.load(calibration, area, policy, force=force_calibration)
    with OutputFolder(
        out, inputs=_inputs(area, candidates, incidents_path, collisions, record and record.path), overwrite=overwrite
    ) as folder:
        run = _optimise(
            area,
            add,
            policy,
            candidates,
            incidents_path,
            seed,
            delay,
            time_limit,
            folder.root,
            1.0 if record is None else record.delay_scale,
            when,
            collisions,
        )
        _stamp(
            run.summary,
            record,
            None
            if record is None
            else f"planning fixed delay ({delay} of the stages) scaled x{record.delay_scale:.4f}",
        )
        paths = planning_report.write_siting(run, folder.root)
    if (run.summary.get("incident_file") or {}).get("ledger"):
        paths = {**paths, "ledger": Path(LEDGER_FILE)}
    return run, {k: Path(out) / p.name for k, p in paths.items()}


def _optimise(
    area: StudyArea,
    add,
    policy,
    candidates,
    incidents_path,
    seed,
    delay,
    time_limit,
    ledger_to=None,
    delay_scale: float = 1.0,
    when=None,
    collisions=None,
) -> planning.SitingRun:
    pol = area.policy(policy)
    cands = None
    if candidates is not None:
        cands = planning.read_candidates_csv(candidates, area=area.area, projected_crs=area.force.projected_crs)
        cands.attrs["source"] = str(candidates)
    inc, inc_info = incidents_for_planning(
        area, incidents_path, policy, seed, ledger_to=ledger_to, collisions=collisions
    )
    run = siting.optimise(
        area.network,
        area.bases,
        area.lsoas,
        _scaled_profile(area.force, delay_scale),
        pol,
        add,
        candidates=cands,
        incidents=inc,
        delay=delay,
        time_limit=time_limit,
        when=when,
    )
    run.summary.update(
        {
            "when": None if when is None else str(when),
            "sources": {
                **_sources(area),
                "candidates": str(candidates) if candidates else "LSOA population-weighted centroids",
            },
            "incident_file": inc_info,
            "collisions": inc_info and inc_info.pop("collisions"),
            "base_issues": area.base_issues,
        }
    )
    return run

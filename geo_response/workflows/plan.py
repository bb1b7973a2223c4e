"""The planning workflows behind ``geo-response plan compare`` and ``geo-response plan optimise``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from geo_response import planning
from geo_response.outputs import OutputFolder
from geo_response.planning import report as planning_report
from geo_response.planning import scenarios, siting
from geo_response.roads.speeds import When
from geo_response.study_area import StudyArea
from geo_response.workflows.compliance import prepare_incidents

__all__ = ["incidents_for_planning", "run_compare", "run_optimise"]


def incidents_for_planning(area: StudyArea, incidents_path: Any, policy: str,
                           seed: int | None = None) -> tuple[gpd.GeoDataFrame | None, dict | None]:
    """Incidents loaded, classified and graded for planning, and what the loader said of them (or None, None)."""
    if incidents_path is None:
        return None, None
    prepared = prepare_incidents(area, incidents_path, policy, seed)
    s = prepared.loaded.summary
    info = {k: s[k] for k in ("input_rows", "accepted", "rejected", "rejected_by_reason") if k in s}
    info.update({"files": [f["file"] for f in s.get("files", [])], "grades_sampled": prepared.sampled,
                 "grade_seed": prepared.grade_seed if prepared.sampled else None,
                 "unclassified": int(prepared.incidents["lsoa_code"].isna().sum())})
    return prepared.incidents, info


def _sources(area: StudyArea) -> dict:
    return {**area.sources(), "bases": area.bases_source, "network": str(area.network.graph.get("source"))}


def _inputs(area: StudyArea, *paths: Any) -> list:
    flat = [q for p in paths for q in (p if isinstance(p, list | tuple) else [p])]
    return [p for p in (*flat, area.osm, area.bases_csv) if p is not None]


def run_compare(area: StudyArea, scenario: str | Path, out: str | Path, *, policy: str = "essex-2022",
                incidents_path: Any = None, seed: int | None = None, delay_scale: float = 1.0,
                delay: str = "median", offline: bool = True, overwrite: bool = False,
                when: When | str | None = None) -> tuple[planning.Comparison, dict[str, Path]]:
    """Apply a scenario to the current bases, compare coverage, travel and modelled compliance; write outputs.

    ``when`` is the time of the week for time-of-day speeds (``"08:00 weekday"``; None: none).

    Outputs are one transaction in ``out`` (see :class:`geo_response.outputs.OutputFolder`).
    """
    with OutputFolder(out, inputs=_inputs(area, scenario, incidents_path), overwrite=overwrite) as folder:
        result = _compare(area, scenario, policy, incidents_path, seed, delay_scale, delay, when)
        paths = planning_report.write_comparison(result, folder.root, attribution=area.force.attribution,
                                                 offline=offline)
    return result, {k: Path(out) / p.name for k, p in paths.items()}


def _compare(area: StudyArea, scenario, policy, incidents_path, seed, delay_scale, delay,
             when=None) -> planning.Comparison:
    pol = area.policy(policy)
    table = scenarios.read_scenario(scenario)
    new_bases = scenarios.apply_scenario(area.bases, table, area=area.area, boundary=area.boundary,
                                         projected_crs=area.force.projected_crs)
    inc, inc_info = incidents_for_planning(area, incidents_path, policy, seed)
    result = planning.compare(area.network, area.bases, new_bases, area.lsoas, area.force, pol, incidents=inc,
                              seed=seed, delay_scale=delay_scale, delay=delay, when=when)
    result.summary.update({"sources": {**_sources(area), "scenario": str(scenario)}, "incident_file": inc_info,
                           "when": None if when is None else str(when),
                           "base_issues": area.base_issues})
    return result


def run_optimise(area: StudyArea, add: int, out: str | Path, *, policy: str = "essex-2022",
                 candidates: str | Path | None = None, incidents_path: Any = None, seed: int | None = None,
                 delay: str = "median", time_limit: float | None = None,
                 overwrite: bool = False, when: When | str | None = None) -> tuple[planning.SitingRun, dict[str, Path]]:
    """Choose ``add`` new sites (spopt MCLP, greedy baseline) and rank closures; write outputs (one transaction).

    ``when`` is the time of the week for time-of-day speeds (``"08:00 weekday"``; None: none).
    """
    with OutputFolder(out, inputs=_inputs(area, candidates, incidents_path), overwrite=overwrite) as folder:
        run = _optimise(area, add, policy, candidates, incidents_path, seed, delay, time_limit, when)
        paths = planning_report.write_siting(run, folder.root)
    return run, {k: Path(out) / p.name for k, p in paths.items()}


def _optimise(area: StudyArea, add, policy, candidates, incidents_path, seed, delay, time_limit,
              when=None) -> planning.SitingRun:
    pol = area.policy(policy)
    cands = None
    if candidates is not None:
        cands = planning.read_candidates_csv(candidates, area=area.area, projected_crs=area.force.projected_crs)
        cands.attrs["source"] = str(candidates)
    inc, inc_info = incidents_for_planning(area, incidents_path, policy, seed)
    run = siting.optimise(area.network, area.bases, area.lsoas, area.force, pol, add, candidates=cands,
                            incidents=inc, delay=delay, time_limit=time_limit, when=when)
    run.summary.update({"when": None if when is None else str(when),
                        "sources": {**_sources(area), "candidates": str(candidates) if candidates else
                                    "LSOA population-weighted centroids"},
                        "incident_file": inc_info, "base_issues": area.base_issues})
    return run

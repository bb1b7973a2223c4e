"""The validate workflow: what an incident file would give (accepted, rejected and why) without routing.

Reads the force boundary, the LSOAs and the policy's grades, loads the incidents with the ledger
(:func:`geo_response.incidents.load.load_incidents`) and stops there: no road network is read, so it runs in
seconds. With ``out_dir`` it writes ``ledger.csv`` and ``summary.json`` as one output transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo_response.compliance.report import write_ledger, write_summary
from geo_response.incidents import load as loader
from geo_response.outputs import OutputFolder
from geo_response.study_area import StudyArea

__all__ = ["ValidationResult", "validate_incidents"]

OUTPUT_NAMES = ("ledger.csv", "summary.json")


@dataclass
class ValidationResult:
    """What :func:`validate_incidents` found.

    Attributes
    ----------
    loaded : LoadResult
        The accepted incidents, the ledger and the loader's summary.
    summary : dict
        ``input, accepted, rejected, rejected_by_reason, warnings, columns, unused_columns, date_order,
        has_response_times, has_dispatch_times, has_on_scene_minutes, policy, files, seconds``.
    paths : dict
        ``ledger`` and ``summary`` when written.
    """

    loaded: loader.LoadResult
    summary: dict
    paths: dict = field(default_factory=dict)


def _summary(area: StudyArea, loaded: loader.LoadResult, policy: str, seconds: float) -> dict:
    s = loaded.summary
    keys = (
        "columns",
        "unused_columns",
        "date_order",
        "coordinates",
        "has_grades",
        "has_response_times",
        "has_dispatch_times",
        "has_on_scene_minutes",
        "has_months",
    )
    return {
        "input": s["input_rows"],
        "accepted": s["accepted"],
        "rejected": s["rejected"],
        "rejected_by_reason": s["rejected_by_reason"],
        "warnings": s["warnings"],
        **{k: s[k] for k in keys},
        "times": "observed" if s["has_response_times"] else "none (compliance would model them)",
        "policy": policy,
        "files": s["files"],
        "sources": area.sources(),
        "routed": False,
        "seconds": round(seconds, 3),
    }


def validate_incidents(
    area: StudyArea,
    source: Any,
    out_dir: str | Path | None = None,
    *,
    policy: str = "essex-2022",
    columns: dict[str, str] | None = None,
    dayfirst: bool | None = None,
    overwrite: bool = False,
    show_points: bool = False,
) -> ValidationResult:
    """Load incidents as every command would and report the ledger, without loading the road network.

    Parameters
    ----------
    area : StudyArea
        Supplies the boundary, the LSOAs, the policy and ``response_model.max_response_minutes``.
    source : str, Path, list or IncidentSource
        The incident files (a file, a folder, a glob or a list of those).
    out_dir : str or Path, optional
        Write ``ledger.csv`` and ``summary.json`` there (one transaction; see
        :class:`geo_response.outputs.OutputFolder`).
    policy : str
        Grading policy whose grades are checked.
    columns : dict, optional
        Column map (file column -> geo-response name); default: the source's own.
    dayfirst : bool, optional
        Date order of ``a/b/yyyy`` dates (default: detected per file).
    overwrite : bool
        Replace files in ``out_dir`` geo-response did not write.
    show_points : bool
        Let the ledger name a rejected row's 1 km grid square.

    Returns
    -------
    ValidationResult
        Call :func:`geo_response.incidents.load.require_accepted` on ``result.summary`` to fail when nothing
        was accepted (the CLI does, after writing the outputs).
    """
    t0 = time.perf_counter()
    pol = area.policy(policy)

    def run() -> ValidationResult:
        loaded = loader.load_incidents(
            source,
            boundary=area.boundary,
            policy=pol,
            lsoas=area.lsoas,
            max_response_minutes=area.force.response_model.max_response_minutes,
            show_points=show_points,
            columns=columns,
            dayfirst=dayfirst,
        )
        return ValidationResult(loaded, _summary(area, loaded, pol.name, time.perf_counter() - t0))

    if out_dir is None:
        return run()
    inputs = list(source) if isinstance(source, list | tuple) else [source]
    with OutputFolder(out_dir, inputs=inputs, overwrite=overwrite, expected=OUTPUT_NAMES) as out:
        result = run()
        result.summary["outputs"] = list(OUTPUT_NAMES)
        write_ledger(result.loaded.ledger, out.path("ledger.csv"))
        write_summary(result.summary, out.path("summary.json"))
    result.paths = {"ledger": Path(out_dir) / "ledger.csv", "summary": Path(out_dir) / "summary.json"}
    return result

"""STATS19 collisions as graded road incidents: loaded, put on their carriageway, graded from severity.

:func:`load_collisions` reads one or more DfT collision files (:func:`geo_response.incidents.stats19.load_stats19`:
the force profile's ``[road_collisions] police_force``, the force area), snaps each collision to its own
carriageway (:func:`~geo_response.incidents.stats19.snap_collisions`) and grades it (:func:`grade_collisions`).
The result is a :class:`~geo_response.incidents.load.LoadResult` in the incident loader's frame shape
(``source_file, row_number, incident_id, month, occurred_at, category = 'road collision', grade, ...``), so the
collisions join the modelled incidents: the compliance tables, the corridor analysis and the reports count them,
and their rejected rows join the ledger (file and line).

Grades
    From the profile's ``[road_collisions]``: ``fatal``, ``serious`` and ``slight`` (DfT severity) name a grade
    family (``emergency`` / ``priority`` / ``routine``, the policy's first three attended categories as for
    sampled grades, so ``priority`` is NCMG ``urgent``) or a category every policy has; a collision STATS19
    records as not attended by an officer takes ``not_attended`` (Essex: resolution without deployment). The
    ``emergency`` family resolves to the urban or rural grade by the collision's LSOA like any other incident.
    A collision with no known severity is ledgered ``unknown_severity``.

Where the response goes
    To the point on the carriageway (``carriageway_*`` columns; :func:`carriageway_table` gives them in the
    ``snapped=`` form of :func:`geo_response.roads.routing.travel_times_to_points`). A collision put on its own
    road (snap ``ref`` or ``class``) is on that carriageway: no off-road access leg. One put on the nearest road
    (its own road is not on the network) keeps the access leg from that road to the recorded point, as any
    incident does.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo_response.config import COLLISION_FAMILIES, ForceProfile, Policy
from geo_response.errors import InputFileError
from geo_response.incidents import stats19
from geo_response.incidents.grading import mix_categories
from geo_response.incidents.load import INCIDENT_COLUMNS, LoadResult
from geo_response.ledger import LEDGER_COLUMNS, ledger_rows
from geo_response.roads.roadnet import RoadNetwork

__all__ = [
    "CARRIAGEWAY_COLUMNS",
    "CATEGORY",
    "carriageway_table",
    "collision_grades",
    "grade_collisions",
    "is_collision",
    "load_collisions",
    "merge_results",
]

CATEGORY = stats19.CATEGORY
#: :func:`~geo_response.incidents.stats19.snap_collisions` column -> the incident column that carries it
CARRIAGEWAY_COLUMNS = {
    "edge": "carriageway_edge",
    "u": "carriageway_u",
    "v": "carriageway_v",
    "key": "carriageway_key",
    "edge_fraction": "carriageway_fraction",
    "snap_distance_m": "carriageway_distance_m",
}
#: snap methods that put a collision on its own road: the carriageway point is the scene (no access leg)
ON_OWN_ROAD = ("ref", "class")
#: the STATS19 columns kept on each collision incident (beside the standard incident columns)
KEPT_COLUMNS = ["severity", "road", "speed_limit", "police_attended", "snap_method", "snapped_road"]


def collision_grades(profile: ForceProfile, policy: Policy) -> dict[str, str]:
    """Severity (and ``not_attended``) -> a category of ``policy``, from the profile's ``[road_collisions]``.

    Examples
    --------
    >>> from geo_response.config import load_profile
    >>> prof = load_profile()
    >>> collision_grades(prof, prof.policy("ncmg"))["slight"]  # the priority family is NCMG's "urgent"
    'urgent'
    """
    families = dict(zip(COLLISION_FAMILIES, mix_categories(policy), strict=True))
    return {key: families.get(value, value) for key, value in profile.road_collisions.grades.items()}


def grade_collisions(result: LoadResult, profile: ForceProfile, policy: Policy) -> LoadResult:
    """Give snapped collisions a grade (a category of ``policy``) from their severity; ledger unknown severities.

    Parameters
    ----------
    result : LoadResult
        From :func:`~geo_response.incidents.stats19.snap_collisions`.
    profile : ForceProfile
        Its ``[road_collisions]`` maps severity to a grade (see the module notes).
    policy : Policy
        The grading policy the grades belong to.

    Returns
    -------
    LoadResult
        Incidents with the standard columns (``grade`` a category label resolved later by
        :func:`geo_response.incidents.grading.assign_targets`; ``grade_sampled`` False), the
        :data:`KEPT_COLUMNS` and the ``carriageway_*`` position; the ledger with ``unknown_severity`` rows added.
    """
    inc = result.incidents.reset_index(drop=True)
    mapping = collision_grades(profile, policy)
    severity = inc["severity"].astype(object)
    grade = severity.map(lambda s: mapping.get(str(s).lower()) if isinstance(s, str) else None)
    not_attended = inc["police_attended"].map(lambda v: v is False or v is np.False_).to_numpy(dtype=bool)
    grade[not_attended & grade.notna().to_numpy()] = mapping["not_attended"]
    unknown = grade.isna().to_numpy()
    ledger = ledger_rows(
        inc[unknown],
        "unknown_severity",
        "severity " + severity[unknown].astype(str) + " is not fatal, serious or slight",
        status="rejected",
    )
    kept = inc[~unknown].rename(columns=CARRIAGEWAY_COLUMNS)
    frame = kept.assign(grade=grade[~unknown].to_numpy(), grade_sampled=False)
    columns = INCIDENT_COLUMNS[:-1] + ["grade_sampled"] + KEPT_COLUMNS + list(CARRIAGEWAY_COLUMNS.values())
    incidents = gpd.GeoDataFrame(
        frame[columns].reset_index(drop=True), geometry=gpd.GeoSeries(frame.geometry.to_numpy(), crs=4326)
    )
    summary = dict(result.summary)
    reasons = dict(summary.get("rejected_by_reason", {}))
    if unknown.any():
        reasons["unknown_severity"] = int(unknown.sum())
    summary.update(
        accepted=int(len(incidents)),
        rejected=int(summary.get("rejected", 0)) + int(unknown.sum()),
        rejected_by_reason=reasons,
        grade_mapping=mapping,
        severity={str(k): int(v) for k, v in incidents["severity"].value_counts().sort_index().items()},
        grades={str(k): int(v) for k, v in incidents["grade"].value_counts().sort_index().items()},
        evidence=profile.road_collisions.evidence,
    )
    return LoadResult(incidents, pd.concat([result.ledger, ledger], ignore_index=True), summary)


def _files(path: str | Path | Sequence[str | Path]) -> list[Path]:
    """A collision file, a glob or a list of them as a sorted list of files."""
    if isinstance(path, list | tuple):
        return [f for p in path for f in _files(p)]
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".csv")
        if not files:
            raise InputFileError(f"collision folder {p} holds no .csv file; pass a STATS19 CSV or a glob")
        return files
    if any(ch in str(path) for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(path)) if Path(f).is_file())
        if files:
            return files
        raise InputFileError(f"no collision file matches the pattern {path!r}; check the folder and the pattern")
    raise InputFileError(f"collision file {p} does not exist; pass a STATS19 collision CSV (DfT) or a glob")


def _period(incidents: pd.DataFrame) -> dict:
    months = incidents["month"].dropna().astype(str)
    return {"first_month": months.min() if len(months) else None, "last_month": months.max() if len(months) else None}


def load_collisions(
    path: str | Path | Sequence[str | Path],
    net: RoadNetwork,
    profile: ForceProfile,
    policy: Policy,
    boundary: BaseGeometry | None = None,
    *,
    match_m: float = 250.0,
    max_m: float = 1000.0,
) -> LoadResult:
    """Load, snap and grade STATS19 collision files as road incidents (see the module notes).

    Parameters
    ----------
    path : str, Path or list
        A collision CSV (either DfT header style), a folder of them, a glob, or a list of those.
    net : RoadNetwork
        The network the collisions are snapped to (and later routed on).
    profile : ForceProfile
        ``[road_collisions]``: the force's DfT code and the severity -> grade mapping.
    policy : Policy
        The grading policy.
    boundary : shapely geometry, optional
        The force area; collisions outside are ledgered ``outside_force_area``.
    match_m, max_m : float
        Snap limits (:func:`~geo_response.incidents.stats19.snap_collisions`).

    Returns
    -------
    LoadResult
        Graded collisions (empty when no row is the force's; ``summary["note"]`` then says so), the ledger of
        every rejected row (file and line) and a summary: ``input_rows = accepted + rejected``, ``files``,
        ``snap_methods``, ``severity``, ``grades``, ``grade_mapping``, ``period``, ``police_force``.

    Raises
    ------
    InputFileError
        When a file cannot be read or is not a STATS19 table, or the profile has no ``police_force``.
    """
    force = profile.road_collisions.police_force
    if force is None:
        raise InputFileError(
            "the force profile has no [road_collisions] police_force (the force's DfT STATS19 code, Essex = 42); "
            "add it to read --collisions"
        )
    parts = []
    for f in _files(path):
        loaded = stats19.load_stats19(f, police_force=force, boundary=boundary)
        snapped = stats19.snap_collisions(loaded, net, match_m=match_m, max_m=max_m, crs=profile.projected_crs)
        parts.append(grade_collisions(snapped, profile, policy))
    result = parts[0] if len(parts) == 1 else _combine(parts)
    s = result.summary
    s["police_force"] = int(force)
    s["period"] = _period(result.incidents)
    s["access_leg"] = (
        "none where the collision is on its own road (snap ref or class); from the nearest road to the recorded "
        "point where its road is not on the network (snap nearest)"
    )
    if s["accepted"] == 0:
        reasons = ", ".join(f"{k} {v:,}" for k, v in s["rejected_by_reason"].items()) or "none"
        s["note"] = (
            f"no collision of police force {force} ({stats19.POLICE_FORCES.get(force, 'unknown')}) was kept from "
            f"{', '.join(Path(f['file']).name for f in s['files'])}: {s['input_rows']:,} rows, all ledgered "
            f"({reasons}); the run goes on without collisions"
        )
    return result


def _combine(parts: list[LoadResult]) -> LoadResult:
    """Several files' results as one; a collision id accepted in an earlier file is ledgered in a later one."""
    inc = pd.concat([p.incidents for p in parts], ignore_index=True)
    ids = inc["incident_id"]
    dup = ids.notna().to_numpy() & ids.duplicated(keep="first").to_numpy()
    ledger = pd.concat(
        [
            *(p.ledger for p in parts),
            ledger_rows(inc[dup], "duplicate_incident_id", "repeats a collision of an earlier file", "rejected"),
        ],
        ignore_index=True,
    )
    kept = gpd.GeoDataFrame(inc[~dup].reset_index(drop=True), geometry="geometry", crs=4326)
    reasons: dict[str, int] = {}
    for p in parts:
        for k, v in p.summary["rejected_by_reason"].items():
            reasons[k] = reasons.get(k, 0) + int(v)
    if dup.any():
        reasons["duplicate_incident_id"] = reasons.get("duplicate_incident_id", 0) + int(dup.sum())
    first = parts[0].summary
    summary = {
        **first,
        "input_rows": sum(int(p.summary["input_rows"]) for p in parts),
        "accepted": int(len(kept)),
        "rejected": sum(int(p.summary["rejected"]) for p in parts) + int(dup.sum()),
        "rejected_by_reason": reasons,
        "files": [f for p in parts for f in p.summary["files"]],
        "coordinates": sorted({c for p in parts for c in p.summary["coordinates"]}),
        "snap_methods": {m: int((kept["snap_method"] == m).sum()) for m in stats19.SNAP_METHODS},
        "severity": {str(k): int(v) for k, v in kept["severity"].value_counts().sort_index().items()},
        "grades": {str(k): int(v) for k, v in kept["grade"].value_counts().sort_index().items()},
    }
    return LoadResult(kept, ledger.reindex(columns=LEDGER_COLUMNS), summary)


def is_collision(incidents: pd.DataFrame) -> np.ndarray:
    """True on the rows that are STATS19 collisions put on a carriageway (they carry ``carriageway_edge``)."""
    if "carriageway_edge" not in incidents.columns:
        return np.zeros(len(incidents), dtype=bool)
    return incidents["carriageway_edge"].notna().to_numpy()


def carriageway_table(incidents: pd.DataFrame) -> pd.DataFrame | None:
    """Where each collision row sits on the network, in the ``snapped=`` form of
    :func:`geo_response.roads.routing.travel_times_to_points` (index: the collision rows).

    ``snap_distance_m`` there is the access leg: 0 for a collision on its own road (snap ``ref`` / ``class``),
    the distance to the recorded point for one on the nearest road. ``carriageway_distance_m`` keeps the snap
    distance itself. None when no row is a collision.
    """
    rows = is_collision(incidents)
    if not rows.any():
        return None
    part = incidents.loc[rows]
    own_road = part["snap_method"].isin(ON_OWN_ROAD).to_numpy()
    distance = part["carriageway_distance_m"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "edge": part["carriageway_edge"].to_numpy(dtype=np.int64),
            "u": part["carriageway_u"].to_numpy(dtype=np.int64),
            "v": part["carriageway_v"].to_numpy(dtype=np.int64),
            "key": part["carriageway_key"].to_numpy(dtype=np.int64),
            "edge_fraction": part["carriageway_fraction"].to_numpy(dtype=float),
            "snap_distance_m": np.where(own_road, 0.0, distance),
            "carriageway_distance_m": distance,
        },
        index=part.index,
    )


def merge_results(incidents: LoadResult, collisions: LoadResult) -> LoadResult:
    """The incidents' and the collisions' load results as one: rows, ledger (sorted by file and line) and counts.

    The summary keeps the incident files' own fields (``files``, ``columns``, ``has_*``) and adds the collision
    counts to ``input_rows``, ``accepted``, ``rejected``, ``rejected_by_reason`` and ``warnings``; the collisions'
    own summary is ``summary["collisions"]``.
    """
    s, c = incidents.summary, collisions.summary
    reasons = dict(s.get("rejected_by_reason", {}))
    for k, v in c.get("rejected_by_reason", {}).items():
        reasons[k] = reasons.get(k, 0) + int(v)
    warnings = dict(s.get("warnings", {}))
    for k, v in c.get("warnings", {}).items():
        warnings[k] = warnings.get(k, 0) + int(v)
    summary = {
        **s,
        "input_rows": int(s["input_rows"]) + int(c["input_rows"]),
        "accepted": int(s["accepted"]) + int(c["accepted"]),
        "rejected": int(s["rejected"]) + int(c["rejected"]),
        "rejected_by_reason": reasons,
        "warnings": warnings,
        "collisions": c,
    }
    rows = pd.concat([incidents.incidents, collisions.incidents], ignore_index=True)
    ledger = pd.concat([incidents.ledger, collisions.ledger.reindex(columns=LEDGER_COLUMNS)], ignore_index=True)
    ledger = ledger.sort_values(["file", "row_number"], kind="stable").reset_index(drop=True)
    return LoadResult(gpd.GeoDataFrame(rows, geometry="geometry", crs=4326), ledger, summary)

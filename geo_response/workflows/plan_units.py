"""Scenarios that change the roster: the current and the scenario roster simulated with the same seeds.

Units only matter in the simulation, so a ``plan compare`` scenario with ``move_units`` / ``add_units``
changes is judged there: the same incidents, delays and on-scene times (common random numbers: every
replication draws them from the same seed for both rosters), the current roster on the current bases
against the scenario roster on the scenario's bases (added or moved bases change the travel matrix), and
the paired differences in % met per grade, overall and per district, with 95% Student-t intervals.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_response.errors import ScenarioError
from geo_response.planning import scenarios
from geo_response.simulation import roster as sim_roster
from geo_response.study_area import StudyArea
from geo_response.workflows import simulate as sim

__all__ = ["check_roster_changes", "simulate_scenario"]

JUDGED = ("emergency", "priority")


def check_roster_changes(
    area: StudyArea, new_bases: Any, roster: str | Path | None = None, posts: str | Path | None = None
) -> tuple[list, list]:
    """The scenario's roster lines and notes (no network: the bases as read name the roster's bases).

    Parameters
    ----------
    area : StudyArea
        The study area.
    new_bases : GeoDataFrame
        From :func:`geo_response.planning.scenarios.apply_scenario` (``attrs['roster_changes']``).
    roster : str or Path, optional
        The current roster (default: the force profile's).
    posts : str or Path, optional
        The current patrol posts (:func:`geo_response.workflows.simulate.read_posts`), checked too.

    Returns
    -------
    tuple
        (RosterSpec of the current roster, (scenario roster lines, notes)).

    Raises
    ------
    ScenarioError, SimulationError
        A change that moves more units than the base has or names a shift the roster lacks, or a roster or
        posts file naming an unknown base.
    """
    spec = sim.check_roster(area, roster)
    if posts is not None:
        sim.read_posts(posts, spec.base_names, area.area)
    names = [str(n) for n in new_bases["name"]]
    return spec, scenarios.scenario_roster(
        spec.lines, new_bases.attrs.get("roster_changes", []), spec.base_names, names, new_bases.attrs.get("removed")
    )


def _atom_codes(built: sim.BuiltDemand) -> np.ndarray:
    """The LSOA code of each column of the travel matrix (every atom has at least one real incident)."""
    d = built.demand
    atom = d.atom[: d.n_real]
    codes = built.incidents["lsoa_code"].astype(str).to_numpy()
    out = np.empty(d.travel_s.shape[2], dtype=object)
    out[atom] = codes
    return out


def _site_rows(built: sim.BuiltDemand, current: list, new_bases: Any, lines: list) -> tuple[list, list[str], dict]:
    """The scenario's travel-matrix rows: its bases, the current posts of bases it keeps, its posts in use.

    ``current`` are the current matrix's rows (points, EPSG:4326). Returns the points, their names and
    name -> row (a base with a patrol post in the current posts file maps to the post's row; a ``set_post`` post
    by its name). A base added under a removed base's name does not inherit its post; a ``set_post`` post no
    roster line waits at (its base removed later) is not routed.
    """
    names = [str(n) for n in new_bases["name"]]
    points = list(new_bases.to_crs(4326).geometry)
    row_of = {n: i for i, n in enumerate(names)}
    rows = list(names)
    kept = set(new_bases.loc[new_bases.get("current_base_id", pd.Series(0, index=new_bases.index)) >= 0, "name"])
    for base, row in built.units_args.get("posts", {}).items():
        if row >= len(built.roster.base_names) and base in kept:  # a posts-file post of a kept base
            row_of[base] = len(points)
            points.append(current[row])
            rows.append(built.post_names[row])
    used = {ln.post for ln in lines if ln.post}
    for post, point in scenarios.scenario_posts(new_bases.attrs.get("roster_changes", [])).items():
        if post in used:
            row_of[post] = len(points)
            points.append(point)
            rows.append(post)
    return points, rows, row_of


def scenario_demand(area: StudyArea, built: sim.BuiltDemand, new_bases: Any, lines: list) -> sim.SimDemand:
    """The built demand with the scenario's roster, bases and posts.

    Travel-matrix rows at a place the current matrix already has (the same point) are reused; only added or
    moved bases and new posts are routed (both speeds), so an unchanged scenario gives the current matrix
    exactly.
    """
    import geopandas as gpd

    current = list(built.sites.to_crs(4326).geometry) if built.sites is not None else []
    points, rows, row_of = _site_rows(built, current, new_bases, lines)
    same = [next((j for j, c in enumerate(current) if c.equals(p)), -1) for p in points]
    new = [i for i, j in enumerate(same) if j < 0]
    travel = np.empty((2, len(points), built.demand.travel_s.shape[2]))
    for i, j in enumerate(same):
        if j >= 0:
            travel[:, i, :] = built.demand.travel_s[:, j, :]
    if new:
        sites = gpd.GeoDataFrame(geometry=[points[i] for i in new], crs=4326)
        travel[:, new, :] = sim._travel(area, sites, _atom_codes(built))
    cut = ~np.isfinite(travel).all(axis=(0, 2))
    if cut.any():
        raise ScenarioError(
            f"scenario base(s) or post(s) {[rows[i] for i in np.flatnonzero(cut)]} cannot reach every simulated "
            "LSOA on the road network (off the network or beyond the snap limit); move them onto the roads"
        )
    names = [str(n) for n in new_bases["name"]]
    args = {**built.units_args, "posts": row_of}
    return dataclasses.replace(
        built.demand, travel_s=np.ascontiguousarray(travel), roster=sim.roster_units(lines, names, **args)
    )


def paired_table(built: sim.BuiltDemand, current: pd.DataFrame, scenario: pd.DataFrame) -> pd.DataFrame:
    """Paired % met differences (scenario - current) per district (and ``all``) and judged grade.

    Returns
    -------
    DataFrame
        ``district, grade, incidents, current_pct, scenario_pct, change_pp, change_low, change_high``
        (means over replications; the interval is the 95% Student-t interval of the paired differences).
    """
    inc = built.incidents
    prio = built.demand.priority[: built.demand.n_real]
    judged = inc["has_target"].to_numpy(bool)
    rows = []
    for district in ["all", *sorted(inc["district"].astype(str).unique())]:
        in_d = np.ones(len(inc), bool) if district == "all" else (inc["district"].astype(str) == district).to_numpy()
        for rank, grade in enumerate(JUDGED):
            sel = in_d & judged & (prio == rank)
            if not sel.any():
                continue
            b = np.array([np.asarray(m)[sel].mean() for m in current["met"]])
            s = np.array([np.asarray(m)[sel].mean() for m in scenario["met"]])
            mean, low, high = sim._ci(100 * (s - b)[None, :])
            rows.append(
                {
                    "district": district,
                    "grade": grade,
                    "incidents": int(sel.sum()),
                    "current_pct": round(100 * float(b.mean()), 2),
                    "scenario_pct": round(100 * float(s.mean()), 2),
                    "change_pp": round(float(mean[0]), 2),
                    "change_low": round(float(low[0]), 2),
                    "change_high": round(float(high[0]), 2),
                }
            )
    return pd.DataFrame(rows)


def simulate_scenario(
    area: StudyArea,
    new_bases: Any,
    incidents_path: Any,
    *,
    policy: str = "essex-2022",
    roster: str | Path | None = None,
    posts: str | Path | None = None,
    replications: int = 3,
    days: float = 28.0,
    seed: int | None = None,
    built: sim.BuiltDemand | None = None,
    current: pd.DataFrame | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Simulate the current roster and the scenario's with common random numbers; pair the results.

    Parameters
    ----------
    area : StudyArea
        The study area (the network is loaded for the travel matrix).
    new_bases : GeoDataFrame
        The scenario's bases from :func:`geo_response.planning.scenarios.apply_scenario`.
    incidents_path : path or list of paths
        The incidents the demand is built from.
    policy, roster, posts, replications, days, seed
        As :func:`geo_response.workflows.simulate.run_simulation` (seed None: the profile's); ``posts``: where
        the current roster's units wait (the scenario keeps them unless a ``set_post`` change moves them).
    built : BuiltDemand, optional
        A demand already built for the current roster (the demo reuses its simulation's).
    current : DataFrame, optional
        Replications of ``built`` already run with ``seed`` (the demo's simulation); else they are run here.

    Returns
    -------
    tuple
        (the ``simulation`` block for summary.json, the paired table of :func:`paired_table`).
    """
    seed = area.force.simulation.seed if seed is None else int(seed)
    spec, (lines, notes) = check_roster_changes(area, new_bases, roster, posts)
    if built is None:
        built = sim.build_demand(area, incidents_path, spec, policy=policy, posts=posts, days=days, seed=seed)
    demand = scenario_demand(area, built, new_bases, lines)
    kw = {"workers": 0, "progress": False}
    if current is None or len(current) != replications:
        current = sim.run_replications_of(built.demand, replications, seed, desc="current roster", **kw)
    scenario = sim.run_replications_of(demand, replications, seed, desc="scenario roster", **kw)
    table = paired_table(built, current, scenario)
    block = {
        "judged_by": "simulation (units only matter there); common random numbers, paired differences",
        "replications": int(replications),
        "days": float(built.period["days"]),
        "seed": seed,
        "roster": spec.source,
        "posts": None if posts is None else str(posts),
        "units_current": int(built.demand.roster.n_units),
        "units_scenario": int(demand.roster.n_units),
        "roster_changes": [
            {k: v for k, v in ch.items() if k not in ("start_min", "end_min")}
            for ch in new_bases.attrs.get("roster_changes", [])
        ],
        "overall": {
            r["grade"]: {k: r[k] for k in ("current_pct", "scenario_pct", "change_pp", "change_low", "change_high")}
            for r in table.to_dict(orient="records")
            if r["district"] == "all"
        },
        "simulated_incidents": int(len(built.incidents)),
        "notes": [*notes, *built.notes],
        "assumptions": list(sim.ASSUMPTIONS),
    }
    return block, table


# -------------------------------------------------------------------------------------------------- the demo's question
NEW_TENDRING_BASE = ("Weeley (new base)", 51.853, 1.115)  # a stated position in central Tendring, by the A133


def _night_shift(lines: list) -> Any:
    """The roster line whose shift covers 03:00 (the night shift)."""
    for ln in lines:
        if ln.start_min <= 180 < ln.end_min or ln.start_min <= 180 + 1440 < ln.end_min:
            return ln
    raise ScenarioError("the roster has no shift covering 03:00 (no night shift to move)")


def _district_of(area: StudyArea, bases: Any) -> pd.Series:
    import geopandas as gpd

    joined = gpd.sjoin(bases.to_crs(4326), area.districts.to_crs(4326)[["district", "geometry"]], how="left")
    return joined["district"].groupby(level=0).first().reindex(bases.index).fillna("")


def staffing_vs_base(
    area: StudyArea,
    built: sim.BuiltDemand,
    current: pd.DataFrame,
    *,
    district: str = "Tendring",
    units: int = 2,
    seed: int | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Two night units into ``district``: to its existing base, or to a new base there; against posting the
    district's own night units at that site instead (no units moved, no building). Same seeds throughout.

    Rule (stated in the summary): the night shift is the roster shift covering 03:00; the units come from
    the base outside ``district`` with the most night units (ties: the nearest to the district's base); the
    district's base is its first base in the bases file; the new base, and the patrol post of the third
    option, is :data:`NEW_TENDRING_BASE`.

    Returns
    -------
    tuple
        (summary dict, paired table with a ``scenario`` column).
    """
    bases = area.bases.reset_index(drop=True)
    spec = built.roster
    names = list(spec.base_names)
    in_d = _district_of(area, bases).to_numpy() == district
    if not in_d.any() or in_d.all():
        raise ScenarioError(f"no base in {district!r}, or every base is there: nothing to compare")
    night = _night_shift(spec.lines)
    expanded = sim_roster.expand_lines(spec.lines, names)
    night_units = {n: 0 for n in names}
    for ln in expanded:
        if (ln.start_min, ln.end_min) == (night.start_min, night.end_min):
            night_units[ln.base] += ln.units
    target = names[int(np.flatnonzero(in_d)[0])]
    xy = bases.to_crs(area.force.projected_crs).geometry
    dist = xy.distance(xy.iloc[names.index(target)]).to_numpy()
    donors = [i for i in range(len(names)) if not in_d[i] and night_units[names[i]] >= units]
    if not donors:
        raise ScenarioError(f"no base outside {district!r} has {units} night units to give")
    donor = names[min(donors, key=lambda i: (-night_units[names[i]], dist[i]))]
    shift = night.label
    new_name, lat, lon = NEW_TENDRING_BASE
    move = {"action": "move_units", "name": donor, "units": units, "shift": shift}
    post_name = new_name.replace("(new base)", "(patrol post)")
    plans = {
        f"move_to_{target}": [{**move, "to": target}],
        "new_base": [{"action": "add", "name": new_name, "latitude": lat, "longitude": lon}, {**move, "to": new_name}],
        "post_night_units": [
            {"action": "set_post", "name": target, "shift": shift, "latitude": lat, "longitude": lon, "to": post_name}
        ],
    }
    out, tables = {}, []
    for key, rows in plans.items():
        new_bases = scenarios.apply_scenario(bases, scenarios.scenario_table(rows), area=area.area)
        block, table = simulate_scenario(
            area, new_bases, None, replications=len(current), seed=seed, built=built, current=current
        )
        tables.append(table.assign(scenario=key))
        there = table[table["district"] == district].set_index("grade")
        out[key] = {
            "changes": rows,
            "units_current": block["units_current"],
            "units_scenario": block["units_scenario"],
            "notes": block["notes"],
            "overall": block["overall"],
            district: {
                g: there.loc[g, ["current_pct", "scenario_pct", "change_pp", "change_low", "change_high"]].to_dict()
                for g in there.index
            },
        }
    summary = {
        "question": (
            f"what does moving {units} night-shift units to {district} do, against a new base there, or against "
            f"{target}'s own night units waiting at that site?"
        ),
        "rule": (
            f"night shift {shift} (the roster shift covering 03:00); donor {donor!r}: the base outside {district} "
            f"with the most night units ({night_units[donor]}; ties: nearest to {target!r}); {district}'s base "
            f"{target!r}; new base {new_name!r} at ({lat}, {lon}); or no units moved and {target}'s night units "
            f"waiting at {post_name!r} (same place)"
        ),
        "donor": donor,
        "target": target,
        "new_base": {"name": new_name, "latitude": lat, "longitude": lon},
        "replications": int(len(current)),
        "days": float(built.period["days"]),
        "common_random_numbers": True,
        "scenarios": out,
    }
    summary["sentence"] = staffing_sentence(summary, district)
    return summary, pd.concat(tables, ignore_index=True)


def staffing_sentence(s: dict, district: str) -> str:
    """One sentence: the emergency / priority % met change with intervals, overall and in ``district``."""

    def part(block: dict) -> str:
        return ", ".join(
            f"{g} {r['change_pp']:+.1f} pp ({r['change_low']:+.1f} to {r['change_high']:+.1f})"
            for g, r in block.items()
        )

    a, b = s["scenarios"][f"move_to_{s['target']}"], s["scenarios"]["new_base"]
    text = (
        f"Moving two night units from {s['donor']} to {s['target']}: force-wide {part(a['overall'])}, "
        f"in {district} {part(a[district])}; to a new base at {s['new_base']['name']}: force-wide "
        f"{part(b['overall'])}, in {district} {part(b[district])}"
    )
    if c := s["scenarios"].get("post_night_units"):
        text += (
            f"; moving none but posting {s['target']}'s night units at that site: force-wide "
            f"{part(c['overall'])}, in {district} {part(c[district])}"
        )
    return text + f" (% met change, 95% interval, {s['replications']} paired replications of {s['days']:g} days)."

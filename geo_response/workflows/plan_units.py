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
from geo_response.study_area import StudyArea
from geo_response.workflows import simulate as sim

__all__ = ["check_roster_changes", "simulate_scenario"]

JUDGED = ("emergency", "priority")


def check_roster_changes(area: StudyArea, new_bases: Any, roster: str | Path | None = None) -> tuple[list, list]:
    """The scenario's roster lines and notes (no network: the bases as read name the roster's bases).

    Parameters
    ----------
    area : StudyArea
        The study area.
    new_bases : GeoDataFrame
        From :func:`geo_response.planning.scenarios.apply_scenario` (``attrs['roster_changes']``).
    roster : str or Path, optional
        The current roster (default: the force profile's).

    Returns
    -------
    tuple
        (RosterSpec of the current roster, (scenario roster lines, notes)).

    Raises
    ------
    ScenarioError, SimulationError
        A change that moves more units than the base has, or a roster naming an unknown base.
    """
    spec = sim.check_roster(area, roster)
    names = [str(n) for n in new_bases["name"]]
    return spec, scenarios.scenario_roster(
        spec.lines, new_bases.attrs.get("roster_changes", []), spec.base_names, names
    )


def _atom_codes(built: sim.BuiltDemand) -> np.ndarray:
    """The LSOA code of each column of the travel matrix (every atom has at least one real incident)."""
    d = built.demand
    atom = d.atom[: d.n_real]
    codes = built.incidents["lsoa_code"].astype(str).to_numpy()
    out = np.empty(d.travel_s.shape[2], dtype=object)
    out[atom] = codes
    return out


def scenario_demand(area: StudyArea, built: sim.BuiltDemand, new_bases: Any, lines: list) -> sim.SimDemand:
    """The built demand with the scenario's roster and, when bases were added or moved, its travel matrix."""
    names = [str(n) for n in new_bases["name"]]
    changed = new_bases.get("change", pd.Series("", index=new_bases.index)).astype(str)
    if names == list(built.roster.base_names) and not changed.str.contains("added|moved").any():
        return built.with_lines(lines)
    travel = sim._travel(area, new_bases[["geometry"]].reset_index(drop=True), _atom_codes(built))
    cut = ~np.isfinite(travel).all(axis=(0, 2))
    if cut.any():
        raise ScenarioError(
            f"scenario base(s) {[names[i] for i in np.flatnonzero(cut)]} cannot reach every simulated LSOA "
            "on the road network (off the network or beyond the snap limit); move them onto the roads"
        )
    args = {**built.units_args, "posts": {n: i for i, n in enumerate(names)}}
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
    replications: int = 3,
    days: float = 28.0,
    seed: int | None = None,
    built: sim.BuiltDemand | None = None,
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
    policy, roster, replications, days, seed
        As :func:`geo_response.workflows.simulate.run_simulation` (seed None: the profile's).
    built : BuiltDemand, optional
        A demand already built for the current roster (the demo reuses its simulation's).

    Returns
    -------
    tuple
        (the ``simulation`` block for summary.json, the paired table of :func:`paired_table`).
    """
    seed = area.force.simulation.seed if seed is None else int(seed)
    spec, (lines, notes) = check_roster_changes(area, new_bases, roster)
    if built is None:
        built = sim.build_demand(area, incidents_path, spec, policy=policy, days=days, seed=seed)
    demand = scenario_demand(area, built, new_bases, lines)
    kw = {"workers": 0, "progress": False}
    current = sim.run_replications_of(built.demand, replications, seed, desc="current roster", **kw)
    scenario = sim.run_replications_of(demand, replications, seed, desc="scenario roster", **kw)
    table = paired_table(built, current, scenario)
    block = {
        "judged_by": "simulation (units only matter there); common random numbers, paired differences",
        "replications": int(replications),
        "days": float(built.period["days"]),
        "seed": seed,
        "roster": spec.source,
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

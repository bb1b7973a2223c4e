"""``plan staff``: where K extra units raise emergency (then priority) % met most.

Screen: Larson's approximate hypercube (:func:`queueing.hypercube_approx`) per shift of the roster, over
the same LSOA atoms and travel matrix as the simulation. For a shift, the atoms' arrival rates are the
period's incidents whose hour falls in the shift, per hour of that shift; the service rate is one over
the mean on-scene time plus a drive out and back; the score is :func:`queueing.hypercube_share_within`
against each atom's emergency target (blue lights) and then its priority target (normal traffic), with
the median answer + handling delay. Shifts are weighted by their share of demand. A shift whose units
cannot keep up (``rho >= 1``) scores minus its load, so adding a unit there always helps.

Greedy: K times, add one unit to the (base, shift) whose screen gain in emergency share is largest
(priority breaks ties). Check: the chosen roster and the baseline are simulated with the same seeds
(common random numbers: the delays and on-scene times of every incident are the same draws), and the
paired differences in % met are given with their 95% interval.
"""

from __future__ import annotations

import dataclasses
import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_response.errors import SimulationError
from geo_response.simulation import queueing
from geo_response.simulation import roster as sim_roster
from geo_response.simulation.demand import lognormal_params
from geo_response.study_area import StudyArea
from geo_response.workflows import simulate as sim

__all__ = ["StaffRun", "run_staff", "screen_score"]

OUTPUTS = ("staff.csv", "summary.json", "report.md")


@dataclass
class StaffRun:
    """The chosen units, the screen and simulation figures, and the summary."""

    staff: pd.DataFrame
    summary: dict
    paths: dict = field(default_factory=dict)


def _shifts(spec: sim.RosterSpec, shift: str | None) -> dict[str, sim_roster.RosterLine]:
    """Roster shifts by label (``HH:MM-HH:MM``), optionally only ``shift`` (a label or a shift name)."""
    shifts: dict[str, sim_roster.RosterLine] = {}
    lines = spec.lines
    if shift is not None:
        try:
            lines = sim_roster.shift_matches(spec.lines, shift)
        except ValueError as exc:
            raise SimulationError(f"--shift: {exc}") from None
    for ln in lines:
        shifts.setdefault(ln.label, ln)
    return shifts


def _atom_targets(d: sim.SimDemand, rank: int) -> np.ndarray:
    n_atoms = d.travel_s.shape[2]
    k = d.n_real
    sel = (d.priority[:k] == rank) & np.isfinite(d.target_s[:k])
    fallback = float(np.median(d.target_s[:k][sel])) if sel.any() else math.inf
    out = np.full(n_atoms, np.inf)
    np.minimum.at(out, d.atom[:k][sel], d.target_s[:k][sel])
    return np.where(np.isfinite(out), out, fallback)


@dataclass(frozen=True)
class _Screen:
    rates: np.ndarray  # per atom, per second, in this shift
    weight: float  # share of the period's incidents in this shift
    mu: float
    blue: np.ndarray  # posts x atoms
    normal: np.ndarray
    em_target: np.ndarray
    pr_target: np.ndarray
    delay_s: float


def screen_score(sc: _Screen, posts: list[int]) -> tuple[float, float]:
    """(emergency, priority) share within target for units at ``posts`` in one shift (the hypercube screen)."""
    if sc.rates.sum() <= 0:
        return 1.0, 1.0
    if not posts:
        return -1e6, -1e6
    load = sc.rates.sum() / sc.mu / len(posts)
    if load >= 1:
        return -load, -load
    try:
        res = queueing.hypercube_approx(sc.rates, sc.blue[posts], sc.mu)
        em = queueing.hypercube_share_within(res, sc.blue[posts], sc.em_target, sc.mu, sc.delay_s)
        resn = queueing.hypercube_approx(sc.rates, sc.normal[posts], sc.mu)
        pr = queueing.hypercube_share_within(resn, sc.normal[posts], sc.pr_target, sc.mu, sc.delay_s)
    except SimulationError:
        return -load, -load
    return em, pr


def _in_shift(hour: np.ndarray, ln: sim_roster.RosterLine) -> np.ndarray:
    hours = {(h // 60) % 24 for h in range(ln.start_min, ln.end_min, 60)}
    return np.isin(hour, sorted(hours))


def _screens(area: StudyArea, built: sim.BuiltDemand, shifts: dict[str, sim_roster.RosterLine]) -> dict[str, _Screen]:
    """One hypercube screen per shift over the simulation's atoms and travel matrix."""
    d, sm = built.demand, area.force.simulation
    k = d.n_real
    hour = built.incidents["hour"].to_numpy()
    counts = np.bincount(d.priority[:k], minlength=3) / max(k, 1)
    mean_job = sum(
        c
        * math.exp(
            lognormal_params(*[60.0 * x for x in sm.job_minutes[n]])[0]
            + lognormal_params(*[60.0 * x for x in sm.job_minutes[n]])[1] ** 2 / 2
        )
        for c, n in zip(counts, sim.RANK_NAMES, strict=True)
    )
    legs = 2 * float(d.travel_s[1].min(axis=0).mean())
    mu = 1.0 / (mean_job + legs)
    delay = float(sum(med for med, _ in d.delay_stages))
    em, pr = _atom_targets(d, 0), _atom_targets(d, 1)
    out = {}
    for label, ln in shifts.items():
        sel = _in_shift(hour, ln)
        seconds = built.period["days"] * (ln.end_min - ln.start_min) * 60.0 * len(ln.days) / 7
        rates = np.bincount(d.atom[:k][sel], minlength=d.travel_s.shape[2]) / seconds
        out[label] = _Screen(rates, float(sel.mean()) if k else 0.0, mu, d.travel_s[0], d.travel_s[1], em, pr, delay)
    return out


def _posts_on(spec: sim.RosterSpec, built: sim.BuiltDemand, label: str, extra: list[tuple[str, str]]) -> list[int]:
    """Post rows of the units on duty in shift ``label`` (roster lines of that shift plus the extra units)."""
    post = built.units_args["posts"]
    rows = []
    for ln in spec.lines:
        if ln.label == label:
            for b in spec.base_names if ln.base == "*" else [ln.base]:
                rows += [post[b]] * ln.units
    return rows + [post[b] for b, s in extra if s == label]


def greedy(spec: sim.RosterSpec, built: sim.BuiltDemand, screens: dict[str, _Screen], add_units: int) -> pd.DataFrame:
    """Add units one at a time where the weighted screen gain (emergency, then priority) is largest."""
    extra: list[tuple[str, str]] = []
    current = {s: screen_score(sc, _posts_on(spec, built, s, extra)) for s, sc in screens.items()}
    rows = []
    for order in range(1, add_units + 1):
        best = None
        for label, sc in screens.items():
            for base in spec.base_names:
                score = screen_score(sc, _posts_on(spec, built, label, [*extra, (base, label)]))
                gain = (sc.weight * (score[0] - current[label][0]), sc.weight * (score[1] - current[label][1]))
                if best is None or gain > best[0]:
                    best = (gain, base, label, score)
        gain, base, label, score = best
        rows.append(
            {
                "order": order,
                "base": base,
                "shift": label,
                "screen_gain_emergency": round(gain[0] * 100, 3),
                "screen_gain_priority": round(gain[1] * 100, 3),
                "screen_emergency_before": round(current[label][0] * 100, 2),
                "screen_emergency_after": round(score[0] * 100, 2),
                "screen_priority_before": round(current[label][1] * 100, 2),
                "screen_priority_after": round(score[1] * 100, 2),
            }
        )
        extra.append((base, label))
        current[label] = score
    return pd.DataFrame(rows)


def _paired(base: pd.DataFrame, plan: pd.DataFrame) -> dict:
    out = {}
    for name in sim.RANK_NAMES:
        b, p = base[f"pct_met_{name}"].to_numpy(float), plan[f"pct_met_{name}"].to_numpy(float)
        if not (np.isfinite(b).all() and np.isfinite(p).all()):
            continue
        mean, low, high = sim._ci(100 * (p - b)[None, :])
        out[name] = {
            "baseline": round(100 * float(b.mean()), 2),
            "plan": round(100 * float(p.mean()), 2),
            "change": round(float(mean[0]), 2),
            "change_low": round(float(low[0]), 2),
            "change_high": round(float(high[0]), 2),
        }
    return out


def run_staff(
    area: StudyArea,
    incidents_path: Any = None,
    out_dir: str | Path | None = None,
    *,
    add_units: int = 1,
    shift: str | None = None,
    policy: str = "essex-2022",
    roster: str | Path | None = None,
    posts: str | Path | None = None,
    replications: int = 5,
    days: float = 365.0,
    seed: int | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
) -> StaffRun:
    """Choose where ``add_units`` extra units go (greedy on the hypercube screen) and check by simulation.

    Parameters as :func:`geo_response.workflows.simulate.run_simulation`, plus ``add_units`` (K >= 1) and
    ``shift`` (``HH:MM-HH:MM``, one of the roster's shifts; default: any shift).

    Returns
    -------
    StaffRun
        ``staff`` (one row per added unit: base, shift, screen gains and figures), ``summary``.
    """
    from geo_response import datadir
    from geo_response.outputs import OutputFolder, write_csv, write_json, write_text

    if add_units < 1:
        raise SimulationError(f"--add-units must be >= 1, got {add_units}")
    area.policy(policy)
    seed = area.force.simulation.seed if seed is None else int(seed)
    spec = sim.check_roster(area, roster)
    shifts = _shifts(spec, shift)
    source = incidents_path if incidents_path is not None else str(datadir.default_incidents(area.data_dir))
    inputs = [
        p
        for p in (*(source if isinstance(source, list | tuple) else [source]), roster, posts, area.osm)
        if p is not None
    ]
    with ExitStack() as stack:
        folder = (
            stack.enter_context(OutputFolder(out_dir, inputs=inputs, overwrite=overwrite, expected=OUTPUTS))
            if out_dir is not None
            else None
        )
        run = _staff(
            area, source, spec, shifts, add_units, policy, posts, replications, days, seed, scheduler, workers, progress
        )
        if folder is not None:
            write_csv(run.staff, folder.path("staff.csv"))
            write_json(run.summary, folder.path("summary.json"))
            write_text(staff_report(run), folder.path("report.md"))
    if out_dir is not None:
        run.paths = {n: Path(out_dir) / n for n in OUTPUTS}
    return run


def _staff(
    area: StudyArea,
    source: Any,
    spec: sim.RosterSpec,
    shifts: dict,
    add_units: int,
    policy: str,
    posts: Any,
    replications: int,
    days: float,
    seed: int,
    scheduler: str | None,
    workers: int,
    progress: bool,
) -> StaffRun:
    built = sim.build_demand(area, source, spec, policy=policy, posts=posts, days=days, seed=seed)
    staff = greedy(spec, built, _screens(area, built, shifts), add_units)
    by_shift = {label: ln for label, ln in shifts.items()}
    extra = [dataclasses.replace(by_shift[r.shift], base=r.base, units=1, line=0, post="") for r in staff.itertuples()]
    base_reps = sim.run_replications_of(
        built.demand, replications, seed, scheduler=scheduler, workers=workers, progress=progress, desc="baseline"
    )
    plan_reps = sim.run_replications_of(
        built.with_lines([*spec.lines, *extra]),
        replications,
        seed,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        desc="plan",
    )
    net = area.network_summary()
    summary = {
        "add_units": add_units,
        "shift": None if len(shifts) != 1 else next(iter(shifts)),
        "chosen": staff[["order", "base", "shift"]].to_dict(orient="records"),
        "simulation_check": _paired(base_reps, plan_reps),
        "replications": replications,
        "seed": seed,
        "common_random_numbers": True,
        "roster": spec.source,
        "scale": built.scale,
        "period": built.period,
        "simulated_incidents": int(len(built.incidents)),
        "policy": policy,
        "network": {**net, "standin": bool(net.get("standin"))},
        "method": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "assumptions": list(sim.ASSUMPTIONS),
        "warnings": built.notes,
        "outputs": list(OUTPUTS),
    }
    return StaffRun(staff, summary)


def staff_report(run: StaffRun) -> str:
    """``report.md`` of ``plan staff`` (escaped)."""
    from geo_response.compliance.report import render_markdown

    s = run.summary
    blocks: list = [("h1", f"Where {s['add_units']} extra unit(s) help most")]
    if s["network"].get("standin"):
        blocks.append(
            (
                "p",
                f"Network: {s['network'].get('label')}: the SYNTHETIC STAND-IN network; results "
                "exercise the method only.",
            )
        )
    blocks += [("p", s["method"]), ("table", "Chosen units (hypercube screen, % within target)", run.staff)]
    check = pd.DataFrame([{"grade": k, **v} for k, v in s["simulation_check"].items()])
    if not check.empty:
        blocks.append(
            (
                "table",
                f"Simulation check, {s['replications']} replications, common random numbers "
                "(% met; change with 95% interval)",
                check,
            )
        )
    blocks += [
        ("p", f"Volume scale x{s['scale']['factor']:.4f}: {s['scale']['source']}."),
        ("p", f"Roster: {s['roster']}."),
    ]
    return render_markdown(blocks)

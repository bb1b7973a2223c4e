"""Discrete-event simulation of response units dispatched to incidents (plain arrays in and out).

Model
-----
An incident becomes *ready* ``delay_s`` after it arrives (call answer + handling). It is given the
nearest *available* unit (on duty, not busy) by travel time from that unit's post at the incident's
speed (0 blue lights, 1 normal traffic). If none is free it queues: highest rank first (0 emergency,
1 priority, 2 routine), first ready first within a rank; the next unit to become free (or to come on
duty) takes the head of the queue, wherever it is. A dispatched unit drives to the incident, stays
``job_s`` on scene, then **returns to its post** (the return leg is the post-to-atom time at normal
speed) and only then is available again; with ``return_to_post=False`` it is available at its post
as soon as the job ends. Units are never re-dispatched from the scene: the atoms x atoms travel matrix
that would need is not part of the inputs. A unit whose shift ends while busy finishes the job, then
goes off duty (the overrun counts as on-duty time).

Why a heap of events and not SimPy
----------------------------------
The model is fixed and small (three kinds of event), so a loop over one heap of job completions merged
with two pre-sorted streams (incidents by ready time, shift changes) does the work with no process
objects, generators or callbacks per event. :mod:`geo_response.simulation.simpy_model` is the same
model written plainly in SimPy; the tests check both give identical results and the benchmark
reports events per second for both (the heap runs about three times as many events per second on
a simulated Essex year; see docs/PERFORMANCE.md).

Causes of a miss, in order of precedence: ``queue`` if the incident was never dispatched before the
horizon; ``delay`` if handling alone spent the target; ``travel`` if even a free unit at the nearest
post (over all units' posts) could not arrive in time; ``queue`` if it waited for a unit;
``distance`` otherwise (it was dispatched at once, but from farther away because nearer units were busy
or off duty).
"""

from __future__ import annotations

import heapq
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo_response.errors import SimulationError

__all__ = ["CAUSES", "SimInputs", "SimResult", "simulate", "validate_inputs"]

CAUSES = ("", "queue", "delay", "travel", "distance")  # code 0 = met (or no target)
_JOB, _SHIFT, _INCIDENT = 0, 1, 2


@dataclass(frozen=True)
class SimInputs:
    """Everything a simulation run needs, as arrays (times in seconds from the start of the run).

    Attributes
    ----------
    arrival_s, delay_s, job_s, target_s : ndarray (incidents,)
        Call time; answer + handling before it can be dispatched; on-scene time; target (``inf``:
        none).
    atom, priority, speed : ndarray of int (incidents,)
        Demand point (column of ``travel_s``); rank 0 emergency, 1 priority, 2 routine; 0 blue
        lights, 1 normal traffic (first axis of ``travel_s``).
    unit_post : ndarray of int (units,)
        Each unit's post (row of ``travel_s``).
    shift_unit, shift_start_s, shift_end_s : ndarray (shifts,)
        On-duty intervals, any number per unit.
    travel_s : ndarray (2, posts, atoms)
        Travel seconds by speed, finite.
    horizon_s : float
        The run stops here; incidents still queued are unattended.
    warmup_s : float
        Incidents ready before this are simulated but not reported; utilisation counts from here.
    """

    arrival_s: np.ndarray
    atom: np.ndarray
    priority: np.ndarray
    delay_s: np.ndarray
    job_s: np.ndarray
    target_s: np.ndarray
    speed: np.ndarray
    unit_post: np.ndarray
    shift_unit: np.ndarray
    shift_start_s: np.ndarray
    shift_end_s: np.ndarray
    travel_s: np.ndarray
    horizon_s: float
    warmup_s: float = 0.0

    @property
    def n_incidents(self) -> int:
        """Number of incidents."""
        return len(self.arrival_s)

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.unit_post)


@dataclass
class SimResult:
    """Per-incident outcomes (in input order) and per-unit time use of one run."""

    delay_s: np.ndarray
    queue_s: np.ndarray
    travel_s: np.ndarray
    unit_id: np.ndarray
    met: np.ndarray
    cause: np.ndarray
    reported: np.ndarray
    has_target: np.ndarray
    unit_busy_s: np.ndarray
    unit_on_duty_s: np.ndarray
    events: int
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def response_s(self) -> np.ndarray:
        """Delay + queue + travel (``inf`` when never dispatched)."""
        return self.delay_s + self.queue_s + self.travel_s

    @property
    def utilisation(self) -> np.ndarray:
        """Busy / on-duty seconds per unit after the warm-up (NaN for a unit never on duty)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.unit_on_duty_s > 0, self.unit_busy_s / self.unit_on_duty_s, np.nan)

    def frame(self) -> pd.DataFrame:
        """One row per reported incident: the output columns, in minutes, ``cause`` as text."""
        keep = self.reported
        return pd.DataFrame(
            {
                "incident": np.flatnonzero(keep),
                "delay_minutes": self.delay_s[keep] / 60,
                "queue_minutes": self.queue_s[keep] / 60,
                "travel_minutes": self.travel_s[keep] / 60,
                "response_minutes": self.response_s[keep] / 60,
                "unit_id": self.unit_id[keep],
                "met": self.met[keep],
                "cause": np.asarray(CAUSES, dtype=object)[self.cause[keep]],
            }
        )

    def pct_met(self, mask: np.ndarray | None = None) -> float:
        """Share of reported incidents with a target that met it (NaN if none)."""
        sel = self.reported & self.has_target if mask is None else self.reported & self.has_target & mask
        return float(self.met[sel].mean()) if sel.any() else float("nan")

    def utilisation_by(self, groups: dict[str, np.ndarray]) -> pd.DataFrame:
        """Busy and on-duty hours and utilisation per group of units (e.g. ``{"base": ..., "shift": ...}``)."""
        df = pd.DataFrame(
            {**groups, "busy_hours": self.unit_busy_s / 3600, "on_duty_hours": self.unit_on_duty_s / 3600}
        )
        out = df.groupby(list(groups), sort=True)[["busy_hours", "on_duty_hours"]].sum().reset_index()
        out["utilisation"] = out["busy_hours"] / out["on_duty_hours"].where(out["on_duty_hours"] > 0)
        return out


def validate_inputs(inp: SimInputs) -> None:
    """Check shapes, index ranges and values once; raise :class:`SimulationError` naming the field."""
    n = inp.n_incidents
    for name in ("atom", "priority", "delay_s", "job_s", "target_s", "speed"):
        if len(getattr(inp, name)) != n:
            msg = f"SimInputs.{name} has {len(getattr(inp, name))} values for {n} incidents"
            raise SimulationError(msg)
    travel = np.asarray(inp.travel_s)
    if travel.ndim != 3 or travel.shape[0] != 2:
        msg = f"travel_s must be (2 speeds, posts, atoms), got shape {travel.shape}"
        raise SimulationError(msg)
    if not np.isfinite(travel).all() or (travel < 0).any():
        bad = int((~np.isfinite(travel) | (travel < 0)).any(axis=(0, 1)).sum())
        msg = f"travel_s has {bad} atom(s) with an infinite or negative time; drop or re-snap those atoms"
        raise SimulationError(msg)
    checks = [
        ("atom", inp.atom, travel.shape[2]),
        ("speed", inp.speed, 2),
        ("priority", inp.priority, 3),
        ("unit_post", inp.unit_post, travel.shape[1]),
        ("shift_unit", inp.shift_unit, inp.n_units),
    ]
    for name, values, upper in checks:
        v = np.asarray(values)
        if len(v) and (v.min() < 0 or v.max() >= upper):
            msg = f"SimInputs.{name} must be in 0..{upper - 1}, got {v.min()}..{v.max()}"
            raise SimulationError(msg)
    for name in ("arrival_s", "delay_s", "job_s"):
        v = np.asarray(getattr(inp, name), dtype=float)
        if len(v) and (not np.isfinite(v).all() or v.min() < 0):
            msg = f"SimInputs.{name} must be finite and >= 0"
            raise SimulationError(msg)
    if len(inp.shift_start_s) != len(inp.shift_unit) or len(inp.shift_end_s) != len(inp.shift_unit):
        msg = "shift_unit, shift_start_s and shift_end_s must have the same length"
        raise SimulationError(msg)
    if (np.asarray(inp.shift_end_s) < np.asarray(inp.shift_start_s)).any():
        msg = "a shift ends before it starts (give overnight shifts as start < end in seconds)"
        raise SimulationError(msg)
    if not (0 <= inp.warmup_s < inp.horizon_s):
        msg = f"need 0 <= warmup_s < horizon_s, got {inp.warmup_s} and {inp.horizon_s}"
        raise SimulationError(msg)


def _shift_stream(inp: SimInputs) -> list[tuple[float, int, int]]:
    """Sorted (time, kind, unit) with kind 0 = off duty, 1 = on duty; touching intervals merged."""
    events: list[tuple[float, int, int]] = []
    units = np.asarray(inp.shift_unit)
    starts, ends = np.asarray(inp.shift_start_s, float), np.asarray(inp.shift_end_s, float)
    for u in np.unique(units):
        sel = np.flatnonzero(units == u)
        sel = sel[np.argsort(starts[sel], kind="stable")]
        cur_s, cur_e = starts[sel[0]], ends[sel[0]]
        for i in sel[1:]:
            if starts[i] <= cur_e:
                cur_e = max(cur_e, ends[i])
                continue
            events += [(cur_s, 1, int(u)), (cur_e, 0, int(u))]
            cur_s, cur_e = starts[i], ends[i]
        events += [(cur_s, 1, int(u)), (cur_e, 0, int(u))]
    events.sort()
    return events


def _load_warning(inp: SimInputs, return_to_post: bool) -> str | None:
    """A message when offered work >= on-duty capacity over the run (the queue would grow)."""
    starts = np.clip(np.asarray(inp.shift_start_s, float), 0, inp.horizon_s)
    ends = np.clip(np.asarray(inp.shift_end_s, float), 0, inp.horizon_s)
    capacity = float((ends - starts).sum())
    ready = np.asarray(inp.arrival_s) + np.asarray(inp.delay_s)
    inside = ready < inp.horizon_s
    if not inside.any():
        return None
    used = np.unique(np.asarray(inp.unit_post))
    legs = inp.travel_s[:, used, :].min(axis=1) if len(used) else np.zeros((2, inp.travel_s.shape[2]))
    work = np.asarray(inp.job_s)[inside] + legs[np.asarray(inp.speed)[inside], np.asarray(inp.atom)[inside]]
    if return_to_post:
        work = work + legs[1, np.asarray(inp.atom)[inside]]
    offered = float(work.sum())
    if capacity <= 0:
        return (
            f"no unit is on duty before the horizon: all {int(inside.sum())} incidents queue unattended "
            f"(implied backlog {offered / 3600:,.0f} unit-hours)"
        )
    if offered >= capacity:
        return (
            f"offered work {offered / 3600:,.0f} unit-hours >= on-duty capacity {capacity / 3600:,.0f} "
            f"(utilisation {offered / capacity:.2f}): the queue grows; implied backlog "
            f"{(offered - capacity) / 3600:,.0f} unit-hours at the horizon. The run stops there."
        )
    return None


def simulate(inp: SimInputs, *, return_to_post: bool = True) -> SimResult:
    """Run one replication of the dispatch simulation.

    Parameters
    ----------
    inp : SimInputs
        Incidents, units, shifts, travel matrix and the run window.
    return_to_post : bool
        Units drive back to their post (normal speed) before they are available again (default);
        False makes them available at the post when the job ends.

    Returns
    -------
    SimResult

    Raises
    ------
    SimulationError
        On inconsistent inputs (see :func:`validate_inputs`).

    Warns
    -----
    UserWarning
        When offered work is at or above on-duty capacity (with the implied backlog), or no unit is on
        duty at all; the run still ends at the horizon.
    """
    validate_inputs(inp)
    t0 = time.perf_counter()
    notes = []
    if (msg := _load_warning(inp, return_to_post)) is not None:
        warnings.warn(msg, stacklevel=2)
        notes.append(msg)
    out = _run(inp, return_to_post)
    out.seconds = time.perf_counter() - t0
    out.warnings = notes
    _classify(inp, out)
    return out


def _run(inp: SimInputs, return_to_post: bool) -> SimResult:  # noqa: C901 (see docs/DESIGN.md, "Long functions")
    """The event loop: job completions on a heap, incidents and shift changes as sorted streams."""
    n, n_units = inp.n_incidents, inp.n_units
    ready = np.asarray(inp.arrival_s, float) + np.asarray(inp.delay_s, float)
    order = np.argsort(ready, kind="stable").tolist()
    ready_l, atom_l, spd_l = ready.tolist(), np.asarray(inp.atom).tolist(), np.asarray(inp.speed).tolist()
    prio_l, job_l = np.asarray(inp.priority).tolist(), np.asarray(inp.job_s, float).tolist()
    unit_travel = np.asarray(inp.travel_s, float)[:, np.asarray(inp.unit_post, int), :]  # (2, units, atoms)
    pref = [np.argsort(unit_travel[s].T, axis=1, kind="stable").tolist() for s in range(2)]
    tt = [unit_travel[0].T.tolist(), unit_travel[1].T.tolist()]  # [speed][atom][unit]
    back = tt[1] if return_to_post else None
    shifts = _shift_stream(inp)
    horizon, warm = float(inp.horizon_s), float(inp.warmup_s)
    free = [False] * n_units  # on duty and not busy
    on_duty, busy = [False] * n_units, [False] * n_units
    leave, off_at = [False] * n_units, [0.0] * n_units
    busy_s, overtime_s = [0.0] * n_units, [0.0] * n_units
    queue_s, travel_s = [float("inf")] * n, [float("inf")] * n
    unit_id = [-1] * n
    jobs: list[tuple[float, int]] = []
    waiting: list[tuple[int, float, int]] = []
    events = 0

    def dispatch(u: int, i: int, t: float) -> None:
        a = atom_l[i]
        leg = tt[spd_l[i]][a][u]
        end = t + leg + job_l[i] + (back[a][u] if back is not None else 0.0)
        queue_s[i], travel_s[i], unit_id[i] = t - ready_l[i], leg, u
        busy[u], free[u] = True, False
        busy_s[u] += max(0.0, min(end, horizon) - max(t, warm))
        heapq.heappush(jobs, (end, u))

    ii, ks, inf = 0, 0, float("inf")
    while True:
        t_job = jobs[0][0] if jobs else inf
        t_shift = shifts[ks][0] if ks < len(shifts) else inf
        t_inc = ready_l[order[ii]] if ii < n else inf
        t = min(t_job, t_shift, t_inc)
        if t >= horizon:
            break
        events += 1
        if t_job == t:
            _, u = heapq.heappop(jobs)
            busy[u] = False
            if leave[u]:
                leave[u], on_duty[u] = False, False
                overtime_s[u] += max(0.0, min(t, horizon) - max(off_at[u], warm))
            elif waiting:
                dispatch(u, heapq.heappop(waiting)[2], t)
            else:
                free[u] = True
        elif t_shift == t:
            _, kind, u = shifts[ks]
            ks += 1
            if kind == 1:
                if leave[u]:  # still on the last shift's job: count the overrun
                    overtime_s[u] += max(0.0, t - max(off_at[u], warm))
                on_duty[u], leave[u] = True, False
                if not busy[u]:
                    free[u] = True
                    if waiting:
                        dispatch(u, heapq.heappop(waiting)[2], t)
            elif busy[u]:
                leave[u], off_at[u] = True, t
            else:
                on_duty[u], free[u] = False, False
        else:
            i = order[ii]
            ii += 1
            for u in pref[spd_l[i]][atom_l[i]]:
                if free[u]:
                    dispatch(u, i, t)
                    break
            else:
                heapq.heappush(waiting, (prio_l[i], t, i))
    for _, _, i in waiting:  # never dispatched: queued until the horizon
        queue_s[i] = horizon - ready_l[i]
    for u in range(n_units):  # overruns still going on at the horizon
        if leave[u]:
            overtime_s[u] += max(0.0, horizon - max(off_at[u], warm))
    return _collect(inp, ready, queue_s, travel_s, unit_id, busy_s, overtime_s, events)


def _collect(
    inp: SimInputs,
    ready: np.ndarray,
    queue_s: list,
    travel_s: list,
    unit_id: list,
    busy_s: list,
    overtime_s: list,
    events: int,
) -> SimResult:
    """Arrays from the loop's lists; on-duty seconds are the scheduled time after warm-up plus overruns."""
    lo, hi = float(inp.warmup_s), float(inp.horizon_s)
    start = np.clip(np.asarray(inp.shift_start_s, float), lo, hi)
    end = np.clip(np.asarray(inp.shift_end_s, float), lo, hi)
    on_duty = np.bincount(np.asarray(inp.shift_unit, int), weights=end - start, minlength=inp.n_units)
    n = inp.n_incidents
    target = np.asarray(inp.target_s, float)
    return SimResult(
        delay_s=np.asarray(inp.delay_s, float),
        queue_s=np.asarray(queue_s),
        travel_s=np.asarray(travel_s),
        unit_id=np.asarray(unit_id, dtype=np.int64),
        met=np.zeros(n, bool),
        cause=np.zeros(n, np.int8),
        reported=(ready >= lo) & (ready < hi),
        has_target=np.isfinite(target),
        unit_busy_s=np.asarray(busy_s),
        unit_on_duty_s=on_duty + np.asarray(overtime_s),
        events=events,
        seconds=0.0,
    )


def _classify(inp: SimInputs, res: SimResult) -> None:
    """Fill ``met`` and ``cause`` (see the module docstring for the order of precedence)."""
    target = np.asarray(inp.target_s, float)
    atom, speed = np.asarray(inp.atom, int), np.asarray(inp.speed, int)
    posts = np.unique(np.asarray(inp.unit_post, int))
    if len(posts):
        nearest = np.asarray(inp.travel_s, float)[:, posts, :].min(axis=1)[speed, atom]
    else:
        nearest = np.full(len(atom), np.inf)
    response = res.response_s
    attended = res.unit_id >= 0
    res.met = attended & (response <= target)
    miss = ~res.met & res.has_target
    cause = np.where(res.queue_s > 0, 1, 4)
    cause = np.where(res.delay_s + nearest > target, 3, cause)
    cause = np.where(res.delay_s >= target, 2, cause)
    cause = np.where(~attended, 1, cause)
    res.cause = np.where(miss, cause, 0).astype(np.int8)

"""Demand for the simulation: when incidents happen, how many, how long they take, and a scenario that
draws a full set of simulation inputs from them (one draw per replication).

- Time of occurrence: month-only incidents (police.uk) are spread over the hours of their month by an
  hour-of-week profile (hour-of-day x weekday factors, ``[simulation]`` in the force profile), seeded.
- Volume: crime-only data is scaled up to the force's attended-incident volume by
  ``factor = attended_per_year / incidents_per_year``, keeping the spatial pattern (each incident is
  repeated ``floor(factor)`` times plus once more with probability ``factor - floor(factor)``). For
  Essex ``attended_per_year`` is 176,000: 312,584 incidents attended between 1 Jan 2021 and 10 Oct
  2022 (647 days). The factor and its source belong in every output.
- On-scene (job) time: lognormal per category from a median and a 90th percentile
  (``sigma = ln(p90 / median) / z_0.9``); the Essex values are stated assumptions.
- Delay before dispatch: call answer + call handling, lognormal stages from ``[response_model]``
  (the old ``dispatch`` stage is now simulated: it is the queue for a free unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from geo_response.errors import SimulationError
from geo_response.simulation.engine import SimInputs
from geo_response.simulation.roster import Roster

__all__ = [
    "CATEGORIES",
    "Scenario",
    "hour_of_week",
    "lognormal_params",
    "poisson_arrivals",
    "sample_lognormal",
    "incident_times",
    "scale_indices",
    "scenario_from_profile",
    "spread_months",
]

CATEGORIES = ("emergency", "priority", "routine")
Z90 = 1.2815515655446004


def lognormal_params(median: float, p90: float) -> tuple[float, float]:
    """``(mu, sigma)`` of a lognormal with this median and 90th percentile.

    Examples
    --------
    >>> mu, sigma = lognormal_params(60, 60 * math.exp(Z90))
    >>> round(math.exp(mu), 6), round(sigma, 6)
    (60.0, 1.0)
    """
    if median <= 0 or p90 < median:
        msg = f"need 0 < median <= p90, got median={median}, p90={p90}"
        raise SimulationError(msg)
    return math.log(median), math.log(p90 / median) / Z90


def sample_lognormal(rng: np.random.Generator, median: float, p90: float, size: int) -> np.ndarray:
    """``size`` lognormal draws with the given median and 90th percentile."""
    mu, sigma = lognormal_params(median, p90)
    return np.exp(mu + sigma * rng.standard_normal(size))


def hour_of_week(hour_of_day: tuple[float, ...] | np.ndarray, weekday: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """168 shares (Mon 00:00 first) from hour-of-day and weekday factors; sums to 1."""
    h, d = np.asarray(hour_of_day, float), np.asarray(weekday, float)
    if h.shape != (24,) or d.shape != (7,) or (h < 0).any() or (d < 0).any() or h.sum() * d.sum() <= 0:
        msg = "need 24 hour-of-day and 7 weekday factors, >= 0 and not all zero"
        raise SimulationError(msg)
    w = (d[:, None] * h[None, :]).ravel()
    return w / w.sum()


def spread_months(months: pd.Series | np.ndarray, profile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A timestamp for each month-only incident (``YYYY-MM``), by the hour-of-week profile, seeded.

    Returns ``datetime64[s]`` values inside each incident's month.
    """
    m = pd.PeriodIndex(pd.Series(months).astype(str), freq="M")
    out = np.empty(len(m), dtype="datetime64[s]")
    codes, uniques = pd.factorize(m)
    for k, month in enumerate(uniques):
        idx = np.flatnonzero(codes == k)
        hours = pd.date_range(month.start_time, month.end_time.floor("h"), freq="h")
        w = profile[hours.dayofweek.to_numpy() * 24 + hours.hour.to_numpy()]
        pick = rng.choice(len(hours), size=len(idx), p=w / w.sum())
        secs = rng.uniform(0, 3600, len(idx)).astype("timedelta64[s]")
        out[idx] = hours.to_numpy().astype("datetime64[s]")[pick] + secs
    return out


def incident_times(
    timestamps: pd.Series | np.ndarray, start: str | pd.Timestamp, days: float
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Seconds from ``start`` for each incident, which rows fall inside the run, and ledger issues.

    Rows outside ``[start, start + days)`` or without a time are not simulated (issue ``outside the
    period`` / ``no time``); rows earlier than the row before them are kept (the engine sorts by ready
    time) but ledgered as ``out of order``. ``row`` in each issue is the 0-based position.
    """
    ts = pd.to_datetime(pd.Series(timestamps).reset_index(drop=True), errors="coerce")
    t0 = pd.Timestamp(start)
    secs = ((ts - t0).dt.total_seconds()).to_numpy(float)
    inside = np.isfinite(secs) & (secs >= 0) & (secs < days * 86400)
    issues = [
        {
            "row": int(i),
            "reason": "no time"
            if not np.isfinite(secs[i])
            else f"outside the period {t0:%Y-%m-%d %H:%M} + {days:g} days",
        }
        for i in np.flatnonzero(~inside)
    ]
    prev = np.fmax.accumulate(np.where(np.isfinite(secs), secs, -np.inf))
    late = np.flatnonzero(np.isfinite(secs[1:]) & (secs[1:] < prev[:-1])) + 1
    late = late[inside[late]]
    issues += [{"row": int(i), "reason": "out of order (earlier than a previous row); kept"} for i in late]
    return np.where(inside, secs, np.nan), inside, sorted(issues, key=lambda d: d["row"])


def scale_indices(n: int, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Row indices that scale ``n`` incidents by ``factor`` (>= 0), keeping each row's share."""
    if factor < 0 or not math.isfinite(factor):
        msg = f"scale factor must be finite and >= 0, got {factor}"
        raise SimulationError(msg)
    reps = np.floor(factor).astype(int) + (rng.random(n) < factor - math.floor(factor))
    return np.repeat(np.arange(n), reps)


def poisson_arrivals(
    rate_per_hour: float, profile: np.ndarray, days: float, rng: np.random.Generator, start_weekday: int = 0
) -> np.ndarray:
    """Sorted arrival seconds of a Poisson process whose hourly rate follows the hour-of-week profile.

    ``rate_per_hour`` is the mean over the week; hour h of the run has rate
    ``rate_per_hour * 168 * profile[(start_weekday * 24 + h) % 168]``.
    """
    n_hours = int(math.ceil(days * 24))
    how = (start_weekday * 24 + np.arange(n_hours)) % 168
    counts = rng.poisson(rate_per_hour * 168 * profile[how])
    hour = np.repeat(np.arange(n_hours), counts)
    t = (hour + rng.random(len(hour))) * 3600.0
    t = t[t < days * 86400]
    return np.sort(t)


@dataclass(frozen=True)
class Scenario:
    """A demand and resource model from which each replication draws its :class:`SimInputs`.

    Attributes
    ----------
    travel_s : ndarray (2, posts, atoms)
        Travel seconds, blue lights then normal traffic.
    atom_weights : ndarray (atoms,)
        Relative demand per atom (e.g. population, or incident counts).
    roster : Roster
        Units, posts and shifts.
    emergency_target_s, priority_target_s, routine_target_s : ndarray (atoms,) or float
        Targets by category (the emergency one may differ urban / rural).
    rate_per_hour : float
        Mean attended incidents per hour.
    profile : ndarray (168,)
        Hour-of-week shares (:func:`hour_of_week`).
    grade_shares : tuple of 3 floats
        Emergency, priority, routine shares.
    job_minutes : dict
        Category -> (median, p90) on-scene minutes.
    delay_stages : tuple of (median_s, p90_s)
        Lognormal stages before dispatch (answer, handling), summed.
    days, warmup_days : float
        Run length and warm-up.
    job_scale : float
        Multiplies every on-scene time (the calibration parameter).
    start_weekday : int
        Weekday of day 0 (Mon = 0).
    atom_urban : ndarray of bool (atoms,), optional
        Urban flag per atom, for urban / rural figures in replication summaries.
    """

    travel_s: np.ndarray
    atom_weights: np.ndarray
    roster: Roster
    emergency_target_s: np.ndarray | float
    priority_target_s: np.ndarray | float
    routine_target_s: np.ndarray | float
    rate_per_hour: float
    profile: np.ndarray
    grade_shares: tuple[float, float, float]
    job_minutes: dict[str, tuple[float, float]]
    delay_stages: tuple[tuple[float, float], ...]
    days: float
    warmup_days: float = 0.0
    job_scale: float = 1.0
    start_weekday: int = 0
    atom_urban: np.ndarray | None = None

    def with_(self, **changes: object) -> Scenario:
        """A copy with some fields changed (e.g. ``job_scale``)."""
        return replace(self, **changes)

    def draw(self, rng: np.random.Generator) -> SimInputs:
        """One replication's inputs: Poisson arrivals, atoms, categories, delays and job times.

        Draws are made in a fixed order from ``rng``; on-scene times come from their own standard
        normals, so changing ``job_scale`` keeps every other draw (common random numbers).
        """
        arr = poisson_arrivals(self.rate_per_hour, self.profile, self.days, rng, self.start_weekday)
        n = len(arr)
        w = np.asarray(self.atom_weights, float)
        atom = rng.choice(len(w), size=n, p=w / w.sum())
        shares = np.asarray(self.grade_shares, float)
        cat = rng.choice(3, size=n, p=shares / shares.sum())
        delay = np.zeros(n)
        for med, p90 in self.delay_stages:
            delay += sample_lognormal(rng, med, p90, n)
        z = rng.standard_normal(n)
        job = np.empty(n)
        target = np.empty(n)
        for c, name in enumerate(CATEGORIES):
            sel = cat == c
            mu, sigma = lognormal_params(*[60.0 * x for x in self.job_minutes[name]])
            job[sel] = np.exp(mu + sigma * z[sel]) * self.job_scale
            tgt = np.broadcast_to(np.asarray(getattr(self, f"{name}_target_s"), float), (len(w),))
            target[sel] = tgt[atom[sel]]
        r = self.roster
        return SimInputs(
            arrival_s=arr,
            atom=atom,
            priority=cat,
            delay_s=delay,
            job_s=job,
            target_s=target,
            speed=np.where(cat == 0, 0, 1),
            unit_post=r.unit_post,
            shift_unit=r.shift_unit,
            shift_start_s=r.shift_start_s,
            shift_end_s=r.shift_end_s,
            travel_s=self.travel_s,
            horizon_s=self.days * 86400.0,
            warmup_s=self.warmup_days * 86400.0,
        )


def _target_s(policy: object, category: str, setting: str) -> float:
    grades = [g for g in policy.grades if g.category == category and g.attended]  # type: ignore[attr-defined]
    for g in grades:
        if g.setting in (setting, "any"):
            return float(g.target_minutes) * 60.0
    if grades:
        return float(grades[0].target_minutes) * 60.0
    msg = f"policy has no attended grade of category {category!r}"
    raise SimulationError(msg)


def scenario_from_profile(
    profile: object,
    travel_s: np.ndarray,
    atom_weights: np.ndarray,
    roster: Roster,
    atom_urban: np.ndarray,
    *,
    days: float = 365.0,
    policy: str = "essex-2022",
    attended_per_year: float | None = None,
) -> Scenario:
    """A :class:`Scenario` with the force profile's ``[simulation]`` defaults and policy targets.

    Parameters
    ----------
    profile : ForceProfile
        Supplies demand shape, grade shares, job times, warm-up, the answer + handling delay stages
        (``[response_model]``) and the targets of ``policy`` (emergency urban / rural, priority, routine).
    travel_s : ndarray (2, posts, atoms)
        Blue-light and normal travel seconds.
    atom_weights : ndarray (atoms,)
        Relative demand per atom.
    roster : Roster
        From :func:`geo_response.simulation.roster.build_units`.
    atom_urban : ndarray of bool (atoms,)
        Urban flag per atom (sets the emergency target).
    days : float
        Run length in days.
    attended_per_year : float, optional
        Default: ``profile.simulation.attended_per_year``.
    """
    sim = profile.simulation  # type: ignore[attr-defined]
    rm = profile.response_model  # type: ignore[attr-defined]
    pol = profile.policy(policy)  # type: ignore[attr-defined]
    urban = np.asarray(atom_urban, bool)
    emergency = np.where(urban, _target_s(pol, "emergency", "urban"), _target_s(pol, "emergency", "rural"))
    per_year = sim.attended_per_year if attended_per_year is None else attended_per_year
    return Scenario(
        travel_s=np.asarray(travel_s, float),
        atom_weights=np.asarray(atom_weights, float),
        roster=roster,
        emergency_target_s=emergency,
        priority_target_s=_target_s(pol, "priority", "any"),
        routine_target_s=_target_s(pol, "routine", "any"),
        rate_per_hour=per_year / 8760.0,
        profile=hour_of_week(sim.hour_of_day, sim.weekday),
        grade_shares=tuple(sim.grade_shares),
        job_minutes=dict(sim.job_minutes),
        delay_stages=(
            (rm.call_answer_median_s, rm.call_answer_p90_s),
            (rm.call_handling_median_s, rm.call_handling_p90_s),
        ),
        days=days,
        warmup_days=min(sim.warmup_days, days / 2),
        atom_urban=urban,
    )

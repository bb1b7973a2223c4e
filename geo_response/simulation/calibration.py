"""Calibrate the simulation to a reported compliance rate with one interpretable parameter.

We fit a **job-time scale** (a multiplier on every on-scene time), not a units-on-duty scale:

- units are whole numbers, so % met as a function of a units scale is a step function (a scalar
  root-finder needs a continuous, monotone function); a job-time scale is continuous and, with
  common random numbers (the same seeds and the same standard normals behind the on-scene times), %
  met falls smoothly and monotonically as it grows;
- it is interpretable the same way: offered load is ``demand x job time / units``, so a fitted
  scale ``s`` is equivalent in load to ``1 / s`` times the rostered units on duty (for example
  ``s = 1.25`` reads "as if 20% fewer units were available", or "jobs take 25% longer than assumed"
  — the assumed job times are the weakest input);
- the other figures (priority % met, urban vs rural) are then a check that does not follow from
  the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from geo_response.errors import SimulationError
from geo_response.simulation.demand import Scenario
from geo_response.simulation.replications import run_replications

__all__ = ["Calibration", "calibrate_job_scale"]


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate_job_scale`."""

    job_scale: float
    target: float
    achieved: float
    measure: str
    evaluations: int
    replications: pd.DataFrame


def calibrate_job_scale(
    scenario: Scenario | Any,
    target: float = 0.827,
    *,
    measure: str = "pct_met_emergency",
    replications: int = 2,
    seed: int = 0,
    bracket: tuple[float, float] = (0.25, 4.0),
    xtol: float = 1e-3,
    parallel: bool = False,
    func: Callable | None = None,
    **dask_options: object,
) -> Calibration:
    """Find the job-time scale at which mean ``measure`` over the replications equals ``target``.

    Every evaluation uses the same ``seed`` (common random numbers), so the function is smooth enough
    for Brent's method on ``bracket``. ``scenario`` is a :class:`Scenario` or any frozen dataclass with a
    ``job_scale`` field (e.g. the workflow's ``SimDemand``, with ``func`` its replication function).

    Raises
    ------
    SimulationError
        If the target is not reachable inside the bracket (the message gives the values at its ends).
    """
    cache: dict[float, pd.DataFrame] = {}

    def reps(scale: float) -> pd.DataFrame:
        if scale not in cache:
            extra = {} if func is None else {"func": func}
            cache[scale] = run_replications(
                replace(scenario, job_scale=scale), replications, seed, parallel=parallel, **extra, **dask_options
            )  # type: ignore[arg-type]
        return cache[scale]

    def gap(scale: float) -> float:
        return float(np.nanmean(reps(scale)[measure])) - target

    lo, hi = bracket
    g_lo, g_hi = gap(lo), gap(hi)
    if g_lo * g_hi > 0:
        msg = (
            f"{measure} = {g_lo + target:.3f} at job scale {lo} and {g_hi + target:.3f} at {hi}: "
            f"target {target} is outside; widen the bracket or change the roster"
        )
        raise SimulationError(msg)
    scale = brentq(gap, lo, hi, xtol=xtol)
    df = reps(scale)
    return Calibration(scale, target, float(np.nanmean(df[measure])), measure, len(cache), df)

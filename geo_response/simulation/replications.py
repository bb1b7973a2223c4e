"""Replications of a scenario, in-process or through Dask, with confidence intervals of % met.

Seeds come from ``numpy.random.SeedSequence(seed).spawn(n)``: replication k always uses child k, and
results are gathered in replication order, so a seed gives identical results whatever the number of
workers (or none). Dask runs on a ``dask.distributed.LocalCluster`` by default, or on the scheduler at
``scheduler`` (e.g. ``"tcp://10.0.0.5:8786"``), or on a ``Client`` passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from geo_response.errors import SimulationError
from geo_response.simulation.demand import CATEGORIES, Scenario
from geo_response.simulation.engine import CAUSES, SimInputs, SimResult, simulate

__all__ = ["confidence_intervals", "replicate", "run_replications", "summarise"]


def summarise(inp: SimInputs, res: SimResult, atom_urban: np.ndarray | None = None) -> dict[str, float]:
    """Headline figures of one run: % met overall and by category (and urban / rural emergency),
    counts of misses by cause, mean unit utilisation, incidents, events and seconds.
    """
    prio = np.asarray(inp.priority)
    out: dict[str, float] = {"pct_met": res.pct_met()}
    for c, name in enumerate(CATEGORIES):
        out[f"pct_met_{name}"] = res.pct_met(prio == c)
    if atom_urban is not None:
        urban = np.asarray(atom_urban, bool)[np.asarray(inp.atom)]
        out["pct_met_emergency_urban"] = res.pct_met((prio == 0) & urban)
        out["pct_met_emergency_rural"] = res.pct_met((prio == 0) & ~urban)
    codes = np.bincount(res.cause[res.reported], minlength=len(CAUSES))
    for k, cause in enumerate(CAUSES[1:], start=1):
        out[f"missed_{cause}"] = float(codes[k])
    out["utilisation"] = float(np.nanmean(res.utilisation)) if res.unit_on_duty_s.any() else float("nan")
    out["incidents"] = float(res.reported.sum())
    out["events"] = float(res.events)
    out["seconds"] = res.seconds
    return out


def replicate(scenario: Scenario, seed: np.random.SeedSequence) -> dict[str, float]:
    """Draw one replication's inputs from ``seed``, simulate, and summarise (picklable for Dask)."""
    rng = np.random.default_rng(seed)
    inp = scenario.draw(rng)
    return summarise(inp, simulate(inp), scenario.atom_urban)


def _client(scheduler: str | None, n_workers: int, processes: bool) -> tuple[Any, Callable[[], None]]:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        return client, client.close
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None)
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


def run_replications(
    scenario: Scenario,
    n: int,
    seed: int,
    *,
    parallel: bool = True,
    client: Any = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    processes: bool = True,
    progress: Callable[[int, int], None] | None = None,
    func: Callable[[Scenario, np.random.SeedSequence], dict] = replicate,
) -> pd.DataFrame:
    """Run ``n`` replications; one row per replication (column ``replication``), in order.

    Parameters
    ----------
    scenario : Scenario
        What each replication draws from.
    n, seed : int
        Number of replications and the root seed.
    parallel : bool
        False runs them here, one after another (no Dask).
    client : dask.distributed.Client, optional
        Use this client (not closed afterwards).
    scheduler : str, optional
        Address of a running Dask scheduler; default: a LocalCluster of ``n_workers`` workers
        (``processes=False`` uses threads in this process: fine for tests, GIL-bound for speed).
    progress : callable, optional
        Called as ``progress(done, n)`` after each replication completes.
    """
    if n < 1:
        msg = f"need at least one replication, got {n}"
        raise SimulationError(msg)
    seeds = np.random.SeedSequence(seed).spawn(n)
    if not parallel:
        rows = []
        for k, s in enumerate(seeds):
            rows.append(func(scenario, s))
            if progress:
                progress(k + 1, n)
    else:
        from dask.distributed import as_completed

        own = client is None
        if own:
            client, close = _client(scheduler, n_workers, processes)
        try:
            shared = client.scatter(scenario, broadcast=True)
            futures = client.map(func, [shared] * n, seeds, pure=False)
            for k, _ in enumerate(as_completed(futures), start=1):
                if progress:
                    progress(k, n)
            rows = client.gather(futures)
        finally:
            if own:
                close()
    df = pd.DataFrame(rows)
    df.insert(0, "replication", np.arange(n))
    return df


def confidence_intervals(reps: pd.DataFrame, level: float = 0.95, columns: list[str] | None = None) -> pd.DataFrame:
    """Mean, standard deviation and Student-t confidence interval across replications per column."""
    cols = columns or [c for c in reps.columns if c.startswith("pct_met") or c == "utilisation"]
    n = len(reps)
    rows = []
    for c in cols:
        x = reps[c].to_numpy(float)
        x = x[np.isfinite(x)]
        mean = float(x.mean()) if len(x) else float("nan")
        sd = float(x.std(ddof=1)) if len(x) > 1 else float("nan")
        half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * sd / math.sqrt(len(x))) if len(x) > 1 else math.nan
        rows.append({"measure": c, "mean": mean, "sd": sd, "low": mean - half, "high": mean + half, "replications": n})
    return pd.DataFrame(rows)

"""Where to put new bases, and which base could close: maximal covering on travel-time matrices.

Everything here works on plain arrays, so it can be checked by hand on tiny instances:

* ``cost`` is a ``(sites, demand points)`` matrix of modelled response seconds (``inf`` or ``NaN`` where a
  site cannot reach a point);
* ``target`` is the target in seconds of each demand point (15 min urban, 20 min rural for emergencies
  under essex-2022), so the service standard varies by point;
* a demand point is **covered** by a site when ``cost <= target``.

:func:`mclp_sites` solves the Maximal Covering Location Problem (Church and ReVelle 1974) with PySAL spopt
(:class:`spopt.locate.MCLP`) and the CBC solver bundled with PuLP, keeping the existing bases fixed.
spopt takes one service radius, so the targets are folded into the matrix: spopt receives
``cost / target`` and ``service_radius = 1`` (``cost / target <= 1`` exactly when ``cost <= target``).

spopt builds one PuLP term per (demand, site) pair in Python, which is slow for big matrices. With
``reduce=True`` (the default) the problem is first shrunk without changing its optimum
(:func:`reduce_problem`): demand already covered by the fixed bases, demand no candidate can cover and
zero-weight demand are dropped; candidates that cover nothing new, or only a subset of what another
candidate covers, are dropped; demand points with the same set of covering candidates are merged (weights
summed). The fixed bases then cover nothing that is left, so they leave the model and it chooses ``k``
of the remaining candidates. ``reduce=False`` passes everything to spopt, the bases as
``predefined_facilities_arr``; both give the same covered weight (tested against exhaustive search).

:func:`greedy_sites` is the usual baseline (largest marginal covered weight, ``k`` times) and
:func:`exhaustive_sites` tries every combination (small instances only). :func:`closure_losses` answers the
reverse question: the demand each existing base alone covers, i.e. what is lost if it closes.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from geo_response.errors import OptimisationError

EXHAUSTIVE_LIMIT = 2_000_000


@dataclass
class SitingResult:
    """Sites chosen by one method and the demand they cover.

    Attributes
    ----------
    method : str
        ``"mclp"``, ``"greedy"`` or ``"exhaustive"``.
    sites : numpy.ndarray
        Chosen candidate positions (rows of the candidate matrix), in the order of ``site_table``.
    total_weight : float
        Weight of all demand points.
    covered_before : float
        Weight covered by the existing bases alone.
    covered_after : float
        Weight covered by the existing bases plus the chosen sites.
    site_table : DataFrame
        One row per chosen site: ``candidate`` (position), ``order`` (1-based), ``gain`` (weight newly covered
        when the sites are added in this order, so the gains sum to ``covered_after - covered_before``) and
        ``gain_alone`` (weight it would newly cover if it were the only site added).
    seconds : float
        Wall time of the method (model building and solving).
    details : dict
        Solver, status, reduction sizes and notes.
    """

    method: str
    sites: np.ndarray
    total_weight: float
    covered_before: float
    covered_after: float
    site_table: pd.DataFrame
    seconds: float
    details: dict = field(default_factory=dict)

    @property
    def gain(self) -> float:
        """Weight newly covered by the chosen sites."""
        return self.covered_after - self.covered_before

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "method": self.method,
            "sites": [int(s) for s in self.sites],
            "total_weight": float(self.total_weight),
            "covered_before": float(self.covered_before),
            "covered_after": float(self.covered_after),
            "gain": float(self.gain),
            "share_before": _share(self.covered_before, self.total_weight),
            "share_after": _share(self.covered_after, self.total_weight),
            "seconds": round(float(self.seconds), 3),
            "sites_table": self.site_table.to_dict(orient="records"),
            **self.details,
        }


def _share(part: float, whole: float) -> float | None:
    return float(part / whole) if whole > 0 else None


def _check_weights(weights: np.ndarray, n_demand: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.shape != (n_demand,):
        raise OptimisationError(f"weights must have one value per demand point ({n_demand}), got shape {w.shape}")
    if np.isnan(w).any() or (w < 0).any():
        raise OptimisationError("weights must be >= 0 and not NaN; give 0 to demand points that do not count")
    return w


def coverage_matrix(cost: np.ndarray, target: float | np.ndarray) -> np.ndarray:
    """Which site covers which demand point: ``cost <= target`` (False where cost is NaN or inf).

    Parameters
    ----------
    cost : array (sites, demand)
        Seconds from each site to each demand point.
    target : float or array (demand,)
        Target seconds, one for all points or one per point.

    Returns
    -------
    numpy.ndarray of bool, shape (sites, demand)

    Examples
    --------
    >>> coverage_matrix(np.array([[100.0, 900.0], [np.inf, 1200.0]]), np.array([900.0, 1200.0]))
    array([[ True,  True],
           [False,  True]])
    """
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2:
        raise OptimisationError(f"cost must be a 2-D (sites x demand) matrix, got shape {c.shape}")
    t = np.broadcast_to(np.asarray(target, dtype=float), (c.shape[1],))
    if np.isnan(t).any() or (t <= 0).any():
        raise OptimisationError("every demand point needs a target > 0 seconds")
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(c, nan=np.inf) <= t[None, :]


def normalised_cost(cost: np.ndarray, target: float | np.ndarray) -> np.ndarray:
    """``cost / target``: covered exactly where the result is <= 1 (the single radius spopt needs)."""
    c = np.nan_to_num(np.asarray(cost, dtype=float), nan=np.inf)
    t = np.broadcast_to(np.asarray(target, dtype=float), (c.shape[1],))
    return c / t[None, :]


def _as_cover(cover: np.ndarray | None, n_demand: int, what: str) -> np.ndarray:
    if cover is None:
        return np.zeros((0, n_demand), dtype=bool)
    c = np.asarray(cover, dtype=bool)
    if c.ndim != 2 or c.shape[1] != n_demand:
        raise OptimisationError(f"{what} coverage must be (sites x {n_demand} demand points), got {c.shape}")
    return c


def covered_weight(cover: np.ndarray, weights: np.ndarray, sites: np.ndarray | list[int] | None = None) -> float:
    """Weight of demand covered by at least one of ``sites`` (rows of ``cover``; all rows when None)."""
    c = np.asarray(cover, dtype=bool)
    rows = c if sites is None else c[np.asarray(sites, dtype=int)]
    return float(np.asarray(weights, dtype=float)[rows.any(axis=0)].sum()) if len(rows) else 0.0


@dataclass
class ReducedProblem:
    """A siting problem shrunk without changing its optimum (see :func:`reduce_problem`).

    ``cover`` is (kept candidates, merged demand groups); ``candidates`` maps its rows to the original
    candidate positions; ``representative`` gives one original demand point of each group; ``weights`` is
    the summed weight of each group.
    """

    cover: np.ndarray
    weights: np.ndarray
    candidates: np.ndarray
    representative: np.ndarray
    sizes: dict


def reduce_problem(
    candidate_cover: np.ndarray, weights: np.ndarray, existing_cover: np.ndarray | None = None
) -> ReducedProblem:
    """Shrink a maximal covering problem with fixed existing sites, keeping its optimal covered weight.

    Steps: drop demand that is already covered, has zero weight or that no candidate covers; drop
    candidates that cover nothing left and candidates dominated by another (their cover is a subset of
    another's; of identical candidates the first is kept); merge demand points covered by the same set of
    kept candidates, summing their weights. Any optimal choice of ``k`` sites on the reduced problem is
    optimal on the original (swap a dominated candidate for its dominator: coverage cannot fall).

    Parameters
    ----------
    candidate_cover : bool array (candidates, demand)
    weights : array (demand,)
    existing_cover : bool array (bases, demand), optional

    Returns
    -------
    ReducedProblem
    """
    cand = np.asarray(candidate_cover, dtype=bool)
    n_cand, n_dem = cand.shape
    w = _check_weights(weights, n_dem)
    existing = _as_cover(existing_cover, n_dem, "existing")
    already = existing.any(axis=0)
    keep_demand = ~already & (w > 0) & cand.any(axis=0)
    demand_idx = np.flatnonzero(keep_demand)
    sub = sparse.csr_array(cand[:, demand_idx].astype(np.int32))
    size = np.asarray(sub.sum(axis=1)).ravel()
    useful = np.flatnonzero(size > 0)
    sub = sub[useful]
    size = size[useful]
    # dominance: i is dropped if cover(i) is a subset of cover(j) for a j that is larger, or equal and earlier
    inter = (sub @ sub.T).toarray()
    subset = inter == size[:, None]  # subset[i, j]: cover(i) within cover(j)
    np.fill_diagonal(subset, False)
    order = np.arange(len(useful))
    beats = subset & ((size[None, :] > size[:, None]) | (order[None, :] < order[:, None]))
    kept = ~beats.any(axis=1)
    kept_candidates = useful[kept]
    sub = sub[np.flatnonzero(kept)]
    # merge demand columns with the same covering set
    cols = sub.T.tocsr().toarray().astype(bool)  # (demand, kept candidates)
    _, first, inverse = np.unique(np.packbits(cols, axis=1), axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    group_weights = np.bincount(inverse, weights=w[demand_idx], minlength=len(first))
    sizes = {
        "candidates": int(n_cand),
        "demand_points": int(n_dem),
        "demand_already_covered": int(already.sum()),
        "demand_zero_weight": int(((w <= 0) & ~already).sum()),
        "demand_not_coverable": int((~already & (w > 0) & ~cand.any(axis=0)).sum()),
        "candidates_covering_nothing_new": int(n_cand - len(useful)),
        "candidates_dominated": int(len(useful) - len(kept_candidates)),
        "reduced_candidates": int(len(kept_candidates)),
        "reduced_demand_groups": int(len(first)),
    }
    return ReducedProblem(
        cover=cols.T.copy(),
        weights=group_weights,
        candidates=kept_candidates,
        representative=demand_idx[first],
        sizes=sizes,
    )


def _site_table(
    sites: np.ndarray, candidate_cover: np.ndarray, weights: np.ndarray, base_covered: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame]:
    """Order chosen sites greedily (largest gain first) and give each site's gain and gain alone."""
    remaining = list(int(s) for s in sites)
    covered = base_covered.copy()
    rows = []
    alone = {s: float(weights[candidate_cover[s] & ~base_covered].sum()) for s in remaining}
    while remaining:
        gains = [float(weights[candidate_cover[s] & ~covered].sum()) for s in remaining]
        best = int(np.argmax(gains))
        s = remaining.pop(best)
        rows.append({"candidate": s, "order": len(rows) + 1, "gain": gains[best], "gain_alone": alone[s]})
        covered |= candidate_cover[s]
    table = pd.DataFrame(rows, columns=["candidate", "order", "gain", "gain_alone"])
    return table["candidate"].to_numpy(dtype=int), table


def _result(method: str, sites, candidate_cover, weights, existing, seconds, details) -> SitingResult:
    base_covered = existing.any(axis=0)
    ordered, table = _site_table(np.asarray(sites, dtype=int), candidate_cover, weights, base_covered)
    after = base_covered | (candidate_cover[ordered].any(axis=0) if len(ordered) else False)
    return SitingResult(
        method=method,
        sites=ordered,
        total_weight=float(weights.sum()),
        covered_before=float(weights[base_covered].sum()),
        covered_after=float(weights[after].sum()),
        site_table=table,
        seconds=seconds,
        details=details,
    )


def _check_k(k: int, n_candidates: int) -> int:
    if int(k) != k or k < 1:
        raise OptimisationError(f"k (sites to add) must be a whole number >= 1, got {k}")
    if k > n_candidates:
        raise OptimisationError(
            f"cannot choose {k} sites from {n_candidates} candidates; give more candidates or a smaller --add"
        )
    return int(k)


def greedy_sites(
    candidate_cover: np.ndarray, weights: np.ndarray, k: int, existing_cover: np.ndarray | None = None
) -> SitingResult:
    """Greedy baseline: add the candidate with the largest marginal covered weight, ``k`` times.

    Ties go to the lowest candidate position. Stops early when no candidate adds any weight (the
    result then has fewer than ``k`` sites and says so in ``details['note']``).
    """
    t0 = time.perf_counter()
    cand = np.asarray(candidate_cover, dtype=bool)
    k = _check_k(k, cand.shape[0])
    w = _check_weights(weights, cand.shape[1])
    existing = _as_cover(existing_cover, cand.shape[1], "existing")
    matrix = sparse.csr_array(cand.astype(np.float64))
    uncovered = w * ~existing.any(axis=0)
    chosen: list[int] = []
    for _ in range(k):
        gains = matrix @ uncovered
        gains[chosen] = -1.0
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        uncovered = uncovered * ~cand[best]
    details = {"solver": "greedy (largest marginal covered weight)", "k_requested": k}
    if len(chosen) < k:
        details["note"] = f"only {len(chosen)} candidate(s) add any coverage; the others would add nothing"
    return _result("greedy", chosen, cand, w, existing, time.perf_counter() - t0, details)


def exhaustive_sites(
    candidate_cover: np.ndarray,
    weights: np.ndarray,
    k: int,
    existing_cover: np.ndarray | None = None,
    limit: int = EXHAUSTIVE_LIMIT,
) -> SitingResult:
    """Try every combination of ``k`` candidates (for checking the solver on small instances).

    Raises
    ------
    OptimisationError
        When there are more than ``limit`` combinations.
    """
    t0 = time.perf_counter()
    cand = np.asarray(candidate_cover, dtype=bool)
    k = _check_k(k, cand.shape[0])
    w = _check_weights(weights, cand.shape[1])
    existing = _as_cover(existing_cover, cand.shape[1], "existing")
    n_combos = math.comb(cand.shape[0], k)
    if n_combos > limit:
        raise OptimisationError(
            f"{n_combos:,} combinations is too many for exhaustive search (limit {limit:,}); use mclp_sites"
        )
    uncovered = ~existing.any(axis=0)
    best, best_value = None, -1.0
    for combo in itertools.combinations(range(cand.shape[0]), k):
        value = float(w[uncovered & cand[list(combo)].any(axis=0)].sum())
        if value > best_value:
            best, best_value = combo, value
    details = {"solver": "exhaustive search", "combinations": n_combos, "k_requested": k}
    return _result("exhaustive", list(best), cand, w, existing, time.perf_counter() - t0, details)


def mclp_sites(
    cost: np.ndarray,
    target: float | np.ndarray,
    weights: np.ndarray,
    k: int,
    existing_cost: np.ndarray | None = None,
    *,
    reduce: bool = True,
    time_limit: float | None = None,
) -> SitingResult:
    """Choose ``k`` new sites that maximise the demand weight covered within target, existing bases fixed.

    Solved as a Maximal Covering Location Problem with :meth:`spopt.locate.MCLP.from_cost_matrix` and
    PuLP's bundled CBC (``pulp.PULP_CBC_CMD(msg=False)``). The per-point targets are folded into the cost
    matrix: spopt gets ``cost / target`` and ``service_radius=1``.

    Parameters
    ----------
    cost : array (candidates, demand)
        Modelled response seconds from each candidate site to each demand point (inf / NaN: unreachable).
    target : float or array (demand,)
        Target seconds of each demand point.
    weights : array (demand,)
        Demand weight (incidents or population), >= 0.
    k : int
        Sites to add.
    existing_cost : array (bases, demand), optional
        Seconds from each existing base; these stay open.
    reduce : bool
        Shrink the problem first (:func:`reduce_problem`); same optimum, far faster on large matrices.
        With ``reduce=False`` the existing bases go to spopt as ``predefined_facilities_arr``.
    time_limit : float, optional
        CBC time limit in seconds (the result then may not be proven optimal; ``details['status']`` says).

    Returns
    -------
    SitingResult

    Raises
    ------
    OptimisationError
        Bad shapes, weights or ``k``; or CBC finds no solution.
    """
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2:
        raise OptimisationError(f"cost must be a 2-D (candidates x demand) matrix, got shape {c.shape}")
    n_cand, n_dem = c.shape
    k = _check_k(k, n_cand)
    w = _check_weights(weights, n_dem)
    existing_c = np.zeros((0, n_dem)) if existing_cost is None else np.asarray(existing_cost, dtype=float)
    if existing_c.ndim != 2 or existing_c.shape[1] != n_dem:
        raise OptimisationError(f"existing_cost must be (bases x {n_dem} demand points), got {existing_c.shape}")
    cand_cover = coverage_matrix(c, target)
    existing = coverage_matrix(existing_c, target) if len(existing_c) else np.zeros((0, n_dem), dtype=bool)
    norm = normalised_cost(c, target)
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    details: dict = {
        "solver": f"spopt {_spopt_version()} MCLP + PuLP CBC",
        "k_requested": k,
        "reduced": bool(reduce),
        "radius_transform": "spopt cost = travel seconds / target seconds of the demand point; service_radius = 1",
    }
    if reduce:
        red = reduce_problem(cand_cover, w, existing)
        details["reduction"] = red.sizes
        n_kept = len(red.candidates)
        if n_kept == 0:
            details["note"] = "no candidate covers any demand point the existing bases do not already cover"
            return _result("mclp", [], cand_cover, w, existing, time.perf_counter() - t0, details)
        if n_kept <= k:
            details["note"] = (
                f"only {n_kept} candidate(s) add coverage after reduction; all are chosen and "
                "further sites would add nothing"
            )
            return _result("mclp", red.candidates, cand_cover, w, existing, time.perf_counter() - t0, details)
        # demand x facility matrix of the merged groups; representative columns of the normalised cost
        model_cost = norm[np.ix_(red.candidates, red.representative)].T
        model = MCLP.from_cost_matrix(
            model_cost, red.weights, service_radius=1.0, p_facilities=k, name="geo_response_mclp"
        )
        status = _solve(model, solver)
        chosen_rows = np.array([j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5], dtype=int)
        sites = red.candidates[chosen_rows]
    else:
        n_exist = existing_c.shape[0]
        model_cost = np.vstack([normalised_cost(existing_c, target), norm]).T if n_exist else norm.T
        predefined = np.r_[np.ones(n_exist, dtype=int), np.zeros(n_cand, dtype=int)] if n_exist else None
        model = MCLP.from_cost_matrix(
            model_cost,
            w,
            service_radius=1.0,
            p_facilities=n_exist + k,
            predefined_facilities_arr=predefined,
            name="geo_response_mclp",
        )
        status = _solve(model, solver)
        chosen = np.array([j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5], dtype=int)
        sites = chosen[chosen >= n_exist] - n_exist
    details.update(status)
    return _result("mclp", sites, cand_cover, w, existing, time.perf_counter() - t0, details)


def _spopt_version() -> str:
    import spopt

    return str(getattr(spopt, "__version__", "?"))


def _solve(model, solver) -> dict:
    import pulp

    model.problem.solve(solver)
    status = pulp.LpStatus[model.problem.status]
    if model.problem.status != pulp.LpStatusOptimal:
        raise OptimisationError(
            f"CBC did not solve the covering model (status {status!r}); raise the time limit "
            "or reduce the number of candidates"
        )
    return {
        "status": status,
        "solution_status": pulp.LpSolution[model.problem.sol_status],
        "objective": float(pulp.value(model.problem.objective) or 0.0),
    }


def _closure_added_seconds(cost: np.ndarray, w: np.ndarray, cap: float | None) -> np.ndarray:
    """Per base: weighted mean over demand of (best cost without the base - best cost), costs capped."""
    if cost.ndim != 2 or cost.shape[1] != len(w):
        raise OptimisationError(f"existing costs must be (bases x {len(w)} demand), got shape {cost.shape}")
    finite = cost[np.isfinite(cost)]
    if cap is None:
        cap = float(finite.max()) if finite.size else 0.0
    capped = np.minimum(np.where(np.isfinite(cost), cost, cap), cap)
    n = capped.shape[0]
    if n == 1:
        return np.array([float((w * (cap - capped[0])).sum() / w.sum()) if w.sum() > 0 else 0.0])
    two = np.partition(capped, 1, axis=0)[:2]
    nearest = capped.argmin(axis=0)
    rise = w * (two[1] - two[0])
    total = float(w.sum())
    return np.bincount(nearest, weights=rise, minlength=n) / total if total > 0 else np.zeros(n)


def closure_losses(
    existing_cover: np.ndarray,
    weights: np.ndarray,
    names: list[str] | None = None,
    existing_cost: np.ndarray | None = None,
    cost_cap: float | None = None,
) -> pd.DataFrame:
    """Demand weight lost if each existing base closed alone (all others open), least loss first.

    A demand point is lost when the closing base is the only one covering it.

    Parameters
    ----------
    existing_cover : bool array (bases, demand)
    weights : array (demand,)
    names : list of str, optional
        Base names (default: positions).
    existing_cost : float array (bases, demand), optional
        Response costs (s; ``inf`` beyond reach). Adds ``added_seconds``: the weighted mean rise in each
        point's best cost if the base closed (costs capped at ``cost_cap``), which breaks ties in ``loss``.
    cost_cap : float, optional
        Cap on costs for ``added_seconds`` (default: the largest finite cost).

    Returns
    -------
    DataFrame
        ``base`` (position), ``name``, ``covers`` (weight it covers), ``loss`` (weight covered by it alone),
        ``loss_share`` (loss / total weight), ``covered_after`` (weight still covered), ``added_seconds``
        (with costs), ``rank`` (1 = least loss). Equal losses are ranked by ``added_seconds`` (less first),
        then ``covers`` (the base covering less first), then base order.
    """
    cover = np.asarray(existing_cover, dtype=bool)
    if cover.ndim != 2:
        raise OptimisationError(f"existing coverage must be (bases x demand), got shape {cover.shape}")
    w = _check_weights(weights, cover.shape[1])
    count = cover.sum(axis=0)
    only = cover & (count == 1)[None, :]
    total = float(w.sum())
    covered = float(w[count > 0].sum())
    loss = only.astype(float) @ w
    table = pd.DataFrame(
        {
            "base": np.arange(cover.shape[0]),
            "name": list(names) if names is not None else [str(i) for i in range(cover.shape[0])],
            "covers": cover.astype(float) @ w,
            "loss": loss,
            "loss_share": loss / total if total > 0 else np.nan,
            "covered_after": covered - loss,
        }
    )
    order = ["loss", "covers", "base"]
    if existing_cost is not None:
        table["added_seconds"] = _closure_added_seconds(np.asarray(existing_cost, dtype=float), w, cost_cap)
        order = ["loss", "added_seconds", "covers", "base"]
    table = table.sort_values(order, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table

"""Analytic queueing models: Erlang C (M/M/c) and Larson's hypercube model, exact and approximate.

All models are steady-state and work on plain arrays: arrival rates per atom (calls per second), a
homogeneous service rate ``mu`` (jobs per second per unit; the mean busy time per job is ``1 / mu`` and
includes travel) and a travel matrix ``units x atoms`` in seconds. Dispatch is *fixed preference*: each
atom's units are ranked by travel time and the most preferred free unit is sent. When every unit is busy
the call waits in one infinite-capacity FIFO queue and the next unit to become free takes it (Larson
1975, "hypercube with queue"; Larson & Odoni 1981, *Urban Operations Research*, section 5.4.4).

References
----------
- Larson, R. C. (1974). A hypercube queuing model for facility location and redistricting in urban
  emergency services. *Computers & Operations Research* 1(1), 67-95.
- Larson, R. C. (1975). Approximating the performance of urban emergency service systems.
  *Operations Research* 23(5), 845-868 (the approximate hypercube and its correction factors).
- Larson, R. C. & Odoni, A. R. (1981). *Urban Operations Research*, sections 5.4-5.5 and problems
  5.7-5.10 (http://web.mit.edu/urban_or_book/www/book/chapter5/5.5.html).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from scipy.special import gammaln

from geo_response.errors import SimulationError

__all__ = [
    "HypercubeResult",
    "erlang_c",
    "erlang_c_mean_wait",
    "erlang_c_wait_within",
    "hypercube_approx",
    "hypercube_exact",
    "hypercube_share_within",
    "mmc_state_probabilities",
    "preference_order",
]

MAX_EXACT_UNITS = 16


def _check_load(lam: float, mu: float, c: int) -> float:
    if c < 1:
        msg = f"a queue needs at least one server, got c={c}"
        raise SimulationError(msg)
    if lam < 0 or mu <= 0 or not math.isfinite(lam) or not math.isfinite(mu):
        msg = f"arrival rate must be >= 0 and service rate > 0, got lam={lam}, mu={mu}"
        raise SimulationError(msg)
    rho = lam / (c * mu)
    if rho >= 1:
        msg = f"utilisation lam / (c mu) = {rho:.3f} >= 1: the queue grows without bound; add units or reduce demand"
        raise SimulationError(msg)
    return rho


def mmc_state_probabilities(lam: float, mu: float, c: int) -> np.ndarray:
    """Probabilities ``P_0 .. P_c`` of k busy servers in an M/M/c queue (``P_c`` = all busy, queue empty).

    Computed in logs so that c = 200 does not overflow. ``P_{c+k} = P_c rho^k`` for the queue states.
    """
    rho = _check_load(lam, mu, c)
    a = lam / mu
    k = np.arange(c + 1)
    logt = k * math.log(a) - gammaln(k + 1) if a > 0 else np.where(k == 0, 0.0, -np.inf)
    # the queue tail sum_{k>=1} P_c rho^k = P_c rho / (1 - rho)
    tail = logt[-1] + math.log(rho / (1 - rho)) if rho > 0 else -np.inf
    top = max(logt.max(), tail)
    total = np.exp(logt - top).sum() + math.exp(tail - top)
    return np.exp(logt - top) / total


def erlang_c(lam: float, mu: float, c: int) -> float:
    """Probability that an arriving call waits (all ``c`` units busy): the Erlang C formula.

    ``C(c, a) = P_c / (1 - rho)`` with ``a = lam / mu`` and ``rho = a / c`` (Larson & Odoni, eq. 4.90).

    Examples
    --------
    >>> round(erlang_c(1.0, 1.0, 2), 4)   # a = 1, c = 2: C = 1/3
    0.3333
    """
    rho = _check_load(lam, mu, c)
    return float(mmc_state_probabilities(lam, mu, c)[-1] / (1 - rho))


def erlang_c_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue ``W_q = C(c, a) / (c mu - lam)`` (seconds if the rates are per second)."""
    return erlang_c(lam, mu, c) / (c * mu - lam)


def erlang_c_wait_within(t: float | np.ndarray, lam: float, mu: float, c: int) -> float | np.ndarray:
    """``P(W_q <= t) = 1 - C(c, a) exp(-(c mu - lam) t)`` for FIFO service."""
    out = 1.0 - erlang_c(lam, mu, c) * np.exp(-(c * mu - lam) * np.asarray(t, dtype=float))
    return float(out) if np.ndim(out) == 0 else out


def preference_order(travel: np.ndarray) -> np.ndarray:
    """Each atom's units ranked by travel time (ties by unit index): shape ``atoms x units``."""
    travel = np.asarray(travel, dtype=float)
    if travel.ndim != 2 or travel.shape[0] == 0 or travel.shape[1] == 0:
        msg = f"travel must be a non-empty units x atoms matrix, got shape {travel.shape}"
        raise SimulationError(msg)
    return np.argsort(travel.T, axis=1, kind="stable")


@dataclass(frozen=True)
class HypercubeResult:
    """Outputs of a hypercube model (exact or approximate).

    Attributes
    ----------
    busy : ndarray (units,)
        Probability each unit is busy (its workload), queue states included.
    dispatch_share : ndarray (atoms, units)
        Fraction of all dispatches that send unit n to atom j (sums to 1).
    unit_share : ndarray (units,)
        Fraction of dispatches by unit (column sums of ``dispatch_share``).
    p_wait : float
        Probability an arriving call finds every unit busy and queues.
    mean_travel_s : float
        Mean travel time over all dispatches (a queued call is served by a unit chosen uniformly).
    state_probabilities : ndarray (2**units,) or None
        Exact model only: probability of each busy set (bit n of the index = unit n busy; the all-busy
        state includes the queue states).
    """

    busy: np.ndarray
    dispatch_share: np.ndarray
    unit_share: np.ndarray
    p_wait: float
    mean_travel_s: float
    state_probabilities: np.ndarray | None = None


def _validate(rates: np.ndarray, travel: np.ndarray, mu: float) -> tuple[np.ndarray, np.ndarray, float]:
    rates = np.asarray(rates, dtype=float)
    travel = np.asarray(travel, dtype=float)
    if travel.ndim != 2 or rates.shape != (travel.shape[1],):
        msg = f"travel must be units x atoms and rates one per atom; got {travel.shape} and {rates.shape}"
        raise SimulationError(msg)
    if (rates < 0).any() or rates.sum() <= 0:
        msg = "atom arrival rates must be >= 0 with a positive total"
        raise SimulationError(msg)
    rho = _check_load(rates.sum(), mu, travel.shape[0])
    return rates, travel, rho


def _queue_travel(rates: np.ndarray, travel: np.ndarray) -> float:
    """Mean travel of a queued call: atom by demand share, unit uniform (the unit freed first)."""
    finite = np.where(np.isfinite(travel), travel, np.nan)
    return float(np.nanmean(finite, axis=0) @ (rates / rates.sum()))


def hypercube_exact(rates: np.ndarray, travel: np.ndarray, mu: float) -> HypercubeResult:
    """Larson's exact hypercube model with an infinite FIFO queue (2**N states, sparse solve).

    The 2**N busy/free states form a continuous-time Markov chain: from state B a call from atom j
    moves to ``B + {n}`` where n is j's most preferred free unit (rate ``rates[j]``); a busy unit frees
    at rate ``mu``. With a queue, the all-busy state leads to a birth-death tail that only returns to
    it, so the chain on the cube obeys the loss-system balance equations (Larson & Odoni 5.4.4) and the
    tail adds ``P(all busy) rho / (1 - rho)`` of probability; arrivals then see all busy with
    probability ``P(all busy) / (1 - rho)``.

    Parameters
    ----------
    rates : ndarray (atoms,)
        Calls per second from each atom.
    travel : ndarray (units, atoms)
        Travel seconds from each unit's post to each atom (sets the preferences and the mean travel).
    mu : float
        Service rate per unit (1 / mean busy seconds per job).

    Returns
    -------
    HypercubeResult

    Raises
    ------
    SimulationError
        On bad shapes, more than 16 units, or utilisation >= 1.
    """
    rates, travel, rho = _validate(rates, travel, mu)
    n_units = travel.shape[0]
    if n_units > MAX_EXACT_UNITS:
        msg = f"the exact hypercube has 2**N states; N={n_units} > {MAX_EXACT_UNITS}: use hypercube_approx"
        raise SimulationError(msg)
    n_states = 1 << n_units
    states = np.arange(n_states)
    chosen = _chosen_units(preference_order(travel), n_units)
    ok = chosen >= 0
    p = _cube_probabilities(rates, chosen, mu)
    full = p[-1]
    scale = 1.0 / (1.0 + full * rho / (1 - rho))  # the queue tail takes part of the probability
    p = p * scale
    p_tail = p[-1] * rho / (1 - rho)
    p_wait = float(p[-1] / (1 - rho))
    busy_bits = (states[:, None] >> np.arange(n_units)[None, :]) & 1
    busy = busy_bits.T @ p + p_tail
    lam = rates.sum()
    atoms = np.arange(len(rates))
    flat = (atoms[:, None] * n_units + chosen)[ok]
    w = rates[:, None] / lam * p[None, :]
    share = np.bincount(flat, weights=np.broadcast_to(w, chosen.shape)[ok], minlength=len(rates) * n_units).reshape(
        len(rates), n_units
    )
    share += (rates / lam)[:, None] * p_wait / n_units
    no_queue = share - (rates / lam)[:, None] * p_wait / n_units
    mean_travel = float(
        (no_queue * np.where(np.isfinite(travel.T), travel.T, 0)).sum() + p_wait * _queue_travel(rates, travel)
    )
    state_p = p.copy()
    state_p[-1] += p_tail
    return HypercubeResult(busy, share, share.sum(axis=0), p_wait, mean_travel, state_p)


def _chosen_units(order: np.ndarray, n_units: int) -> np.ndarray:
    """``chosen[j, s]``: the unit atom j is sent in busy-set s (bit n = unit n busy), -1 when all busy."""
    states = np.arange(1 << n_units)
    chosen = np.full((order.shape[0], len(states)), -1, dtype=np.int64)
    for rank in range(n_units - 1, -1, -1):  # the last assignment (most preferred free) wins
        unit = order[:, rank][:, None]
        free = ((states[None, :] >> unit) & 1) == 0
        chosen = np.where(free, unit, chosen)
    return chosen


def _cube_probabilities(rates: np.ndarray, chosen: np.ndarray, mu: float) -> np.ndarray:
    """Stationary probabilities of the busy/free chain on the cube (loss-system balance equations)."""
    n_states = chosen.shape[1]
    n_units = n_states.bit_length() - 1
    states = np.arange(n_states)
    ok = chosen >= 0
    # up-rates by (state, unit): the summed rates of the atoms that would send that unit
    flat = (states[None, :] * n_units + chosen)[ok]
    up = np.bincount(
        flat, weights=np.broadcast_to(rates[:, None], chosen.shape)[ok], minlength=n_states * n_units
    ).reshape(n_states, n_units)
    rows, cols, vals = [], [], []
    for n in range(n_units):
        bit = 1 << n
        free_s = states[(states & bit) == 0]
        rows += [free_s, free_s | bit]
        cols += [free_s | bit, free_s]
        vals += [up[free_s, n], np.full(len(free_s), mu)]
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    Q = sp.csr_matrix((v, (r, c)), shape=(n_states, n_states))
    Q = Q - sp.diags(np.asarray(Q.sum(axis=1)).ravel())
    # p Q = 0: fix p[empty] = 1, drop its balance equation, solve the rest, normalise (a dense
    # normalisation row instead would wreck the sparsity of the LU factors; the minimum-degree ordering
    # on A + A^T keeps N = 12 near half a second, COLAMD takes ~4 s).
    A = Q.T.tocsc()
    p = np.ones(n_states)
    p[1:] = spsolve(A[1:, 1:], -A[1:, 0].toarray().ravel(), permc_spec="MMD_AT_PLUS_A")
    return p / p.sum()


def correction_factors(n_units: int, rho: float) -> np.ndarray:
    """Larson's (1975) correction factors ``Q(N, rho, j)`` for j = 0 .. N-1 (infinite queue).

    With units chosen at random, ``P(j given units busy, the next one free) = Q(N, rho, j) rho**j (1 - rho)``
    exactly for an M/M/N queue, where (Larson & Odoni, eq. 5.52)::

        Q(N, rho, j) = sum_{k=j}^{N-1} (N-j-1)! (N-k) N**k rho**(k-j) P_0 / ((k-j)! N! (1 - rho))

    Computed here in the equivalent form ``sum_k P_k C(N-j-1, k-j) / C(N, k) / (rho**j (1-rho))``, in logs.
    """
    p = mmc_state_probabilities(rho * n_units, 1.0, n_units)
    q = np.zeros(n_units)
    logc = gammaln(n_units + 1)
    for j in range(n_units):
        k = np.arange(j, n_units)
        log_ratio = (
            gammaln(n_units - j)
            - gammaln(k - j + 1)
            - gammaln(n_units - k)
            + gammaln(k + 1)
            + gammaln(n_units - k + 1)
            - logc
        )
        with np.errstate(divide="ignore"):
            q[j] = np.exp(np.log(p[k]) + log_ratio - j * math.log(rho) - math.log(1 - rho)).sum()
    return q


def hypercube_approx(
    rates: np.ndarray, travel: np.ndarray, mu: float, *, tol: float = 1e-7, max_iter: int = 500
) -> HypercubeResult:
    """Larson's (1975) approximate hypercube with an infinite queue: N equations instead of 2**N.

    The probability that atom j's k-th choice is dispatched is approximated by
    ``Q(N, rho, k-1) rho_{a1} ... rho_{a,k-1} (1 - rho_{ak})`` (busy events treated as independent,
    corrected by :func:`correction_factors`). Unit workloads solve the fixed point::

        rho_n = V_n (1 - rho_n) + rho P_Q'
        V_n = (1/mu) sum_{j,k: a_jk = n} rates_j Q(N, rho, k-1) prod_{l<k} rho_{a_jl}

    (queued calls, P_Q' = Erlang C, go to each unit with probability 1/N), iterated from ``rho_n = rho``
    and rescaled each time so the workloads sum to ``lam / mu``, until the largest change is below
    ``tol`` (after Larson & Odoni, fig. 5.19).

    Parameters and returns as :func:`hypercube_exact` (``state_probabilities`` is None). 100 units x
    1,000 atoms takes well under a second: each iteration is a cumulative product over the
    ``atoms x units`` preference table.
    """
    rates, travel, rho = _validate(rates, travel, mu)
    n_units = travel.shape[0]
    lam = rates.sum()
    order = preference_order(travel)  # atoms x units
    q = correction_factors(n_units, rho)
    p_wait = erlang_c(lam, mu, n_units)
    busy = np.full(n_units, rho)
    for _ in range(max_iter):
        prefix = _busy_prefix(busy, order)  # prod_{l<k} rho_{a_jl}
        weight = rates[:, None] * q[None, :] * prefix
        V = np.bincount(order.ravel(), weights=weight.ravel(), minlength=n_units) / mu
        new = (V + rho * p_wait) / (1 + V)
        new *= n_units * rho / new.sum()  # normalise: total workload is exactly lam / mu
        change = np.abs(new - busy).max()
        busy = new
        if change < tol:
            break
    prefix = _busy_prefix(busy, order)
    pk = q[None, :] * prefix * (1 - busy[order])  # atoms x rank: probability rank k is sent
    pk *= (1 - p_wait) / pk.sum(axis=1, keepdims=True)
    share = np.zeros((len(rates), n_units))
    np.put_along_axis(share, order, pk, axis=1)
    share = share * (rates / lam)[:, None] + (rates / lam)[:, None] * p_wait / n_units
    no_queue = share - (rates / lam)[:, None] * p_wait / n_units
    mean_travel = float(
        (no_queue * np.where(np.isfinite(travel.T), travel.T, 0)).sum() + p_wait * _queue_travel(rates, travel)
    )
    return HypercubeResult(busy, share, share.sum(axis=0), p_wait, mean_travel)


def _busy_prefix(busy: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``prod_{l<k} busy[order[j, l]]`` for every atom j and rank k (1 at rank 0)."""
    b = busy[order]
    out = np.ones_like(b)
    out[:, 1:] = np.cumprod(b[:, :-1], axis=1)
    return out


def hypercube_share_within(
    res: HypercubeResult, travel: np.ndarray, target_s: float | np.ndarray, mu: float, delay_s: float = 0.0
) -> float:
    """Share of calls reached within target by a hypercube model (a fast screen of % met).

    A call dispatched at once to unit n from atom j meets target when ``delay_s + t_nj <= target_j``. A
    queued call (probability ``res.p_wait``) goes to a unit chosen uniformly and waits ``W``, which for
    FIFO M/M/N is exponential with rate ``N mu - lam`` given that it waits (Larson & Odoni, sec. 4.7);
    it meets target with probability ``P(W <= target_j - delay_s - t_nj)``.

    Parameters
    ----------
    res : HypercubeResult
        From :func:`hypercube_exact` or :func:`hypercube_approx` on the same ``travel``.
    travel : ndarray (units, atoms)
        Travel seconds.
    target_s : float or ndarray (atoms,)
        Target per atom.
    mu : float
        Service rate per unit, as given to the model.
    delay_s : float
        Fixed delay before dispatch (answer + handling).
    """
    travel = np.asarray(travel, float)
    n_units, n_atoms = travel.shape
    target = np.broadcast_to(np.asarray(target_s, float), (n_atoms,))
    slack = target[None, :] - delay_s - travel  # units x atoms
    demand = res.dispatch_share.sum(axis=1)  # atom shares of all calls
    queued = demand[:, None] * res.p_wait / n_units  # atoms x units
    at_once = res.dispatch_share - queued
    lam_total = n_units * mu * float(res.busy.mean())  # sum of workloads = lam / mu
    rate = n_units * mu - lam_total
    p_in_time = np.where(slack >= 0, 1.0 - np.exp(-rate * np.clip(slack, 0, None)), 0.0)
    return float((at_once * (slack >= 0).T).sum() + (queued * p_in_time.T).sum())

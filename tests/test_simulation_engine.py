"""The dispatch simulation: a hand-worked case, its SimPy twin, bad inputs and the analytic models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo_response.errors import SimulationError
from geo_response.simulation import queueing
from geo_response.simulation.engine import SimInputs, simulate
from geo_response.simulation.replications import confidence_intervals
from geo_response.simulation.simpy_model import simulate_simpy

BLUE = np.array([[100.0, 500.0], [400.0, 200.0]])  # posts x atoms
TRAVEL = np.stack([BLUE, BLUE * 2])  # normal traffic is twice as slow


def _hand_case(**over):
    inc = {  # arrival, delay, atom, priority, speed, job, target
        "arrival_s": [0, 50, 100, 200, 5000, 6500, 9500, 9600],
        "delay_s": [10, 10, 20, 20, 1000, 0, 0, 0],
        "atom": [0, 0, 1, 1, 0, 1, 1, 0],
        "priority": [0, 1, 2, 0, 0, 0, 0, 0],
        "speed": [0, 0, 1, 0, 0, 0, 0, 0],
        "job_s": [1000, 500, 100, 100, 100, 100, 1000, 100],
        "target_s": [900, 300, 3600, 600, 900, 100, 1000, 900],
    }
    kw = {k: np.asarray(v, float if k.endswith("_s") else int) for k, v in inc.items()}
    kw.update(
        unit_post=np.array([0, 1]),
        shift_unit=np.array([0, 1]),
        shift_start_s=np.array([0.0, 0.0]),
        shift_end_s=np.array([10000.0, 9000.0]),
        travel_s=TRAVEL,
        horizon_s=10000.0,
    )
    kw.update(over)
    return SimInputs(**kw)


def test_hand_worked_case():
    res = simulate(_hand_case(), return_to_post=False)
    f = res.frame()
    # 0: u0 at once, 100 s.  1: u0 busy, u1 from 400 s away -> 410 > 300 although the nearest post is
    # 100 s away: distance.  2, 3 queue; u1 frees at 960 and takes 3 (emergency first): 740 s queued.
    # u0 frees at 1110 and takes 2 (normal speed, 1000 s).  4: handling alone 1000 >= 900: delay.
    # 5: nearest post is 200 s away, target 100: travel.  6: u1 off duty since 9000 -> u0, 500 s.
    # 7: nobody free before the horizon: queue.
    assert f["unit_id"].tolist() == [0, 1, 0, 1, 0, 1, 0, -1]
    assert f["queue_minutes"].mul(60).round(6).tolist() == [0, 0, 990, 740, 0, 0, 0, 400]
    assert f["travel_minutes"].mul(60).round(6).tolist()[:7] == [100, 400, 1000, 200, 100, 200, 500]
    assert f["met"].tolist() == [True, False, True, False, False, False, True, False]
    assert f["cause"].tolist() == ["", "distance", "", "queue", "delay", "travel", "", "queue"]
    assert f["response_minutes"].iloc[0] == pytest.approx(110 / 60)


def test_simpy_twin_gives_identical_results():
    for case in (_hand_case(), _random_case(seed=4, n=400, units=5)):
        for back in (True, False):
            a, b = simulate(case, return_to_post=back), simulate_simpy(case, return_to_post=back)
            assert np.array_equal(a.unit_id, b.unit_id)
            np.testing.assert_allclose(a.queue_s, b.queue_s)
            np.testing.assert_allclose(a.unit_busy_s, b.unit_busy_s)
            assert np.array_equal(a.cause, b.cause)


def _random_case(seed, n, units, lam=None, mu=1 / 1800, travel=None, warmup=0.0):
    rng = np.random.default_rng(seed)
    lam = lam or 0.6 * units * mu
    arr = np.cumsum(rng.exponential(1 / lam, n))
    travel = travel if travel is not None else rng.uniform(30, 900, (2, 3, 4))
    n_atoms = travel.shape[2]
    return SimInputs(
        arrival_s=arr,
        atom=rng.integers(0, n_atoms, n),
        priority=rng.integers(0, 3, n),
        delay_s=rng.uniform(0, 120, n),
        job_s=rng.exponential(1 / mu, n),
        target_s=np.full(n, 900.0),
        speed=rng.integers(0, 2, n),
        unit_post=rng.integers(0, travel.shape[1], units),
        shift_unit=np.arange(units),
        shift_start_s=np.zeros(units),
        shift_end_s=np.full(units, arr[-1] + 1),
        travel_s=travel,
        horizon_s=float(arr[-1] + 1),
        warmup_s=warmup,
    )


def test_zero_units_means_every_incident_queues():
    case = _hand_case(
        unit_post=np.array([], int), shift_unit=np.array([], int), shift_start_s=np.array([]), shift_end_s=np.array([])
    )
    with pytest.warns(UserWarning, match="no unit is on duty"):
        res = simulate(case)
    assert (res.cause[res.reported] == 1).all() and not res.met.any()
    assert res.pct_met() == 0.0


def test_overload_warns_with_backlog_and_stops_at_horizon():
    case = _random_case(seed=1, n=2000, units=2, lam=3 / 1800)
    with pytest.warns(UserWarning, match=r"implied backlog [\d,]+ unit-hours"):
        res = simulate(case)
    assert res.utilisation.min() > 0.95 and (res.unit_id < 0).any()


def test_unit_finishes_job_after_shift_then_goes_off_duty():
    travel = np.zeros((2, 1, 1))
    case = SimInputs(
        arrival_s=np.array([900.0, 1600.0]),
        atom=np.zeros(2, int),
        priority=np.zeros(2, int),
        delay_s=np.zeros(2),
        job_s=np.array([600.0, 10.0]),
        target_s=np.full(2, 60.0),
        speed=np.zeros(2, int),
        unit_post=np.array([0]),
        shift_unit=np.array([0]),
        shift_start_s=np.array([0.0]),
        shift_end_s=np.array([1000.0]),
        travel_s=travel,
        horizon_s=3000.0,
    )
    res = simulate(case)
    assert res.unit_id.tolist() == [0, -1]
    assert res.unit_on_duty_s[0] == pytest.approx(1500.0)  # 1000 rostered + 500 overrun
    assert res.unit_busy_s[0] == pytest.approx(600.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"atom": np.array([0, 0, 1, 1, 0, 1, 1, 5])}, "atom must be in 0..1"),
        ({"travel_s": np.where(TRAVEL > 450, np.inf, TRAVEL)}, "infinite or negative"),
        ({"delay_s": np.full(3, 1.0)}, "delay_s has 3 values for 8 incidents"),
        ({"shift_end_s": np.array([-1.0, 9000.0])}, "ends before it starts"),
        ({"warmup_s": 20000.0}, "warmup_s < horizon_s"),
    ],
)
def test_bad_inputs(change, message):
    with pytest.raises(SimulationError, match=message):
        simulate(_hand_case(**change))


def _replicate(make, reps=8):
    return [simulate(make(seed), return_to_post=False) for seed in range(reps)]


def test_agrees_with_erlang_c_single_base():
    c, mu, rho = 3, 1 / 1800, 0.7
    lam = rho * c * mu
    zero = np.zeros((2, 1, 1))

    def make(seed):
        rng = np.random.default_rng(seed)
        n = 12000
        arr = np.cumsum(rng.exponential(1 / lam, n))
        return SimInputs(
            arrival_s=arr,
            atom=np.zeros(n, int),
            priority=np.zeros(n, int),
            delay_s=np.zeros(n),
            job_s=rng.exponential(1 / mu, n),
            target_s=np.full(n, np.inf),
            speed=np.zeros(n, int),
            unit_post=np.zeros(c, int),
            shift_unit=np.arange(c),
            shift_start_s=np.zeros(c),
            shift_end_s=np.full(c, arr[-1] + 1),
            travel_s=zero,
            horizon_s=float(arr[-1] + 1),
            warmup_s=20 * 1800.0,
        )

    runs = _replicate(make)
    reps = pd.DataFrame(
        {
            "p_wait": [(r.queue_s[r.reported] > 0).mean() for r in runs],
            "w_q": [r.queue_s[r.reported].mean() for r in runs],
        }
    )
    ci = confidence_intervals(reps, level=0.99, columns=["p_wait", "w_q"]).set_index("measure")
    assert ci.loc["p_wait", "low"] <= queueing.erlang_c(lam, mu, c) <= ci.loc["p_wait", "high"]
    assert ci.loc["w_q", "low"] <= queueing.erlang_c_mean_wait(lam, mu, c) <= ci.loc["w_q", "high"]


def test_agrees_with_exact_hypercube_three_units():
    mu = 1 / 1800
    # 3 posts x 4 atoms; travel of a second or less (busy time ~ job time) but distinct preferences
    blue = np.array([[0.1, 0.5, 0.9, 0.3], [0.6, 0.1, 0.4, 0.8], [0.9, 0.7, 0.1, 0.2]])
    travel = np.stack([blue, blue])
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    lam = 0.55 * 3 * mu

    def make(seed):
        rng = np.random.default_rng(100 + seed)
        n = 15000
        arr = np.cumsum(rng.exponential(1 / lam, n))
        return SimInputs(
            arrival_s=arr,
            atom=rng.choice(4, n, p=weights),
            priority=np.zeros(n, int),
            delay_s=np.zeros(n),
            job_s=rng.exponential(1 / mu, n),
            target_s=np.full(n, np.inf),
            speed=np.zeros(n, int),
            unit_post=np.arange(3),
            shift_unit=np.arange(3),
            shift_start_s=np.zeros(3),
            shift_end_s=np.full(3, arr[-1] + 1),
            travel_s=travel,
            horizon_s=float(arr[-1] + 1),
            warmup_s=20 * 1800.0,
        )

    exact = queueing.hypercube_exact(weights * lam, blue, mu)
    runs = _replicate(make)
    cols = {}
    for u in range(3):
        cols[f"busy{u}"] = [r.unit_busy_s[u] / r.unit_on_duty_s[u] for r in runs]
        cols[f"share{u}"] = [(r.unit_id[r.reported] == u).mean() for r in runs]
    ci = confidence_intervals(pd.DataFrame(cols), level=0.99, columns=list(cols)).set_index("measure")
    for u in range(3):
        assert ci.loc[f"busy{u}", "low"] <= exact.busy[u] <= ci.loc[f"busy{u}", "high"]
        assert ci.loc[f"share{u}", "low"] <= exact.unit_share[u] <= ci.loc[f"share{u}", "high"]

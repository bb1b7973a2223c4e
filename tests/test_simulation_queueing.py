"""Analytic models: Erlang C and the hypercube models against hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from geo_response.errors import SimulationError
from geo_response.simulation import queueing as q


def test_erlang_c_hand_values():
    # a = lam / mu = 1, c = 2: P0 = 1/3, P1 = 1/3, P2 = 1/6; C = P2 / (1 - rho) = 1/3
    assert q.erlang_c(1.0, 1.0, 2) == pytest.approx(1 / 3)
    assert q.erlang_c_mean_wait(1.0, 1.0, 2) == pytest.approx((1 / 3) / (2 - 1))
    assert q.erlang_c_wait_within(0.0, 1.0, 1.0, 2) == pytest.approx(2 / 3)
    assert q.erlang_c_wait_within(np.log(2), 1.0, 1.0, 2) == pytest.approx(1 - 1 / 6)
    # M/M/1: P(wait) = rho
    assert q.erlang_c(0.3, 1.0, 1) == pytest.approx(0.3)
    # large c does not overflow
    assert 0 < q.erlang_c(180.0, 1.0, 200) < 1


def test_erlang_c_rejects_saturation():
    with pytest.raises(SimulationError, match="utilisation"):
        q.erlang_c(2.0, 1.0, 2)
    with pytest.raises(SimulationError, match="at least one server"):
        q.erlang_c(1.0, 1.0, 0)


def test_correction_factors_hand_values():
    # N = 3, rho = 0.5 (a = 1.5): unnormalised P = 1, 1.5, 1.125, 0.5625 (+ queue tail 0.5625) / 4.75
    # P(unit 1 busy, unit 2 free) = (P1 + P2) / 3;  Q(3, .5, 1) = that / (rho (1 - rho))
    p1, p2 = 1.5 / 4.75, 1.125 / 4.75
    qf = q.correction_factors(3, 0.5)
    assert qf[0] == pytest.approx(1.0)
    assert qf[1] == pytest.approx((p1 + p2) / 3 / 0.25)


def test_hypercube_exact_two_units_one_atom_by_hand():
    # One atom preferring unit 0, lam = mu = 1. Balance on the square gives p(00, 01, 10, 11) in ratio
    # 4 : 3 : 1 : 2 (bit 0 = unit 0 busy); the queue tail adds p11 rho / (1 - rho) = p11: total 12.
    res = q.hypercube_exact(np.array([1.0]), np.array([[10.0], [20.0]]), 1.0)
    assert res.busy == pytest.approx([7 / 12, 5 / 12])
    assert res.p_wait == pytest.approx(1 / 3)  # Erlang C(2, 1)
    assert res.unit_share == pytest.approx([7 / 12, 5 / 12])  # free-unit dispatches + queued / 2
    assert res.state_probabilities == pytest.approx(np.array([4, 3, 1, 4]) / 12)
    # mean travel: unit 0 sent without queue 5/12, unit 1 3/12, queued calls (1/3) split evenly
    assert res.mean_travel_s == pytest.approx(5 / 12 * 10 + 3 / 12 * 20 + 1 / 3 * 15)


def test_hypercube_approx_close_to_exact():
    rng = np.random.default_rng(3)
    travel = rng.uniform(60, 900, (8, 30))
    rates = rng.uniform(0.5, 1.5, 30)
    rates *= 0.6 * 8 / rates.sum()
    ex, ap = q.hypercube_exact(rates, travel, 1.0), q.hypercube_approx(rates, travel, 1.0)
    assert ex.busy.sum() == pytest.approx(4.8)
    assert ex.p_wait == pytest.approx(q.erlang_c(rates.sum(), 1.0, 8))
    assert np.abs(ap.busy - ex.busy).max() < 0.01  # Larson: within 1-2%
    assert np.abs(ap.unit_share - ex.unit_share).max() < 0.01
    assert ap.dispatch_share.sum() == pytest.approx(1.0)
    assert ap.mean_travel_s == pytest.approx(ex.mean_travel_s, rel=0.01)


def test_hypercube_bad_inputs():
    with pytest.raises(SimulationError, match="units x atoms"):
        q.hypercube_exact(np.ones(3), np.ones((2, 2)), 1.0)
    with pytest.raises(SimulationError, match="hypercube_approx"):
        q.hypercube_exact(np.full(3, 0.1), np.ones((20, 3)), 1.0)
    with pytest.raises(SimulationError, match="utilisation"):
        q.hypercube_approx(np.full(3, 1.0), np.ones((2, 3)), 1.0)


def test_hypercube_share_within_by_hand():
    # the two-unit case above, target 15 s: at once unit 0 (5/12, 10 s) meets it, unit 1 (3/12, 20 s)
    # does not; queued calls (1/3) go half to unit 0 and must wait at most 5 s: P = 1 - exp(-(2 - 1) 5)
    travel = np.array([[10.0], [20.0]])
    res = q.hypercube_exact(np.array([1.0]), travel, 1.0)
    expected = 5 / 12 + (1 / 3) * 0.5 * (1 - np.exp(-5.0))
    assert q.hypercube_share_within(res, travel, 15.0, 1.0) == pytest.approx(expected)
    assert q.hypercube_share_within(res, travel, 15.0, 1.0, delay_s=6.0) == pytest.approx(0.0)

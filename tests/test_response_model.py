"""Modelled response: delay draws, Monte Carlo p_met, routing to incidents and calibration."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from geo_response import config
from geo_response.compliance import model as response_model
from geo_response.compliance.model import ModelError
from geo_response.incidents import grading
from geo_response.roads.roadnet import RoadNetwork


@pytest.fixture(scope="module")
def prof():
    return config.load_profile()


def test_lognormal_from_median_and_p90():
    mu, sigma = response_model.lognormal_params(6, 10)
    assert mu == pytest.approx(np.log(6))
    assert sigma == pytest.approx(np.log(10 / 6) / 1.2815515655446004)  # 0.39859
    with pytest.raises(ModelError):
        response_model.lognormal_params(10, 6)


def test_delay_draws_match_the_documented_999_answer_times(prof):
    # only the answer stage matters when the other two are (almost) zero
    rm = dataclasses.replace(
        prof.response_model,
        call_handling_median_s=1e-6,
        call_handling_p90_s=1e-6,
        dispatch_median_s=1e-6,
        dispatch_p90_s=1e-6,
    )
    d = response_model.draw_delay_minutes(rm, draws=40000, seed=3) * 60
    assert np.all(np.diff(d) >= 0)
    assert np.median(d) == pytest.approx(6.0, rel=0.02)  # median answer 6 s
    assert np.mean(d <= 10.0) == pytest.approx(0.90, abs=0.01)  # 90% within 10 s


def test_delay_draws_are_seeded(prof):
    a = response_model.draw_delay_minutes(prof.response_model, draws=1000, seed=1)
    b = response_model.draw_delay_minutes(prof.response_model, draws=1000, seed=1)
    c = response_model.draw_delay_minutes(prof.response_model, draws=1000, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # default sum of medians is 6 + 150 + 120 s = 4.6 min; the sum's median is a little above it (skew)
    assert 4.6 < np.median(response_model.draw_delay_minutes(prof.response_model)) < 7.0


def test_p_met_by_hand():
    delays = np.array([1.0, 2.0, 3.0, 4.0])
    travel = np.array([10.0, 13.0, np.nan, 5.0, 20.0])
    target = np.array([12.5, 15.0, 15.0, 15.0, 15.0])
    # slack 2.5 -> {1, 2} of 4; slack 2 -> {1, 2} (<=); unroutable -> NaN; slack 10 -> all; negative -> none
    p = response_model.p_met_from_travel(travel, target, delays)
    np.testing.assert_array_equal(p, [0.5, 0.5, np.nan, 1.0, 0.0])
    # delays doubled: slack 2.5 -> {1} (2 x 1 <= 2.5 < 2 x 2)
    np.testing.assert_array_equal(
        response_model.p_met_from_travel(travel, target, delays, 2.0), [0.25, 0.25, np.nan, 1.0, 0.0]
    )
    with pytest.raises(ModelError):
        response_model.p_met_from_travel(travel, target, delays, 0)


def _modelled_frame(travel, categories, urban_rural, districts, policy):
    inc = gpd.GeoDataFrame(
        {"grade": categories, "urban_rural": urban_rural, "district": districts},
        geometry=gpd.points_from_xy([0.45] * len(travel), [51.75] * len(travel)),
        crs=4326,
    )
    inc = grading.assign_targets(inc, policy)
    inc["travel_minutes"] = travel
    inc["nearest_base"] = "Base"
    inc["snap_distance_m"] = 0.0
    inc["travel_status"] = np.where(np.isnan(travel), "unreachable", "ok")
    return inc


def test_model_response_with_given_travel(prof):
    pol = prof.policy("essex-2022")
    travel_in = np.array([5.0, 12.0, 16.0, 30.0, np.nan])
    inc = _modelled_frame(
        travel_in,
        ["emergency", "emergency", "emergency", "priority", "appointment"],
        ["urban", "rural", "rural", "urban", "urban"],
        ["A", "B", "B", "A", "A"],
        pol,
    )
    travel = inc[["travel_minutes", "nearest_base", "snap_distance_m", "travel_status"]]
    out = response_model.model_response(
        inc.drop(columns=travel.columns), None, None, prof, pol, seed=5, draws=5000, travel=travel
    )
    delays = response_model.draw_delay_minutes(prof.response_model, 5000, 5)
    expected = [
        np.mean(delays <= 15 - 5),
        np.mean(delays <= 20 - 12),
        np.mean(delays <= 20 - 16),
        np.mean(delays <= 60 - 30),
    ]
    np.testing.assert_allclose(out["p_met"].to_numpy()[:4], expected)
    assert np.isnan(out["p_met"].iloc[4])  # appointment: not attended
    assert (out["outcome_source"] == "modelled").all()
    assert out.attrs["response_model"]["seed"] == 5 and out.attrs["response_model"]["draws"] == 5000


def test_calibration_hits_the_rate_and_splits(prof):
    pol = prof.policy("essex-2022")
    rng = np.random.default_rng(0)
    n = 400
    urban = np.arange(n) < 300
    travel = np.where(urban, rng.uniform(2, 14, n), rng.uniform(5, 19, n))
    inc = _modelled_frame(
        travel, ["emergency"] * n, np.where(urban, "urban", "rural"), np.where(urban, "Alpha", "Beta"), pol
    )
    res = response_model.calibrate(inc, prof, 0.827, seed=11, draws=4000)
    assert res.achieved_rate == pytest.approx(0.827, abs=0.002)
    assert res.incidents["p_met"].mean() == pytest.approx(res.achieved_rate)
    delays = response_model.draw_delay_minutes(prof.response_model, 4000, 11)
    direct = response_model.p_met_from_travel(travel, inc["target_minutes"].to_numpy(), delays, res.delay_scale)
    np.testing.assert_allclose(res.incidents["p_met"], direct)
    split = res.by_urban_rural.set_index("urban_rural")
    assert split.loc["urban", "incidents"] == 300 and split.loc["rural", "incidents"] == 100
    total = (split["expected_met"].sum()) / n
    assert total == pytest.approx(res.achieved_rate)
    assert res.parameters["dispatch"]["median_s"] == pytest.approx(120 * res.delay_scale)
    # a lower observed rate means longer delays
    assert response_model.calibrate(inc, prof, 0.6, seed=11, draws=4000).delay_scale > res.delay_scale


def test_calibration_that_cannot_be_reached(prof):
    pol = prof.policy("essex-2022")
    inc = _modelled_frame(np.array([5.0, 25.0]), ["emergency"] * 2, ["urban"] * 2, ["A"] * 2, pol)
    with pytest.raises(ModelError, match="travel alone"):
        response_model.calibrate(inc, prof, 0.9, draws=1000)
    with pytest.raises(ModelError, match="between 0 and 1"):
        response_model.calibrate(inc, prof, 82.7, draws=1000)


def test_travel_to_incidents_routes_each_point_once(monkeypatch, prof):
    """A spy around the real routing call: duplicates are routed once per speed profile."""
    from geo_response.roads import routing

    calls = []
    real = routing.travel_times_to_points

    def spy(net, bases, points, speed, **kw):
        calls.append((speed, len(points)))
        return real(net, bases, points, speed, **kw)

    monkeypatch.setattr(routing, "travel_times_to_points", spy)
    net = RoadNetwork.from_networkx(_line_graph())
    bases = gpd.GeoDataFrame(
        {"base_id": [0], "name": ["North"]}, geometry=gpd.points_from_xy([0.45], [51.70]), crs=4326
    )
    pol = prof.policy("essex-2022")
    lats = [51.71, 51.71, 51.72, 51.71, 51.71, 51.72]
    lons = [0.45, 0.45, 0.45, 0.45, 0.60, 0.45]  # the fifth is 10 km east of every road
    inc = gpd.GeoDataFrame(
        {"grade": ["emergency", "emergency", "priority", "priority", "emergency", "5"], "urban_rural": "urban"},
        geometry=gpd.points_from_xy(lons, lats),
        crs=4326,
    )
    inc = grading.assign_targets(inc, pol)
    t = response_model.travel_to_incidents(inc, net, bases, prof.response_model)
    assert sorted(calls) == [("blue_light", 2), ("normal", 2)]  # duplicates routed once per profile
    # blue light: 1 min to node 2; normal: 2 min per edge -> 4 min to node 3, 2 min to node 2
    np.testing.assert_allclose(t["travel_minutes"].to_numpy()[:4], [1.0, 1.0, 4.0, 2.0], atol=0.01)
    assert t["travel_status"].tolist() == ["ok", "ok", "ok", "ok", "too_far", "not_attended"]
    assert np.isnan(t["travel_minutes"].iloc[4])  # too far from a road: no time
    w = response_model.unroutable_warnings(inc.assign(travel_status=t["travel_status"], row_number=range(1, 7)))
    assert w["row_number"].tolist() == [5]  # row 6 is not attended


def _line_graph():
    """Three nodes on a line ~1.11 km apart (0.01 deg latitude), one-minute blue-light edges each way."""
    G = nx.MultiDiGraph(crs="epsg:4326", network_label="hand-made test graph", standin=True)
    for i in range(3):
        G.add_node(i + 1, x=0.45, y=51.70 + 0.01 * i)
    for u, v in ((1, 2), (2, 3)):
        for a, b in ((u, v), (v, u)):
            G.add_edge(
                a,
                b,
                key=0,
                length=1112.0,
                highway="primary",
                travel_time_blue_light=60.0,
                travel_time_normal=120.0,
                travel_time_free_flow=80.0,
            )
    return G


def test_model_response_on_a_hand_made_graph(prof):
    G = RoadNetwork.from_networkx(_line_graph())
    bases = gpd.GeoDataFrame(
        {"base_id": [0], "name": ["North"], "type": ["police"], "units": [1]},
        geometry=gpd.points_from_xy([0.45], [51.70]),
        crs=4326,
    )
    pol = prof.policy("essex-2022")
    inc = gpd.GeoDataFrame(
        {"grade": ["emergency", "priority"], "urban_rural": ["urban", "urban"], "district": "A"},
        geometry=gpd.points_from_xy([0.45, 0.45], [51.72, 51.71]),
        crs=4326,
    )
    out = response_model.model_response(inc, G, bases, prof, pol, seed=9, draws=2000)
    # incident 1 sits on node 3: two blue-light edges = 2 min; incident 2 on node 2: one normal edge = 2 min
    np.testing.assert_allclose(out["travel_minutes"], [2.0, 2.0], atol=0.01)
    delays = response_model.draw_delay_minutes(prof.response_model, 2000, 9)
    np.testing.assert_allclose(out["p_met"], [np.mean(delays <= 13.0), np.mean(delays <= 58.0)], atol=1e-3)
    assert out["nearest_base"].tolist() == ["North", "North"]

"""Covering models on hand-checkable matrices: coverage rule, MCLP vs exhaustive search, greedy, closures."""

from __future__ import annotations

import numpy as np
import pytest

from geo_response.planning import optimise as opt
from geo_response.planning.optimise import OptimisationError


def sets_to_cover(sets: list[set[int]], n: int) -> np.ndarray:
    cover = np.zeros((len(sets), n), dtype=bool)
    for i, s in enumerate(sets):
        cover[i, list(s)] = True
    return cover


def cover_to_cost(cover: np.ndarray) -> np.ndarray:
    """Seconds: 600 where covered, 3600 where not (target 900)."""
    return np.where(cover, 600.0, 3600.0)


# The classic case where greedy is not optimal: A is the biggest set, but B and C together cover more.
A, B, C = {0, 1, 2, 3}, {0, 1, 4}, {2, 3, 5}


def test_coverage_matrix_per_point_targets_and_unreachable():
    cost = np.array([[900.0, 900.0, np.inf], [901.0, 1200.0, np.nan]])
    cover = opt.coverage_matrix(cost, np.array([900.0, 1200.0, 1200.0]))
    # equal to the target counts as covered; inf and NaN never cover
    assert cover.tolist() == [[True, True, False], [False, True, False]]
    norm = opt.normalised_cost(cost, np.array([900.0, 1200.0, 1200.0]))
    assert np.allclose(norm[0, :2], [1.0, 0.75])
    assert ((norm <= 1) == cover).all()


def test_coverage_matrix_rejects_bad_targets():
    with pytest.raises(OptimisationError, match="target > 0"):
        opt.coverage_matrix(np.ones((2, 2)), np.array([900.0, 0.0]))


def test_greedy_is_beaten_by_mclp_and_exhaustive_on_the_classic_case():
    cover = sets_to_cover([A, B, C], 6)
    w = np.ones(6)
    greedy = opt.greedy_sites(cover, w, 2)
    assert greedy.sites[0] == 0  # A first: 4 points
    assert greedy.covered_after == 5.0
    best = opt.mclp_sites(cover_to_cost(cover), 900.0, w, 2)
    assert sorted(best.sites.tolist()) == [1, 2]
    assert best.covered_after == 6.0 and best.gain == 6.0
    assert best.details["status"] == "Optimal"
    # gains in order sum to the total gain; each site alone adds 3 points
    assert best.site_table["gain"].sum() == 6.0
    assert best.site_table["gain_alone"].tolist() == [3.0, 3.0]
    exhaustive = opt.exhaustive_sites(cover, w, 2)
    assert exhaustive.covered_after == best.covered_after
    unreduced = opt.mclp_sites(cover_to_cost(cover), 900.0, w, 2, reduce=False)
    assert sorted(unreduced.sites.tolist()) == [1, 2]


def test_existing_bases_stay_fixed_and_change_the_best_site():
    cover = sets_to_cover([A, B, C], 6)
    existing = sets_to_cover([{0, 1}], 6)
    w = np.ones(6)
    for reduce in (True, False):
        r = opt.mclp_sites(cover_to_cost(cover), 900.0, w, 1, cover_to_cost(existing), reduce=reduce)
        # A adds {2,3}, B adds {4}, C adds {2,3,5}
        assert r.sites.tolist() == [2]
        assert (r.covered_before, r.covered_after, r.gain) == (2.0, 5.0, 3.0)
    g = opt.greedy_sites(cover, w, 1, existing)
    assert g.sites.tolist() == [2]


def test_per_point_targets_reach_spopt_through_the_normalised_cost():
    # point 0 is urban (15 min), point 1 rural (20 min); 1,000 s covers only the rural one
    cost = np.array([[1000.0, 1000.0], [850.0, np.inf]])
    target = np.array([900.0, 1200.0])
    w = np.array([5.0, 1.0])
    for reduce in (True, False):
        r = opt.mclp_sites(cost, target, w, 1, reduce=reduce)
        assert r.sites.tolist() == [1]
        assert r.covered_after == 5.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mclp_matches_exhaustive_search_on_random_instances(seed):
    rng = np.random.default_rng(seed)
    n_cand, n_dem = 11, 50
    cost = rng.uniform(0, 2400, (n_cand, n_dem))
    existing = rng.uniform(0, 2400, (2, n_dem))
    target = np.where(rng.random(n_dem) < 0.7, 900.0, 1200.0)
    w = rng.integers(0, 40, n_dem).astype(float)
    cand_cover = opt.coverage_matrix(cost, target)
    exist_cover = opt.coverage_matrix(existing, target)
    for k in (1, 2, 4):
        exhaustive = opt.exhaustive_sites(cand_cover, w, k, exist_cover)
        for reduce in (True, False):
            best = opt.mclp_sites(cost, target, w, k, existing, reduce=reduce)
            assert best.covered_after == pytest.approx(exhaustive.covered_after)
            # the reported coverage is recomputed from the chosen sites, not taken from the solver
            assert best.covered_after == pytest.approx(
                opt.covered_weight(np.vstack([exist_cover, cand_cover[best.sites]]), w)
            )
        greedy = opt.greedy_sites(cand_cover, w, k, exist_cover)
        assert greedy.covered_after <= exhaustive.covered_after + 1e-9


def test_reduce_problem_drops_dominated_and_covered_and_merges_demand():
    # candidate 0 covers {0,1}; 1 covers {0,1,2} (dominates 0); 2 covers {2} (dominated by 1); 3 = copy of 1
    cover = sets_to_cover([{0, 1}, {0, 1, 2}, {2}, {0, 1, 2}, {5}], 6)
    existing = sets_to_cover([{5}], 6)
    w = np.array([1.0, 2.0, 4.0, 0.0, 8.0, 16.0])
    red = opt.reduce_problem(cover, w, existing)
    assert red.candidates.tolist() == [1]  # 0 and 2 dominated, 3 is a later copy, 4 covers only covered demand
    # points 0,1,2 are covered by the same kept set {1}: one group of weight 7; point 3 has weight 0; point 4
    # is not coverable; point 5 is already covered
    assert red.weights.tolist() == [7.0]
    s = red.sizes
    assert (s["demand_already_covered"], s["demand_zero_weight"], s["demand_not_coverable"]) == (1, 1, 1)
    assert (s["candidates_covering_nothing_new"], s["candidates_dominated"]) == (1, 3)


def test_fewer_useful_candidates_than_k_is_reported():
    cover = sets_to_cover([{0}, {0}, set()], 2)
    r = opt.mclp_sites(cover_to_cost(cover), 900.0, np.array([3.0, 1.0]), 2)
    assert r.sites.tolist() == [0]
    assert "only 1 candidate" in r.details["note"]
    g = opt.greedy_sites(cover, np.array([3.0, 1.0]), 2)
    assert g.sites.tolist() == [0] and "only 1 candidate" in g.details["note"]


def test_greedy_breaks_ties_by_lowest_position():
    cover = sets_to_cover([{0}, {1}, {2}], 3)
    assert opt.greedy_sites(cover, np.ones(3), 2).sites.tolist() == [0, 1]


def test_closure_losses_rank_least_loss_first():
    # b0 covers {0,1}, b1 covers {1,2}, b2 covers {3}; weights 1, 2, 4, 8; point 4 (16) covered by nobody
    cover = sets_to_cover([{0, 1}, {1, 2}, {3}], 5)
    w = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    table = opt.closure_losses(cover, w, ["north", "centre", "south"])
    assert table["name"].tolist() == ["north", "centre", "south"]
    assert table["loss"].tolist() == [1.0, 4.0, 8.0]  # point 1 is covered twice, so nobody loses it alone
    assert table["covers"].tolist() == [3.0, 6.0, 8.0]
    assert table["covered_after"].tolist() == [14.0, 11.0, 7.0]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["loss_share"].iloc[0] == pytest.approx(1 / 31)


def test_equal_closure_losses_are_ranked_by_the_added_response_time():
    # both bases cover both points (no loss either way); costs in s, weights 1 and 3, cap 600 s
    cover = np.array([[True, True], [True, True]])
    cost = np.array([[100.0, 400.0], [300.0, 200.0]])
    table = opt.closure_losses(cover, np.array([1.0, 3.0]), ["a", "b"], existing_cost=cost, cost_cap=600.0)
    # closing a: point 0 goes 100 -> 300 (+200 x 1); b is nearest to point 1, unaffected -> 200 / 4 = 50 s
    # closing b: point 1 goes 200 -> 400 (+200 x 3) -> 600 / 4 = 150 s
    assert table["name"].tolist() == ["a", "b"] and table["loss"].tolist() == [0.0, 0.0]
    assert table["added_seconds"].tolist() == pytest.approx([50.0, 150.0])
    # unreachable (inf) costs count at the cap: closing the only base that reaches point 1 adds 600 - 200
    cost = np.array([[100.0, np.inf], [300.0, 200.0]])
    table = opt.closure_losses(cover, np.array([1.0, 3.0]), ["a", "b"], existing_cost=cost, cost_cap=600.0)
    assert table.set_index("name")["added_seconds"].to_dict() == pytest.approx({"a": 50.0, "b": 300.0})


@pytest.mark.parametrize("k, match", [(0, ">= 1"), (4, "cannot choose 4 sites from 3"), (1.5, "whole number")])
def test_bad_k_is_refused(k, match):
    cover = sets_to_cover([A, B, C], 6)
    with pytest.raises(OptimisationError, match=match):
        opt.mclp_sites(cover_to_cost(cover), 900.0, np.ones(6), k)


def test_bad_weights_and_shapes_are_refused():
    cover = sets_to_cover([A, B, C], 6)
    with pytest.raises(OptimisationError, match="weights must be >= 0"):
        opt.greedy_sites(cover, -np.ones(6), 1)
    with pytest.raises(OptimisationError, match="one value per demand point"):
        opt.mclp_sites(cover_to_cost(cover), 900.0, np.ones(5), 1)
    with pytest.raises(OptimisationError, match="existing_cost must be"):
        opt.mclp_sites(cover_to_cost(cover), 900.0, np.ones(6), 1, np.ones((2, 5)))
    with pytest.raises(OptimisationError, match="too many"):
        opt.exhaustive_sites(np.ones((60, 3), bool), np.ones(3), 10)


def test_result_to_dict_is_json_ready():
    import json

    cover = sets_to_cover([A, B, C], 6)
    r = opt.mclp_sites(cover_to_cost(cover), 900.0, np.ones(6), 2)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["gain"] == 6.0 and d["share_after"] == 1.0 and d["method"] == "mclp"
    assert d["reduction"]["reduced_candidates"] == 3

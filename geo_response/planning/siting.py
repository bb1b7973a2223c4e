"""Choosing new sites and ranking closures on the road network (spopt MCLP, greedy baseline).

Demand, candidates and the coverage rule come from :mod:`geo_response.planning.demand`; the covering models
from :mod:`geo_response.planning.optimise`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response.config import ForceProfile, Policy
from geo_response.errors import PlanningError
from geo_response.planning.demand import (
    DEFAULT_PROFILE,
    category_targets,
    demand_points,
    district_of,
    emergency_targets,
    lsoa_candidates,
    planning_delay_seconds,
)
from geo_response.planning.optimise import (
    SitingResult,
    closure_losses,
    coverage_matrix,
    greedy_sites,
    mclp_sites,
)
from geo_response.roads import routing
from geo_response.roads.roadnet import RoadNetwork
from geo_response.roads.speeds import When


# --------------------------------------------------------------------------------------------------
# optimise: new sites and closures
# --------------------------------------------------------------------------------------------------
@dataclass
class SitingRun:
    """New-site and closure analysis on the road network (see :func:`optimise`).

    Attributes
    ----------
    mclp, greedy : SitingResult
        The optimal (spopt MCLP) and the greedy choice of ``k`` sites.
    sites : GeoDataFrame
        The MCLP sites: ``order, name, district, gain, gain_alone, gain_population, geometry``.
    greedy_sites : GeoDataFrame
        The same for the greedy choice.
    closures : DataFrame
        :func:`geo_response.planning.optimise.closure_losses` with base names and population lost.
    demand : GeoDataFrame
        Demand points with ``target_s``, ``covered_before``, ``covered_after``.
    summary : dict
    """

    mclp: SitingResult
    greedy: SitingResult
    sites: gpd.GeoDataFrame
    greedy_sites: gpd.GeoDataFrame
    closures: pd.DataFrame
    demand: gpd.GeoDataFrame
    summary: dict = field(default_factory=dict)


def _sites_frame(
    result: SitingResult,
    candidates: gpd.GeoDataFrame,
    cover: np.ndarray,
    demand: gpd.GeoDataFrame,
    base_covered: np.ndarray,
) -> gpd.GeoDataFrame:
    table = result.site_table
    rows = candidates.iloc[table["candidate"].to_numpy(dtype=int)].reset_index(drop=True)
    pop = demand["population"].to_numpy(dtype=float)
    covered = base_covered.copy()
    gain_pop = []
    for c in table["candidate"].to_numpy(dtype=int):
        gain_pop.append(float(pop[cover[c] & ~covered].sum()))
        covered |= cover[c]
    out = gpd.GeoDataFrame(
        {
            "order": table["order"].to_numpy(),
            "candidate": table["candidate"].to_numpy(),
            "name": rows["name"].to_numpy(),
            "district": rows.get("district", pd.Series("", index=rows.index)).to_numpy(),
            "gain": table["gain"].to_numpy(),
            "gain_alone": table["gain_alone"].to_numpy(),
            "gain_population": gain_pop,
            "latitude": rows.geometry.y.round(6).to_numpy(),
            "longitude": rows.geometry.x.round(6).to_numpy(),
        },
        geometry=rows.geometry.values,
        crs=4326,
    )
    return out


def optimise(
    net: RoadNetwork,
    bases: gpd.GeoDataFrame,
    lsoas: gpd.GeoDataFrame,
    profile: ForceProfile,
    policy: Policy,
    k: int,
    *,
    candidates: gpd.GeoDataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    delay: str = "median",
    reduce: bool = True,
    time_limit: float | None = None,
    when: When | str | None = None,
) -> SitingRun:
    """Choose ``k`` new sites that maximise demand within target (existing bases fixed), and rank closures.

    Parameters
    ----------
    net : RoadNetwork
    bases : GeoDataFrame
        Existing bases (kept open).
    lsoas : GeoDataFrame
        Demand points and default candidates (population-weighted centroids).
    profile : ForceProfile
    policy : Policy
        Emergency targets per setting.
    k : int
        Sites to add.
    candidates : GeoDataFrame, optional
        Candidate sites (``name``, points); default :func:`lsoa_candidates`.
    incidents : DataFrame, optional
        Classified incidents: weights become incident counts per LSOA instead of population.
    delay : {'median', 'mean'}
        Fixed delay added to travel (:func:`planning_delay_seconds`).
    reduce, time_limit
        Passed to :func:`geo_response.planning.optimise.mclp_sites`.
    when : When or str, optional
        Time of the week for time-of-day speeds (``"08:00 weekday"``; None: none).

    Returns
    -------
    SitingRun
    """
    t0 = time.perf_counter()
    rm = profile.response_model
    delay_s = planning_delay_seconds(rm, delay)
    demand = demand_points(lsoas, incidents)
    target = emergency_targets(demand["urban_rural"].to_numpy(), policy)
    if (target <= delay_s).any():
        raise PlanningError(
            f"the fixed delay ({delay_s:.0f} s) is not shorter than every target; no site could cover anything"
        )
    cands = lsoa_candidates(lsoas) if candidates is None else candidates.reset_index(drop=True)
    if "district" not in cands.columns:
        cands = cands.assign(district=district_of(cands, lsoas))
    weights = demand["weight"].to_numpy(dtype=float)
    limit = float(target.max() - delay_s)
    timings = {}
    t1 = time.perf_counter()
    kw = {
        "limit_s": limit,
        "access_speed_kph": rm.access_speed_kph,
        "snap_limit_m": rm.snap_limit_m,
        "crs": profile.projected_crs,
        "when": when,
    }
    existing_cost = routing.travel_matrix(net, bases, demand, DEFAULT_PROFILE, **kw) + delay_s
    candidate_cost = routing.travel_matrix(net, cands, demand, DEFAULT_PROFILE, **kw) + delay_s
    timings["travel_matrix_seconds"] = round(time.perf_counter() - t1, 2)
    cand_cover = coverage_matrix(candidate_cost, target)
    existing_cover = coverage_matrix(existing_cost, target)
    best = mclp_sites(candidate_cost, target, weights, k, existing_cost, reduce=reduce, time_limit=time_limit)
    greedy = greedy_sites(cand_cover, weights, k, existing_cover)
    timings["mclp_seconds"] = round(best.seconds, 3)
    timings["greedy_seconds"] = round(greedy.seconds, 3)
    base_covered = existing_cover.any(axis=0)
    sites = _sites_frame(best, cands, cand_cover, demand, base_covered)
    gsites = _sites_frame(greedy, cands, cand_cover, demand, base_covered)
    closures = closure_losses(
        existing_cover, weights, list(bases["name"]), existing_cost=existing_cost, cost_cap=float(target.max())
    )
    pop = demand["population"].to_numpy(dtype=float)
    only = existing_cover & (existing_cover.sum(axis=0) == 1)[None, :]
    closures["population_lost"] = (only.astype(float) @ pop)[closures["base"].to_numpy()]
    closures["units"] = bases["units"].to_numpy()[closures["base"].to_numpy()] if "units" in bases else 1
    after = base_covered | (cand_cover[best.sites].any(axis=0) if len(best.sites) else False)
    demand = demand.assign(target_s=target, covered_before=base_covered, covered_after=after)
    total_pop = float(pop.sum())
    summary = {
        "command": "plan optimise",
        "parameters": {"k": int(k), "policy": policy.name, "delay": delay, "reduce": reduce, "time_limit": time_limit},
        "k": int(k),
        "policy": policy.name,
        "targets_min": category_targets(policy, "emergency"),
        "weight": demand.attrs.get("weight", "population"),
        "delay": {"statistic": delay, "seconds": delay_s},
        "candidates": int(len(cands)),
        "candidate_source": "LSOA population-weighted centroids"
        if candidates is None
        else str(cands.attrs.get("source", "user candidates")),
        "demand_points": int(len(demand)),
        "coverage_rule": "a demand point is covered by a site when blue_light travel + fixed delay <= the emergency "
        "target of its setting; spopt receives cost / target with service_radius 1",
        "mclp": best.to_dict(),
        "greedy": greedy.to_dict(),
        "mclp_minus_greedy": best.gain - greedy.gain,
        "population": {
            "total": total_pop,
            "covered_before": float(pop[base_covered].sum()),
            "covered_after_mclp": float(pop[after].sum()),
        },
        "unreachable_demand_points": int(
            (~np.isfinite(existing_cost).any(axis=0) & ~np.isfinite(candidate_cost).any(axis=0)).sum()
        ),
        "network": {
            "label": net.graph.get("network_label"),
            "standin": bool(net.graph.get("standin", False)),
            "source": str(net.graph.get("source")),
            "source_sha256": net.graph.get("source_sha256"),
        },
        "timings": {**timings, "total_seconds": round(time.perf_counter() - t0, 2)},
    }
    return SitingRun(
        mclp=best, greedy=greedy, sites=sites, greedy_sites=gsites, closures=closures, demand=demand, summary=summary
    )

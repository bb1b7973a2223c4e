"""Compare a what-if scenario with the current bases: coverage, travel and modelled compliance per district.

This module joins the pieces: travel times from :mod:`geo_response.roads.routing`, scenarios from
:mod:`geo_response.planning.scenarios`, demand from :mod:`geo_response.planning.demand` and modelled
compliance from :mod:`geo_response.compliance.model`.

Demand and coverage
    Demand points are the LSOA population-weighted centroids (ONS). A point's weight is its population,
    or its number of incidents when an incident file is given. A point is **within target** when the
    modelled response, ``blue_light travel + a fixed delay``, is at most the emergency target of its
    setting (essex-2022: 15 min urban, 20 min rural). The fixed delay is the sum of the force profile's
    call answer, call handling and dispatch **medians** (Essex: 6 + 150 + 120 s = 4.6 min; the
    lognormal means, 6.6 min, with ``delay="mean"``): a binary stand-in for the Monte Carlo delay,
    needed because a covering model counts a point as covered or not. Travel runs from the site's
    nearest road node over the network to the point's snapped road position, plus the access leg at the
    profile's ``access_speed_kph``.
Incident compliance
    With incidents, :func:`compare` also runs :func:`geo_response.compliance.model.model_response` for the
    current and the scenario bases with the same seed, so the change in the expected share of emergency
    and priority incidents meeting target comes only from travel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response.config import ForceProfile, Policy, ResponseModel
from geo_response.planning.demand import (
    ALL,
    DEFAULT_PROFILE,
    DRIVE_MINUTES,
    category_targets,
    demand_points,
    emergency_targets,
    planning_delay_seconds,
)
from geo_response.roads import routing
from geo_response.roads.roadnet import RoadNetwork
from geo_response.roads.speeds import When


# --------------------------------------------------------------------------------------------------
# travel times
# --------------------------------------------------------------------------------------------------
def nearest_travel(
    net: RoadNetwork,
    bases: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    response_model: ResponseModel,
    speed: str = DEFAULT_PROFILE,
    *,
    when: When | str | None = None,
) -> pd.DataFrame:
    """Travel from the nearest base to each point (:func:`geo_response.roads.routing.travel_times_to_points`).

    ``when`` is the time of the week for time-of-day speeds (``"08:00 weekday"``; None: none).

    Returns
    -------
    DataFrame
        Index aligned with ``points``: ``travel_seconds`` (``inf`` unless the status is ``ok``, never 0),
        ``nearest_base`` and ``status``.
    """
    tt = routing.travel_times_to_points(
        net,
        bases,
        points,
        speed,
        when=when,
        access_speed_kph=response_model.access_speed_kph,
        limit_m=response_model.snap_limit_m,
    )
    ok = tt["status"] == "ok"
    return pd.DataFrame(
        {
            "travel_seconds": tt["travel_seconds"].astype(float).where(ok, np.inf).to_numpy(),
            "nearest_base": tt["nearest_base"].where(ok).to_numpy(),
            "status": tt["status"].to_numpy(),
        },
        index=points.index,
    )


# --------------------------------------------------------------------------------------------------
# compare a scenario with the current bases
# --------------------------------------------------------------------------------------------------
def lsoa_coverage(
    lsoas: gpd.GeoDataFrame, travel_seconds: np.ndarray, policy: Policy, delay_seconds: float
) -> pd.DataFrame:
    """Per LSOA: travel minutes, within 15 / 20 minutes' drive, and within the emergency target.

    Parameters
    ----------
    lsoas : GeoDataFrame
        With ``urban_rural``.
    travel_seconds : array
        Travel from the nearest base to each LSOA's population-weighted centroid (``inf``: unreachable).
    policy : Policy
    delay_seconds : float
        Fixed delay added to travel for the target test.

    Returns
    -------
    DataFrame
        ``travel_min, within_15_min, within_20_min, target_min, within_target``.
    """
    t = np.asarray(travel_seconds, dtype=float)
    target = emergency_targets(lsoas["urban_rural"].to_numpy(), policy)
    out = pd.DataFrame({"travel_min": t / 60.0}, index=lsoas.index)
    for m in DRIVE_MINUTES:
        out[f"within_{m}_min"] = t <= m * 60.0
    out["target_min"] = target / 60.0
    out["within_target"] = t + delay_seconds <= target
    return out


def _weighted_p90(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    return float(np.percentile(values[ok], 90, weights=weights[ok], method="inverted_cdf"))


def population_measures(frame: pd.DataFrame) -> dict[str, float]:
    """Population measures of a set of LSOAs (``population`` and :func:`lsoa_coverage` columns).

    Mean and 90th percentile travel are population-weighted over LSOAs a base can reach; the population
    no base can reach is counted in ``unreachable_population``.
    """
    pop = frame["population"].to_numpy(dtype=float)
    t = frame["travel_min"].to_numpy(dtype=float)
    total = float(pop.sum())
    reach = np.isfinite(t)
    out = {"population": total}
    for m in DRIVE_MINUTES:
        within = float(pop[frame[f"within_{m}_min"].to_numpy(bool)].sum())
        out[f"population_within_{m}_min"] = within
        out[f"pct_population_within_{m}_min"] = 100.0 * within / total if total else float("nan")
    within = float(pop[frame["within_target"].to_numpy(bool)].sum())
    out["population_within_target"] = within
    out["pct_population_within_target"] = 100.0 * within / total if total else float("nan")
    reach_pop = pop[reach].sum()
    out["mean_travel_min"] = float((t[reach] * pop[reach]).sum() / reach_pop) if reach_pop > 0 else float("nan")
    out["p90_travel_min"] = _weighted_p90(t, pop)
    out["unreachable_population"] = float(pop[~reach].sum())
    return out


def measured_categories(policy: Policy, profile: ForceProfile | None = None) -> tuple[str, ...]:
    """The grade categories whose compliance a plan is judged on.

    The categories of the profile's KPIs for this policy (Essex 2022: emergency, priority); for a policy
    without KPIs, its attended categories with a target of at most 60 minutes (NCMG: emergency, urgent).
    """
    if profile is not None:
        cats = [c for k in profile.kpis if k.policy == policy.name for c in k.categories]
        if cats:
            return tuple(dict.fromkeys(cats))
    return tuple(
        dict.fromkeys(
            g.category for g in policy.grades if g.attended and g.target_minutes is not None and g.target_minutes <= 60
        )
    )


def incident_measures(incidents: pd.DataFrame, categories: tuple[str, ...] = ("emergency", "priority")) -> dict:
    """Expected % of attended incidents meeting target, by category and urban / rural, from ``p_met``.

    Returns ``{f"pct_{category}_met_{urban|rural|all}": %, f"{category}_incidents_{...}": count,
    f"{category}_unroutable_{...}": count}``. An attended incident that no base can reach (``p_met`` NaN:
    beyond the snap limit or cut off) counts as **not met**, so a scenario that strands incidents cannot
    raise the rate by shrinking its denominator.
    """
    out: dict[str, float] = {}
    attended = incidents["attended"].astype(bool)
    p_met = incidents["p_met"].astype(float)
    for cat in categories:
        in_cat = attended & (incidents["grade_category"] == cat)
        for setting in ("urban", "rural", ALL):
            m = in_cat if setting == ALL else in_cat & (incidents["urban_rural"] == setting)
            n = int(m.sum())
            out[f"{cat}_incidents_{setting}"] = float(n)
            out[f"{cat}_unroutable_{setting}"] = float((m & p_met.isna()).sum())
            out[f"pct_{cat}_met_{setting}"] = 100.0 * float(p_met[m].fillna(0.0).sum()) / n if n else float("nan")
    return out


MEASURE_UNITS = {
    "population": "people",
    "population_within_15_min": "people",
    "population_within_20_min": "people",
    "population_within_target": "people",
    "unreachable_population": "people",
    "pct_population_within_15_min": "%",
    "pct_population_within_20_min": "%",
    "pct_population_within_target": "%",
    "mean_travel_min": "min",
    "p90_travel_min": "min",
}


def _measure_rows(group_key: str, current: dict, scenario: dict) -> list[dict]:
    rows = []
    for key in current:
        c, s = current[key], scenario[key]
        unit = MEASURE_UNITS.get(key, "%" if key.startswith("pct_") else "incidents")
        rows.append(
            {
                "district": group_key,
                "measure": key,
                "unit": unit,
                "current": c,
                "scenario": s,
                "change": s - c if np.isfinite(c) and np.isfinite(s) else float("nan"),
            }
        )
    return rows


def _changed(bases: gpd.GeoDataFrame, what: str) -> list[str]:
    """Names of bases whose ``change`` (:func:`geo_response.planning.scenarios.apply_scenario`) includes ``what``."""
    if "change" not in bases.columns:
        return []
    return [str(n) for n, c in zip(bases["name"], bases["change"], strict=True) if what in str(c).split("+")]


@dataclass
class Comparison:
    """A scenario compared with the current bases (see :func:`compare`).

    Attributes
    ----------
    table : DataFrame
        Long table ``district ('all' for the force), measure, unit, current, scenario, change``.
    lsoas : GeoDataFrame
        Per LSOA: ``travel_min_current / _scenario``, ``within_target_current / _scenario``, ``nearest_base_*``,
        ``coverage_change`` ('gained', 'lost', 'kept', 'never').
    current_bases, scenario_bases : GeoDataFrame
    summary : dict
        Parameters, assumptions, sources and the force-wide changes.
    incidents : DataFrame or None
        Modelled incidents with ``p_met_current`` and ``p_met_scenario`` when incidents were given.
    """

    table: pd.DataFrame
    lsoas: gpd.GeoDataFrame
    current_bases: gpd.GeoDataFrame
    scenario_bases: gpd.GeoDataFrame
    summary: dict
    incidents: pd.DataFrame | None = None


def compare(
    net: RoadNetwork,
    current: gpd.GeoDataFrame,
    scenario_bases: gpd.GeoDataFrame,
    lsoas: gpd.GeoDataFrame,
    profile: ForceProfile,
    policy: Policy,
    *,
    incidents: pd.DataFrame | None = None,
    seed: int | None = None,
    delay_scale: float = 1.0,
    delay: str = "median",
    draws: int | None = None,
    when: When | str | None = None,
) -> Comparison:
    """Compare a scenario's bases with the current ones: coverage and modelled compliance, per district.

    Parameters
    ----------
    net : RoadNetwork
        Road network with travel times.
    current, scenario_bases : GeoDataFrame
        Bases before and after (:func:`geo_response.planning.scenarios.apply_scenario`).
    lsoas : GeoDataFrame
        :func:`geo_response.geography.load_lsoas`.
    profile : ForceProfile
    policy : Policy
        Targets (emergency target per setting for coverage; every grade for incidents).
    incidents : DataFrame, optional
        Classified incidents with targets (:func:`prepare_incidents`); adds expected % met of emergency and
        priority incidents, urban and rural.
    seed, delay_scale, draws
        Monte Carlo settings of :func:`geo_response.compliance.model.model_response` (same for both runs).
    delay : {'median', 'mean'}
        Fixed delay for the population "within target" test (:func:`planning_delay_seconds`).
    when : When or str, optional
        Time of the week for time-of-day speeds, for both the coverage and the modelled incidents
        (``"08:00 weekday"``; None: none, or each incident's own time where the model uses it).

    Returns
    -------
    Comparison
    """
    t0 = time.perf_counter()
    rm = profile.response_model
    delay_s = planning_delay_seconds(rm, delay)
    points = demand_points(lsoas)
    frames = {}
    for label, bases in (("current", current), ("scenario", scenario_bases)):
        tt = nearest_travel(net, bases, points, rm, when=when)
        cov = lsoa_coverage(lsoas.reset_index(drop=True), tt["travel_seconds"].to_numpy(), policy, delay_s)
        cov["nearest_base"] = tt["nearest_base"].to_numpy()
        frames[label] = cov
    cur, scn = frames["current"], frames["scenario"]
    base_cols = lsoas.reset_index(drop=True)[
        ["lsoa_code", "lsoa_name", "district", "urban_rural", "population", "geometry"]
    ]
    per_lsoa = gpd.GeoDataFrame(base_cols.copy(), geometry="geometry", crs=lsoas.crs)
    for label, frame in frames.items():
        for col in ("travel_min", "within_15_min", "within_20_min", "within_target", "nearest_base"):
            per_lsoa[f"{col}_{label}"] = frame[col].to_numpy()
    per_lsoa["target_min"] = cur["target_min"].to_numpy()
    a, b = cur["within_target"].to_numpy(bool), scn["within_target"].to_numpy(bool)
    per_lsoa["coverage_change"] = np.select([~a & b, a & ~b, a & b], ["gained", "lost", "kept"], "never")

    rows = []
    groups = [(ALL, np.ones(len(per_lsoa), bool))] + [
        (d, (per_lsoa["district"] == d).to_numpy()) for d in sorted(per_lsoa["district"].unique())
    ]
    pop = per_lsoa[["population"]]
    for name, mask in groups:
        c = population_measures(pd.concat([pop, cur], axis=1)[mask])
        s = population_measures(pd.concat([pop, scn], axis=1)[mask])
        rows += _measure_rows(name, c, s)

    modelled = None
    if incidents is not None and len(incidents):
        from geo_response.compliance.model import model_response

        categories = measured_categories(policy, profile)
        runs = {}
        for label, bases in (("current", current), ("scenario", scenario_bases)):
            runs[label] = model_response(
                incidents, net, bases, profile, policy, seed=seed, delay_scale=delay_scale, draws=draws, when=when
            )
        modelled = runs["current"].copy()
        modelled = modelled.rename(
            columns={
                "p_met": "p_met_current",
                "travel_minutes": "travel_minutes_current",
                "nearest_base": "nearest_base_current",
            }
        )
        modelled["p_met_scenario"] = runs["scenario"]["p_met"].to_numpy()
        modelled["travel_minutes_scenario"] = runs["scenario"]["travel_minutes"].to_numpy()
        modelled["nearest_base_scenario"] = runs["scenario"]["nearest_base"].to_numpy()
        inc_groups = [(ALL, np.ones(len(modelled), bool))] + [
            (d, (modelled["district"] == d).to_numpy()) for d in sorted(modelled["district"].dropna().unique())
        ]
        for name, mask in inc_groups:
            c = incident_measures(runs["current"][mask], categories)
            s = incident_measures(runs["scenario"][mask], categories)
            rows += _measure_rows(name, c, s)
        model_info = runs["current"].attrs.get("response_model", {})
    table = pd.DataFrame(rows, columns=["district", "measure", "unit", "current", "scenario", "change"])
    order = {name: i for i, (name, _) in enumerate(groups)}
    table = table.sort_values("district", key=lambda s: s.map(order).fillna(len(order)), kind="stable")
    table = table.reset_index(drop=True)

    from geo_response.planning.scenarios import removed_bases

    overall = table[table["district"] == ALL].set_index("measure")
    counts = per_lsoa["coverage_change"].value_counts()
    summary = {
        "command": "plan compare",
        "parameters": {"policy": policy.name, "delay": delay, "seed": seed, "delay_scale": delay_scale, "draws": draws},
        "policy": policy.name,
        "targets_min": category_targets(policy, "emergency"),
        "speed_profile": DEFAULT_PROFILE,
        "delay": {
            "statistic": delay,
            "seconds": delay_s,
            "stages": "call answer + call handling + dispatch (force profile [response_model])",
        },
        "assumptions": [
            "demand at LSOA population-weighted centroids (ONS), weighted by mid-2019 population",
            f"travel: {DEFAULT_PROFILE} speed profile from the nearest base over the road network, plus an access "
            f"leg at {rm.access_speed_kph:g} km/h; points over {rm.snap_limit_m:g} m from a road are unreachable",
            f"within target: travel + fixed {delay} delay ({delay_s / 60:.1f} min) <= emergency target of the "
            "LSOA's setting (ONS RUC urban / rural)",
            "population within 15 / 20 min: travel alone (drive time), no delay",
            "mean and 90th percentile travel: population-weighted over LSOAs a base can reach",
        ],
        "bases": {
            "current": int(len(current)),
            "scenario": int(len(scenario_bases)),
            "added": _changed(scenario_bases, "added"),
            "moved": _changed(scenario_bases, "moved"),
            "units_changed": _changed(scenario_bases, "units"),
            "removed": [str(n) for n in removed_bases(current, scenario_bases)["name"]],
            "note": "travel is from the nearest base; units per base are recorded but do not change travel "
            "times (every unit is assumed at its base and free)",
        },
        "scenario_changes": scenario_bases.attrs.get("scenario", []),
        "lsoas": {
            "gained": int(counts.get("gained", 0)),
            "lost": int(counts.get("lost", 0)),
            "kept": int(counts.get("kept", 0)),
            "never": int(counts.get("never", 0)),
            "population_gained": float(per_lsoa.loc[per_lsoa.coverage_change == "gained", "population"].sum()),
            "population_lost": float(per_lsoa.loc[per_lsoa.coverage_change == "lost", "population"].sum()),
        },
        "overall": {
            m: {"current": r["current"], "scenario": r["scenario"], "change": r["change"], "unit": r["unit"]}
            for m, r in overall.iterrows()
        },
        "incidents": None
        if modelled is None
        else {
            "count": int(len(modelled)),
            "incident_compliance": "expected share meeting target = mean Monte Carlo p_met of attended "
            "incidents, unroutable ones counted as not met (response_model.model_response, "
            "same seed for both runs)",
            "categories": list(categories),
            "response_model": model_info,
        },
        "network": {
            "label": net.graph.get("network_label"),
            "standin": bool(net.graph.get("standin", False)),
            "source": str(net.graph.get("source")),
            "source_sha256": net.graph.get("source_sha256"),
            "nodes": net.number_of_nodes(),
            "edges": net.number_of_edges(),
        },
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return Comparison(
        table=table,
        lsoas=per_lsoa,
        current_bases=current,
        scenario_bases=scenario_bases,
        summary=summary,
        incidents=modelled,
    )

"""Deployment planning on the road network: compare a what-if scenario, choose new sites, rank closures.

This module joins the pieces: travel times from :mod:`geo_response.routing` / :mod:`geo_response.snapping`,
scenarios from :mod:`geo_response.scenarios`, the covering models of :mod:`geo_response.optimise`, and
modelled compliance from :mod:`geo_response.response_model`.

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
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_response.config import ForceProfile, Policy, ResponseModel
from geo_response.errors import InputFileError, PlanningError
from geo_response.geography import table_points
from geo_response.planning.optimise import (
    SitingResult,
    closure_losses,
    coverage_matrix,
    greedy_sites,
    mclp_sites,
)
from geo_response.roads import routing
from geo_response.roads.roadnet import RoadNetwork

DEFAULT_PROFILE = "blue_light"
DRIVE_MINUTES = (15, 20)
ALL = "all"



# --------------------------------------------------------------------------------------------------
# assumptions: delay and targets
# --------------------------------------------------------------------------------------------------
def planning_delay_seconds(response_model: ResponseModel, statistic: str = "median") -> float:
    """Fixed delay before travel (seconds): call answer + call handling + dispatch.

    Parameters
    ----------
    response_model : ResponseModel
        The force profile's ``[response_model]``.
    statistic : {'median', 'mean'}
        Sum of the stage medians, or of the lognormal means (``median * exp(sigma**2 / 2)``).

    Examples
    --------
    >>> from geo_response import config
    >>> planning_delay_seconds(config.load_profile().response_model)
    276.0
    """
    from geo_response.compliance.model import STAGES, lognormal_params

    if statistic not in ("median", "mean"):
        raise PlanningError(f"delay statistic must be 'median' or 'mean', got {statistic!r}")
    total = 0.0
    for stage in STAGES:
        median = getattr(response_model, f"{stage}_median_s")
        if statistic == "median":
            total += median
        else:
            _, sigma = lognormal_params(median, getattr(response_model, f"{stage}_p90_s"))
            total += median * float(np.exp(sigma**2 / 2))
    return float(total)


def emergency_targets(urban_rural: pd.Series | np.ndarray, policy: Policy, category: str = "emergency") -> np.ndarray:
    """Target seconds of each point for the policy's ``category`` grade of its setting.

    Parameters
    ----------
    urban_rural : array of 'urban' / 'rural'
    policy : Policy
    category : str
        Grade category (default ``emergency``). A grade with ``setting='any'`` applies everywhere.

    Examples
    --------
    >>> from geo_response import config
    >>> emergency_targets(np.array(["urban", "rural"]), config.load_profile().policy("essex-2022"))
    array([ 900., 1200.])
    """
    grades = [g for g in policy.grades if g.category == category and g.attended and g.target_minutes]
    if not grades:
        raise PlanningError(f"policy {policy.name!r} has no attended {category!r} grade with a target")
    setting = np.asarray(urban_rural, dtype=object)
    out = np.full(len(setting), np.nan)
    for g in grades:
        mask = np.ones(len(setting), bool) if g.setting == "any" else setting == g.setting
        out[mask & np.isnan(out)] = g.target_minutes * 60.0
    if np.isnan(out).any():
        bad = sorted({str(s) for s in setting[np.isnan(out)]})
        raise PlanningError(f"policy {policy.name!r} has no {category} target for setting(s) {bad}")
    return out


def category_targets(policy: Policy, category: str) -> dict[str, float]:
    """``{'urban': minutes, 'rural': minutes}`` of a grade category under a policy."""
    t = emergency_targets(np.array(["urban", "rural"], dtype=object), policy, category) / 60.0
    return {"urban": float(t[0]), "rural": float(t[1])}


# --------------------------------------------------------------------------------------------------
# demand and candidate sites
# --------------------------------------------------------------------------------------------------
def demand_points(lsoas: gpd.GeoDataFrame, incidents: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """One demand point per LSOA at its population-weighted centroid.

    Parameters
    ----------
    lsoas : GeoDataFrame
        From :func:`geo_response.geography.load_lsoas`.
    incidents : DataFrame, optional
        Classified incidents (``lsoa_code``); when given the weight is the incident count per LSOA.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points: ``lsoa_code, lsoa_name, district, urban_rural, population, incidents, weight``;
        ``attrs['weight']`` is ``'population'`` or ``'incidents'``.
    """
    need = {"lsoa_code", "district", "urban_rural", "population", "pwc_lon", "pwc_lat"}
    missing = need - set(lsoas.columns)
    if missing:
        raise PlanningError(f"LSOAs lack {sorted(missing)}; load them with geography.load_lsoas")
    out = gpd.GeoDataFrame(
        {c: lsoas[c].to_numpy() for c in ("lsoa_code", "lsoa_name", "district", "urban_rural", "population")
         if c in lsoas.columns},
        geometry=gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]), crs=4326,
    ).reset_index(drop=True)
    out["incidents"] = 0
    weight = "population"
    if incidents is not None:
        if "lsoa_code" not in incidents.columns:
            raise PlanningError("incidents need an lsoa_code column: run classification.classify first")
        counts = incidents["lsoa_code"].dropna().astype(str).value_counts()
        out["incidents"] = out["lsoa_code"].map(counts).fillna(0).astype(int)
        weight = "incidents"
    out["weight"] = out[weight].astype(float)
    out.attrs["weight"] = weight
    return out


def lsoa_candidates(lsoas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Default candidate sites: every LSOA's population-weighted centroid (``name`` = LSOA name and code)."""
    names = [f"{n} ({c})" for n, c in zip(lsoas.get("lsoa_name", lsoas["lsoa_code"]), lsoas["lsoa_code"], strict=True)]
    return gpd.GeoDataFrame({"name": names, "district": lsoas["district"].to_numpy()},
                            geometry=gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]), crs=4326)


def district_of(points: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame) -> np.ndarray:
    """District of the LSOA each point falls in ('' outside every LSOA polygon)."""
    joined = gpd.sjoin(points[["geometry"]].to_crs(lsoas.crs), lsoas[["district", "geometry"]], how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["district"].reindex(points.index).fillna("").astype(str).to_numpy()


def read_candidates_csv(path: str | Path, area=None, projected_crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    """Candidate sites from a CSV: ``latitude``/``longitude`` (or ``easting``/``northing``), optional ``name``.

    Raises
    ------
    InputFileError
        If the file cannot be read, lacks coordinates, or rows have bad coordinates or lie outside ``area``
        (the lines are named).
    """
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read candidates file {path}: {exc}") from exc
    if len(df) == 0:
        raise InputFileError(f"candidates file {path} has no rows")
    geometry, bad = table_points(df, f"candidates file {path}", projected_crs)
    if bad.any():
        raise InputFileError(f"candidates file {path}: lines {[int(i) + 2 for i in np.flatnonzero(bad)]} have "
                             "missing or impossible coordinates; fix or remove them")
    cols = {str(c).strip().lower(): c for c in df.columns}
    if area is not None:
        outside = ~shapely.contains_xy(area, geometry.x.to_numpy(), geometry.y.to_numpy())
        if outside.any():
            raise InputFileError(f"candidates file {path}: lines {[int(i) + 2 for i in np.flatnonzero(outside)]} "
                                 "are outside the force area; check the coordinates or remove them")
    names = (df[cols["name"]].fillna("").astype(str).str.strip() if "name" in cols
             else pd.Series("", index=df.index))
    names = [n if n else f"candidate {i + 2}" for i, n in enumerate(names)]
    return gpd.GeoDataFrame({"name": names}, geometry=geometry.values, crs=4326)


# --------------------------------------------------------------------------------------------------
# travel times
# --------------------------------------------------------------------------------------------------
def nearest_travel(net: RoadNetwork, bases: gpd.GeoDataFrame, points: gpd.GeoDataFrame,
                   response_model: ResponseModel, speed: str = DEFAULT_PROFILE) -> pd.DataFrame:
    """Travel from the nearest base to each point (:func:`geo_response.roads.routing.travel_times_to_points`).

    Returns
    -------
    DataFrame
        Index aligned with ``points``: ``travel_seconds`` (``inf`` unless the status is ``ok``, never 0),
        ``nearest_base`` and ``status``.
    """
    tt = routing.travel_times_to_points(net, bases, points, speed, access_speed_kph=response_model.access_speed_kph,
                                        limit_m=response_model.snap_limit_m)
    ok = tt["status"] == "ok"
    return pd.DataFrame({"travel_seconds": tt["travel_seconds"].astype(float).where(ok, np.inf).to_numpy(),
                         "nearest_base": tt["nearest_base"].where(ok).to_numpy(),
                         "status": tt["status"].to_numpy()}, index=points.index)


# --------------------------------------------------------------------------------------------------
# compare a scenario with the current bases
# --------------------------------------------------------------------------------------------------
def lsoa_coverage(lsoas: gpd.GeoDataFrame, travel_seconds: np.ndarray, policy: Policy,
                  delay_seconds: float) -> pd.DataFrame:
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
    return tuple(dict.fromkeys(g.category for g in policy.grades
                               if g.attended and g.target_minutes is not None and g.target_minutes <= 60))


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
    "population": "people", "population_within_15_min": "people", "population_within_20_min": "people",
    "population_within_target": "people", "unreachable_population": "people",
    "pct_population_within_15_min": "%", "pct_population_within_20_min": "%", "pct_population_within_target": "%",
    "mean_travel_min": "min", "p90_travel_min": "min",
}


def _measure_rows(group_key: str, current: dict, scenario: dict) -> list[dict]:
    rows = []
    for key in current:
        c, s = current[key], scenario[key]
        unit = MEASURE_UNITS.get(key, "%" if key.startswith("pct_") else "incidents")
        rows.append({"district": group_key, "measure": key, "unit": unit, "current": c, "scenario": s,
                     "change": s - c if np.isfinite(c) and np.isfinite(s) else float("nan")})
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


def compare(net: RoadNetwork, current: gpd.GeoDataFrame, scenario_bases: gpd.GeoDataFrame,
            lsoas: gpd.GeoDataFrame, profile: ForceProfile, policy: Policy, *,
            incidents: pd.DataFrame | None = None, seed: int | None = None, delay_scale: float = 1.0,
            delay: str = "median", draws: int | None = None) -> Comparison:
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
        tt = nearest_travel(net, bases, points, rm)
        cov = lsoa_coverage(lsoas.reset_index(drop=True), tt["travel_seconds"].to_numpy(), policy, delay_s)
        cov["nearest_base"] = tt["nearest_base"].to_numpy()
        frames[label] = cov
    cur, scn = frames["current"], frames["scenario"]
    base_cols = lsoas.reset_index(drop=True)[["lsoa_code", "lsoa_name", "district", "urban_rural", "population",
                                              "geometry"]]
    per_lsoa = gpd.GeoDataFrame(base_cols.copy(), geometry="geometry", crs=lsoas.crs)
    for label, frame in frames.items():
        for col in ("travel_min", "within_15_min", "within_20_min", "within_target", "nearest_base"):
            per_lsoa[f"{col}_{label}"] = frame[col].to_numpy()
    per_lsoa["target_min"] = cur["target_min"].to_numpy()
    a, b = cur["within_target"].to_numpy(bool), scn["within_target"].to_numpy(bool)
    per_lsoa["coverage_change"] = np.select([~a & b, a & ~b, a & b], ["gained", "lost", "kept"], "never")

    rows = []
    groups = [(ALL, np.ones(len(per_lsoa), bool))] + [
        (d, (per_lsoa["district"] == d).to_numpy()) for d in sorted(per_lsoa["district"].unique())]
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
            runs[label] = model_response(incidents, net, bases, profile, policy, seed=seed, delay_scale=delay_scale,
                                         draws=draws)
        modelled = runs["current"].copy()
        modelled = modelled.rename(columns={"p_met": "p_met_current", "travel_minutes": "travel_minutes_current",
                                            "nearest_base": "nearest_base_current"})
        modelled["p_met_scenario"] = runs["scenario"]["p_met"].to_numpy()
        modelled["travel_minutes_scenario"] = runs["scenario"]["travel_minutes"].to_numpy()
        modelled["nearest_base_scenario"] = runs["scenario"]["nearest_base"].to_numpy()
        inc_groups = [(ALL, np.ones(len(modelled), bool))] + [
            (d, (modelled["district"] == d).to_numpy()) for d in sorted(modelled["district"].dropna().unique())]
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
        "parameters": {"policy": policy.name, "delay": delay, "seed": seed, "delay_scale": delay_scale,
                       "draws": draws},
        "policy": policy.name,
        "targets_min": category_targets(policy, "emergency"),
        "speed_profile": DEFAULT_PROFILE,
        "delay": {"statistic": delay, "seconds": delay_s,
                  "stages": "call answer + call handling + dispatch (force profile [response_model])"},
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
            "current": int(len(current)), "scenario": int(len(scenario_bases)),
            "added": _changed(scenario_bases, "added"), "moved": _changed(scenario_bases, "moved"),
            "units_changed": _changed(scenario_bases, "units"),
            "removed": [str(n) for n in removed_bases(current, scenario_bases)["name"]],
            "note": "travel is from the nearest base; units per base are recorded but do not change travel "
                    "times (every unit is assumed at its base and free)",
        },
        "scenario_changes": scenario_bases.attrs.get("scenario", []),
        "lsoas": {"gained": int(counts.get("gained", 0)), "lost": int(counts.get("lost", 0)),
                  "kept": int(counts.get("kept", 0)), "never": int(counts.get("never", 0)),
                  "population_gained": float(per_lsoa.loc[per_lsoa.coverage_change == "gained", "population"].sum()),
                  "population_lost": float(per_lsoa.loc[per_lsoa.coverage_change == "lost", "population"].sum())},
        "overall": {m: {"current": r["current"], "scenario": r["scenario"], "change": r["change"], "unit": r["unit"]}
                    for m, r in overall.iterrows()},
        "incidents": None if modelled is None else {
            "count": int(len(modelled)),
            "incident_compliance": "expected share meeting target = mean Monte Carlo p_met of attended "
                                   "incidents, unroutable ones counted as not met (response_model.model_response, "
                                   "same seed for both runs)",
            "categories": list(categories),
            "response_model": model_info,
        },
        "network": {"label": net.graph.get("network_label"), "standin": bool(net.graph.get("standin", False)),
                    "source": str(net.graph.get("source")), "source_sha256": net.graph.get("source_sha256"),
                    "nodes": net.number_of_nodes(), "edges": net.number_of_edges()},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return Comparison(table=table, lsoas=per_lsoa, current_bases=current, scenario_bases=scenario_bases,
                      summary=summary, incidents=modelled)


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


def _sites_frame(result: SitingResult, candidates: gpd.GeoDataFrame, cover: np.ndarray,
                 demand: gpd.GeoDataFrame, base_covered: np.ndarray) -> gpd.GeoDataFrame:
    table = result.site_table
    rows = candidates.iloc[table["candidate"].to_numpy(dtype=int)].reset_index(drop=True)
    pop = demand["population"].to_numpy(dtype=float)
    covered = base_covered.copy()
    gain_pop = []
    for c in table["candidate"].to_numpy(dtype=int):
        gain_pop.append(float(pop[cover[c] & ~covered].sum()))
        covered |= cover[c]
    out = gpd.GeoDataFrame({
        "order": table["order"].to_numpy(), "candidate": table["candidate"].to_numpy(),
        "name": rows["name"].to_numpy(), "district": rows.get("district", pd.Series("", index=rows.index)).to_numpy(),
        "gain": table["gain"].to_numpy(), "gain_alone": table["gain_alone"].to_numpy(),
        "gain_population": gain_pop,
        "latitude": rows.geometry.y.round(6).to_numpy(), "longitude": rows.geometry.x.round(6).to_numpy(),
    }, geometry=rows.geometry.values, crs=4326)
    return out


def optimise(net: RoadNetwork, bases: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame, profile: ForceProfile,
             policy: Policy, k: int, *, candidates: gpd.GeoDataFrame | None = None,
             incidents: pd.DataFrame | None = None, delay: str = "median", reduce: bool = True,
             time_limit: float | None = None) -> SitingRun:
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
        raise PlanningError(f"the fixed delay ({delay_s:.0f} s) is not shorter than every target; no site could "
                            "cover anything")
    cands = lsoa_candidates(lsoas) if candidates is None else candidates.reset_index(drop=True)
    if "district" not in cands.columns:
        cands = cands.assign(district=district_of(cands, lsoas))
    weights = demand["weight"].to_numpy(dtype=float)
    limit = float(target.max() - delay_s)
    timings = {}
    t1 = time.perf_counter()
    kw = {"limit_s": limit, "access_speed_kph": rm.access_speed_kph, "snap_limit_m": rm.snap_limit_m,
          "crs": profile.projected_crs}
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
    closures = closure_losses(existing_cover, weights, list(bases["name"]), existing_cost=existing_cost,
                              cost_cap=float(target.max()))
    pop = demand["population"].to_numpy(dtype=float)
    only = existing_cover & (existing_cover.sum(axis=0) == 1)[None, :]
    closures["population_lost"] = (only.astype(float) @ pop)[closures["base"].to_numpy()]
    closures["units"] = bases["units"].to_numpy()[closures["base"].to_numpy()] if "units" in bases else 1
    after = base_covered | (cand_cover[best.sites].any(axis=0) if len(best.sites) else False)
    demand = demand.assign(target_s=target, covered_before=base_covered, covered_after=after)
    total_pop = float(pop.sum())
    summary = {
        "command": "plan optimise",
        "parameters": {"k": int(k), "policy": policy.name, "delay": delay, "reduce": reduce,
                       "time_limit": time_limit},
        "k": int(k), "policy": policy.name, "targets_min": category_targets(policy, "emergency"),
        "weight": demand.attrs.get("weight", "population"),
        "delay": {"statistic": delay, "seconds": delay_s},
        "candidates": int(len(cands)), "candidate_source": "LSOA population-weighted centroids" if candidates is None
        else str(cands.attrs.get("source", "user candidates")),
        "demand_points": int(len(demand)),
        "coverage_rule": "a demand point is covered by a site when blue_light travel + fixed delay <= the emergency "
                         "target of its setting; spopt receives cost / target with service_radius 1",
        "mclp": best.to_dict(), "greedy": greedy.to_dict(),
        "mclp_minus_greedy": best.gain - greedy.gain,
        "population": {"total": total_pop, "covered_before": float(pop[base_covered].sum()),
                       "covered_after_mclp": float(pop[after].sum())},
        "unreachable_demand_points": int((~np.isfinite(existing_cost).any(axis=0)
                                          & ~np.isfinite(candidate_cost).any(axis=0)).sum()),
        "network": {"label": net.graph.get("network_label"), "standin": bool(net.graph.get("standin", False)),
                    "source": str(net.graph.get("source")), "source_sha256": net.graph.get("source_sha256")},
        "timings": {**timings, "total_seconds": round(time.perf_counter() - t0, 2)},
    }
    return SitingRun(mclp=best, greedy=greedy, sites=sites, greedy_sites=gsites, closures=closures, demand=demand,
                     summary=summary)

"""Modelled response times and the probability of meeting target, when no response times are given.

The model
---------
predicted response = (call answer + call handling + dispatch delay) x ``delay_scale`` + travel

* **Delays** are three independent lognormal stages, each given by its median and 90th percentile in
  the force profile's ``[response_model]`` (Essex defaults: 999 answer median 6 s, 90% within 10 s;
  handling median 150 s, p90 300 s; dispatch median 120 s, p90 480 s). A lognormal with median ``m``
  and 90th percentile ``q`` has ``mu = ln m`` and ``sigma = (ln q - ln m) / z_0.9`` (z_0.9 = 1.2816).
* **Travel** is from the nearest base (``amenity=police`` or a bases CSV) over the road network under
  the grade's speed profile (``blue_light`` for emergencies, ``normal`` traffic otherwise), plus an
  off-network access leg at ``access_speed_kph`` from the snapped road point to the incident
  (:func:`geo_response.roads.routing.travel_times_to_points`). Units are assumed to be at their base and
  free: the dispatch-delay stage stands for waiting for a free unit. Incidents more than
  ``snap_limit_m`` from a road, or unreachable, are not routable: they get no ``p_met`` and a ledger
  warning, never a made-up time.
* **Monte Carlo**: the delay sum is drawn ``draws`` times once with a seeded generator and sorted; an
  incident's ``p_met`` is the share of draws with ``delay <= target - travel`` (``numpy.searchsorted``),
  exact for a given seed and fast for any number of incidents.
* **Calibration** (:func:`calibrate`) fits ``delay_scale`` with :func:`scipy.optimize.brentq` so the
  expected share of emergency incidents meeting target equals an observed rate (e.g. 0.827).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import optimize, stats

from geo_response.config import ForceProfile, Policy, ResponseModel
from geo_response.errors import ModelError
from geo_response.incidents.collisions import carriageway_table
from geo_response.ledger import ledger_rows
from geo_response.roads import routing
from geo_response.roads.roadnet import RoadNetwork
from geo_response.roads.speeds import When, multiplier, parse_when

STAGES = ("call_answer", "call_handling", "dispatch")
Z90 = float(stats.norm.ppf(0.9))
TRAVEL_MODEL = (
    "travel from the nearest base (unit assumed at base and free) over the road network under the "
    "grade's speed profile, plus an access leg from the road to the incident"
)


def lognormal_params(median_s: float, p90_s: float) -> tuple[float, float]:
    """``(mu, sigma)`` of a lognormal with this median and 90th percentile (seconds)."""
    if median_s <= 0 or p90_s < median_s:
        raise ModelError(f"a delay needs 0 < median <= p90, got median {median_s} s, p90 {p90_s} s")
    return float(np.log(median_s)), float((np.log(p90_s) - np.log(median_s)) / Z90)


def delay_parameters(response_model: ResponseModel, delay_scale: float = 1.0) -> dict[str, dict[str, float]]:
    """Median and p90 (seconds) of each delay stage after scaling, with the lognormal mu / sigma."""
    out = {}
    for stage in STAGES:
        median = getattr(response_model, f"{stage}_median_s")
        p90 = getattr(response_model, f"{stage}_p90_s")
        mu, sigma = lognormal_params(median, p90)
        out[stage] = {
            "median_s": median * delay_scale,
            "p90_s": p90 * delay_scale,
            "mu": mu + float(np.log(delay_scale)),
            "sigma": sigma,
        }
    return out


def draw_delay_minutes(
    response_model: ResponseModel, draws: int | None = None, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """Sorted Monte Carlo draws of answer + handling + dispatch delay, in minutes (unscaled).

    Parameters
    ----------
    response_model : ResponseModel
        The force profile's delay parameters.
    draws : int, optional
        Default ``response_model.draws``.
    seed : int or Generator, optional
        Default ``response_model.seed``.
    """
    n = int(draws if draws is not None else response_model.draws)
    if n < 1:
        raise ModelError(f"draws must be >= 1, got {n}")
    rng = (
        seed
        if isinstance(seed, np.random.Generator)
        else np.random.default_rng(response_model.seed if seed is None else seed)
    )
    total = np.zeros(n)
    for stage in STAGES:
        mu, sigma = lognormal_params(
            getattr(response_model, f"{stage}_median_s"), getattr(response_model, f"{stage}_p90_s")
        )
        total += rng.lognormal(mean=mu, sigma=sigma, size=n)
    return np.sort(total / 60.0)


def p_met_from_travel(
    travel_minutes: np.ndarray,
    target_minutes: np.ndarray,
    delay_minutes: np.ndarray,
    delay_scale: float = 1.0,
) -> np.ndarray:
    """Probability that delay x scale + travel <= target, from sorted delay draws.

    Parameters
    ----------
    travel_minutes, target_minutes : array
        Per incident; NaN in either gives NaN.
    delay_minutes : array
        Sorted delay draws (:func:`draw_delay_minutes`).
    delay_scale : float
        Multiplies every delay (> 0).

    Returns
    -------
    numpy.ndarray
        Share of draws with ``delay * scale <= target - travel``.

    Examples
    --------
    >>> p_met_from_travel(np.array([10.0]), np.array([12.5]), np.array([1.0, 2.0, 3.0, 4.0]))
    array([0.5])
    """
    if delay_scale <= 0:
        raise ModelError(f"delay_scale must be > 0, got {delay_scale}")
    travel = np.asarray(travel_minutes, dtype=float)
    target = np.asarray(target_minutes, dtype=float)
    slack = (target - travel) / delay_scale
    p = np.full(slack.shape, np.nan)
    ok = ~np.isnan(slack)
    p[ok] = np.searchsorted(delay_minutes, slack[ok], side="right") / len(delay_minutes)
    return p


def travel_to_incidents(
    incidents: gpd.GeoDataFrame,
    net: RoadNetwork,
    bases: gpd.GeoDataFrame,
    response_model: ResponseModel,
    speed_column: str = "speed_profile",
    when: When | str | None = None,
) -> pd.DataFrame:
    """Travel minutes from the nearest base to each attended incident, under its grade's speed profile.

    Identical points are routed once per speed profile (police.uk points are snapped to shared map points).
    STATS19 collisions (rows with a ``carriageway_*`` position, :mod:`geo_response.incidents.collisions`) are
    routed to their point on their own carriageway, not to the nearest edge of the recorded point.

    Returns
    -------
    DataFrame
        Index aligned with ``incidents``: ``travel_minutes, nearest_base, snap_distance_m`` (NaN / None unless
        the status is ``ok``) and ``travel_status``: the routing status
        (:data:`geo_response.roads.routing.STATUSES`), or ``not_attended``.
    """
    out = pd.DataFrame(
        {"travel_minutes": np.nan, "nearest_base": None, "snap_distance_m": np.nan, "travel_status": "not_attended"},
        index=incidents.index,
    )
    attended = incidents["attended"].to_numpy(dtype=bool)
    located = incidents.geometry.notna().to_numpy() & ~incidents.geometry.is_empty.to_numpy()
    out.loc[attended & ~located, "travel_status"] = "no_coordinates"
    chosen = attended & located
    xy = pd.DataFrame(
        {
            "x": incidents.geometry.x.where(chosen),
            "y": incidents.geometry.y.where(chosen),
            "speed": incidents[speed_column],
            "when": incident_whens(incidents, when),
        },
        index=incidents.index,
    )
    xy["route_when"] = shared_whens(net, xy["speed"], xy["when"])
    own = carriageway_table(incidents)
    on_road = np.zeros(len(incidents), dtype=bool) if own is None else incidents.index.isin(own.index)
    for (speed, at), group in xy[chosen & on_road].groupby(["speed", "route_when"], sort=True, dropna=False):
        tt = routing.travel_times_to_points(
            net,
            bases,
            incidents.loc[group.index, ["geometry"]],
            str(speed),
            when=at if isinstance(at, str) else None,
            access_speed_kph=response_model.access_speed_kph,
            limit_m=response_model.snap_limit_m,
            snapped=own.loc[group.index],
        )
        ok = (tt["status"] == "ok").to_numpy()
        out.loc[group.index, "travel_minutes"] = np.where(ok, tt["travel_minutes"].to_numpy(float), np.nan)
        out.loc[group.index, "nearest_base"] = tt["nearest_base"].where(ok).to_numpy()
        out.loc[group.index, "snap_distance_m"] = own.loc[group.index, "carriageway_distance_m"].to_numpy()
        out.loc[group.index, "travel_status"] = tt["status"].to_numpy()
    for (speed, at), group in xy[chosen & ~on_road].groupby(["speed", "route_when"], sort=True, dropna=False):
        keys = group[["x", "y"]].drop_duplicates()
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(keys["x"], keys["y"]), crs=4326)
        tt = routing.travel_times_to_points(
            net,
            bases,
            points,
            str(speed),
            when=at if isinstance(at, str) else None,
            access_speed_kph=response_model.access_speed_kph,
            limit_m=response_model.snap_limit_m,
        ).reset_index(drop=True)
        ok = (tt["status"] == "ok").to_numpy()
        table = pd.DataFrame(
            {
                "x": keys["x"].to_numpy(),
                "y": keys["y"].to_numpy(),
                "travel_minutes": np.where(ok, tt["travel_minutes"].to_numpy(float), np.nan),
                "nearest_base": tt["nearest_base"].where(ok).to_numpy(),
                "snap_distance_m": tt["snap_distance_m"].astype(float).to_numpy(),
                "travel_status": tt["status"].to_numpy(),
            }
        )
        merged = group[["x", "y"]].reset_index().merge(table, on=["x", "y"], how="left")
        merged = merged.set_index(group.index.name or "index")
        for col in ("travel_minutes", "nearest_base", "snap_distance_m", "travel_status"):
            out.loc[merged.index, col] = merged[col].to_numpy()
    out["speed_when"] = xy["when"]
    out["travel_minutes"] = out["travel_minutes"].astype(float)
    out["snap_distance_m"] = out["snap_distance_m"].astype(float)
    return out


def shared_whens(net: RoadNetwork, speeds: pd.Series, whens: pd.Series) -> pd.Series:
    """Each time of the week replaced by the first (in sorted order) with the same time-of-day multiplier under
    its speed profile: they give the same edge times, so incidents at 09:00 and 08:00 on a weekday (both the
    morning peak) are routed once. A time with multiplier 1 becomes None (no time) when the network's stored
    times were set with no time of the week (``graph["speed_when"]`` None: multiplier 1, the same formula), so
    under ``blue_light`` (no periods) timed and untimed incidents share one route field.
    """
    profiles = getattr(net, "speeds", None)
    if profiles is None or whens.isna().all():
        return whens
    pairs = sorted({(str(s), str(w)) for s, w in zip(speeds, whens, strict=True) if isinstance(w, str)})
    untimed = net.graph.get("speed_when") is None
    first: dict[tuple[str, float], str | None] = {}
    shared: dict[tuple[str, str], str | None] = {}
    for speed, at in pairs:
        profile = profiles.profiles.get(speed)
        if profile is None:
            shared[(speed, at)] = at
            continue
        m = multiplier(profile, at)
        if (speed, m) not in first:
            first[(speed, m)] = None if (m == 1.0 and untimed) else at
        shared[(speed, at)] = first[(speed, m)]
    return pd.Series(
        [shared.get((str(s), w), w) if isinstance(w, str) else w for s, w in zip(speeds, whens, strict=True)],
        index=whens.index,
        dtype=object,
    )


def incident_whens(incidents: pd.DataFrame, when: When | str | None = None) -> pd.Series:
    """The time of the week each incident's travel is modelled at: ``when`` for all when given, else each
    incident's own ``occurred_at`` (None where it has none: no time-of-day multiplier).
    """
    if when is not None:
        return pd.Series(str(parse_when(when)), index=incidents.index, dtype=object)
    out = pd.Series(None, index=incidents.index, dtype=object)
    if "occurred_at" in incidents.columns:
        stamps = pd.to_datetime(incidents["occurred_at"], errors="coerce")
        known = stamps.notna()
        out[known] = [str(parse_when(ts.to_pydatetime())) for ts in stamps[known]]
    return out


def model_response(
    incidents: gpd.GeoDataFrame,
    net: RoadNetwork,
    bases: gpd.GeoDataFrame,
    profile: ForceProfile,
    policy: Policy | None = None,
    seed: int | None = None,
    delay_scale: float = 1.0,
    draws: int | None = None,
    travel: pd.DataFrame | None = None,
    when: When | str | None = None,
) -> gpd.GeoDataFrame:
    """Modelled outcomes: ``p_met`` per attended incident from travel time and Monte Carlo delays.

    One rule for incidents without an outcome: an attended incident that cannot be routed (too far from a
    road, no route, no location) counts as **not met** (``p_met`` 0) and says why in ``no_outcome``, so every
    table, the corridor, hotspots, planning and calibration share one denominator.

    Parameters
    ----------
    incidents : GeoDataFrame
        Classified incidents; targets are assigned with ``policy`` when ``target_minutes`` is absent.
    net : RoadNetwork
        Road network (:func:`geo_response.roads.network.load_network`).
    bases : GeoDataFrame
        Unit bases (:func:`geo_response.bases.load_bases`).
    profile : ForceProfile
        Supplies ``response_model`` (delays, draws, seed, access speed, snap limit).
    policy : Policy, optional
        Needed only when targets are not yet assigned.
    seed : int, optional
        Monte Carlo seed (default ``profile.response_model.seed``).
    delay_scale : float
        Multiplies all delays (see :func:`calibrate`).
    draws : int, optional
        Monte Carlo draws (default ``profile.response_model.draws``).
    travel : DataFrame, optional
        Precomputed :func:`travel_to_incidents` output (skips routing).
    when : When or str, optional
        One time of the week for every incident's travel; default each incident's own ``occurred_at`` (no
        time-of-day multiplier where it has none).

    Returns
    -------
    GeoDataFrame
        A copy with ``travel_minutes, nearest_base, snap_distance_m, travel_status, delay_median_minutes,
        p_met, no_outcome`` (the reason an attended incident has no modelled outcome, else None) and
        ``outcome_source ('modelled')``. ``attrs['response_model']`` records the model, seed, draws and
        parameters.
    """
    from geo_response.incidents.grading import assign_targets

    out = incidents
    if "target_minutes" not in out.columns:
        if policy is None:
            raise ModelError("incidents have no targets: pass policy=..., or run grading.assign_targets first")
        out = assign_targets(out, policy)
    out = out.copy()
    rm = profile.response_model
    if travel is None:
        travel = travel_to_incidents(out, net, bases, rm, when=when)
    for col in ("travel_minutes", "nearest_base", "snap_distance_m", "travel_status"):
        out[col] = travel[col].reindex(out.index).to_numpy()
    seed = rm.seed if seed is None else int(seed)
    n_draws = int(draws if draws is not None else rm.draws)
    delays = draw_delay_minutes(rm, n_draws, seed)
    target = out["target_minutes"].astype(float).to_numpy()
    target = np.where(out["attended"].to_numpy(dtype=bool), target, np.nan)
    p_met = p_met_from_travel(out["travel_minutes"].to_numpy(dtype=float), target, delays, delay_scale)
    missing = out["attended"].to_numpy(dtype=bool) & (out["travel_status"] != "ok").to_numpy()
    out["p_met"] = np.where(missing, 0.0, p_met)
    out["no_outcome"] = np.where(missing, "no route: " + out["travel_status"].astype(str), None)
    out["delay_median_minutes"] = np.where(
        out["attended"].to_numpy(dtype=bool), float(np.median(delays)) * delay_scale, np.nan
    )
    out["outcome_source"] = "modelled"
    out.attrs["response_model"] = {
        "formula": "(call answer + call handling + dispatch) x delay_scale + travel",
        "travel_model": TRAVEL_MODEL,
        "delay_distribution": "lognormal per stage from median and p90",
        "delay_parameters": delay_parameters(rm, delay_scale),
        "delay_scale": float(delay_scale),
        "seed": seed,
        "draws": n_draws,
        "access_speed_kph": rm.access_speed_kph,
        "snap_limit_m": rm.snap_limit_m,
        "network_label": net.graph.get("network_label") if net is not None else None,
        "network_standin": net.graph.get("standin") if net is not None else None,
    }
    return out


def unroutable_warnings(incidents: pd.DataFrame) -> pd.DataFrame:
    """Ledger warnings for attended incidents the model could not route (no ``p_met``)."""
    m = incidents["attended"].to_numpy(dtype=bool) & (incidents["travel_status"] != "ok").to_numpy()
    return ledger_rows(
        incidents[m],
        "not_routable",
        "no road within the snap limit or no route from any base: counted as not met (and reported apart)",
    )


@dataclass
class CalibrationResult:
    """A fitted delay scale and what compliance looks like under it."""

    delay_scale: float
    target_rate: float
    achieved_rate: float
    categories: tuple[str, ...]
    n_incidents: int
    seed: int
    draws: int
    parameters: dict = field(default_factory=dict)
    by_urban_rural: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_district: pd.DataFrame = field(default_factory=pd.DataFrame)
    incidents: gpd.GeoDataFrame | None = None

    def to_dict(self) -> dict:
        """JSON-ready summary (no incident rows)."""
        return {
            "delay_scale": self.delay_scale,
            "target_rate": self.target_rate,
            "achieved_rate": self.achieved_rate,
            "categories": list(self.categories),
            "n_incidents": self.n_incidents,
            "seed": self.seed,
            "draws": self.draws,
            "fitted_delay_parameters": self.parameters,
            "by_urban_rural": self.by_urban_rural.to_dict(orient="records"),
            "by_district": self.by_district.to_dict(orient="records"),
        }


def _rates(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    g = frame.groupby(by, observed=True)["p_met"].agg(["sum", "count"]).reset_index()
    g["expected_rate"] = g["sum"] / g["count"]
    return g.rename(columns={"sum": "expected_met", "count": "incidents"})


def calibrate(
    incidents: gpd.GeoDataFrame,
    profile: ForceProfile,
    target_rate: float,
    categories: tuple[str, ...] = ("emergency",),
    seed: int | None = None,
    draws: int | None = None,
    bracket: tuple[float, float] = (1e-3, 1e3),
) -> CalibrationResult:
    """Fit ``delay_scale`` so the expected share of ``categories`` incidents meeting target is the rate.

    Parameters
    ----------
    incidents : GeoDataFrame
        Output of :func:`model_response` (needs ``travel_minutes``, ``target_minutes``, ``attended``,
        ``grade_category``).
    profile : ForceProfile
    target_rate : float
        Observed compliance to match, in (0, 1), e.g. 0.827.
    categories : tuple of str
        Grade categories whose compliance is matched.
    seed, draws : int, optional
        Monte Carlo settings (defaults from the profile); the same draws are used at every scale.
    bracket : (float, float)
        Scale interval searched by :func:`scipy.optimize.brentq`.

    Returns
    -------
    CalibrationResult
        With the fitted scale, the rate achieved (the Monte Carlo rate is a step function of the scale, so
        it can differ from the target by a fraction of a draw), the scaled delay parameters, the split by
        urban / rural and by district, and the incidents with ``p_met`` at the fitted scale.

    Raises
    ------
    ModelError
        When no scale in the bracket reaches the rate (travel alone already misses too often, or even the
        largest delays meet it), saying which.
    """
    if not 0 < target_rate < 1:
        raise ModelError(f"--calibrate-to must be a rate between 0 and 1 (e.g. 0.827), got {target_rate}")
    rm = profile.response_model
    seed = rm.seed if seed is None else int(seed)
    n_draws = int(draws if draws is not None else rm.draws)
    delays = draw_delay_minutes(rm, n_draws, seed)
    # every attended incident of the categories counts; one without a route is not met (the one rule)
    sel = incidents["attended"].to_numpy(dtype=bool) & incidents["grade_category"].isin(categories).to_numpy()
    if not sel.any():
        raise ModelError(f"no attended incidents of categories {list(categories)} to calibrate on")
    travel = incidents["travel_minutes"].to_numpy(dtype=float)[sel]
    target = incidents["target_minutes"].to_numpy(dtype=float)[sel]

    def rate(scale: float) -> float:
        return float(np.mean(np.nan_to_num(p_met_from_travel(travel, target, delays, scale), nan=0.0)))

    lo, hi = bracket
    r_lo, r_hi = rate(lo), rate(hi)
    if r_lo < target_rate:
        raise ModelError(
            f"even with almost no delay only {r_lo:.1%} of {'/'.join(categories)} incidents can meet "
            f"target (travel alone), below {target_rate:.1%}: the network or bases are too sparse "
            "for this rate; check the bases, the speed profile or the rate"
        )
    if r_hi > target_rate:
        raise ModelError(
            f"even with delays x{hi:g} {r_hi:.1%} still meet target, above {target_rate:.1%}; "
            "widen the bracket or check the rate"
        )
    scale = float(optimize.brentq(lambda s: rate(s) - target_rate, lo, hi, xtol=1e-6, rtol=1e-10))
    fitted = incidents.copy()
    t_all = np.where(fitted["attended"].to_numpy(dtype=bool), fitted["target_minutes"].to_numpy(dtype=float), np.nan)
    p_fit = p_met_from_travel(fitted["travel_minutes"].to_numpy(dtype=float), t_all, delays, scale)
    attended = fitted["attended"].to_numpy(dtype=bool)
    fitted["p_met"] = np.where(attended & np.isnan(p_fit), 0.0, p_fit)
    if "delay_median_minutes" in fitted.columns:
        fitted["delay_median_minutes"] = np.where(attended, float(np.median(delays)) * scale, np.nan)
    fitted.attrs = dict(incidents.attrs)
    if "response_model" in fitted.attrs:
        fitted.attrs["response_model"] = dict(
            fitted.attrs["response_model"], delay_scale=scale, delay_parameters=delay_parameters(rm, scale)
        )
    judged = fitted[sel]
    return CalibrationResult(
        delay_scale=scale,
        target_rate=float(target_rate),
        achieved_rate=rate(scale),
        categories=tuple(categories),
        n_incidents=int(sel.sum()),
        seed=seed,
        draws=n_draws,
        parameters=delay_parameters(rm, scale),
        by_urban_rural=_rates(judged, "urban_rural") if "urban_rural" in judged else pd.DataFrame(),
        by_district=_rates(judged, "district") if "district" in judged else pd.DataFrame(),
        incidents=fitted,
    )

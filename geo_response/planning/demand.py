"""Planning inputs: the fixed delay, emergency targets by setting, demand points and candidate sites.

Demand points are the LSOA population-weighted centroids (ONS); a point's weight is its population, or its
number of incidents when an incident file is given. Candidate sites default to the same centroids.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_response.config import Policy, ResponseModel
from geo_response.errors import InputFileError, PlanningError
from geo_response.geography import read_points_table, table_points

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
        {
            c: lsoas[c].to_numpy()
            for c in ("lsoa_code", "lsoa_name", "district", "urban_rural", "population")
            if c in lsoas.columns
        },
        geometry=gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]),
        crs=4326,
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
    return gpd.GeoDataFrame(
        {"name": names, "district": lsoas["district"].to_numpy()},
        geometry=gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]),
        crs=4326,
    )


def district_of(points: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame) -> np.ndarray:
    """District of the LSOA each point falls in ('' outside every LSOA polygon)."""
    joined = gpd.sjoin(
        points[["geometry"]].to_crs(lsoas.crs), lsoas[["district", "geometry"]], how="left", predicate="within"
    )
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
    df = read_points_table(path, "candidates file")
    if len(df) == 0:
        raise InputFileError(f"candidates file {path} has no rows")
    lines = np.asarray(df.attrs["lines"])
    if df.attrs["extra_fields"]:
        raise InputFileError(
            f"candidates file {path}: lines {sorted(df.attrs['extra_fields'])} have more fields "
            "than the header; fix or remove them"
        )
    geometry, bad = table_points(df, f"candidates file {path}", projected_crs)
    if bad.any():
        raise InputFileError(
            f"candidates file {path}: lines {lines[bad.to_numpy()].tolist()} have "
            "missing or impossible coordinates; fix or remove them"
        )
    cols = {str(c).strip().lower(): c for c in df.columns}
    if area is not None:
        outside = ~shapely.contains_xy(area, geometry.x.to_numpy(), geometry.y.to_numpy())
        if outside.any():
            raise InputFileError(
                f"candidates file {path}: lines {lines[outside].tolist()} "
                "are outside the force area; check the coordinates or remove them"
            )
    names = df[cols["name"]].fillna("").astype(str).str.strip() if "name" in cols else pd.Series("", index=df.index)
    names = [n if n else f"candidate {i + 2}" for i, n in enumerate(names)]
    return gpd.GeoDataFrame({"name": names}, geometry=geometry.values, crs=4326)

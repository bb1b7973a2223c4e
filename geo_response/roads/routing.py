"""Travel times from bases to points over a road network: the calls most users need.

Every result speaks one vocabulary, a ``status`` per point:

- ``ok``: snapped to a road within the snap limit and reached from a base;
- ``too_far``: farther than the snap limit from every road (a time is still given, for information);
- ``unreachable``: no route from any base (time NaN);
- ``no_coordinates``: the point has no location (time NaN).

Only ``ok`` times count as outcomes; every caller (compliance, planning, corridor, the CLI) reads
``status`` and reports the others separately.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geo_response.errors import RoutingError
from geo_response.roads import fields, snapping
from geo_response.roads.roadnet import RoadNetwork
from geo_response.roads.speeds import When

__all__ = ["STATUSES", "travel_matrix", "travel_times_to_points"]

STATUSES = ("ok", "too_far", "unreachable", "no_coordinates")
TRAVEL_COLUMNS = ["nearest_base", "base_id", "travel_seconds", "travel_minutes", "snap_distance_m", "status"]


def _located(points: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    return (geo.notna() & ~geo.is_empty).to_numpy()


def travel_times_to_points(
    net: RoadNetwork,
    bases: gpd.GeoDataFrame,
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    speed: str = "blue_light",
    *,
    when: When | str | None = None,
    access_speed_kph: float = 15.0,
    limit_m: float = 1000.0,
    crs: str = "EPSG:27700",
    snapped: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Travel time from the nearest base to each point.

    Parameters
    ----------
    net : RoadNetwork
        The road network (:func:`geo_response.roads.network.load_network`).
    bases : GeoDataFrame
        Bases with ``base_id``, ``name`` and Point geometries; each starts from its snapped point on the
        nearest edge, both ways where two-way, after an access leg at ``access_speed_kph``
        (:func:`geo_response.roads.snapping.snap_sources`; a ``node`` column is not used).
    points : GeoSeries or GeoDataFrame
        Where to go; points without a geometry get status ``no_coordinates``.
    speed : str
        Speed profile (``blue_light``, ``normal``, ``free_flow``).
    when : When or str, optional
        Time of the week for time-of-day speeds (``"08:00"``, ``"Sat 03:00"``, an ISO datetime; None: none).
    access_speed_kph, limit_m, crs
        Off-network leg speed (of points and bases), snap limit and projected CRS (see
        :func:`geo_response.roads.snapping.snap_points`).
    snapped : DataFrame, optional
        Where each point already sits on the network (``edge, u, v, key, edge_fraction, snap_distance_m``,
        index aligned with ``points``; e.g. STATS19 collisions put on their own carriageway by
        :func:`geo_response.incidents.stats19.snap_collisions`); None snaps each point to its nearest edge.
        ``too_far`` is judged against ``limit_m`` either way.

    Returns
    -------
    DataFrame
        Index aligned with ``points``: ``nearest_base`` (name; missing unless reached), ``base_id`` (-1 unless
        reached), ``travel_seconds`` and ``travel_minutes`` (NaN where unreachable or unlocated, never 0 or
        infinity), ``snap_distance_m`` and ``status`` (see the module notes).
    """
    if len(bases) == 0:
        raise RoutingError("no bases to route from; give a bases CSV or an OSM file with police stations")
    rg = net.csr(speed, when)
    sources, _ = snapping.snap_sources(
        net, bases, speed, when=when, access_speed_kph=access_speed_kph, crs=crs, limit_m=limit_m
    )
    seconds, source = fields.nearest_source_field_from(rg, sources)
    out = pd.DataFrame(
        {
            "nearest_base": pd.Series(None, index=points.index, dtype="object"),
            "base_id": -1,
            "travel_seconds": np.nan,
            "travel_minutes": np.nan,
            "snap_distance_m": np.nan,
            "status": "no_coordinates",
        },
        index=points.index,
    )
    located = _located(points)
    if not located.any():
        return out
    part = points[located]
    if snapped is None:
        snapped = snapping.snap_points(net, part, crs=crs, limit_m=limit_m)
    else:
        snapped = snapped.loc[part.index, ["edge", "u", "v", "key", "edge_fraction", "snap_distance_m"]]
        snapped = snapped.assign(too_far=snapped["snap_distance_m"].to_numpy(dtype=float) > limit_m)
    times = snapping.travel_times_from_sources(
        net.edge_index(crs), snapped, rg, sources, seconds, net.edge_times(speed, when), source, access_speed_kph
    )
    travel = times["travel_seconds"].to_numpy()
    reached = np.isfinite(travel)
    src = np.maximum(times["source"].to_numpy(), 0)
    names = bases["name"].astype(str).to_numpy()
    ids = bases["base_id"].to_numpy()
    status = np.where(~reached, "unreachable", np.where(snapped["too_far"].to_numpy(), "too_far", "ok"))
    out.loc[located, "nearest_base"] = np.where(reached, names[src], None)
    out.loc[located, "base_id"] = np.where(reached, ids[src], -1)
    out.loc[located, "travel_seconds"] = np.where(reached, travel, np.nan)
    out.loc[located, "travel_minutes"] = np.where(reached, travel / 60.0, np.nan)
    out.loc[located, "snap_distance_m"] = snapped["snap_distance_m"].to_numpy()
    out.loc[located, "status"] = status
    out["base_id"] = out["base_id"].astype(np.int64)
    return out[TRAVEL_COLUMNS]


def travel_matrix(
    net: RoadNetwork,
    sites: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    speed: str = "blue_light",
    *,
    when: When | str | None = None,
    limit_s: float | None = None,
    access_speed_kph: float = 15.0,
    snap_limit_m: float = 1000.0,
    batch: int = 64,
    crs: str = "EPSG:27700",
) -> np.ndarray:
    """Travel seconds from every site to every point over the road network.

    Each site is snapped to its nearest edge and starts from that point, both ways where the road is two-way,
    after its access leg (:func:`geo_response.roads.snapping.snap_sources`); each point is snapped to its
    nearest edge and reached via the better end (or along a site's own edge) plus the access leg
    (:func:`geo_response.roads.snapping.travel_times_from_sources`). Dijkstra runs per site in batches.

    Parameters
    ----------
    net : RoadNetwork
    sites, points : GeoDataFrame
        Point geometries.
    speed : str
        Speed profile.
    when : When or str, optional
        Time of the week for time-of-day speeds (``"08:00"``, ``"Sat 03:00"``; None: none).
    limit_s : float, optional
        Stop searching beyond this many seconds (farther entries are ``inf``).
    access_speed_kph, snap_limit_m : float
        Off-network leg speed, and the farthest a point or site may be from the road.
    batch : int
        Sites per Dijkstra batch (memory: batch x nodes x 8 bytes).
    crs : str
        Projected CRS.

    Returns
    -------
    numpy.ndarray, shape (sites, points)
        Seconds; ``inf`` where unreachable, beyond ``limit_s``, or where the point (or the site) is more than
        ``snap_limit_m`` from the road.
    """
    if len(sites) == 0 or len(points) == 0:
        return np.zeros((len(sites), len(points)))
    rg = net.csr(speed, when)
    edge_seconds = net.edge_times(speed, when)
    index = net.edge_index(crs)
    sources, sited = snapping.snap_sources(
        net,
        sites.reset_index(drop=True),
        speed,
        when=when,
        access_speed_kph=access_speed_kph,
        crs=crs,
        limit_m=snap_limit_m,
    )
    snapped = snapping.snap_points(net, points.reset_index(drop=True), crs=crs, limit_m=snap_limit_m)
    far_points = snapped["too_far"].to_numpy(dtype=bool)
    far_sites = sited["too_far"].to_numpy(dtype=bool)
    out = np.full((len(sites), len(points)), np.inf)
    for start in tqdm(range(0, sources.count, batch), desc=f"travel times ({speed})", unit="batch", disable=None):
        block = np.arange(start, min(start + batch, sources.count))
        per = fields.per_source_fields_from(rg, sources.subset(block), limit=limit_s)
        for r, s in enumerate(block):
            tt = snapping.travel_times_from_sources(
                index, snapped, rg, sources.subset([s]), per[r], edge_seconds, None, access_speed_kph
            )
            out[s] = tt["travel_seconds"].to_numpy(dtype=float)
    out[:, far_points] = np.inf
    out[far_sites, :] = np.inf
    return np.where(np.isnan(out), np.inf, out)

"""Snap points to the nearest road edge and turn node travel-time fields into point travel times.

Points (incidents, addresses, candidate sites) are snapped to the nearest *edge* (not node) in a projected
CRS (EPSG:27700 for Britain). A point at fraction ``f`` along edge ``u -> v`` is reached either via ``u``
(``t[u] + f * tt(u->v)``) or, where the road is two-way, via ``v`` (``t[v] + (1 - f) * tt(v->u)``), plus an
off-network access leg ``snap distance / access speed``. Points farther than ``limit_m`` from every edge are
flagged ``too_far`` (their distance and times are still given).

How the nearest edge is found (exact, fast for millions of points): edges are cut into straight segments
of at most ``SEGMENT_M`` metres and a scipy KD-tree holds the segment midpoints. For each point the
12 nearest midpoints are checked exactly; the closest of them is the true nearest segment whenever its
distance + ``SEGMENT_M`` / 2 is at most the distance of the farthest midpoint checked (every other segment is
then provably farther). Points where that does not hold (mostly far from any road) are tried again with 64
midpoints, and the very few left are answered by a shapely STRtree ``query_nearest`` on the edge geometries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo_response.errors import RoutingError
from geo_response.roads import fields
from geo_response.roads.fields import RoutingGraph

SEGMENT_M = 50.0
K_TIERS = (12, 64)
_CHUNK = 50_000
_AT_NODE = 1e-9  # edge fraction this close to 0 or 1 is the end node itself
if TYPE_CHECKING:
    from geo_response.roads.roadnet import RoadNetwork

SNAP_COLUMNS = ["edge", "u", "v", "key", "edge_fraction", "snap_distance_m", "too_far"]


@dataclass(frozen=True)
class Segments:
    """Edges cut into straight pieces of at most ``max_length`` m, with a KD-tree on their midpoints."""

    start: np.ndarray  # (m, 2) projected
    vector: np.ndarray  # (m, 2) end - start
    data: np.ndarray  # (m, 4) start x, y and vector x, y side by side: one gather per candidate
    edge: np.ndarray  # row in the EdgeIndex
    offset: np.ndarray  # distance along the edge where the segment starts (m)
    edge_length: np.ndarray  # projected length of each edge (m), indexed by edge row
    tree: cKDTree
    max_length: float


@dataclass(frozen=True)
class EdgeIndex:
    """A network's edges for snapping: one geometry per road piece (both directions share it).

    Attributes
    ----------
    u, v, key : numpy.ndarray
        The directed edge ``u -> v`` (key ``key``) whose geometry runs from ``u`` to ``v``.
    reverse_key : numpy.ndarray
        Key of the matching ``v -> u`` edge (same road: same length within 0.5 m), -1 where one-way.
    rows, reverse_rows : numpy.ndarray
        Row of ``u -> v`` in the network's edge table, and of ``v -> u`` (-1 where one-way).
    geometry : numpy.ndarray of LineString
        Projected geometries, each starting at ``u``.
    tree : shapely.STRtree
        On ``geometry``.
    crs : str
        The projected CRS.
    segments : Segments
        The KD-tree search structure.
    """

    u: np.ndarray
    v: np.ndarray
    key: np.ndarray
    reverse_key: np.ndarray
    rows: np.ndarray
    reverse_rows: np.ndarray
    geometry: np.ndarray
    tree: shapely.STRtree
    crs: str
    segments: Segments

    def u_pos(self, rg: RoutingGraph) -> np.ndarray:
        """Row of each edge's ``u`` in the routing graph."""
        return rg.index_of(self.u)

    def v_pos(self, rg: RoutingGraph) -> np.ndarray:
        """Row of each edge's ``v`` in the routing graph."""
        return rg.index_of(self.v)

    def times(self, edge_seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seconds ``u -> v`` and ``v -> u`` (``inf`` where one-way) of each indexed edge, from the travel
        seconds of every edge of the network (:meth:`RoadNetwork.edge_times`).
        """
        seconds = np.asarray(edge_seconds, dtype=float)
        reverse = np.where(self.reverse_rows >= 0, seconds[np.maximum(self.reverse_rows, 0)], np.inf)
        return seconds[self.rows], np.where(np.isnan(reverse), np.inf, reverse)


def build_edge_index(net: RoadNetwork, crs: str = "EPSG:27700") -> EdgeIndex:
    """Build the snapping index of a network (use :meth:`RoadNetwork.edge_index`, which keeps it).

    Parameters
    ----------
    net : RoadNetwork
        EPSG:4326 vertices.
    crs : str
        Projected CRS for distances.
    """
    table = net.edges[["u", "v", "key", "length"]].reset_index(drop=True)
    # the same road in both directions: u->v and v->u of (nearly) the same length, not a self-loop
    pairs = table.reset_index().merge(table.reset_index(), left_on=["u", "v"], right_on=["v", "u"], suffixes=("", "_r"))
    pairs = pairs[(pairs["u"] != pairs["v"]) & ((pairs["length"] - pairs["length_r"]).abs() < 0.5)]
    pairs = pairs.sort_values(["index", "key_r"]).drop_duplicates("index")
    reverse_row = np.full(len(table), -1, dtype=np.int64)
    reverse_row[pairs["index"].to_numpy()] = pairs["index_r"].to_numpy()
    # keep each two-way road once (of a mutual pair u->v / v->u, the one listed first)
    rows = np.arange(len(table))
    mutual = (reverse_row >= 0) & (reverse_row[np.maximum(reverse_row, 0)] == rows)
    keep = ~mutual | (rows < reverse_row)
    reverse_row[~mutual] = -1  # a reverse edge that pairs with another parallel edge: treat this one as one-way
    kept_rows = rows[keep]
    rev = reverse_row[keep]
    transformer = Transformer.from_crs(4326, crs, always_xy=True)
    geometry = shapely.transform(
        net.edge_geometries(kept_rows), lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1]))
    )
    keys = table["key"].to_numpy(dtype=np.int64)
    return EdgeIndex(
        u=table["u"].to_numpy(dtype=np.int64)[keep],
        v=table["v"].to_numpy(dtype=np.int64)[keep],
        key=keys[keep],
        reverse_key=np.where(rev >= 0, keys[np.maximum(rev, 0)], -1).astype(np.int64),
        rows=kept_rows,
        reverse_rows=rev,
        geometry=geometry,
        tree=shapely.STRtree(geometry),
        crs=crs,
        segments=_segments(geometry),
    )


def _segments(geometry: np.ndarray, max_length: float = SEGMENT_M) -> Segments:
    dense = shapely.segmentize(geometry, max_length)
    coords, line = shapely.get_coordinates(dense, return_index=True)
    same = line[1:] == line[:-1]
    start, end, edge = coords[:-1][same], coords[1:][same], line[:-1][same]
    seg_len = np.hypot(*(end - start).T)
    # distance along the edge where each segment starts: cumulative length within each edge
    cum = np.cumsum(seg_len) - seg_len
    first = np.r_[True, edge[1:] != edge[:-1]]
    offset = cum - np.maximum.accumulate(np.where(first, cum, 0.0))
    edge_length = np.bincount(edge, weights=seg_len, minlength=len(geometry))
    return Segments(
        start=start,
        vector=end - start,
        data=np.ascontiguousarray(np.column_stack([start, end - start])),
        edge=edge,
        offset=offset,
        edge_length=edge_length,
        tree=cKDTree((start + end) / 2.0),
        max_length=max_length,
    )


def _nearest_segments(seg: Segments, xy: np.ndarray, k: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest segment to each point: (segment row or -1 where not proven, distance, parameter in [0, 1])."""
    k = min(k, len(seg.edge))
    mid_dist, cand = seg.tree.query(xy, k=k)
    mid_dist, cand = mid_dist.reshape(len(xy), k), cand.reshape(len(xy), k)
    S = seg.data[cand]  # (n, k, 4)
    ax = xy[:, 0:1] - S[..., 0]
    ay = xy[:, 1:2] - S[..., 1]
    bx, by = S[..., 2], S[..., 3]
    denom = bx * bx + by * by
    t = np.clip((ax * bx + ay * by) / np.where(denom > 0, denom, 1.0), 0.0, 1.0)
    dist = np.hypot(ax - t * bx, ay - t * by)
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(xy))
    best_dist = dist[rows, best]
    proven = (best_dist + seg.max_length / 2.0 <= mid_dist[:, -1] + 1e-9) | (k == len(seg.edge))
    return np.where(proven, cand[rows, best], -1), best_dist, t[rows, best]


def _projected_xy(points: gpd.GeoSeries | gpd.GeoDataFrame, crs: str) -> np.ndarray:
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if not isinstance(geo, gpd.GeoSeries):
        raise RoutingError("points must be a GeoSeries or GeoDataFrame of Points")
    if geo.crs is None:
        raise RoutingError("points have no CRS; set it (EPSG:4326 for longitude/latitude)")
    if len(geo) and (geo.isna() | geo.is_empty).any():
        raise RoutingError(
            f"{int((geo.isna() | geo.is_empty).sum())} points have no geometry; drop or geocode them before snapping"
        )
    if len(geo) and (geo.geom_type != "Point").any():
        raise RoutingError("only Point geometries can be snapped; take centroids or representative points first")
    if geo.crs.to_epsg() == 4326:
        transformer = Transformer.from_crs(4326, crs, always_xy=True)
        xy = np.column_stack(transformer.transform(geo.x.to_numpy(), geo.y.to_numpy()))
    else:
        xy = geo.to_crs(crs).get_coordinates().to_numpy()
    if len(xy) and not np.isfinite(xy).all():
        raise RoutingError(f"some points cannot be projected to {crs}; check they are longitude/latitude in range")
    return xy


def snap_points(
    net: RoadNetwork, points: gpd.GeoSeries | gpd.GeoDataFrame, crs: str = "EPSG:27700", limit_m: float = 1000.0
) -> pd.DataFrame:
    """Snap points to their nearest edge.

    Parameters
    ----------
    net : RoadNetwork
        The network (its snapping index for ``crs`` is built once and kept).
    points : GeoSeries or GeoDataFrame
        Points (any CRS; EPSG:4326 is transformed directly).
    crs : str
        Projected CRS for distances.
    limit_m : float
        Points farther than this from every edge are flagged ``too_far``.

    Returns
    -------
    DataFrame
        Index aligned with ``points``: ``edge`` (row in the EdgeIndex), ``u, v, key``, ``edge_fraction``
        (0 at ``u`` .. 1 at ``v``), ``snap_distance_m``, ``too_far``.
    """
    index = net.edge_index(crs)
    if limit_m <= 0:
        raise RoutingError(f"limit_m must be positive metres, got {limit_m}")
    xy = _projected_xy(points, index.crs)
    n = len(xy)
    edge = np.empty(n, dtype=np.int64)
    fraction = np.empty(n)
    distance = np.empty(n)
    seg = index.segments
    # visit points in grid order: neighbouring queries walk the same part of the KD-tree (much faster)
    cell = np.floor(xy / 1000.0).astype(np.int64) if n else np.empty((0, 2), dtype=np.int64)
    order = np.argsort((cell[:, 1] - cell[:, 1].min(initial=0)) * (1 << 32) + cell[:, 0], kind="stable")
    for lo in range(0, n, _CHUNK):
        part = order[lo : lo + _CHUNK]
        # few candidates first; points not proven (mostly far from any road) get more, then the STRtree
        for k in K_TIERS:
            row, dist, t = _nearest_segments(seg, xy[part], k)
            ok = row >= 0
            done, r = part[ok], row[ok]
            e = seg.edge[r]
            along = seg.offset[r] + t[ok] * np.hypot(seg.vector[r, 0], seg.vector[r, 1])
            length = seg.edge_length[e]
            edge[done] = e
            fraction[done] = along / np.where(length > 0, length, 1.0)
            distance[done] = dist[ok]
            part = part[~ok]
            if len(part) == 0:
                break
        if len(part):
            pts = shapely.points(xy[part])
            point_i, edge_i = index.tree.query_nearest(pts, all_matches=False)
            chosen = np.empty(len(part), dtype=np.int64)
            chosen[point_i] = edge_i
            edge[part] = chosen
            lines = index.geometry[chosen]
            fraction[part] = shapely.line_locate_point(lines, pts, normalized=True)
            distance[part] = shapely.distance(lines, pts)
    fraction = np.clip(np.nan_to_num(fraction, nan=0.0), 0.0, 1.0)
    fraction[fraction < _AT_NODE] = 0.0  # within a micrometre of an end: exactly at the node
    fraction[fraction > 1.0 - _AT_NODE] = 1.0
    out = pd.DataFrame(
        {
            "edge": edge,
            "u": index.u[edge],
            "v": index.v[edge],
            "key": index.key[edge],
            "edge_fraction": fraction,
            "snap_distance_m": distance,
            "too_far": distance > limit_m,
        },
        index=points.index,
    )
    return out


def seconds_along_edges(
    t_u: np.ndarray, t_v: np.ndarray, forward: np.ndarray, reverse: np.ndarray, fraction: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival time at fraction ``f`` of edges ``u -> v`` through each end: ``(via u, via v)``, ``inf`` if none.

    Via ``u``: ``t[u] + f * forward``. Via ``v``: ``t[v] + (1 - f) * reverse`` on a two-way road; on a one-way
    road (``reverse`` infinite) only a point at ``v`` itself is reached from ``v``.
    """
    via_u = t_u + fraction * forward
    with np.errstate(invalid="ignore"):
        back = np.where(
            np.isfinite(reverse), (1.0 - fraction) * reverse, np.where(fraction >= 1.0 - _AT_NODE, 0.0, np.inf)
        )
        via_v = t_v + back
    return via_u, np.where(np.isnan(via_v), np.inf, via_v)


def point_travel_times(
    index: EdgeIndex,
    snapped: pd.DataFrame,
    rg: RoutingGraph,
    node_seconds: np.ndarray,
    edge_seconds: np.ndarray,
    node_source: np.ndarray | None = None,
    access_speed_kph: float = 15.0,
) -> pd.DataFrame:
    """Travel time to snapped points from a node field.

    Parameters
    ----------
    index : EdgeIndex
        The index the points were snapped with (:meth:`RoadNetwork.edge_index`).
    snapped : DataFrame
        :func:`snap_points` output.
    rg : RoutingGraph
        Whose node order ``node_seconds`` follows.
    node_seconds : numpy.ndarray
        Field from :func:`geo_response.roads.fields.nearest_source_field` (or one row of ``per_source_fields``).
    edge_seconds : numpy.ndarray
        Travel seconds of every edge of the network under the same speed (:meth:`RoadNetwork.edge_times`).
    node_source : numpy.ndarray, optional
        Nearest source per node (from ``nearest_source_field``).
    access_speed_kph : float
        Speed of the off-network leg.

    Returns
    -------
    DataFrame
        ``travel_seconds`` (``inf`` where unreachable), ``via`` ('u' or 'v': the end the route comes
        through) and, with ``node_source``, ``source`` (-1 where unreachable); aligned with ``snapped``.
    """
    if access_speed_kph <= 0:
        raise RoutingError(f"access speed must be positive km/h, got {access_speed_kph}")
    node_seconds = np.asarray(node_seconds, dtype=float)
    if node_seconds.shape != (rg.n,):
        raise RoutingError(f"node field has shape {node_seconds.shape}, expected ({rg.n},) for this routing graph")
    forward, reverse = index.times(edge_seconds)
    edge = snapped["edge"].to_numpy(dtype=np.int64)
    forward, reverse = forward[edge], reverse[edge]
    f = snapped["edge_fraction"].to_numpy(dtype=float)
    ui, vi = rg.index_of(snapped["u"].to_numpy()), rg.index_of(snapped["v"].to_numpy())
    via_u, via_v = seconds_along_edges(node_seconds[ui], node_seconds[vi], forward, reverse, f)
    # a point at the end node v is reached when (and only when) the field reaches v: take it via v
    via_u = np.where(f >= 1.0 - _AT_NODE, np.inf, via_u)
    use_v = via_v < via_u
    access = snapped["snap_distance_m"].to_numpy(dtype=float) / (access_speed_kph / 3.6)
    seconds = np.where(use_v, via_v, via_u) + access
    out = pd.DataFrame({"travel_seconds": seconds, "via": np.where(use_v, "v", "u")}, index=snapped.index)
    if node_source is not None:
        node_source = np.asarray(node_source)
        source = np.where(use_v, node_source[vi], node_source[ui])
        out["source"] = np.where(np.isfinite(seconds), source, -1)
    return out


def snap_sources(
    net: RoadNetwork,
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    speed: str = "blue_light",
    *,
    when=None,
    access_speed_kph: float = 15.0,
    crs: str = "EPSG:27700",
    limit_m: float = 1000.0,
) -> tuple[fields.Sources, pd.DataFrame]:
    """Start points (bases, sites) snapped to their nearest edge, as :class:`fields.Sources` for Dijkstra.

    A source at fraction ``f`` of edge ``u -> v`` reaches ``v`` after ``(1 - f) * t(u->v)`` and, where the
    road is two-way, ``u`` after ``f * t(v->u)``; both plus the access leg (snap distance at
    ``access_speed_kph``). A source exactly at an end node reaches that node after the access leg alone.

    Returns
    -------
    (Sources, DataFrame)
        The sources (position ``i`` = row ``i`` of ``points``) and the :func:`snap_points` table.
    """
    if access_speed_kph <= 0:
        raise RoutingError(f"access speed must be positive km/h, got {access_speed_kph}")
    index = net.edge_index(crs)
    rg = net.csr(speed, when)
    snapped = snap_points(net, points, crs=crs, limit_m=limit_m)
    forward, reverse = index.times(net.edge_times(speed, when))
    edge = snapped["edge"].to_numpy(dtype=np.int64)
    f = snapped["edge_fraction"].to_numpy(dtype=float)
    fwd, rev = forward[edge], reverse[edge]
    access = snapped["snap_distance_m"].to_numpy(dtype=float) / (access_speed_kph / 3.6)
    ui, vi = rg.index_of(snapped["u"].to_numpy()), rg.index_of(snapped["v"].to_numpy())
    with np.errstate(invalid="ignore"):
        to_v = np.where(f >= 1.0, 0.0, (1.0 - f) * fwd)
        to_u = np.where(f <= 0.0, 0.0, np.where(np.isfinite(rev), f * rev, np.inf))
    k = len(edge)
    sources = fields.Sources(
        count=k,
        source=np.r_[np.arange(k), np.arange(k)],
        node=np.r_[vi, ui],
        seconds=np.r_[to_v + access, to_u + access],
        edge=edge,
        fraction=f,
        access_seconds=access,
        forward=fwd,
        reverse=rev,
    )
    return sources, snapped


def travel_times_from_sources(
    index: EdgeIndex,
    snapped: pd.DataFrame,
    rg: RoutingGraph,
    sources: fields.Sources,
    node_seconds: np.ndarray,
    edge_seconds: np.ndarray,
    node_source: np.ndarray | None = None,
    access_speed_kph: float = 15.0,
) -> pd.DataFrame:
    """:func:`point_travel_times` from a field of ``sources``, also along the edge a source sits on.

    A point on the same edge as a source (downstream, or either way on a two-way road) may be reached
    without leaving the edge (:func:`fields.same_edge_seconds`); the earlier of the two is kept.
    """
    out = point_travel_times(index, snapped, rg, node_seconds, edge_seconds, node_source, access_speed_kph)
    direct, which = fields.same_edge_seconds(
        sources, snapped["edge"].to_numpy(dtype=np.int64), snapped["edge_fraction"].to_numpy(dtype=float)
    )
    access = snapped["snap_distance_m"].to_numpy(dtype=float) / (access_speed_kph / 3.6)
    direct = direct + access
    better = direct < out["travel_seconds"].to_numpy(dtype=float)
    if better.any():
        out["travel_seconds"] = np.where(better, direct, out["travel_seconds"].to_numpy(dtype=float))
        out["via"] = np.where(better, "edge", out["via"].to_numpy())
        if node_source is not None:
            out["source"] = np.where(better, which, out["source"].to_numpy()).astype(np.int64)
    return out

"""Snap points to the nearest road edge and turn node travel-time fields into point travel times.

Points (incidents, addresses, candidate sites) are snapped to the nearest *edge* (not node) in a projected
CRS (EPSG:27700 for Britain) with a shapely STRtree. A point at fraction ``f`` along edge ``u -> v`` is
reached either via ``u`` (``t[u] + f * tt(u->v)``) or, where the road is two-way, via ``v``
(``t[v] + (1 - f) * tt(v->u)``), plus an off-network access leg ``snap distance / access speed``.
Points farther than ``limit_m`` from any edge are flagged ``too_far`` (their times are still given).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo_response import routing
from geo_response.errors import RoutingError
from geo_response.speeds import travel_time_field


@dataclass(frozen=True)
class EdgeIndex:
    """The graph's edges for snapping: one geometry per road piece (both directions share it).

    Nearest edges are found exactly with a KD-tree on the midpoints of short segments (at most
    ``SEGMENT_M`` long): among the ``K_NEAREST`` nearest midpoints the closest segment is exact whenever
    its distance + half a segment is within the distance of the farthest midpoint looked at; the rare other
    points fall back to the STRtree of whole edges.

    Attributes
    ----------
    u, v, key : numpy.ndarray
        The directed edge ``u -> v`` (key ``key``) whose geometry runs from ``u`` to ``v``.
    reverse_key : numpy.ndarray
        Key of the matching ``v -> u`` edge (same length), or -1 where the road is one-way.
    geometry : numpy.ndarray of LineString
        Projected geometries.
    tree : shapely.STRtree
    weights : dict
        For each ``travel_time_<profile>``: (forward seconds, reverse seconds or inf).
    crs : str
    """

    u: np.ndarray
    v: np.ndarray
    key: np.ndarray
    reverse_key: np.ndarray
    geometry: np.ndarray
    tree: shapely.STRtree
    weights: dict[str, tuple[np.ndarray, np.ndarray]]
    crs: str
    segments: _Segments


@dataclass(frozen=True)
class _Segments:
    """Edges cut into pieces of at most ``max_length`` m, with a KD-tree on their midpoints."""

    start: np.ndarray          # (m, 2)
    end: np.ndarray            # (m, 2)
    edge: np.ndarray           # row in the EdgeIndex
    offset: np.ndarray         # distance along the edge where the segment starts (m)
    edge_length: np.ndarray    # projected length of each edge (m), indexed by edge row
    tree: cKDTree
    max_length: float


def edge_index(G: nx.MultiDiGraph, crs: str = "EPSG:27700") -> EdgeIndex:
    """Build the snapping index of a graph (projected edge geometries, reverse edges, travel times).

    Parameters
    ----------
    G : networkx.MultiDiGraph
        EPSG:4326 graph; edges without ``geometry`` are straight lines between their nodes.
    crs : str
        Projected CRS for distances.
    """
    fields = [travel_time_field(p) for p in G.graph.get("speed_profiles", [])]
    xy = {n: (d["x"], d["y"]) for n, d in G.nodes(data=True)}
    rows_u, rows_v, rows_k, rows_rk, geoms, lengths = [], [], [], [], [], []
    fwd: dict[str, list] = {f: [] for f in fields}
    rev: dict[str, list] = {f: [] for f in fields}
    for u, v, k, d in G.edges(keys=True, data=True):
        length = d.get("length", 0.0)
        reverse = [(rk, rd) for rk, rd in G[v][u].items() if abs(rd.get("length", 0.0) - length) < 0.5] \
            if G.has_edge(v, u) else []
        if reverse and (u, k) > (v, reverse[0][0]):
            continue  # the same road piece is kept once, from its smaller end
        rows_u.append(u)
        rows_v.append(v)
        rows_k.append(k)
        rows_rk.append(reverse[0][0] if reverse else -1)
        geom = d.get("geometry")
        geoms.append(geom if geom is not None else shapely.LineString([xy[u], xy[v]]))
        lengths.append(length)
        for f in fields:
            fwd[f].append(d.get(f, np.inf))
            rev[f].append(min(rd.get(f, np.inf) for _, rd in reverse) if reverse else np.inf)
    geometry = np.asarray(geoms, dtype=object)
    transformer = Transformer.from_crs(4326, crs, always_xy=True)
    geometry = shapely.transform(geometry, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))
    # make every geometry start at u (OSMnx and pyrosm already do; straight lines by construction)
    u_xy = np.array([xy[n] for n in rows_u])
    u_proj = np.column_stack(transformer.transform(u_xy[:, 0], u_xy[:, 1]))
    start = shapely.get_coordinates(shapely.get_point(geometry, 0))
    end = shapely.get_coordinates(shapely.get_point(geometry, -1))
    flip = np.hypot(*(end - u_proj).T) < np.hypot(*(start - u_proj).T)
    geometry[flip] = shapely.reverse(geometry[flip])
    return EdgeIndex(
        segments=_segments(geometry),
        u=np.asarray(rows_u, dtype=np.int64), v=np.asarray(rows_v, dtype=np.int64),
        key=np.asarray(rows_k, dtype=np.int64), reverse_key=np.asarray(rows_rk, dtype=np.int64),
        geometry=geometry, tree=shapely.STRtree(geometry),
        weights={f: (np.asarray(fwd[f], dtype=float), np.asarray(rev[f], dtype=float)) for f in fields},
        crs=crs,
    )


SEGMENT_M = 50.0
K_NEAREST = 16
_CHUNK = 200_000


def _segments(geometry: np.ndarray, max_length: float = SEGMENT_M) -> _Segments:
    dense = shapely.segmentize(geometry, max_length)
    coords, line = shapely.get_coordinates(dense, return_index=True)
    same = line[1:] == line[:-1]
    start, end, edge = coords[:-1][same], coords[1:][same], line[:-1][same]
    seg_len = np.hypot(*(end - start).T)
    # distance along the edge where each segment starts: cumulative length within each edge
    cum = np.cumsum(seg_len)
    first = np.r_[True, edge[1:] != edge[:-1]]
    before = np.where(first, cum - seg_len, 0.0)
    offset = cum - seg_len - np.maximum.accumulate(before)
    edge_length = np.bincount(edge, weights=seg_len, minlength=len(geometry))
    return _Segments(start=start, end=end, edge=edge, offset=offset, edge_length=edge_length,
                     tree=cKDTree((start + end) / 2.0), max_length=max_length)


def _nearest_segments(seg: _Segments, xy: np.ndarray, k: int = K_NEAREST) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest segment to each point: (segment row, distance, parameter t in [0, 1]); -1 where not proven."""
    k = min(k, len(seg.edge))
    mid_dist, cand = seg.tree.query(xy, k=k, workers=-1)
    mid_dist, cand = np.atleast_2d(mid_dist.reshape(len(xy), -1)), np.atleast_2d(cand.reshape(len(xy), -1))
    a, b = seg.start[cand], seg.end[cand]                       # (n, k, 2)
    ab = b - a
    ap = xy[:, None, :] - a
    denom = np.einsum("nkd,nkd->nk", ab, ab)
    t = np.clip(np.einsum("nkd,nkd->nk", ap, ab) / np.where(denom > 0, denom, 1.0), 0.0, 1.0)
    closest = a + ab * t[..., None]
    dist = np.hypot(*(xy[:, None, :] - closest).transpose(2, 0, 1))
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(xy))
    best_dist = dist[rows, best]
    proven = best_dist + seg.max_length / 2.0 <= mid_dist[:, -1] + 1e-9
    return np.where(proven, cand[rows, best], -1), best_dist, t[rows, best]


def _projected_xy(points: gpd.GeoSeries | gpd.GeoDataFrame, crs: str) -> np.ndarray:
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geo.crs is None:
        raise RoutingError("points have no CRS; set it (EPSG:4326 for longitude/latitude)")
    if (geo.geom_type != "Point").any():
        raise RoutingError("only Point geometries can be snapped")
    if geo.crs.to_epsg() == 4326:
        transformer = Transformer.from_crs(4326, crs, always_xy=True)
        return np.column_stack(transformer.transform(geo.x.to_numpy(), geo.y.to_numpy()))
    return geo.to_crs(crs).get_coordinates().to_numpy()


def snap_points(G: nx.MultiDiGraph | EdgeIndex, points: gpd.GeoSeries | gpd.GeoDataFrame,
                crs: str = "EPSG:27700", limit_m: float = 1000.0) -> pd.DataFrame:
    """Snap points to their nearest edge.

    Parameters
    ----------
    G : networkx.MultiDiGraph or EdgeIndex
        The network, or an :class:`EdgeIndex` built once with :func:`edge_index` (faster for many calls).
    points : GeoSeries or GeoDataFrame
        Points (any CRS; EPSG:4326 is transformed directly).
    crs : str
        Projected CRS for distances (ignored when an EdgeIndex is given: it has its own).
    limit_m : float
        Points farther than this from every edge are flagged ``too_far``.

    Returns
    -------
    DataFrame
        Index aligned with ``points``: ``edge`` (row in the EdgeIndex), ``u, v, key``, ``edge_fraction``
        (0 at ``u`` .. 1 at ``v``), ``snap_distance_m``, ``too_far``.
    """
    index = G if isinstance(G, EdgeIndex) else edge_index(G, crs)
    xy = _projected_xy(points, index.crs)
    pts = shapely.points(xy)
    if len(pts) == 0:
        return pd.DataFrame({"edge": [], "u": [], "v": [], "key": [], "edge_fraction": [], "snap_distance_m": [],
                             "too_far": []})
    edge = np.empty(len(pts), dtype=np.int64)
    fraction = np.empty(len(pts))
    distance = np.empty(len(pts))
    seg = index.segments
    for lo in range(0, len(pts), _CHUNK):
        part = slice(lo, lo + _CHUNK)
        row, dist, t = _nearest_segments(seg, xy[part])
        ok = row >= 0
        e = seg.edge[np.maximum(row, 0)]
        along = seg.offset[np.maximum(row, 0)] + t * np.hypot(*(seg.end - seg.start)[np.maximum(row, 0)].T)
        edge[part] = e
        fraction[part] = along / np.where(seg.edge_length[e] > 0, seg.edge_length[e], 1.0)
        distance[part] = dist
        if not ok.all():  # not proven by the KD-tree: exact STRtree answer for these few points
            bad = np.flatnonzero(~ok) + lo
            point_i, edge_i = index.tree.query_nearest(pts[bad], all_matches=False)
            chosen = np.empty(len(bad), dtype=np.int64)
            chosen[point_i] = edge_i
            edge[bad] = chosen
            lines = index.geometry[chosen]
            fraction[bad] = shapely.line_locate_point(lines, pts[bad], normalized=True)
            distance[bad] = shapely.distance(lines, pts[bad])
    fraction = np.clip(np.nan_to_num(fraction, nan=0.0), 0.0, 1.0)
    return pd.DataFrame({
        "edge": edge, "u": index.u[edge], "v": index.v[edge], "key": index.key[edge],
        "edge_fraction": fraction, "snap_distance_m": distance,
        "too_far": distance > limit_m,
    }, index=points.index)


def point_travel_times(index: EdgeIndex, snapped: pd.DataFrame, rg: routing.RoutingGraph,
                       node_seconds: np.ndarray, node_source: np.ndarray | None = None,
                       access_speed_kph: float = 15.0) -> pd.DataFrame:
    """Travel time to snapped points from node fields.

    Parameters
    ----------
    index : EdgeIndex
        The index the points were snapped with.
    snapped : DataFrame
        :func:`snap_points` output.
    rg : RoutingGraph
        Whose node order ``node_seconds`` follows and whose ``weight`` names the travel-time field.
    node_seconds : numpy.ndarray
        Field from :func:`routing.nearest_source_field` (or one row of ``per_source_fields``).
    node_source : numpy.ndarray, optional
        Nearest source per node (from ``nearest_source_field``).
    access_speed_kph : float
        Speed of the off-network leg.

    Returns
    -------
    DataFrame
        ``travel_seconds`` (``inf`` where unreachable) and ``source`` (-1 where unreachable), aligned with
        ``snapped``.
    """
    if rg.weight not in index.weights:
        raise RoutingError(f"the edge index has no '{rg.weight}'; rebuild it from a graph with that profile")
    forward, reverse = index.weights[rg.weight]
    edge = snapped["edge"].to_numpy(dtype=np.int64)
    f = snapped["edge_fraction"].to_numpy(dtype=float)
    ui, vi = rg.index_of(index.u[edge]), rg.index_of(index.v[edge])
    via_u = node_seconds[ui] + f * forward[edge]
    via_v = node_seconds[vi] + (1.0 - f) * reverse[edge]
    use_v = via_v < via_u
    seconds = np.where(use_v, via_v, via_u) + snapped["snap_distance_m"].to_numpy() / (access_speed_kph / 3.6)
    out = pd.DataFrame({"travel_seconds": seconds}, index=snapped.index)
    if node_source is not None:
        source = np.where(use_v, node_source[vi], node_source[ui])
        out["source"] = np.where(np.isfinite(seconds), source, -1)
    return out


def travel_times_to_points(G: nx.MultiDiGraph, bases: gpd.GeoDataFrame,
                           points: gpd.GeoSeries | gpd.GeoDataFrame, profile: str = "blue_light",
                           access_speed_kph: float = 15.0, limit_m: float = 1000.0, crs: str = "EPSG:27700",
                           index: EdgeIndex | None = None, rg: routing.RoutingGraph | None = None) -> pd.DataFrame:
    """Travel time from the nearest base to each point: the one call most users need.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Network with ``travel_time_<profile>`` on edges.
    bases : GeoDataFrame
        Bases with ``base_id``, ``name`` and ``node`` (:func:`geo_response.bases.attach_nodes`; attached here
        if missing).
    points : GeoSeries or GeoDataFrame
        Where to go.
    profile : str
        Speed profile (``blue_light``, ``normal``, ``free_flow``).
    access_speed_kph, limit_m, crs
        See :func:`snap_points` and :func:`point_travel_times`.
    index, rg : optional
        A prebuilt :class:`EdgeIndex` and :class:`routing.RoutingGraph` to reuse across calls.

    Returns
    -------
    DataFrame
        Index aligned with ``points``: ``nearest_base`` (name; missing where unreachable), ``base_id``
        (-1 unreachable), ``travel_seconds``, ``travel_minutes`` (NaN where unreachable), ``snap_distance_m``,
        ``too_far``, ``reachable``.
    """
    if "node" not in bases.columns:
        from geo_response.bases import attach_nodes

        bases = attach_nodes(bases, G, crs)
    index = index or edge_index(G, crs)
    rg = rg or routing.to_csr(G, travel_time_field(profile))
    if rg.weight != travel_time_field(profile):
        raise RoutingError(f"routing graph is on '{rg.weight}', not the '{profile}' profile")
    seconds, source = routing.nearest_source_field(rg, bases["node"].to_numpy())
    snapped = snap_points(index, points, limit_m=limit_m)
    times = point_travel_times(index, snapped, rg, seconds, source, access_speed_kph)
    reachable = np.isfinite(times["travel_seconds"].to_numpy())
    src = times["source"].to_numpy()
    names = bases["name"].to_numpy()
    ids = bases["base_id"].to_numpy()
    return pd.DataFrame({
        "nearest_base": pd.array(np.where(reachable, names[np.maximum(src, 0)], None), dtype="object"),
        "base_id": np.where(reachable, ids[np.maximum(src, 0)], -1),
        "travel_seconds": times["travel_seconds"].to_numpy(),
        "travel_minutes": np.where(reachable, times["travel_seconds"].to_numpy() / 60.0, np.nan),
        "snap_distance_m": snapped["snap_distance_m"].to_numpy(),
        "too_far": snapped["too_far"].to_numpy(),
        "reachable": reachable,
    }, index=points.index)

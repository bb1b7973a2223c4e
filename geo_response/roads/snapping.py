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

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo_response.errors import RoutingError
from geo_response.roads import routing
from geo_response.roads.speeds import travel_time_field

SEGMENT_M = 50.0
K_TIERS = (12, 64)
_CHUNK = 50_000
_AT_NODE = 1e-9   # edge fraction this close to 0 or 1 is the end node itself
SNAP_COLUMNS = ["edge", "u", "v", "key", "edge_fraction", "snap_distance_m", "too_far"]


@dataclass(frozen=True)
class Segments:
    """Edges cut into straight pieces of at most ``max_length`` m, with a KD-tree on their midpoints."""

    start: np.ndarray          # (m, 2) projected
    vector: np.ndarray         # (m, 2) end - start
    data: np.ndarray           # (m, 4) start x, y and vector x, y side by side: one gather per candidate
    edge: np.ndarray           # row in the EdgeIndex
    offset: np.ndarray         # distance along the edge where the segment starts (m)
    edge_length: np.ndarray    # projected length of each edge (m), indexed by edge row
    tree: cKDTree
    max_length: float


@dataclass(frozen=True)
class EdgeIndex:
    """The graph's edges for snapping: one geometry per road piece (both directions share it).

    Attributes
    ----------
    u, v, key : numpy.ndarray
        The directed edge ``u -> v`` (key ``key``) whose geometry runs from ``u`` to ``v``.
    reverse_key : numpy.ndarray
        Key of the matching ``v -> u`` edge (same road: same length within 0.5 m), -1 where one-way.
    geometry : numpy.ndarray of LineString
        Projected geometries, each starting at ``u``.
    tree : shapely.STRtree
        On ``geometry``.
    weights : dict
        For each ``travel_time_<profile>`` on the graph: (seconds ``u -> v``, seconds ``v -> u`` or ``inf``).
    crs : str
        The projected CRS.
    segments : Segments
        The KD-tree search structure.
    """

    u: np.ndarray
    v: np.ndarray
    key: np.ndarray
    reverse_key: np.ndarray
    geometry: np.ndarray
    tree: shapely.STRtree
    weights: dict[str, tuple[np.ndarray, np.ndarray]]
    crs: str
    segments: Segments

    def u_pos(self, rg: routing.RoutingGraph) -> np.ndarray:
        """Row of each edge's ``u`` in the routing graph."""
        return rg.index_of(self.u)

    def v_pos(self, rg: routing.RoutingGraph) -> np.ndarray:
        """Row of each edge's ``v`` in the routing graph."""
        return rg.index_of(self.v)


def _edge_table(G: nx.MultiDiGraph, fields: list[str]) -> pd.DataFrame:
    rows = [(u, v, k, d.get("length", np.nan), d.get("geometry"), *(d.get(f, np.nan) for f in fields))
            for u, v, k, d in G.edges(keys=True, data=True)]
    return pd.DataFrame(rows, columns=["u", "v", "key", "length", "geometry", *fields])


def edge_index(G: nx.MultiDiGraph, crs: str = "EPSG:27700") -> EdgeIndex:
    """Build the snapping index of a graph (projected edge geometries, reverse edges, travel times).

    Memoised per graph and CRS (:func:`geo_response.roads.routing.graph_memo`): repeated snapping on the same
    graph reuses the index.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        EPSG:4326 graph; edges without ``geometry`` are straight lines between their nodes.
    crs : str
        Projected CRS for distances.

    Raises
    ------
    RoutingError
        If the graph has no edges.
    """
    return routing.graph_memo(G, ("edge_index", crs), lambda: _build_edge_index(G, crs))


def _build_edge_index(G: nx.MultiDiGraph, crs: str) -> EdgeIndex:
    fields = [travel_time_field(p) for p in G.graph.get("speed_profiles", [])]
    if not fields:  # graphs built by hand: take whatever travel_time_* attributes the edges have
        fields = sorted({a for _, _, d in G.edges(data=True) for a in d if a.startswith("travel_time_")})
    table = _edge_table(G, fields)
    if len(table) == 0:
        raise RoutingError("the network has no edges; check the OSM file or the area it was clipped to")
    # the same road in both directions: u->v and v->u of (nearly) the same length, not a self-loop
    pairs = table.reset_index().merge(table.reset_index(), left_on=["u", "v"], right_on=["v", "u"],
                                      suffixes=("", "_r"))
    pairs = pairs[(pairs["u"] != pairs["v"]) & ((pairs["length"] - pairs["length_r"]).abs() < 0.5)]
    pairs = pairs.sort_values(["index", "key_r"]).drop_duplicates("index")
    reverse_row = np.full(len(table), -1, dtype=np.int64)
    reverse_row[pairs["index"].to_numpy()] = pairs["index_r"].to_numpy()
    # keep each two-way road once (of a mutual pair u->v / v->u, the one listed first)
    rows = np.arange(len(table))
    mutual = (reverse_row >= 0) & (reverse_row[np.maximum(reverse_row, 0)] == rows)
    keep = ~mutual | (rows < reverse_row)
    reverse_row[~mutual] = -1  # a reverse edge that pairs with another parallel edge: treat this one as one-way
    kept = table[keep].reset_index(drop=True)
    rev = reverse_row[keep]

    xy = {n: (d["x"], d["y"]) for n, d in G.nodes(data=True)}
    u_xy = np.array([xy[n] for n in kept["u"]])
    v_xy = np.array([xy[n] for n in kept["v"]])
    geometry = kept["geometry"].to_numpy(dtype=object, copy=True)
    missing = pd.isna(geometry)
    if missing.any():
        geometry[missing] = shapely.linestrings(np.stack([u_xy[missing], v_xy[missing]], axis=1))
    transformer = Transformer.from_crs(4326, crs, always_xy=True)
    geometry = shapely.transform(geometry, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))
    # make every geometry start at u (OSMnx and pyrosm already do; straight lines by construction)
    u_proj = np.column_stack(transformer.transform(u_xy[:, 0], u_xy[:, 1]))
    coords = shapely.get_coordinates(geometry)
    last = np.cumsum(shapely.get_num_coordinates(geometry)) - 1
    start, end = coords[np.r_[0, last[:-1] + 1]], coords[last]
    flip = np.hypot(*(end - u_proj).T) < np.hypot(*(start - u_proj).T)
    geometry[flip] = shapely.reverse(geometry[flip])

    weights = {}
    for f in fields:
        forward = kept[f].to_numpy(dtype=float)
        reverse = np.where(rev >= 0, table[f].to_numpy(dtype=float)[np.maximum(rev, 0)], np.inf)
        weights[f] = (forward, np.where(np.isnan(reverse), np.inf, reverse))
    return EdgeIndex(
        u=kept["u"].to_numpy(dtype=np.int64), v=kept["v"].to_numpy(dtype=np.int64),
        key=kept["key"].to_numpy(dtype=np.int64),
        reverse_key=np.where(rev >= 0, table["key"].to_numpy()[np.maximum(rev, 0)], -1).astype(np.int64),
        geometry=geometry, tree=shapely.STRtree(geometry), weights=weights, crs=crs,
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
    return Segments(start=start, vector=end - start, data=np.ascontiguousarray(np.column_stack([start, end - start])),
                    edge=edge, offset=offset, edge_length=edge_length,
                    tree=cKDTree((start + end) / 2.0), max_length=max_length)


def _nearest_segments(seg: Segments, xy: np.ndarray, k: int = 12
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest segment to each point: (segment row or -1 where not proven, distance, parameter in [0, 1])."""
    k = min(k, len(seg.edge))
    mid_dist, cand = seg.tree.query(xy, k=k)
    mid_dist, cand = mid_dist.reshape(len(xy), k), cand.reshape(len(xy), k)
    S = seg.data[cand]                                            # (n, k, 4)
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
        raise RoutingError(f"{int((geo.isna() | geo.is_empty).sum())} points have no geometry; drop or "
                           "geocode them before snapping")
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
        (0 at ``u`` .. 1 at ``v``), ``snap_distance_m``, ``too_far``; and for each profile the edge's
        ``travel_time_<profile>`` (u -> v) and ``travel_time_<profile>_reverse`` (v -> u, ``inf`` if one-way),
        so :func:`point_travel_times` needs nothing else.
    """
    index = G if isinstance(G, EdgeIndex) else edge_index(G, crs)
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
        part = order[lo:lo + _CHUNK]
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
    fraction[fraction < _AT_NODE] = 0.0          # within a micrometre of an end: exactly at the node
    fraction[fraction > 1.0 - _AT_NODE] = 1.0
    out = pd.DataFrame({
        "edge": edge, "u": index.u[edge], "v": index.v[edge], "key": index.key[edge],
        "edge_fraction": fraction, "snap_distance_m": distance, "too_far": distance > limit_m,
    }, index=points.index)
    for field, (forward, reverse) in index.weights.items():
        out[field] = forward[edge]
        out[f"{field}_reverse"] = reverse[edge]
    return out


def _edge_seconds(G: nx.MultiDiGraph | EdgeIndex, snapped: pd.DataFrame, weight: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Seconds along the snapped edges in both directions (``inf`` where there is no reverse edge)."""
    if weight in snapped.columns and f"{weight}_reverse" in snapped.columns:
        return snapped[weight].to_numpy(dtype=float), snapped[f"{weight}_reverse"].to_numpy(dtype=float)
    index = G if isinstance(G, EdgeIndex) else edge_index(G)   # edge rows do not depend on the CRS
    if weight not in index.weights:
        raise RoutingError(f"the edge index has no '{weight}'; rebuild it from a graph with that profile")
    forward, reverse = index.weights[weight]
    edge = snapped["edge"].to_numpy(dtype=np.int64)
    return forward[edge], reverse[edge]


def seconds_along_edges(t_u: np.ndarray, t_v: np.ndarray, forward: np.ndarray, reverse: np.ndarray,
                        fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrival time at fraction ``f`` of edges ``u -> v`` through each end: ``(via u, via v)``, ``inf`` if none.

    Via ``u``: ``t[u] + f * forward``. Via ``v``: ``t[v] + (1 - f) * reverse`` on a two-way road; on a one-way
    road (``reverse`` infinite) only a point at ``v`` itself is reached from ``v``.
    """
    via_u = t_u + fraction * forward
    with np.errstate(invalid="ignore"):
        back = np.where(np.isfinite(reverse), (1.0 - fraction) * reverse,
                        np.where(fraction >= 1.0 - _AT_NODE, 0.0, np.inf))
        via_v = t_v + back
    return via_u, np.where(np.isnan(via_v), np.inf, via_v)


def point_travel_times(G: nx.MultiDiGraph | EdgeIndex, snapped: pd.DataFrame, rg: routing.RoutingGraph,
                       node_seconds: np.ndarray, node_source: np.ndarray | None = None,
                       access_speed_kph: float = 15.0) -> pd.DataFrame:
    """Travel time to snapped points from a node field.

    Parameters
    ----------
    G : networkx.MultiDiGraph or EdgeIndex
        The network the points were snapped to (only used when ``snapped`` lacks the edge times).
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
        ``travel_seconds`` (``inf`` where unreachable), ``via`` ('u' or 'v': the end the route comes
        through) and, with ``node_source``, ``source`` (-1 where unreachable); aligned with ``snapped``.
    """
    if access_speed_kph <= 0:
        raise RoutingError(f"access speed must be positive km/h, got {access_speed_kph}")
    node_seconds = np.asarray(node_seconds, dtype=float)
    if node_seconds.shape != (rg.n,):
        raise RoutingError(f"node field has shape {node_seconds.shape}, expected ({rg.n},) for this routing graph")
    forward, reverse = _edge_seconds(G, snapped, rg.weight)
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
        (-1 where unreachable), ``travel_seconds`` and ``travel_minutes`` (NaN where unreachable, never 0 or
        infinity), ``snap_distance_m``, ``too_far`` (farther than ``limit_m`` from any road; times still given),
        ``reachable``.
    """
    if len(bases) == 0:
        raise RoutingError("no bases to route from; give a bases CSV or an OSM file with police stations")
    if "node" not in bases.columns:
        from geo_response.bases import attach_nodes

        bases = attach_nodes(bases, G, crs)
    field = travel_time_field(profile)
    rg = rg or routing.to_csr(G, field)
    if rg.weight != field:
        raise RoutingError(f"routing graph is on '{rg.weight}', not the '{profile}' profile")
    index = index or edge_index(G, crs)
    if field not in index.weights:
        raise RoutingError(f"edges have no '{field}'; known profiles: "
                           f"{[w.removeprefix('travel_time_') for w in index.weights]}")
    seconds, source = routing.nearest_source_field(rg, bases["node"].to_numpy())
    snapped = snap_points(index, points, limit_m=limit_m)
    times = point_travel_times(index, snapped, rg, seconds, source, access_speed_kph)
    travel = times["travel_seconds"].to_numpy()
    reachable = np.isfinite(travel)
    src = times["source"].to_numpy()
    names = bases["name"].astype(str).to_numpy()
    ids = bases["base_id"].to_numpy()
    return pd.DataFrame({
        "nearest_base": pd.array(np.where(reachable, names[np.maximum(src, 0)], None), dtype="object"),
        "base_id": np.where(reachable, ids[np.maximum(src, 0)], -1),
        "travel_seconds": np.where(reachable, travel, np.nan),
        "travel_minutes": np.where(reachable, travel / 60.0, np.nan),
        "snap_distance_m": snapped["snap_distance_m"].to_numpy(),
        "too_far": snapped["too_far"].to_numpy(),
        "reachable": reachable,
    }, index=points.index)

"""Travel-time fields on a CSR matrix with scipy.sparse.csgraph (the low level of routing).

A :class:`RoutingGraph` is a network's edge weights for one speed profile as a CSR matrix (the fastest
parallel edge kept for each node pair); Dijkstra then runs from many sources at once.
:func:`nearest_source_field` gives, in one pass, the time from the nearest source to every node and which
source that is; :func:`per_source_fields` gives one field per source. Unreachable nodes have ``np.inf``
seconds and source ``-1``: callers report them (:func:`unreachable_count`) and never print them as 0 or
infinity. Build one with :meth:`geo_response.roads.roadnet.RoadNetwork.csr`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from geo_response.errors import RoutingError


@dataclass(frozen=True)
class RoutingGraph:
    """A graph as a CSR matrix of edge weights, with the graph node id of each row.

    Attributes
    ----------
    csr : scipy.sparse.csr_array
        ``n x n``; entry (i, j) is the smallest weight of the edges from node i to node j.
    node_ids : numpy.ndarray
        Graph node id of each row / column.
    weight : str
        The edge attribute the weights came from (e.g. ``travel_time_blue_light``).
    """

    csr: sparse.csr_array
    node_ids: np.ndarray
    weight: str

    @cached_property
    def _position(self) -> pd.Index:
        return pd.Index(self.node_ids)

    @classmethod
    def from_arrays(
        cls, u: np.ndarray, v: np.ndarray, seconds: np.ndarray, node_ids: np.ndarray, weight: str
    ) -> RoutingGraph:
        """A routing graph from edge arrays: ``u``/``v`` are node positions, ``seconds`` the edge weights.

        Parallel edges keep their smallest weight; a zero weight becomes 1e-9 s (csgraph reads explicit zeros
        as missing edges).

        Raises
        ------
        RoutingError
            If a weight is missing (NaN) or negative.
        """
        w = np.asarray(seconds, dtype=float)
        if np.isnan(w).any():
            raise RoutingError(
                f"{int(np.isnan(w).sum()):,} of {len(w):,} edges have no '{weight}'; add travel "
                "times (network.load_network does) or pick another speed profile"
            )
        if (w < 0).any():
            raise RoutingError(f"{int((w < 0).sum()):,} edges have a negative '{weight}'; fix the speeds")
        ui, vi = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
        order = np.lexsort((w, vi, ui))
        ui, vi, w = ui[order], vi[order], w[order]
        first = np.ones(len(ui), dtype=bool)
        first[1:] = (ui[1:] != ui[:-1]) | (vi[1:] != vi[:-1])
        weights = np.where(w[first] > 0, w[first], 1e-9)
        n = len(node_ids)
        csr = sparse.csr_array((weights, (ui[first], vi[first])), shape=(n, n))
        return cls(csr=csr, node_ids=np.asarray(node_ids), weight=weight)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def index_of(self, node_ids: Sequence | np.ndarray) -> np.ndarray:
        """Row indices of graph node ids.

        Raises
        ------
        RoutingError
            If any id is not a node of the graph.
        """
        ids = np.atleast_1d(np.asarray(node_ids))
        idx = self._position.get_indexer(ids)
        if (idx < 0).any():
            missing = ids[idx < 0][:5].tolist()
            raise RoutingError(
                f"nodes {missing} are not in the network; attach points with bases.attach_nodes "
                "or snapping.snap_points first"
            )
        return idx


def nearest_source_field(
    rg: RoutingGraph, source_nodes: Sequence | np.ndarray, limit: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Time from the nearest source to every node, in one multi-source Dijkstra pass.

    Parameters
    ----------
    rg : RoutingGraph
    source_nodes : sequence of graph node ids
        Where the units start (e.g. ``bases["node"]``). Repeats are allowed.
    limit : float, optional
        Stop searching beyond this many seconds (nodes beyond it are unreachable).

    Returns
    -------
    seconds : numpy.ndarray
        Shape ``(rg.n,)``; ``np.inf`` where no source reaches the node.
    source : numpy.ndarray of int
        Position in ``source_nodes`` of the nearest source; ``-1`` where unreachable.
    """
    if len(source_nodes) == 0:
        raise RoutingError("no sources (bases) to route from")
    idx = rg.index_of(source_nodes)
    dist, _, nearest = csgraph.dijkstra(
        rg.csr,
        directed=True,
        indices=idx,
        min_only=True,
        return_predecessors=True,
        limit=np.inf if limit is None else limit,
    )
    position = np.full(rg.n, -1, dtype=np.int64)
    # the first position of each source node (repeated nodes: the first base listed there)
    position[idx[::-1]] = np.arange(len(idx))[::-1]
    source = np.where(nearest >= 0, position[np.maximum(nearest, 0)], -1)
    return dist, source


def per_source_fields(rg: RoutingGraph, source_nodes: Sequence | np.ndarray, limit: float | None = None) -> np.ndarray:
    """One travel-time field per source: array of shape ``(len(source_nodes), rg.n)`` (``np.inf`` unreachable)."""
    if len(source_nodes) == 0:
        raise RoutingError("no sources (bases) to route from")
    idx = rg.index_of(source_nodes)
    return np.atleast_2d(csgraph.dijkstra(rg.csr, directed=True, indices=idx, limit=np.inf if limit is None else limit))


def unreachable_count(seconds: np.ndarray) -> int:
    """How many entries of a field are unreachable."""
    return int(np.count_nonzero(~np.isfinite(seconds)))


# ------------------------------------------------------------------------------------------------
# sources on the road: a base snapped to a point of an edge, reaching both ends
# ------------------------------------------------------------------------------------------------
_OFFSET = 1.0  # added to every start arc (csgraph reads explicit zeros as missing edges), subtracted after


@dataclass(frozen=True)
class Sources:
    """Start points snapped to edges, as start arcs into the routing graph (one virtual node per source).

    Built by :func:`geo_response.roads.snapping.snap_sources`. Source ``s`` reaches graph row ``node[i]``
    after ``seconds[i]`` for every arc ``i`` with ``source[i] == s`` (the access leg and the part of its
    edge to that end). ``edge``, ``fraction``, ``access_seconds`` describe where each source sits
    (edge row in the EdgeIndex, 0 at ``u`` .. 1 at ``v``) for points on the same edge; ``edge`` is -1 for a
    source placed on a node only.
    """

    count: int
    source: np.ndarray
    node: np.ndarray
    seconds: np.ndarray
    edge: np.ndarray
    fraction: np.ndarray
    access_seconds: np.ndarray
    forward: np.ndarray  # seconds u -> v of each source's edge (nan without an edge)
    reverse: np.ndarray  # seconds v -> u (inf where one-way)

    @classmethod
    def at_nodes(cls, rg: RoutingGraph, source_nodes: Sequence | np.ndarray) -> Sources:
        """Sources standing on graph nodes (no access leg, no edge)."""
        idx = rg.index_of(source_nodes) if len(source_nodes) else np.empty(0, dtype=np.int64)
        k = len(idx)
        return cls(
            count=k,
            source=np.arange(k),
            node=idx,
            seconds=np.zeros(k),
            edge=np.full(k, -1),
            fraction=np.zeros(k),
            access_seconds=np.zeros(k),
            forward=np.full(k, np.nan),
            reverse=np.full(k, np.inf),
        )

    def subset(self, which: Sequence[int] | np.ndarray) -> Sources:
        """The sources at positions ``which`` (renumbered 0..)."""
        which = np.asarray(which, dtype=np.int64)
        new = np.full(self.count, -1, dtype=np.int64)
        new[which] = np.arange(len(which))
        keep = np.isin(self.source, which)
        return Sources(
            count=len(which),
            source=new[self.source[keep]],
            node=self.node[keep],
            seconds=self.seconds[keep],
            edge=self.edge[which],
            fraction=self.fraction[which],
            access_seconds=self.access_seconds[which],
            forward=self.forward[which],
            reverse=self.reverse[which],
        )


def _with_sources(rg: RoutingGraph, sources: Sources) -> sparse.csr_array:
    """The routing graph's CSR matrix with one extra row (virtual node) per source, ``n + s``."""
    n, k = rg.n, sources.count
    ok = np.isfinite(sources.seconds)
    src, node, sec = sources.source[ok], sources.node[ok], sources.seconds[ok]
    order = np.lexsort((sec, node, src))  # one arc per (source, node): the shortest
    src, node, sec = src[order], node[order], sec[order]
    first = np.r_[True, (src[1:] != src[:-1]) | (node[1:] != node[:-1])] if len(src) else np.ones(0, bool)
    arcs = sparse.csr_array((sec[first] + _OFFSET, (src[first], node[first])), shape=(k, n + k))
    top = sparse.csr_array((rg.csr.data, rg.csr.indices, rg.csr.indptr), shape=(n, n + k))
    return sparse.csr_array(sparse.vstack([top, arcs], format="csr"))


def nearest_source_field_from(
    rg: RoutingGraph, sources: Sources, limit: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`nearest_source_field`, from sources snapped to edges (start arcs with their seconds).

    Returns ``(seconds, source)`` over the graph's nodes (``inf`` / ``-1`` where unreached).
    """
    if sources.count == 0:
        raise RoutingError("no sources (bases) to route from")
    # sources at the same place (same start arcs): the first listed wins, as with repeated nodes
    keys = np.column_stack(
        [
            sources.edge,
            sources.fraction,
            sources.access_seconds,
            np.bincount(sources.source, weights=sources.node + 1.0, minlength=sources.count),
        ]
    )
    _, first = np.unique(keys, axis=0, return_index=True)
    keep = np.sort(first)
    if len(keep) < sources.count:
        seconds, source = nearest_source_field_from(rg, sources.subset(keep), limit)
        return seconds, np.where(source >= 0, keep[np.maximum(source, 0)], -1)
    graph = _with_sources(rg, sources)
    rows = rg.n + np.arange(sources.count)
    dist, _, nearest = csgraph.dijkstra(
        graph,
        directed=True,
        indices=rows,
        min_only=True,
        return_predecessors=True,
        limit=np.inf if limit is None else limit + _OFFSET,
    )
    dist = dist[: rg.n] - _OFFSET
    nearest = nearest[: rg.n]
    source = np.where(nearest >= 0, nearest.astype(np.int64) - rg.n, -1).astype(np.int64)
    return np.where(np.isfinite(dist), np.maximum(dist, 0.0), np.inf), source


def per_source_fields_from(rg: RoutingGraph, sources: Sources, limit: float | None = None) -> np.ndarray:
    """Like :func:`per_source_fields`, from sources snapped to edges: shape ``(sources.count, rg.n)``."""
    if sources.count == 0:
        raise RoutingError("no sources (bases) to route from")
    graph = _with_sources(rg, sources)
    rows = rg.n + np.arange(sources.count)
    dist = (
        np.atleast_2d(
            csgraph.dijkstra(graph, directed=True, indices=rows, limit=np.inf if limit is None else limit + _OFFSET)
        )[:, : rg.n]
        - _OFFSET
    )
    return np.where(np.isfinite(dist), np.maximum(dist, 0.0), np.inf)


def same_edge_seconds(sources: Sources, edge: np.ndarray, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrival at points on the same edge as a source, along that edge only: ``(seconds, source)``.

    A point at fraction ``f_p`` of edge ``u -> v`` is reached from a source at ``f_b`` of the same edge in
    ``access + (f_p - f_b) * t(u->v)`` when ``f_p >= f_b``, or ``access + (f_b - f_p) * t(v->u)`` on a two-way
    road when ``f_p <= f_b``. Points on no source's edge get ``inf`` and ``-1``; with several sources on the
    edge, the earliest.
    """
    edge = np.asarray(edge, dtype=np.int64)
    fraction = np.asarray(fraction, dtype=float)
    best = np.full(len(edge), np.inf)
    which = np.full(len(edge), -1, dtype=np.int64)
    on_edge = np.flatnonzero(sources.edge >= 0)
    if len(on_edge) == 0 or len(edge) == 0:
        return best, which
    if (edge[1:] >= edge[:-1]).all():  # already in edge order (network samples are): no sort
        order = np.arange(len(edge))
        sorted_edges = edge
    else:
        order = np.argsort(edge, kind="stable")
        sorted_edges = edge[order]
    for s in on_edge:
        lo, hi = (
            np.searchsorted(sorted_edges, sources.edge[s], side="left"),
            np.searchsorted(sorted_edges, sources.edge[s], side="right"),
        )
        if lo == hi:
            continue
        pts = order[lo:hi]
        d = fraction[pts] - sources.fraction[s]
        with np.errstate(invalid="ignore"):
            along = np.where(
                d >= 0,
                d * sources.forward[s],
                np.where(np.isfinite(sources.reverse[s]), -d * sources.reverse[s], np.inf),
            )
        t = sources.access_seconds[s] + np.where(np.isnan(along), np.inf, along)
        better = t < best[pts]
        best[pts[better]] = t[better]
        which[pts[better]] = s
    return best, which

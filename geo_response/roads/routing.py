"""Travel-time fields on the road network with scipy.sparse.csgraph.

The graph is converted once per speed profile to a CSR matrix (the fastest parallel edge kept for each
node pair); Dijkstra then runs from many sources at once. ``nearest_source_field`` gives, in one pass,
the time from the nearest source to every node and which source that is; ``per_source_fields`` gives one
field per source. Unreachable nodes have ``np.inf`` seconds and source ``-1``: callers report them
(:func:`unreachable_count`) and never print them as 0 or infinity.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from geo_response.errors import RoutingError

_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def graph_memo(G: nx.MultiDiGraph, key: tuple, build: Callable[[], Any]) -> Any:
    """Return ``build()`` memoised per graph object and ``key``.

    Structures derived from a graph (CSR matrices, edge indexes) are rebuilt only when the graph changes:
    the memo is keyed on the graph object (held weakly, so it goes when the graph does), its node and edge
    counts and ``G.graph["speed_version"]`` (bumped by :func:`geo_response.roads.speeds.add_travel_times`).
    A caller that edits edge attributes by hand should call :func:`clear_memo`.
    """
    state = (G.number_of_nodes(), G.number_of_edges(), G.graph.get("speed_version"), *key)
    per_graph = _MEMO.setdefault(G, {})
    if state not in per_graph:
        per_graph[state] = build()
    return per_graph[state]


def clear_memo(G: nx.MultiDiGraph | None = None) -> None:
    """Forget memoised structures of ``G`` (or of every graph)."""
    if G is None:
        _MEMO.clear()
    else:
        _MEMO.pop(G, None)


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
            raise RoutingError(f"nodes {missing} are not in the network; attach points with bases.attach_nodes "
                               "or snapping.snap_points first")
        return idx


def to_csr(G: nx.MultiDiGraph, weight: str = "travel_time_blue_light") -> RoutingGraph:
    """Convert a graph to a :class:`RoutingGraph` on ``weight`` (memoised per graph, see :func:`graph_memo`).

    Raises
    ------
    RoutingError
        If an edge lacks the weight or has a negative one.
    """
    return graph_memo(G, ("csr", weight), lambda: _build_csr(G, weight))


def _build_csr(G: nx.MultiDiGraph, weight: str) -> RoutingGraph:
    """Convert a graph to a :class:`RoutingGraph` on one edge attribute.

    Parameters
    ----------
    G : networkx.MultiDiGraph
    weight : str
        Edge attribute (seconds for travel times). Every edge must have it.

    Raises
    ------
    RoutingError
        If an edge lacks the weight or has a negative one.
    """
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
    edges = list(G.edges(data=weight))
    if not edges:
        raise RoutingError("the network has no edges; check the OSM file or the area it was clipped to")
    u = np.fromiter((e[0] for e in edges), dtype=np.int64, count=len(edges))
    v = np.fromiter((e[1] for e in edges), dtype=np.int64, count=len(edges))
    w = pd.to_numeric(pd.Series([e[2] for e in edges], dtype=object), errors="coerce").to_numpy(dtype=float)
    if np.isnan(w).any():
        raise RoutingError(f"{int(np.isnan(w).sum()):,} of {len(w):,} edges have no numeric '{weight}'; add travel "
                           "times with speeds.add_travel_times (network.load_network does it) or pick another "
                           "profile")
    if (w < 0).any():
        raise RoutingError(f"{int((w < 0).sum()):,} edges have a negative '{weight}'; fix the speeds")
    index = pd.Index(node_ids)
    ui, vi = index.get_indexer(u), index.get_indexer(v)
    # keep the smallest weight of parallel edges: sort by (row, col, weight) and take the first of each pair
    order = np.lexsort((w, vi, ui))
    ui, vi, w = ui[order], vi[order], w[order]
    first = np.ones(len(ui), dtype=bool)
    first[1:] = (ui[1:] != ui[:-1]) | (vi[1:] != vi[:-1])
    # csgraph treats explicit zeros as missing edges: nudge zero-weight edges to a tiny positive weight
    weights = np.where(w[first] > 0, w[first], 1e-9)
    csr = sparse.csr_array((weights, (ui[first], vi[first])), shape=(len(node_ids), len(node_ids)))
    return RoutingGraph(csr=csr, node_ids=node_ids, weight=weight)


def nearest_source_field(rg: RoutingGraph, source_nodes: Sequence | np.ndarray,
                         limit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    dist, _, nearest = csgraph.dijkstra(rg.csr, directed=True, indices=idx, min_only=True,
                                        return_predecessors=True, limit=np.inf if limit is None else limit)
    position = np.full(rg.n, -1, dtype=np.int64)
    # the first position of each source node (repeated nodes: the first base listed there)
    position[idx[::-1]] = np.arange(len(idx))[::-1]
    source = np.where(nearest >= 0, position[np.maximum(nearest, 0)], -1)
    return dist, source


def per_source_fields(rg: RoutingGraph, source_nodes: Sequence | np.ndarray,
                      limit: float | None = None) -> np.ndarray:
    """One travel-time field per source: array of shape ``(len(source_nodes), rg.n)`` (``np.inf`` unreachable)."""
    if len(source_nodes) == 0:
        raise RoutingError("no sources (bases) to route from")
    idx = rg.index_of(source_nodes)
    return np.atleast_2d(csgraph.dijkstra(rg.csr, directed=True, indices=idx,
                                          limit=np.inf if limit is None else limit))


def unreachable_count(seconds: np.ndarray) -> int:
    """How many entries of a field are unreachable."""
    return int(np.count_nonzero(~np.isfinite(seconds)))

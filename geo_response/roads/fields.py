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
    def from_arrays(cls, u: np.ndarray, v: np.ndarray, seconds: np.ndarray, node_ids: np.ndarray,
                    weight: str) -> RoutingGraph:
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
            raise RoutingError(f"{int(np.isnan(w).sum()):,} of {len(w):,} edges have no '{weight}'; add travel "
                               "times (network.load_network does) or pick another speed profile")
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
            raise RoutingError(f"nodes {missing} are not in the network; attach points with bases.attach_nodes "
                               "or snapping.snap_points first")
        return idx


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

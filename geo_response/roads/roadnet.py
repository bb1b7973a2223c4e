"""The road network object: nodes and edges as columns, derived structures built once, on demand.

A :class:`RoadNetwork` owns everything routing needs, as arrays (learned from pandana's ``Network`` and
r5py's ``TransportNetwork``):

- ``nodes``: one row per node (``osmid``, ``x`` lon, ``y`` lat);
- ``edges``: one row per directed edge (``u``, ``v`` node ids, ``key``, ``length``, ``highway``, ``ref``,
  ``name``, ``maxspeed``, ``oneway``, ``limit_kph``, ``limit_imputed``, ``road_class``, ``setting`` and, for
  every speed profile, ``travel_time_<speed>``), string columns as categoricals;
- the edges' lon/lat vertices as one flat ``coords`` array with ``offsets`` (edge ``i`` runs over
  ``coords[offsets[i]:offsets[i + 1]]``), so no shapely object is held until one is needed;
- ``graph``: provenance (source, sha256, stand-in or OpenStreetMap, build report).

Derived structures are built on first use and kept on the object: the CSR matrix per speed profile and
time of the week (:meth:`RoadNetwork.csr`), the snapping index per CRS (:meth:`RoadNetwork.edge_index`) and the
isochrone samples (:meth:`RoadNetwork.samples`). The object is never edited in place, so nothing needs
invalidating. networkx stays the interchange format: :meth:`RoadNetwork.from_networkx` and
:meth:`RoadNetwork.to_networkx` convert both ways (OSMnx-compatible attributes).

The cache (:func:`save` / :func:`load`) is data, not code: Parquet tables and ``.npy`` arrays read with
``allow_pickle=False``, each file's SHA-256 recorded in ``meta.json`` and checked on load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo_response.config import Speeds
from geo_response.errors import NetworkBuildError, RoutingError
from geo_response.roads import speeds as speeds_module

__all__ = ["RoadNetwork", "load", "save"]

#: Edge columns kept as categoricals (few distinct values, many rows).
#: Edge attributes read from a networkx graph besides the travel times.
EDGE_ATTRIBUTES = (
    "osmid",
    "length",
    "highway",
    "ref",
    "name",
    "maxspeed",
    "oneway",
    "junction",
    "limit_kph",
    "limit_imputed",
    "road_class",
    "setting",
    "setting_source",
)
CACHE_FILES = ("nodes.parquet", "edges.parquet", "coords.npy", "offsets.npy")
FORMAT = 5


def edge_refs(value: object) -> set[str]:
    """The road refs of an edge's ``ref`` tag: ``"A12;A120"`` or ``["A12", "A120"]`` -> ``{"A12", "A120"}``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return set()
    items = value if isinstance(value, list | tuple | set) else [value]
    out: set[str] = set()
    for item in items:
        out.update(part.strip().upper().replace(" ", "") for part in str(item).split(";") if part.strip())
    return out


def _text(value: object) -> object:
    """An OSM tag value as one string (OSMnx lists after simplification joined by ';'), or None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list | tuple | set):
        parts = [str(v) for v in value if v is not None]
        return ";".join(dict.fromkeys(parts)) if parts else None
    return str(value)


def _as_bool(value: object) -> bool:
    if isinstance(value, list | tuple):
        return any(_as_bool(v) for v in value)
    return str(value).strip().lower() in ("true", "yes", "1", "-1")


@dataclass(eq=False)
class RoadNetwork:
    """A drive network as columns, with its routing structures built on demand.

    Attributes
    ----------
    nodes : DataFrame
        ``osmid`` (int64), ``x`` (lon), ``y`` (lat); row ``i`` is CSR position ``i``.
    edges : DataFrame
        One row per directed edge (see the module notes).
    coords : numpy.ndarray
        ``(m, 2)`` lon/lat vertices of every edge, each edge from ``u`` to ``v``.
    offsets : numpy.ndarray
        ``(len(edges) + 1,)`` start of each edge's vertices in ``coords``.
    graph : dict
        Provenance and build report (``source``, ``source_sha256``, ``standin``, ``network_label``,
        ``build``, ``speed_profiles``, ``crs``).
    speeds : Speeds, optional
        The force profile's speed settings, for travel times at another time of the week.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    coords: np.ndarray
    offsets: np.ndarray
    graph: dict = field(default_factory=dict)
    speeds: Speeds | None = None
    _derived: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ sizes and lookups
    def number_of_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def number_of_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edges)

    @property
    def node_ids(self) -> np.ndarray:
        """Node ids in CSR order."""
        return self.nodes["osmid"].to_numpy()

    def _memo(self, key: tuple, build: Any) -> Any:
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def node_position(self, node_ids: Iterable | np.ndarray) -> np.ndarray:
        """CSR positions of node ids.

        Raises
        ------
        RoutingError
            If any id is not a node of the network.
        """
        index = self._memo(("node_index",), lambda: pd.Index(self.node_ids))
        ids = np.atleast_1d(np.asarray(node_ids))
        pos = index.get_indexer(ids)
        if (pos < 0).any():
            raise RoutingError(f"nodes {ids[pos < 0][:5].tolist()} are not in the network; snap points first")
        return pos

    @property
    def speed_profiles(self) -> list[str]:
        """Speed profiles whose travel times the edges carry."""
        return [c.removeprefix("travel_time_") for c in self.edges.columns if c.startswith("travel_time_")]

    # ------------------------------------------------------------------ travel times and routing
    def edge_times(self, speed: str, when: speeds_module.When | str | int | None = None) -> np.ndarray:
        """Travel seconds of every edge under a speed profile (at a time of the week when given).

        Raises
        ------
        RoutingError
            If the network has no times for ``speed``, or ``when`` is given but the network lacks the
            limits, classes and settings needed to recompute them.
        """
        column = f"travel_time_{speed}"
        if when is None:
            if column not in self.edges.columns:
                raise RoutingError(
                    f"the network has no '{speed}' travel times; known speed profiles: {self.speed_profiles}"
                )
            return self.edges[column].to_numpy(dtype=float)
        needed = ("limit_kph", "road_class", "setting")
        if self.speeds is None or speed not in self.speeds.profiles or not set(needed) <= set(self.edges.columns):
            raise RoutingError(
                f"travel times at {when} need speed limits, road classes and the force "
                "profile's speeds; load the network with network.load_network"
            )
        when = speeds_module.parse_when(when)
        return self._memo(
            ("edge_times", speed, str(when)),
            lambda: speeds_module.edge_travel_times(
                self.edges["length"].to_numpy(float),
                self.edges["limit_kph"].to_numpy(float),
                self.edges["road_class"].astype(str).to_numpy(),
                self.edges["setting"].astype(str).to_numpy(),
                self.speeds.profiles[speed],
                when=when,
            ),
        )

    def csr(self, speed: str = "blue_light", when: speeds_module.When | str | int | None = None):
        """The CSR matrix of travel seconds (:class:`geo_response.roads.fields.RoutingGraph`), built once."""
        from geo_response.roads.fields import RoutingGraph

        def build() -> RoutingGraph:
            return RoutingGraph.from_arrays(
                self.node_position(self.edges["u"].to_numpy()),
                self.node_position(self.edges["v"].to_numpy()),
                self.edge_times(speed, when),
                self.node_ids,
                f"travel_time_{speed}",
            )

        key = None if when is None else str(speeds_module.parse_when(when))
        return self._memo(("csr", speed, key), build)

    def edge_index(self, crs: str = "EPSG:27700"):
        """The snapping index (:class:`geo_response.roads.snapping.EdgeIndex`) in a projected CRS, built once."""
        from geo_response.roads.snapping import build_edge_index

        return self._memo(("edge_index", crs), lambda: build_edge_index(self, crs))

    def samples(self, crs: str = "EPSG:27700", pad_m: float = 300.0, sample_m: float = 25.0, cell_m: float = 50.0):
        """Isochrone samples (:class:`geo_response.roads.isochrones.NetworkSamples`), built once per setting."""
        from geo_response.roads.isochrones import network_samples

        return self._memo(
            ("samples", crs, pad_m, sample_m, cell_m),
            lambda: network_samples(self.edge_index(crs), sample_m=sample_m, cell_m=cell_m, pad_m=pad_m),
        )

    def nearest_nodes(self, points: gpd.GeoSeries, crs: str = "EPSG:27700") -> tuple[np.ndarray, np.ndarray]:
        """Nearest node id of each point and its distance in metres (a KD-tree on the projected nodes, kept)."""

        def build() -> cKDTree:
            projected = gpd.GeoSeries(gpd.points_from_xy(self.nodes["x"], self.nodes["y"]), crs=4326).to_crs(crs)
            return cKDTree(projected.get_coordinates().to_numpy())

        tree = self._memo(("node_tree", crs), build)
        distance, pos = tree.query(points.to_crs(crs).get_coordinates().to_numpy())
        return self.node_ids[pos], distance

    # ------------------------------------------------------------------ geometry
    def edge_geometries(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Lon/lat LineStrings of edges (all, or ``rows``), made on request (not held)."""
        rows = np.arange(len(self.edges)) if rows is None else np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        counts = ends - starts
        take = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(counts.sum())
        return shapely.linestrings(self.coords[take], indices=np.repeat(np.arange(len(rows)), counts))

    def node_xy(self, node_ids: Iterable | np.ndarray) -> np.ndarray:
        """Lon/lat of node ids, shape ``(n, 2)``."""
        pos = self.node_position(node_ids)
        return self.nodes[["x", "y"]].to_numpy()[pos]

    # ------------------------------------------------------------------ conversion
    @classmethod
    def from_networkx(cls, G: nx.MultiDiGraph, speeds: Speeds | None = None) -> RoadNetwork:
        """The network of an OSMnx-style graph (nodes with ``x``/``y``; edges with ``length`` and
        ``travel_time_<speed>``; ``geometry`` optional: straight lines between the nodes otherwise).
        """
        if G.number_of_edges() == 0:
            raise RoutingError("the network has no edges; check the OSM file or the area it was clipped to")
        node_ids = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
        nodes = pd.DataFrame(
            {
                "osmid": node_ids,
                "x": np.fromiter((d.get("x", np.nan) for _, d in G.nodes(data=True)), float, len(G)),
                "y": np.fromiter((d.get("y", np.nan) for _, d in G.nodes(data=True)), float, len(G)),
            }
        )
        rows = list(G.edges(keys=True, data=True))
        times = sorted({a for *_, d in rows for a in d if a.startswith(("travel_time_", "speed_kph_"))})
        table: dict[str, Any] = {
            "u": np.fromiter((r[0] for r in rows), np.int64, len(rows)),
            "v": np.fromiter((r[1] for r in rows), np.int64, len(rows)),
            "key": np.fromiter((r[2] for r in rows), np.int64, len(rows)),
        }
        for name in EDGE_ATTRIBUTES + tuple(times):
            values = [r[3].get(name) for r in rows]
            if all(v is None for v in values):
                if name == "length":
                    table[name] = np.full(len(rows), np.nan)
                continue
            if name in ("length", "limit_kph") or name.startswith(("travel_time_", "speed_kph_")):
                table[name] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
            elif name in ("oneway", "limit_imputed"):
                table[name] = np.array([_as_bool(v) for v in values], dtype=bool)
            else:
                table[name] = pd.Series([_text(v) for v in values], dtype=object).astype("category")
        edges = pd.DataFrame(table)
        xy = dict(zip(node_ids.tolist(), nodes[["x", "y"]].to_numpy().tolist(), strict=True))
        lines = []
        for u, v, _, d in rows:
            geom = d.get("geometry")
            lines.append(np.asarray(geom.coords) if geom is not None else np.array([xy[u], xy[v]]))
        counts = np.fromiter((len(c) for c in lines), np.int64, len(lines))
        coords = np.concatenate(lines)[:, :2].astype(float)
        meta = {k: v for k, v in G.graph.items() if k not in ("speed_version",)}
        meta.setdefault("crs", "epsg:4326")
        meta["speed_profiles"] = [t.removeprefix("travel_time_") for t in times if t.startswith("travel_time_")]
        return cls(
            nodes=nodes, edges=edges, coords=coords, offsets=np.r_[0, np.cumsum(counts)], graph=meta, speeds=speeds
        )

    def to_networkx(self) -> nx.MultiDiGraph:
        """An OSMnx-compatible ``MultiDiGraph`` (edge geometries as shapely LineStrings)."""
        G = nx.MultiDiGraph(**{k: v for k, v in self.graph.items()})
        G.add_nodes_from(
            (int(i), {"x": float(x), "y": float(y)})
            for i, x, y in self.nodes[["osmid", "x", "y"]].itertuples(index=False)
        )
        geoms = self.edge_geometries()
        records = self.edges.drop(columns=["u", "v", "key"]).to_dict(orient="records")
        for (u, v, k), data, geom in zip(
            self.edges[["u", "v", "key"]].itertuples(index=False), records, geoms, strict=True
        ):
            data = {a: b for a, b in data.items() if b is not None and not (isinstance(b, float) and np.isnan(b))}
            if isinstance(data.get("osmid"), str):  # OSMnx keeps way ids as an int, or a list of them
                ids = [int(w) if w.lstrip("-").isdigit() else w for w in data["osmid"].split(";")]
                data["osmid"] = ids[0] if len(ids) == 1 else ids
            G.add_edge(int(u), int(v), key=int(k), geometry=geom, **data)
        return G

    def memory_bytes(self) -> int:
        """Bytes held by the node and edge tables and the vertex arrays (not the derived structures)."""
        return int(
            self.nodes.memory_usage(deep=True).sum()
            + self.edges.memory_usage(deep=True).sum()
            + self.coords.nbytes
            + self.offsets.nbytes
        )


# ---------------------------------------------------------------------- the cache: data, not code
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def save(net: RoadNetwork, folder: str | Path) -> Path:
    """Write a network as Parquet tables and ``.npy`` arrays with a ``meta.json`` of their SHA-256s.

    Written into a temporary folder beside ``folder`` and renamed into place, so a reader never sees a
    half-written cache.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        net.nodes.to_parquet(tmp / "nodes.parquet", index=False)
        net.edges.to_parquet(tmp / "edges.parquet", index=False)
        np.save(tmp / "coords.npy", np.ascontiguousarray(net.coords, dtype=float), allow_pickle=False)
        np.save(tmp / "offsets.npy", np.ascontiguousarray(net.offsets, dtype=np.int64), allow_pickle=False)
        meta = {
            "format": FORMAT,
            "files": {f: _sha256(tmp / f) for f in CACHE_FILES},
            "graph": json.loads(json.dumps(net.graph, default=str)),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load(folder: str | Path, speeds: Speeds | None = None) -> RoadNetwork:
    """Read a network written by :func:`save`, checking every file against its recorded SHA-256.

    Raises
    ------
    NetworkBuildError
        If a file is missing, altered (hash mismatch) or of another format.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NetworkBuildError(f"network cache {folder} has no readable meta.json ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise NetworkBuildError(f"network cache {folder} is format {meta.get('format')}, not {FORMAT}")
    for name in CACHE_FILES:
        path = folder / name
        if not path.is_file() or _sha256(path) != meta.get("files", {}).get(name):
            raise NetworkBuildError(
                f"network cache file {path} is missing or does not match its recorded SHA-256 (altered or truncated)"
            )
    nodes = pd.read_parquet(folder / "nodes.parquet")
    edges = pd.read_parquet(folder / "edges.parquet")
    coords = np.load(folder / "coords.npy", allow_pickle=False)
    offsets = np.load(folder / "offsets.npy", allow_pickle=False)
    return RoadNetwork(nodes=nodes, edges=edges, coords=coords, offsets=offsets, graph=meta["graph"], speeds=speeds)

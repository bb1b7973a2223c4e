"""Road networks: OSM files or Overpass -> clipped, strongly connected, OSMnx-compatible drive graphs.

Sources
-------
- ``.osm.pbf`` (a Geofabrik extract, or the bundle's stand-in): parsed with pyrosm
  (``get_network("driving")`` then ``to_graph(..., osmnx_compatible=True)``, which simplifies the graph
  topologically, keeping nodes where ``maxspeed`` or ``highway`` changes).
- ``.osm`` / ``.osm.bz2`` (OSM XML): parsed with ``osmnx.graph_from_xml`` (simplified by OSMnx).
- Overpass: ``graph_from_place`` / ``graph_from_polygon`` call OSMnx's downloaders (``network_type="drive"``).

Every graph then goes through the same steps: clip to the force boundary plus a buffer (units near the
border can come from outside), keep the largest strongly connected component (reporting what was
dropped), add travel times for every speed profile (:mod:`geo_response.speeds`) and record provenance
in ``G.graph``. Graphs built from files are cached (pickle, keyed by the file's SHA-256 and the options),
so a second load skips the build.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import shapely
from shapely.geometry.base import BaseGeometry

from geo_response import __version__, geography, speeds
from geo_response.config import ForceProfile, load_profile
from geo_response.datadir import find_file, user_cache_dir
from geo_response.errors import NetworkBuildError

logger = logging.getLogger(__name__)

STANDIN_FILE = "osm/essex_standin.osm.pbf"
STANDIN_LABEL = "synthetic stand-in network (NOT OpenStreetMap data, NOT real Essex road geometry)"
OSM_LABEL = "© OpenStreetMap contributors (ODbL)"
GEOFABRIK_URL = "https://download.geofabrik.de/europe/united-kingdom/england/essex-latest.osm.pbf"
CACHE_FORMAT = 3  # bump when the cached graph's contents change meaning
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm.bz2", ".osm", ".xml")
_NODE_METADATA = ("geometry", "visible", "version", "timestamp", "changeset", "tags")
_EDGE_METADATA = ("visible", "version", "timestamp", "changeset", "tags", "u", "v")


def essex_standin_path(data_dir: str | Path | None = None) -> Path:
    """Path of the bundle's synthetic stand-in Essex network (PBF)."""
    return find_file(STANDIN_FILE, data_dir, url=GEOFABRIK_URL)


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def osm_generator(path: str | Path) -> str:
    """The ``generator`` named in an OSM file's header ('' if none)."""
    import osmium

    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        return str(reader.header().get("generator") or "")
    finally:
        reader.close()


def is_standin(path: str | Path) -> bool:
    """True for the bundle's synthetic stand-in network (its header says so)."""
    generator = osm_generator(path).lower()
    return "stand-in" in generator or "standin" in generator or "synthetic" in generator


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in OSM_SUFFIXES:
        if name.endswith(s):
            return s
    raise NetworkBuildError(
        f"{path} is not an OSM file: expected one of {', '.join(OSM_SUFFIXES)} "
        f"(a Geofabrik extract such as {GEOFABRIK_URL})"
    )


def graph_from_pbf(path: str | Path, bounding_box: list[float] | None = None) -> nx.MultiDiGraph:
    """Drive network from an ``.osm.pbf`` file with pyrosm (topologically simplified, all components)."""
    import pyrosm

    try:
        osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
        nodes, edges = osm.get_network(network_type="driving", nodes=True)
    except Exception as exc:  # pyrosm raises plain errors (and KeyErrors) for corrupt or truncated files
        raise NetworkBuildError(f"could not read {path} as an OSM PBF file ({type(exc).__name__}: {exc}); is the "
                                f"download complete? Fetch it again (e.g. {GEOFABRIK_URL})") from exc
    if edges is None or len(edges) == 0:
        raise NetworkBuildError(f"{path} holds no drivable roads (highway=* ways); is it the right extract?")
    G = osm.to_graph(nodes, edges, graph_type="networkx", osmnx_compatible=True, retain_all=True,
                     simplify=True, progress=False)
    G.graph["crs"] = "epsg:4326"
    return strip_attributes(G)


def strip_attributes(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Drop per-element OSM metadata that nothing uses (versions, timestamps, raw tag JSON), in place.

    Keeps the graph small in memory and in the cache.
    """
    for _, data in G.nodes(data=True):
        for k in _NODE_METADATA:
            data.pop(k, None)
    for _, _, data in G.edges(data=True):
        for k in _EDGE_METADATA:
            data.pop(k, None)
    return G


# access tags a drive filter needs beyond OSMnx's default useful_tags_way
_ACCESS_TAGS = ("motorcar", "motor_vehicle", "vehicle")


@functools.cache
def _driving_filter() -> dict:
    from pyrosm.config import NetworkFilter

    return NetworkFilter.driving


def is_drivable(tags: dict) -> bool:
    """Whether a way with these tags is open to cars, by pyrosm's ``driving`` filter (OSMnx's 'drive').

    The same rule the PBF path applies (:func:`graph_from_pbf` asks pyrosm for ``network_type="driving"``),
    so an XML and a PBF file of the same data give the same roads: a ``highway`` tag is required; footways,
    cycleways, tracks, service roads, areas and ways closed by the most specific access tag (``motorcar`` >
    ``motor_vehicle`` > ``vehicle`` > ``access``) are not drivable.
    """
    if tags.get("highway") is None:
        return False
    for key, excluded in _driving_filter().items():
        if hasattr(excluded, "closes"):
            if excluded.closes(tags):
                return False
        elif tags.get(key) is not None and tags[key] in excluded:
            return False
    return True


def graph_from_xml(path: str | Path) -> nx.MultiDiGraph:
    """Drive network from an OSM XML file (``.osm`` or ``.osm.bz2``) with OSMnx (simplified).

    OSMnx reads every way of a file; ways cars may not use (:func:`is_drivable`) are removed before the
    graph is simplified.
    """
    saved = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = list(dict.fromkeys([*saved, *_ACCESS_TAGS]))
    try:
        G = ox.graph_from_xml(str(path), simplify=False, retain_all=True, bidirectional=False)
    except Exception as exc:  # OSMnx raises plain errors for unreadable XML
        raise NetworkBuildError(f"could not read {path} as OSM XML: {exc}") from exc
    finally:
        ox.settings.useful_tags_way = saved
    G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not is_drivable(d)])
    G.remove_nodes_from([n for n in list(G) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise NetworkBuildError(f"{path} holds no drivable roads (highway=* ways open to cars); is it the right "
                                "extract?")
    for _, _, d in G.edges(data=True):
        for key in _ACCESS_TAGS:
            d.pop(key, None)
    return ox.simplify_graph(G)


def largest_strong_component(G: nx.MultiDiGraph) -> tuple[nx.MultiDiGraph, dict]:
    """Keep the largest strongly connected component and say what was dropped."""
    components = list(nx.strongly_connected_components(G))
    if not components:
        raise NetworkBuildError("the network is empty after clipping: is the boundary right for this file?")
    largest = max(components, key=len)
    dropped_nodes = len(G) - len(largest)
    report = {"components": len(components), "components_dropped": len(components) - 1,
              "nodes_dropped_scc": dropped_nodes}
    if dropped_nodes:
        G = G.subgraph(largest).copy()
    return G, report


def clip_to_area(G: nx.MultiDiGraph, area: BaseGeometry) -> tuple[nx.MultiDiGraph, int]:
    """Keep the part of the graph inside ``area`` (lon/lat), whole edges that cross it included."""
    n = len(G)
    G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    return G, n - len(G)


def finish_graph(G: nx.MultiDiGraph, profile: ForceProfile, *, area: BaseGeometry | None, source: str,
                 source_sha256: str, standin: bool, options: dict) -> nx.MultiDiGraph:
    """Clip, keep the largest strongly connected component, add travel times and provenance."""
    raw_nodes, raw_edges = len(G), G.number_of_edges()
    clipped = 0
    if area is not None:
        G, clipped = clip_to_area(G, area)
    G, scc = largest_strong_component(G)
    speeds.add_travel_times(G, profile.speeds)
    G.graph.update({
        "crs": "epsg:4326",
        "source": source,
        "source_sha256": source_sha256,
        "standin": standin,
        "network_label": STANDIN_LABEL if standin else OSM_LABEL,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "geo_response_version": __version__,
        "options": options,
        "build": {"raw_nodes": raw_nodes, "raw_edges": raw_edges, "nodes_clipped": clipped, **scc,
                  "nodes": len(G), "edges": G.number_of_edges()},
    })
    return G


def _cache_key(sha: str, profile: ForceProfile, options: dict) -> str:
    payload = json.dumps({"sha": sha, "options": options, "speeds": asdict(profile.speeds),
                          "format": CACHE_FORMAT, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _save_cache(G: nx.MultiDiGraph, path: Path) -> None:
    """Pickle the graph with edge geometries packed as flat coordinate arrays (fast to rebuild)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    G = G.copy()
    keys, geoms = [], []
    for u, v, k, data in G.edges(keys=True, data=True):
        geom = data.pop("geometry", None)
        if geom is not None:
            keys.append((u, v, k))
            geoms.append(geom)
    coords, index = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    payload = {"graph": G, "geometry_edges": keys, "geometry_coords": coords, "geometry_index": index}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _load_cache(path: Path) -> nx.MultiDiGraph:
    with open(path, "rb") as f:
        payload = pickle.load(f)
    G = payload["graph"]
    lines = shapely.linestrings(payload["geometry_coords"], indices=payload["geometry_index"])
    for (u, v, k), line in zip(payload["geometry_edges"], lines, strict=True):
        G.edges[u, v, k]["geometry"] = line
    return G


def load_network(source: str | Path | None = None, *, profile: ForceProfile | None = None,
                 data_dir: str | Path | None = None, cache_dir: str | Path | None = None, clip: bool = True,
                 buffer_m: float | None = None, use_cache: bool = True) -> nx.MultiDiGraph:
    """Load the drive network of the force area from an OSM file, with travel times for every profile.

    Parameters
    ----------
    source : str or Path, optional
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2``. Default: the bundle's synthetic stand-in for Essex.
    profile : ForceProfile, optional
        Force profile (boundary, buffer, speeds). Default: the embedded Essex profile.
    data_dir : str or Path, optional
        Data directory for the boundary and the default source.
    cache_dir : str or Path, optional
        Where built graphs are cached (default: the user cache's ``networks/`` folder).
    clip : bool
        Clip to the force boundary plus ``buffer_m`` (default True).
    buffer_m : float, optional
        Buffer around the boundary in metres (default: ``profile.geography.boundary_buffer_m``).
    use_cache : bool
        Read and write the cache (default True).

    Returns
    -------
    networkx.MultiDiGraph
        OSMnx-compatible, EPSG:4326, one strongly connected component. ``G.graph["build"]`` reports
        sizes, what was dropped, seconds taken and whether the cache was used; ``G.graph["standin"]`` and
        ``G.graph["network_label"]`` say whether the network is the synthetic stand-in.

    Raises
    ------
    DataFileNotFoundError, NetworkBuildError
    """
    t0 = time.perf_counter()
    profile = profile or load_profile()
    path = Path(source) if source is not None else essex_standin_path(data_dir)
    if not path.is_file():
        raise NetworkBuildError(f"OSM file {path} does not exist; download an extract such as {GEOFABRIK_URL}")
    kind = _suffix(path)
    sha = file_sha256(path)
    buffer = profile.geography.boundary_buffer_m if buffer_m is None else float(buffer_m)
    options = {"clip": clip, "buffer_m": buffer if clip else None, "boundary": profile.geography.boundary,
               "force": profile.code}
    key = _cache_key(sha, profile, options)
    cache_path = Path(cache_dir or user_cache_dir() / "networks") / f"{path.name}.{key}.pickle"

    G = None
    if use_cache and cache_path.is_file():
        try:
            G = _load_cache(cache_path)
        except Exception as exc:  # a truncated or foreign cache file: rebuild rather than fail
            logger.warning("network cache %s is unreadable (%s: %s); rebuilding it", cache_path,
                           type(exc).__name__, exc)
            cache_path.unlink(missing_ok=True)
    if G is not None:
        seconds = time.perf_counter() - t0
        G.graph["build"] = {**G.graph["build"], "from_cache": True, "cache_path": str(cache_path),
                            "seconds": round(seconds, 3)}
        logger.info("loaded network from cache %s in %.2f s", cache_path, seconds)
        return G

    area = None
    if clip:
        area = geography.buffer_boundary(geography.load_boundary(profile, data_dir), buffer, profile.projected_crs)
    if kind in (".osm.pbf", ".pbf"):
        bbox = list(area.bounds) if area is not None else None
        G = graph_from_pbf(path, bounding_box=bbox)
    else:
        G = graph_from_xml(path)
    G = finish_graph(G, profile, area=area, source=str(path), source_sha256=sha, standin=is_standin(path),
                     options=options)
    seconds = time.perf_counter() - t0
    G.graph["build"].update({"from_cache": False, "seconds": round(seconds, 3), "cache_path": None})
    if use_cache:
        G.graph["build"]["cache_path"] = str(cache_path)
        _save_cache(G, cache_path)
    logger.info("built network from %s in %.1f s", path, seconds)
    return G


@contextmanager
def _overpass_errors(what: str) -> Iterator[None]:
    """Turn OSMnx / HTTP failures of an Overpass download into NetworkBuildError with advice."""
    import requests

    try:
        yield
    except (ox._errors.InsufficientResponseError, TypeError, ValueError, requests.exceptions.RequestException) as exc:
        raise NetworkBuildError(
            f"could not download the drive network for {what} from Overpass ({ox.settings.overpass_url}): {exc}. "
            "Check the place name geocodes to an area (not a point) and that the machine can reach the Overpass "
            f"API, or build from a local extract instead (--osm, e.g. {GEOFABRIK_URL})."
        ) from exc


def graph_from_polygon(polygon: BaseGeometry, *, profile: ForceProfile | None = None,
                       network_type: str = "drive") -> nx.MultiDiGraph:
    """Download a drive network inside a lon/lat polygon from Overpass (OSMnx), then finish it.

    OSMnx caches Overpass answers itself (``osmnx.settings.use_cache``).
    """
    profile = profile or load_profile()
    t0 = time.perf_counter()
    with _overpass_errors(f"polygon {polygon.wkt[:80]}"):
        G = ox.graph_from_polygon(polygon, network_type=network_type, simplify=True, retain_all=True,
                                  truncate_by_edge=True)
    G = finish_graph(G, profile, area=None, source=f"overpass:polygon:{polygon.wkt[:200]}",
                     source_sha256="", standin=False, options={"network_type": network_type})
    G.graph["build"].update({"from_cache": False, "seconds": round(time.perf_counter() - t0, 3)})
    return G


def graph_from_place(query: str | dict, *, profile: ForceProfile | None = None,
                     network_type: str = "drive") -> nx.MultiDiGraph:
    """Geocode a place (Nominatim) and download its drive network from Overpass (OSMnx), then finish it.

    Example: ``graph_from_place("Essex, England")``.
    """
    profile = profile or load_profile()
    t0 = time.perf_counter()
    with _overpass_errors(f"place {query!r}"):
        G = ox.graph_from_place(query, network_type=network_type, simplify=True, retain_all=True,
                                truncate_by_edge=True)
    G = finish_graph(G, profile, area=None, source=f"overpass:place:{query}", source_sha256="",
                     standin=False, options={"network_type": network_type})
    G.graph["build"].update({"from_cache": False, "seconds": round(time.perf_counter() - t0, 3)})
    return G

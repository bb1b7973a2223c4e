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

import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import shapely
from shapely.geometry.base import BaseGeometry

from geo_response import __version__, geography
from geo_response.config import ForceProfile, load_profile
from geo_response.datadir import find_file, user_cache_dir
from geo_response.errors import NetworkBuildError
from geo_response.roads import osm, speeds
from geo_response.roads.osm import GEOFABRIK_URL, OSM_SUFFIXES  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)

STANDIN_FILE = "osm/essex_standin.osm.pbf"
STANDIN_LABEL = "synthetic stand-in network (NOT OpenStreetMap data, NOT real Essex road geometry)"
OSM_LABEL = "© OpenStreetMap contributors (ODbL)"
CACHE_FORMAT = 4  # bump when the cached graph's contents change meaning


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
    kind = osm.suffix(path)
    sha = file_sha256(path)
    buffer = profile.geography.boundary_buffer_m if buffer_m is None else float(buffer_m)
    places = osm.setting_places(profile, data_dir)
    options = {"clip": clip, "buffer_m": buffer if clip else None, "boundary": profile.geography.boundary,
               "force": profile.code, "setting": "lsoa" if places is not None else "limit"}
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
        G = osm.graph_from_pbf(path, bounding_box=bbox, speeds=profile.speeds, places=places)
    else:
        G = osm.graph_from_xml(path, speeds=profile.speeds, places=places)
    G = finish_graph(G, profile, area=area, source=str(path), source_sha256=sha, standin=osm.is_standin(path),
                     options=options)
    seconds = time.perf_counter() - t0
    G.graph["build"].update({"from_cache": False, "seconds": round(seconds, 3), "cache_path": None})
    if use_cache:
        G.graph["build"]["cache_path"] = str(cache_path)
        _save_cache(G, cache_path)
    logger.info("built network from %s in %.1f s", path, seconds)
    return G


def graph_from_polygon(polygon: BaseGeometry, *, profile: ForceProfile | None = None,
                       network_type: str = "drive") -> nx.MultiDiGraph:
    """Download a drive network inside a lon/lat polygon from Overpass (OSMnx), then finish it.

    OSMnx caches Overpass answers itself (``osmnx.settings.use_cache``).
    """
    profile = profile or load_profile()
    t0 = time.perf_counter()
    G = osm.overpass_graph_from_polygon(polygon, network_type, speeds=profile.speeds,
                                        places=osm.setting_places(profile))
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
    G = osm.overpass_graph_from_place(query, network_type, speeds=profile.speeds,
                                      places=osm.setting_places(profile))
    G = finish_graph(G, profile, area=None, source=f"overpass:place:{query}", source_sha256="",
                     standin=False, options={"network_type": network_type})
    G.graph["build"].update({"from_cache": False, "seconds": round(time.perf_counter() - t0, 3)})
    return G

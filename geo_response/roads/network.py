"""Road networks: OSM files or Overpass -> clipped, strongly connected drive networks with travel times.

Sources (read by :mod:`geo_response.roads.osm`, all the same way): ``.osm.pbf`` (a Geofabrik extract, or the
bundle's stand-in; pyrosm), ``.osm`` / ``.osm.bz2`` (OSMnx) and Overpass (OSMnx's downloader, answers cached).
Each is read unsimplified, normalised by one function, given per-piece limits, road classes and urban / rural
settings (the ONS RUC of the LSOA a piece lies in), then simplified once by one rule that keeps a node
wherever those change: every edge is homogeneous, so its time is the sum of its pieces and a position along
it is exact, and the same OSM data gives the same network from every source.

Layered entry points, as in ``osmnx/graph.py``: :func:`load_network` (an OSM file, cached) and
:func:`network_from_place` -> :func:`network_from_polygon` (Overpass) all end in :func:`finish_graph`:
clip to the force boundary plus a buffer (units near the border can come from outside), keep the largest
strongly connected component (reporting what was dropped), add travel times for every speed profile
(:mod:`geo_response.roads.speeds`), record provenance, and turn the graph into a
:class:`~geo_response.roads.roadnet.RoadNetwork` (columns, not networkx dicts). Networks built from files
are cached as data (Parquet and ``.npy`` with their SHA-256s, :func:`geo_response.roads.roadnet.save`),
keyed by the file's SHA-256 and the options, so a second load skips the build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import osmnx as ox
from shapely.geometry.base import BaseGeometry

from geo_response import __version__, geography
from geo_response._cache import move_aside
from geo_response.config import ForceProfile, load_profile
from geo_response.datadir import find_file, user_cache_dir
from geo_response.errors import NetworkBuildError
from geo_response.roads import osm, roadnet, speeds
from geo_response.roads.osm import GEOFABRIK_URL, OSM_SUFFIXES  # noqa: F401  (re-exported)
from geo_response.roads.roadnet import RoadNetwork

logger = logging.getLogger(__name__)

STANDIN_FILE = "osm/essex_standin.osm.pbf"
STANDIN_LABEL = "synthetic stand-in network (NOT OpenStreetMap data, NOT real Essex road geometry)"
OSM_LABEL = "© OpenStreetMap contributors (ODbL)"
CACHE_FORMAT = roadnet.FORMAT  # bump when the cached network's contents change meaning


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
    report = {
        "components": len(components),
        "components_dropped": len(components) - 1,
        "nodes_dropped_scc": dropped_nodes,
    }
    if dropped_nodes:
        G = G.subgraph(largest).copy()
    return G, report


def clip_to_area(G: nx.MultiDiGraph, area: BaseGeometry) -> tuple[nx.MultiDiGraph, int]:
    """Keep the part of the graph inside ``area`` (lon/lat), whole edges that cross it included."""
    n = len(G)
    G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    return G, n - len(G)


def finish_graph(
    G: nx.MultiDiGraph,
    profile: ForceProfile,
    *,
    area: BaseGeometry | None,
    source: str,
    source_sha256: str,
    standin: bool,
    options: dict,
) -> RoadNetwork:
    """Clip, keep the largest strongly connected component, add travel times and provenance; as a RoadNetwork."""
    raw_nodes, raw_edges = len(G), G.number_of_edges()
    clipped = 0
    if area is not None:
        G, clipped = clip_to_area(G, area)
    G, scc = largest_strong_component(G)
    speeds.add_travel_times(G, profile.speeds)
    G.graph.update(
        {
            "crs": "epsg:4326",
            "source": source,
            "source_sha256": source_sha256,
            "standin": standin,
            "network_label": STANDIN_LABEL if standin else OSM_LABEL,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "geo_response_version": __version__,
            "options": options,
            "build": {
                "raw_nodes": raw_nodes,
                "raw_edges": raw_edges,
                "nodes_clipped": clipped,
                **scc,
                "nodes": len(G),
                "edges": G.number_of_edges(),
            },
        }
    )
    return RoadNetwork.from_networkx(G, profile.speeds)


def _cache_key(sha: str, profile: ForceProfile, options: dict) -> str:
    payload = json.dumps(
        {
            "sha": sha,
            "options": options,
            "speeds": asdict(profile.speeds),
            "format": CACHE_FORMAT,
            "version": __version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _boundary_sha256(profile: ForceProfile, data_dir: str | Path | None) -> str | None:
    """SHA-256 of the boundary file the network is clipped to (None when absent: the build then says so)."""
    from geo_response.datadir import find_optional

    path = find_optional(profile.geography.boundary, data_dir)
    return None if path is None else geography.vector_sha256(path)


def load_network(
    source: str | Path | None = None,
    *,
    profile: ForceProfile | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    clip: bool = True,
    buffer_m: float | None = None,
    use_cache: bool = True,
) -> RoadNetwork:
    """Load the drive network of the force area from an OSM file, with travel times for every speed profile.

    Parameters
    ----------
    source : str or Path, optional
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2``. Default: the bundle's synthetic stand-in for Essex.
    profile : ForceProfile, optional
        Force profile (boundary, buffer, speeds). Default: the embedded Essex profile.
    data_dir : str or Path, optional
        Data directory for the boundary and the default source.
    cache_dir : str or Path, optional
        Where built networks are cached (default: the user cache's ``networks/`` folder).
    clip : bool
        Clip to the force boundary plus ``buffer_m`` (default True).
    buffer_m : float, optional
        Buffer around the boundary in metres (default: ``profile.geography.boundary_buffer_m``).
    use_cache : bool
        Read and write the cache (default True).

    Returns
    -------
    RoadNetwork
        EPSG:4326, one strongly connected component. ``net.graph["build"]`` reports sizes, what was dropped,
        seconds taken and whether the cache was used; ``net.graph["standin"]`` and ``net.graph["network_label"]``
        say whether the network is the synthetic stand-in; ``net.graph["source"]`` is the file read this time.

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
    layer = osm.setting_layer(profile, data_dir)  # found, not read: a cached load needs only its hash
    options = {
        "clip": clip,
        "buffer_m": buffer if clip else None,
        "boundary": profile.geography.boundary,
        "boundary_sha256": _boundary_sha256(profile, data_dir) if clip else None,
        "force": profile.code,
        "setting": osm.setting_key(profile, layer),
    }
    key = _cache_key(sha, profile, options)
    cache_path = Path(cache_dir or user_cache_dir() / "networks") / f"{path.name}.{key}"
    net = _read_cache(cache_path, profile) if use_cache and cache_path.exists() else None
    if net is not None:
        seconds = time.perf_counter() - t0
        net.graph.update(source=str(path), source_sha256=sha)
        net.graph["build"] = {
            **net.graph["build"],
            "from_cache": True,
            "cache_path": str(cache_path),
            "seconds": round(seconds, 3),
        }
        logger.info("loaded network from cache %s in %.2f s", cache_path, seconds)
        return net

    places = osm.setting_places(profile, data_dir) if layer is not None else None
    area = None
    if clip:
        area = geography.buffer_boundary(geography.load_boundary(profile, data_dir), buffer, profile.projected_crs)
    if kind in (".osm.pbf", ".pbf"):
        bbox = list(area.bounds) if area is not None else None
        G = osm.graph_from_pbf(path, bounding_box=bbox, speeds=profile.speeds, places=places)
    else:
        G = osm.graph_from_xml(path, speeds=profile.speeds, places=places)
    net = finish_graph(
        G, profile, area=area, source=str(path), source_sha256=sha, standin=osm.is_standin(path), options=options
    )
    seconds = time.perf_counter() - t0
    net.graph["build"].update({"from_cache": False, "seconds": round(seconds, 3), "cache_path": None})
    if use_cache:
        net.graph["build"]["cache_path"] = str(cache_path)
        roadnet.save(net, cache_path)
    logger.info("built network from %s in %.1f s", path, seconds)
    return net


def _read_cache(path: Path, profile: ForceProfile) -> RoadNetwork | None:
    """The cached network, or None after moving a bad entry aside (reported, never silently deleted)."""
    try:
        return roadnet.load(path, profile.speeds)
    except (NetworkBuildError, OSError, ValueError) as exc:
        move_aside(path, str(exc))
        return None


def network_from_polygon(
    polygon: BaseGeometry, *, profile: ForceProfile | None = None, network_type: str = "drive", refresh: bool = False
) -> RoadNetwork:
    """Download a drive network inside a lon/lat polygon from Overpass (OSMnx), then finish it.

    Overpass answers are kept in the project cache, keyed by the query and the day; ``refresh`` asks again.
    """
    profile = profile or load_profile()
    t0 = time.perf_counter()
    G = osm.overpass_graph_from_polygon(
        polygon, network_type, speeds=profile.speeds, places=osm.setting_places(profile), refresh=refresh
    )
    net = finish_graph(
        G,
        profile,
        area=None,
        source=f"overpass:polygon:{polygon.wkt[:200]}",
        source_sha256="",
        standin=False,
        options={"network_type": network_type},
    )
    net.graph["build"].update({"from_cache": False, "seconds": round(time.perf_counter() - t0, 3)})
    return net


def network_from_place(
    query: str | dict, *, profile: ForceProfile | None = None, network_type: str = "drive", refresh: bool = False
) -> RoadNetwork:
    """Geocode a place (Nominatim) and download its drive network from Overpass (OSMnx), then finish it.

    Example: ``network_from_place("Essex, England")``.
    """
    profile = profile or load_profile()
    t0 = time.perf_counter()
    G = osm.overpass_graph_from_place(
        query, network_type, speeds=profile.speeds, places=osm.setting_places(profile), refresh=refresh
    )
    net = finish_graph(
        G,
        profile,
        area=None,
        source=f"overpass:place:{query}",
        source_sha256="",
        standin=False,
        options={"network_type": network_type},
    )
    net.graph["build"].update({"from_cache": False, "seconds": round(time.perf_counter() - t0, 3)})
    return net

"""Reading OSM sources into raw drive graphs: PBF (pyrosm), XML (OSMnx) and Overpass (OSMnx).

Each reader returns a topologically simplified ``networkx.MultiDiGraph`` of the roads cars may use, in
EPSG:4326, before clipping, component selection or travel times (see :mod:`geo_response.roads.network`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import osmnx as ox
from shapely.geometry.base import BaseGeometry

from geo_response.errors import NetworkBuildError

GEOFABRIK_URL = "https://download.geofabrik.de/europe/united-kingdom/england/essex-latest.osm.pbf"
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm.bz2", ".osm", ".xml")
_NODE_METADATA = ("geometry", "visible", "version", "timestamp", "changeset", "tags")
_EDGE_METADATA = ("visible", "version", "timestamp", "changeset", "tags", "u", "v")


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


def suffix(path: Path) -> str:
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


def overpass_graph_from_polygon(polygon: BaseGeometry, network_type: str = "drive") -> nx.MultiDiGraph:
    """Download the drive network inside a lon/lat polygon from Overpass (OSMnx, simplified)."""
    with _overpass_errors(f"polygon {polygon.wkt[:80]}"):
        return ox.graph_from_polygon(polygon, network_type=network_type, simplify=True, retain_all=True,
                                     truncate_by_edge=True)


def overpass_graph_from_place(query: str | dict, network_type: str = "drive") -> nx.MultiDiGraph:
    """Geocode a place (Nominatim) and download its drive network from Overpass (OSMnx, simplified)."""
    with _overpass_errors(f"place {query!r}"):
        return ox.graph_from_place(query, network_type=network_type, simplify=True, retain_all=True,
                                   truncate_by_edge=True)

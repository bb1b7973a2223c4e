"""Reading OSM sources into drive graphs: PBF (pyrosm), XML (OSMnx) and Overpass (OSMnx).

Every source goes the same way (see docs/DESIGN.md, "One road network from every source"):

1. read the UNSIMPLIFIED drive graph (one edge per pair of consecutive way nodes): pyrosm
   ``to_graph(simplify=False)``, ``osmnx.graph_from_xml(simplify=False)`` or OSMnx's Overpass downloaders
   with ``simplify=False``; ways cars may not use are dropped by one rule (:func:`is_drivable`);
2. :func:`normalise`: one set of attributes with one type each, ``length`` recomputed from the node
   coordinates with one formula (``osmnx.distance.great_circle``), nodes and edges in sorted order;
3. :func:`geo_response.roads.speeds.add_piece_attributes`: each piece gets its limit, road class and
   urban/rural setting (from the ONS RUC of the LSOA it lies in, the limit as the fallback);
4. :func:`simplify`: OSMnx's ``simplify_graph`` once, keeping an endpoint wherever ``highway``, ``maxspeed``,
   ``oneway`` or ``setting`` change (:data:`EDGE_ATTRS_DIFFER`) and summing lengths, so every simplified edge
   is homogeneous: its time is length / speed, the sum of its pieces' times, and a position along it at
   uniform speed is exact.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
from shapely.geometry.base import BaseGeometry

from geo_response.config import Speeds
from geo_response.errors import NetworkBuildError
from geo_response.roads import speeds as speeds_mod

GEOFABRIK_URL = "https://download.geofabrik.de/europe/united-kingdom/england/essex-latest.osm.pbf"
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm.bz2", ".osm", ".xml")
# a simplified edge has one value of each of these (a node where one changes stays an endpoint)
EDGE_ATTRS_DIFFER = ("highway", "maxspeed", "oneway", "setting", "setting_source")
# OSM tags kept on every edge (text, or absent); everything else a reader adds is dropped
KEPT_TAGS = ("highway", "maxspeed", "ref", "name", "junction")
# oneway values OSMnx reads (settings.oneway_values; "reverse" and "T" against the drawing) that pyrosm does not
_PYROSM_ONEWAY = {"reverse": "-1", "T": "-1", "F": "yes"}
# access tags a drive filter needs beyond OSMnx's default useful_tags_way
_ACCESS_TAGS = ("motorcar", "motor_vehicle", "vehicle")


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
    """The OSM suffix of a file name (``.osm.pbf``, ``.osm.bz2``, ``.osm`` ...); NetworkBuildError if none."""
    name = path.name.lower()
    for s in OSM_SUFFIXES:
        if name.endswith(s):
            return s
    raise NetworkBuildError(
        f"{path} is not an OSM file: expected one of {', '.join(OSM_SUFFIXES)} "
        f"(a Geofabrik extract such as {GEOFABRIK_URL})"
    )


# ---------------------------------------------------------------------------------------------
# the one drive rule
# ---------------------------------------------------------------------------------------------
@functools.cache
def _driving_filter() -> dict:
    from pyrosm.config import NetworkFilter

    return NetworkFilter.driving


def is_drivable(tags: dict) -> bool:
    """Whether a way with these tags is open to cars, by pyrosm's ``driving`` filter (OSMnx's 'drive').

    The same rule for every source, so an XML file, a PBF file and an Overpass answer of the same data give
    the same roads: a ``highway`` tag is required; footways, cycleways, tracks, service roads, areas and ways
    closed by the most specific access tag (``motorcar`` > ``motor_vehicle`` > ``vehicle`` > ``access``) are
    not drivable.
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


@functools.cache
def overpass_drive_filter() -> str:
    """The Overpass filter of :func:`is_drivable` without its access part (judged after the download).

    OSMnx's own ``drive`` filter drops ``access=private`` ways even where ``motorcar=yes`` opens them, which
    pyrosm (and so the PBF path) keeps; asking with this filter and then applying :func:`is_drivable` gives
    Overpass the same roads as a file.
    """
    parts = ['["highway"]']
    for key, excluded in _driving_filter().items():
        if not hasattr(excluded, "closes"):
            parts.append(f'["{key}"!~"^({"|".join(sorted(excluded))})$"]')
    return "".join(parts)


def _drop_undrivable(G: nx.MultiDiGraph, what: str) -> nx.MultiDiGraph:
    G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not is_drivable(d)])
    G.remove_nodes_from([n for n in list(G) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise NetworkBuildError(
            f"{what} holds no drivable roads (highway=* ways open to cars); is it the right extract?"
        )
    return G


@contextmanager
def _access_tags_kept() -> Iterator[None]:
    """OSMnx keeps the access tags the drive rule reads while it builds a graph."""
    saved = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = list(dict.fromkeys([*saved, *KEPT_TAGS, *_ACCESS_TAGS, "oneway"]))
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


# ---------------------------------------------------------------------------------------------
# normalise, then simplify once
# ---------------------------------------------------------------------------------------------
def _text(value: object) -> str | None:
    """A tag value as stripped text, None when missing (None, NaN, '')."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list | tuple):
        raise NetworkBuildError(f"normalise expects an unsimplified graph (one tag value per edge), got {value!r}")
    text = str(value).strip()
    return text or None


def normalise(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """One form for the unsimplified drive graph of any reader.

    Nodes keep ``x``, ``y`` (float lon/lat); edges keep ``osmid`` (int way id), ``oneway`` (bool, as the
    reader decided the direction), the text tags of :data:`KEPT_TAGS` (absent when missing) and ``length``
    recomputed from the end nodes with ``osmnx.distance.great_circle`` (metres). Nodes and edges are added
    in sorted order, so edge keys and the later simplification do not depend on the reader; nodes on no
    edge are left out.
    """
    out = nx.MultiDiGraph(crs="epsg:4326")
    for n in sorted(n for n in G.nodes if G.degree(n)):
        out.add_node(int(n), x=float(G.nodes[n]["x"]), y=float(G.nodes[n]["y"]))
    rows = []
    for u, v, data in G.edges(data=True):
        attrs = {"osmid": int(data["osmid"]), "oneway": bool(data.get("oneway", False))}
        for tag in KEPT_TAGS:
            value = _text(data.get(tag))
            if value is not None:
                attrs[tag] = value
        rows.append((int(u), int(v), attrs))
    rows.sort(key=lambda r: (r[0], r[1], r[2]["osmid"]))
    if rows:
        ends = np.array([(r[0], r[1]) for r in rows])
        xs, ys = nx.get_node_attributes(out, "x"), nx.get_node_attributes(out, "y")
        lon = np.array([[xs[a], xs[b]] for a, b in ends])
        lat = np.array([[ys[a], ys[b]] for a, b in ends])
        lengths = ox.distance.great_circle(lat[:, 0], lon[:, 0], lat[:, 1], lon[:, 1])
        for (u, v, attrs), length in zip(rows, lengths, strict=True):
            out.add_edge(u, v, length=float(length), **attrs)
    return out


def simplify(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Simplify a normalised graph once, by one rule for every source.

    OSMnx's ``simplify_graph`` with ``edge_attrs_differ=`` :data:`EDGE_ATTRS_DIFFER` (a node stays where
    road class, limit, direction or setting change) and ``length`` summed, so each simplified edge is
    homogeneous. Values that may still differ along a merged edge (``osmid``, ``name``, ``ref``,
    ``junction``) become sorted lists; ``street_count`` is set on the nodes.
    """
    S = ox.simplify_graph(G, edge_attrs_differ=list(EDGE_ATTRS_DIFFER), edge_attr_aggs={"length": sum})
    for _, _, data in S.edges(data=True):
        for key, value in data.items():
            if isinstance(value, list):
                data[key] = sorted(value, key=str)
    nx.set_node_attributes(S, ox.stats.count_streets_per_node(S), name="street_count")
    S.graph["crs"] = "epsg:4326"
    S.graph["simplify_rule"] = {"edge_attrs_differ": list(EDGE_ATTRS_DIFFER), "length": "sum of great circles"}
    return S


def drive_graph(
    G: nx.MultiDiGraph, speeds: Speeds | None = None, places: gpd.GeoDataFrame | None = None
) -> nx.MultiDiGraph:
    """Unsimplified reader output -> the homogeneous simplified drive graph (normalise, pieces, simplify).

    Parameters
    ----------
    G : networkx.MultiDiGraph
        An unsimplified drive graph from any reader.
    speeds : Speeds, optional
        ``ForceProfile.speeds`` (default: the embedded Essex profile's).
    places : GeoDataFrame, optional
        Polygons (EPSG:4326) with an ``urban_rural`` column, e.g. ``geography.load_lsoas(profile)``: each
        road piece takes the setting of the polygon its midpoint lies in; outside them (or without them)
        the limit decides (``<= urban_limit_mph`` is urban).
    """
    if speeds is None:
        from geo_response.config import load_profile

        speeds = load_profile().speeds
    N = normalise(G)
    speeds_mod.add_piece_attributes(N, speeds, places)
    return simplify(N)


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------
def read_pbf(path: str | Path, bounding_box: list[float] | None = None) -> nx.MultiDiGraph:
    """Unsimplified drive graph of an ``.osm.pbf`` file (pyrosm ``driving``, one edge per way segment)."""
    import pyrosm

    try:
        osm_file = pyrosm.OSM(str(path), bounding_box=bounding_box)
        nodes, edges = osm_file.get_network(network_type="driving", nodes=True)
    except Exception as exc:  # pyrosm raises plain errors (and KeyErrors) for corrupt or truncated files
        raise NetworkBuildError(
            f"could not read {path} as an OSM PBF file ({type(exc).__name__}: {exc}); is the "
            f"download complete? Fetch it again (e.g. {GEOFABRIK_URL})"
        ) from exc
    if edges is None or len(edges) == 0:
        raise NetworkBuildError(f"{path} holds no drivable roads (highway=* ways); is it the right extract?")
    if "oneway" in edges.columns:  # OSMnx's one-way values, in the spelling pyrosm reads
        edges["oneway"] = edges["oneway"].replace(_PYROSM_ONEWAY)
    return osm_file.to_graph(
        nodes, edges, graph_type="networkx", osmnx_compatible=True, retain_all=True, simplify=False, progress=False
    )


def read_xml(path: str | Path) -> nx.MultiDiGraph:
    """Unsimplified drive graph of an OSM XML file (``.osm`` / ``.osm.bz2``) with OSMnx."""
    with _access_tags_kept():
        try:
            G = ox.graph_from_xml(str(path), simplify=False, retain_all=True, bidirectional=False)
        except Exception as exc:  # OSMnx raises plain errors for unreadable XML
            advice = ""
            if "missing nodes" in str(exc):
                advice = (
                    " (ways refer to nodes the file does not hold: cut it with complete ways, e.g. "
                    "`osmium extract --strategy complete_ways`, or read the PBF, which skips such pieces)"
                )
            raise NetworkBuildError(f"could not read {path} as OSM XML: {exc}{advice}") from exc
    return _drop_undrivable(G, str(path))


def graph_from_pbf(
    path: str | Path,
    bounding_box: list[float] | None = None,
    *,
    speeds: Speeds | None = None,
    places: gpd.GeoDataFrame | None = None,
) -> nx.MultiDiGraph:
    """Drive network from an ``.osm.pbf`` file (pyrosm), simplified by :func:`drive_graph` (all components)."""
    return drive_graph(read_pbf(path, bounding_box), speeds, places)


def graph_from_xml(
    path: str | Path, *, speeds: Speeds | None = None, places: gpd.GeoDataFrame | None = None
) -> nx.MultiDiGraph:
    """Drive network from an OSM XML file (OSMnx), simplified by :func:`drive_graph` (all components).

    OSMnx reads every way of a file; ways cars may not use (:func:`is_drivable`) are removed first.
    """
    return drive_graph(read_xml(path), speeds, places)


# ---------------------------------------------------------------------------------------------
# Overpass, cached in the project cache
# ---------------------------------------------------------------------------------------------
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


def overpass_cache_dir(cache_dir: str | Path | None = None, day: date | str | None = None) -> Path:
    """Folder of the cached Overpass / Nominatim answers of one day (default: today, UTC).

    ``<cache_dir or user_cache_dir()/overpass>/<YYYY-MM-DD>/``; each answer is a JSON file named by the
    SHA-1 of its request (server URL and query), as OSMnx names them.
    """
    from geo_response.datadir import user_cache_dir

    day = day or datetime.now(UTC).date()
    day = date.fromisoformat(day) if isinstance(day, str) else day
    root = Path(cache_dir) if cache_dir is not None else user_cache_dir() / "overpass"
    return root / day.isoformat()


@contextmanager
def overpass_cache(
    cache_dir: str | Path | None = None, *, refresh: bool = False, day: date | str | None = None
) -> Iterator[Path]:
    """OSMnx reads and writes its Overpass / Nominatim answers in :func:`overpass_cache_dir` meanwhile.

    The cache is keyed by the request (OSMnx hashes the URL and the query) and the day (the folder).
    ``refresh=True`` makes the requests again and replaces the stored answers. OSMnx's own settings are
    restored afterwards.
    """
    folder = overpass_cache_dir(cache_dir, day)
    folder.mkdir(parents=True, exist_ok=True)
    saved = (ox.settings.use_cache, ox.settings.cache_folder, ox.settings.cache_only_mode)
    fresh = Path(tempfile.mkdtemp(prefix="overpass-")) if refresh else None
    ox.settings.use_cache, ox.settings.cache_folder, ox.settings.cache_only_mode = True, fresh or folder, False
    try:
        yield folder
        if fresh is not None:
            for answer in fresh.glob("*.json"):
                shutil.move(str(answer), folder / answer.name)
    finally:
        ox.settings.use_cache, ox.settings.cache_folder, ox.settings.cache_only_mode = saved
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)


def _custom_filter(network_type: str) -> str | None:
    return overpass_drive_filter() if network_type == "drive" else None


def read_overpass_polygon(
    polygon: BaseGeometry, network_type: str = "drive", *, cache_dir: str | Path | None = None, refresh: bool = False
) -> nx.MultiDiGraph:
    """Unsimplified drive graph inside a lon/lat polygon from Overpass (OSMnx), through the project cache."""
    with (
        overpass_cache(cache_dir, refresh=refresh),
        _access_tags_kept(),
        _overpass_errors(f"polygon {polygon.wkt[:80]}"),
    ):
        G = ox.graph_from_polygon(
            polygon,
            network_type=network_type,
            simplify=False,
            retain_all=True,
            truncate_by_edge=True,
            custom_filter=_custom_filter(network_type),
        )
    return _drop_undrivable(G, "the Overpass answer")


def read_overpass_place(
    query: str | dict, network_type: str = "drive", *, cache_dir: str | Path | None = None, refresh: bool = False
) -> nx.MultiDiGraph:
    """Geocode a place (Nominatim) and read its unsimplified drive graph from Overpass, through the cache."""
    with overpass_cache(cache_dir, refresh=refresh), _access_tags_kept(), _overpass_errors(f"place {query!r}"):
        G = ox.graph_from_place(
            query,
            network_type=network_type,
            simplify=False,
            retain_all=True,
            truncate_by_edge=True,
            custom_filter=_custom_filter(network_type),
        )
    return _drop_undrivable(G, "the Overpass answer")


def overpass_graph_from_polygon(
    polygon: BaseGeometry,
    network_type: str = "drive",
    *,
    speeds: Speeds | None = None,
    places: gpd.GeoDataFrame | None = None,
    cache_dir: str | Path | None = None,
    refresh: bool = False,
) -> nx.MultiDiGraph:
    """Drive network inside a lon/lat polygon from Overpass, simplified by :func:`drive_graph`."""
    return drive_graph(
        read_overpass_polygon(polygon, network_type, cache_dir=cache_dir, refresh=refresh), speeds, places
    )


def overpass_graph_from_place(
    query: str | dict,
    network_type: str = "drive",
    *,
    speeds: Speeds | None = None,
    places: gpd.GeoDataFrame | None = None,
    cache_dir: str | Path | None = None,
    refresh: bool = False,
) -> nx.MultiDiGraph:
    """Geocode a place and download its drive network from Overpass, simplified by :func:`drive_graph`."""
    return drive_graph(read_overpass_place(query, network_type, cache_dir=cache_dir, refresh=refresh), speeds, places)


def setting_layer(profile, data_dir: str | Path | None = None) -> Path | None:
    """The LSOA layer road settings come from (:func:`setting_places`), without reading it; None when absent."""
    from geo_response.datadir import find_optional

    return find_optional(profile.geography.lsoa, data_dir)


def setting_key(profile, layer: Path | None) -> str | dict:
    """What a network's road settings depend on, for its cache key: ``"limit"`` (no LSOA layer: speed limits
    alone), else the layer's SHA-256 and the profile's RUC field and classes (another layer or classes, another
    network).
    """
    if layer is None:
        return "limit"
    from geo_response.geography import vector_sha256

    geo = profile.geography
    return {
        "lsoa_sha256": vector_sha256(layer),
        "ruc_field": geo.ruc_field,
        "urban_ruc": list(geo.urban_ruc),
        "rural_ruc": list(geo.rural_ruc),
    }


def setting_places(profile, data_dir: str | Path | None = None) -> gpd.GeoDataFrame | None:
    """The force's LSOAs with their urban/rural RUC class, for road settings; None when the layer is absent.

    Parameters
    ----------
    profile : ForceProfile
        Names the LSOA layer and the urban_ruc / rural_ruc classes.
    data_dir : str or Path, optional
        The data bundle (default: where :mod:`geo_response.datadir` finds it).
    """
    from geo_response import geography
    from geo_response.errors import DataFileNotFoundError

    try:
        return geography.load_lsoas(profile, data_dir)[["urban_rural", "geometry"]]
    except DataFileNotFoundError:
        return None

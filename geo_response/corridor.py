"""The A12 corridor and trunk roads: where emergency failures happen on the strategic roads.

Published Essex reports state that failures on trunk roads are the largest group of emergency
failures and single out the A12 corridor. This module lets that claim be tested on given data.

Corridor (:func:`corridor_geometry`)
    The road is read from the network, not drawn by hand: the edges whose ``ref`` holds the corridor's
    ref (e.g. ``A12``; ``A120`` is a different road), between the nodes of that road nearest to the
    profile's two junctions (M25 J28 and Marks Tey). The shortest path along the road's own edges
    (undirected, by length) gives one carriageway; the edges of the same road whose both ends lie within
    ``carriageway_gap_m`` of that path add the other carriageway of a dual carriageway.
    :func:`corridor_buffer` buffers it by ``buffer_m`` in EPSG:27700.

Road classes (:func:`corridor_analysis`)
    Every incident is snapped to its nearest edge (:func:`geo_response.roads.snapping.snap_points`, within
    ``buffer_m``); a STATS19 collision keeps the carriageway it was snapped to (its road's ref, else class:
    :func:`own_carriageways`). Its road class is the class of that edge (``trunk_motorway`` for motorway, trunk
    and their links; ``off_network`` when no edge is within ``buffer_m``). These classes partition the
    incidents, so "trunk-road failures are the largest group of emergency failures" is tested by
    comparing the ``trunk_motorway`` class with each other class.

Incident types (:attr:`CorridorAnalysis.incident_types`, :func:`rests_on`)
    The figures are only as good as the incident types they count: police.uk crime categories are not the
    road collisions the published trunk-road claim is about. Every analysis counts its incidents per
    ``category`` in each group (STATS19 collisions, category ``road collision``, named apart) and says in one
    sentence which types the corridor figures rest on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiLineString
from shapely.geometry.base import BaseGeometry

from geo_response.config import Corridor
from geo_response.errors import CorridorError
from geo_response.hotspots import outcome_columns
from geo_response.roads.roadnet import RoadNetwork, edge_refs

TRUNK_CLASS = "trunk_motorway"
OFF_NETWORK = "off_network"
ROAD_CLASS_ORDER = (
    TRUNK_CLASS,
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "other",
    OFF_NETWORK,
)
_HIGHWAY_CLASS = {
    "motorway": TRUNK_CLASS,
    "motorway_link": TRUNK_CLASS,
    "trunk": TRUNK_CLASS,
    "trunk_link": TRUNK_CLASS,
    "primary": "primary",
    "primary_link": "primary",
    "secondary": "secondary",
    "secondary_link": "secondary",
    "tertiary": "tertiary",
    "tertiary_link": "tertiary",
    "unclassified": "unclassified",
    "residential": "residential",
    "living_street": "residential",
}
SCOPES = ("emergency", "all grades")


def road_class(highway: object) -> str:
    """Road class of an OSM ``highway`` value (a list after simplification: the highest class wins)."""
    values = highway if isinstance(highway, list | tuple) else [highway]
    classes = [_HIGHWAY_CLASS.get(str(h), "other") for h in values]
    return min(classes, key=ROAD_CLASS_ORDER.index) if classes else "other"


def _road_rows(net: RoadNetwork, ref: str) -> np.ndarray:
    """Edge rows whose ``ref`` holds ``ref``."""
    refs = net.edges["ref"] if "ref" in net.edges.columns else pd.Series(None, index=net.edges.index)
    values = pd.Series(refs.astype(object).to_numpy())
    match = {v: ref in edge_refs(v) for v in pd.unique(values.dropna())}
    return np.flatnonzero(values.map(match).fillna(False).to_numpy(dtype=bool))


def corridor_edges(
    net: RoadNetwork,
    corridor: Corridor,
    projected_crs: str = "EPSG:27700",
    max_snap_m: float = 3000.0,
    carriageway_gap_m: float = 100.0,
) -> list[tuple]:
    """Edges ``(u, v, key)`` of the corridor's road between its two junctions.

    Parameters and errors as :func:`trace_corridor`, which also returns the length.
    """
    return trace_corridor(net, corridor, projected_crs, max_snap_m, carriageway_gap_m)[0]


def trace_corridor(
    net: RoadNetwork,
    corridor: Corridor,
    projected_crs: str = "EPSG:27700",
    max_snap_m: float = 3000.0,
    carriageway_gap_m: float = 100.0,
) -> tuple[list[tuple], float]:
    """Edges ``(u, v, key)`` of the corridor's road between its two junctions, and its length in metres
    along the road (one carriageway).

    Parameters
    ----------
    net : RoadNetwork
        Road network (EPSG:4326) with ``ref`` on edges.
    corridor : config.Corridor
        Ref and junction positions (``profile.corridors[0]`` for the A12).
    projected_crs : str
        Metric CRS for distances.
    max_snap_m : float
        A junction farther than this from the road is an error (the network does not cover the corridor).
    carriageway_gap_m : float
        Edges of the same road with both ends this close to the path count as its other carriageway.

    Returns
    -------
    (list of (u, v, key), float)

    Raises
    ------
    CorridorError
        When no edge carries the ref, a junction is too far from it, or the two junctions are not
        connected along the road.
    """
    ref = corridor.ref.strip().upper().replace(" ", "")
    rows = _road_rows(net, ref)
    table = net.edges.iloc[rows]
    road = list(
        zip(
            table["u"].to_numpy().tolist(),
            table["v"].to_numpy().tolist(),
            table["key"].to_numpy().tolist(),
            strict=True,
        )
    )
    lengths = dict(zip(road, table["length"].to_numpy(float).tolist(), strict=True))
    if not road:
        raise CorridorError(
            f"no edge of the network has ref {corridor.ref!r}; check the corridor's ref in the "
            "force profile, or load a network that covers it (ref tags are needed)"
        )
    nodes = list(dict.fromkeys([n for u, v, _ in road for n in (u, v)]))
    to_metric = Transformer.from_crs("EPSG:4326", projected_crs, always_xy=True)
    lonlat = net.node_xy(nodes)
    xs, ys = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
    xy = np.column_stack([xs, ys])
    # Candidate end nodes: the nearest node of the road to each junction and any other node of the road
    # (e.g. on the other carriageway) no more than `carriageway_gap_m` farther away.
    ends = []
    for label, lon, lat in (
        (corridor.from_junction or "from", corridor.from_lon, corridor.from_lat),
        (corridor.to_junction or "to", corridor.to_lon, corridor.to_lat),
    ):
        px, py = to_metric.transform(lon, lat)
        dist = np.hypot(xy[:, 0] - px, xy[:, 1] - py)
        if dist.min() > max_snap_m:
            raise CorridorError(
                f"the nearest {corridor.ref} node is {dist.min() / 1000:.1f} km from {label} "
                f"({lat}, {lon}); the network may not cover the corridor, or the junction "
                "position in the force profile is wrong"
            )
        ends.append([nodes[i] for i in np.flatnonzero(dist <= dist.min() + carriageway_gap_m)])
    undirected = nx.Graph()
    for u, v, k in road:
        length = lengths[(u, v, k)]
        if not undirected.has_edge(u, v) or undirected.edges[u, v]["length"] > length:
            undirected.add_edge(u, v, length=length)
    # The carriageways of a dual carriageway meet only at the road's ends, so take the pair of candidate
    # ends with the shortest path along the road: both on the same carriageway.
    best: tuple[float, list] | None = None
    for start in ends[0]:
        lengths, paths = nx.single_source_dijkstra(undirected, start, weight="length")
        for end in ends[1]:
            if end in lengths and (best is None or lengths[end] < best[0]):
                best = (lengths[end], paths[end])
    if best is None:
        raise CorridorError(
            f"{corridor.ref} is not continuous on this network between {corridor.from_junction} "
            f"and {corridor.to_junction}; check the ref tags of the network"
        )
    path = best[1]
    on_path = set(zip(path[:-1], path[1:], strict=True))
    chosen = [(u, v, k) for u, v, k in road if (u, v) in on_path or (v, u) in on_path]
    position = {n: i for i, n in enumerate(nodes)}
    chain = shapely.linestrings(xy[[position[n] for n in path]]) if len(path) > 1 else None
    if chain is not None:
        near = shapely.distance(shapely.points(xy), chain) <= carriageway_gap_m
        for u, v, k in road:
            if (u, v, k) not in chosen and near[position[u]] and near[position[v]]:
                chosen.append((u, v, k))
    return chosen, float(nx.path_weight(undirected, path, weight="length"))


def corridor_geometry(
    net: RoadNetwork, corridor: Corridor, projected_crs: str = "EPSG:27700", max_snap_m: float = 3000.0
) -> MultiLineString:
    """The corridor's road (both carriageways) as a MultiLineString in EPSG:4326.

    See :func:`corridor_edges` for how the edges are chosen. The geometry's length in km along one
    carriageway is :func:`corridor_length_km`.
    """
    chosen = set(corridor_edges(net, corridor, projected_crs=projected_crs, max_snap_m=max_snap_m))
    table = net.edges
    keys = zip(
        table["u"].to_numpy().tolist(), table["v"].to_numpy().tolist(), table["key"].to_numpy().tolist(), strict=True
    )
    rows = np.array([i for i, e in enumerate(keys) if e in chosen], dtype=np.int64)
    return MultiLineString(list(net.edge_geometries(rows)))


def corridor_length_km(net: RoadNetwork, corridor: Corridor, projected_crs: str = "EPSG:27700") -> float:
    """Length of the corridor along the road between its junctions (one carriageway), in km."""
    return trace_corridor(net, corridor, projected_crs=projected_crs)[1] / 1000.0


def corridor_buffer(geometry: BaseGeometry, buffer_m: float, projected_crs: str = "EPSG:27700") -> BaseGeometry:
    """Buffer a lon/lat geometry by `buffer_m` metres in the projected CRS; the result is in EPSG:4326."""
    if buffer_m <= 0:
        raise CorridorError(f"corridor buffer must be positive, got {buffer_m} m")
    s = gpd.GeoSeries([geometry], crs=4326).to_crs(projected_crs).buffer(buffer_m)
    return s.to_crs(4326).iloc[0]


@dataclass(frozen=True)
class CorridorAnalysis:
    """Result of :func:`corridor_analysis`.

    Attributes
    ----------
    summary : DataFrame
        Long table, one row per (group, scope): ``group`` (the corridor's name, ``all trunk and motorway
        roads``, ``rest (other roads and off network)``, ``all incidents``), ``scope`` (``emergency`` or
        ``all grades``), ``incidents``, ``attended``, ``met``, ``expected_failures``, ``pct_met``,
        ``share_of_failures`` (of the scope's failures) and ``largest_group_of_emergency_failures``:
        on the emergency rows of the corridor and of the trunk roads, True when the group has more
        emergency failures than every road class other than trunk/motorway (NA on the other rows).
    by_road_class : DataFrame
        The same figures per road class of the nearest edge (a partition of the incidents), with
        ``largest_group_of_emergency_failures`` True on the class with the most emergency failures.
    incidents : DataFrame
        Per incident (index aligned with the input): ``in_corridor``, ``road_class``, ``on_trunk``,
        ``snap_distance_m``.
    trunk_largest : bool
        True when trunk and motorway roads have more emergency failures than any other road class: the
        published claim holds on these data.
    parameters : dict
        Corridor name, ref, junctions, buffer, length, the emergency categories used, ``incident_types``
        (incidents per category, all groups) and ``rests_on`` (the sentence of :func:`rests_on`).
    incident_types : DataFrame
        ``group, category, source`` (``STATS19`` for road collisions, else ``incident file``),
        ``incidents`` and ``emergency_incidents``: which incident types each group's figures rest on
        (``corridor_incident_types.csv``).
    """

    summary: pd.DataFrame
    by_road_class: pd.DataFrame
    incidents: pd.DataFrame
    trunk_largest: bool
    parameters: dict = field(default_factory=dict)
    incident_types: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def table(self) -> pd.DataFrame:
        """:attr:`summary` one row per group: ``emergency_*`` and ``all_*`` figures side by side, and
        ``largest_group_of_emergency_failures`` (for ``corridor.csv`` and reports).
        """
        figures = ["incidents", "attended", "expected_failures", "pct_met", "share_of_failures"]
        wide = self.summary.pivot(index="group", columns="scope", values=figures)
        wide.columns = [f"{'emergency' if scope == 'emergency' else 'all'}_{name}" for name, scope in wide.columns]
        order = [f"{prefix}_{name}" for prefix in ("emergency", "all") for name in figures]
        wide = wide[order].reindex(self.summary["group"].drop_duplicates())
        for col in [c for c in order if c.endswith(("_incidents", "_attended"))]:
            wide[col] = wide[col].astype(int)
        emergency = self.summary[self.summary["scope"] == "emergency"].set_index("group")
        wide["largest_group_of_emergency_failures"] = emergency["largest_group_of_emergency_failures"]
        return wide.rename_axis("group").reset_index()


def rounded_for_people(table: pd.DataFrame) -> pd.DataFrame:
    """:attr:`CorridorAnalysis.table` as ``corridor.csv`` holds it: % met and expected failures to 2 decimals,
    shares of failures to 4 (the analysis keeps full precision; 82.70000017 reads as 82.7).
    """
    out = table.copy()
    for col in out.columns:
        if col.endswith(("_pct_met", "_expected_failures")):
            out[col] = out[col].astype(float).round(2)
        elif col.endswith("_share_of_failures"):
            out[col] = out[col].astype(float).round(4)
    return out


def _figures(outcomes: pd.DataFrame, mask: pd.Series, total_failures: float) -> dict:
    sub = outcomes[mask.to_numpy()]
    attended = float(sub["attended"].sum())
    met = float(sub["met"].sum())
    failures = float(sub["failed"].sum())
    return {
        "incidents": int(len(sub)),
        "attended": int(attended),
        "met": met,
        "expected_failures": failures,
        "pct_met": 100.0 * met / attended if attended > 0 else np.nan,
        "share_of_failures": failures / total_failures if total_failures > 0 else np.nan,
    }


COLLISION_CATEGORY = "road collision"  # STATS19 collisions (geo_response.incidents.stats19.CATEGORY)
INCIDENT_TYPE_COLUMNS = ["group", "category", "source", "incidents", "emergency_incidents"]


def incident_types(incidents: pd.DataFrame, groups: dict[str, pd.Series], emergency: pd.Series) -> pd.DataFrame:
    """Incidents per category in each group (``INCIDENT_TYPE_COLUMNS``), most frequent first within a group.

    Incidents without a ``category`` column (or a blank one) count as ``unspecified``.
    """
    if "category" in incidents.columns:
        category = incidents["category"].astype(object).where(incidents["category"].notna(), "unspecified")
        category = category.astype(str).str.strip().replace("", "unspecified")
    else:
        category = pd.Series("unspecified", index=incidents.index)
    rows = []
    for name, mask in groups.items():
        counts = category[mask.to_numpy()].value_counts(sort=False)
        urgent = category[(mask & emergency).to_numpy()].value_counts(sort=False)
        for cat in sorted(counts.index, key=lambda c: (-counts[c], c)):
            rows.append(
                {
                    "group": name,
                    "category": cat,
                    "source": "STATS19" if cat == COLLISION_CATEGORY else "incident file",
                    "incidents": int(counts[cat]),
                    "emergency_incidents": int(urgent.get(cat, 0)),
                }
            )
    return pd.DataFrame(rows, columns=INCIDENT_TYPE_COLUMNS)


def rests_on(counts: dict[str, int]) -> str:
    """The sentence saying which incident types corridor figures rest on.

    Examples
    --------
    >>> rests_on({"anti-social-behaviour": 1200, "road collision": 3, "burglary": 40})
    'The corridor figures rest on 1,243 incidents: incident categories anti-social-behaviour 1,200, burglary 40; STATS19 road collisions: 3.'
    >>> rests_on({"burglary": 2})
    'The corridor figures rest on 2 incidents: incident categories burglary 2; STATS19 road collisions: none (the collision type behind the published trunk-road claim is not in these data).'
    """  # noqa: E501
    total = sum(counts.values())
    other = sorted(((c, n) for c, n in counts.items() if c != COLLISION_CATEGORY), key=lambda cn: (-cn[1], cn[0]))
    crimes = ", ".join(f"{c} {n:,}" for c, n in other) or "none"
    collisions = counts.get(COLLISION_CATEGORY, 0)
    tail = (
        f"{collisions:,}"
        if collisions
        else "none (the collision type behind the published trunk-road claim is not in these data)"
    )
    return (
        f"The corridor figures rest on {total:,} incidents: incident categories {crimes}; "
        f"STATS19 road collisions: {tail}."
    )


def own_carriageways(incidents: pd.DataFrame, snapped: pd.DataFrame) -> pd.DataFrame:
    """``snapped`` with each STATS19 collision on the carriageway it was snapped to (its own road), not the edge
    nearest its recorded point: a collision on the A12 beside a parallel lane counts on the A12.
    """
    from geo_response.incidents.collisions import carriageway_table

    own = carriageway_table(incidents)
    if own is None:
        return snapped
    out = snapped.copy()
    for col in ("edge", "u", "v", "key", "edge_fraction"):
        out.loc[own.index, col] = own[col].to_numpy()
    out.loc[own.index, "snap_distance_m"] = own["carriageway_distance_m"].to_numpy()
    out.loc[own.index, "too_far"] = False
    return out


def corridor_analysis(
    incidents: gpd.GeoDataFrame,
    net: RoadNetwork,
    corridor: Corridor,
    *,
    buffer_m: float | None = None,
    snapped: pd.DataFrame | None = None,
    corridor_geom: BaseGeometry | None = None,
    emergency_categories: tuple[str, ...] = ("emergency",),
    projected_crs: str = "EPSG:27700",
) -> CorridorAnalysis:
    """Incidents, compliance and share of failures in the corridor and on trunk and motorway roads.

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents (EPSG:4326) with ``p_met``, ``attended`` and ``grade_category``.
    net : RoadNetwork
        Road network with ``highway`` and ``ref`` on edges.
    corridor : config.Corridor
        The corridor (``profile.corridors[0]``).
    buffer_m : float, optional
        Corridor buffer and snapping distance; default ``corridor.buffer_m``.
    snapped : DataFrame, optional
        Output of :func:`geo_response.roads.snapping.snap_points` for `incidents` (computed when not given:
        then STATS19 collisions take their own carriageway, :func:`own_carriageways`).
    corridor_geom : shapely geometry, optional
        The corridor's road (default :func:`corridor_geometry`).
    emergency_categories : tuple of str
        Grade categories counted as emergencies.
    projected_crs : str
        Metric CRS.

    Returns
    -------
    CorridorAnalysis
    """
    missing = [c for c in ("p_met", "grade_category") if c not in incidents.columns]
    if missing:
        raise CorridorError(
            f"incidents lack columns {missing}; run grading.assign_targets and compliance or "
            "response_model.model_response first"
        )
    buffer_m = float(corridor.buffer_m if buffer_m is None else buffer_m)
    line = corridor_geom if corridor_geom is not None else corridor_geometry(net, corridor, projected_crs)
    zone = gpd.GeoSeries([line], crs=4326).to_crs(projected_crs).buffer(buffer_m).iloc[0]
    points = incidents.geometry.to_crs(projected_crs)
    in_corridor = pd.Series(shapely.covers(zone, points.to_numpy()), index=incidents.index)

    if snapped is None:
        from geo_response.roads import snapping

        snapped = own_carriageways(incidents, snapping.snap_points(net, incidents, crs=projected_crs, limit_m=buffer_m))
    if not snapped.index.equals(incidents.index):
        raise CorridorError("snapped points are not aligned with the incidents; pass snap_points(net, incidents)")
    highway = (
        net.edges["highway"].astype(object).to_numpy()
        if "highway" in net.edges.columns
        else np.full(len(net.edges), None, dtype=object)
    )
    keys = pd.MultiIndex.from_frame(net.edges[["u", "v", "key"]].astype(np.int64))
    far = snapped["too_far"].to_numpy(dtype=bool) | snapped["u"].isna().to_numpy()
    wanted = snapped[["u", "v", "key"]].copy()
    wanted.loc[far] = -1
    wanted = wanted.astype(np.int64)
    rows = keys.get_indexer(pd.MultiIndex.from_frame(wanted))
    classes = np.where(
        far | (rows < 0), OFF_NETWORK, [road_class(str(h).split(";")) for h in highway[np.maximum(rows, 0)]]
    )
    flags = pd.DataFrame(
        {"in_corridor": in_corridor, "road_class": classes, "snap_distance_m": snapped["snap_distance_m"].to_numpy()},
        index=incidents.index,
    )
    flags["on_trunk"] = flags["road_class"] == TRUNK_CLASS

    outcomes = outcome_columns(incidents)
    emergency = incidents["grade_category"].isin(emergency_categories)
    everyone = pd.Series(True, index=incidents.index)
    groups = {
        corridor.name: flags["in_corridor"],
        "all trunk and motorway roads": flags["on_trunk"],
        "rest (other roads and off network)": ~flags["on_trunk"],
        "all incidents": everyone,
    }
    class_rows, summary_rows = [], []
    for scope, scope_mask in zip(SCOPES, (emergency, everyone), strict=True):
        total = float(outcomes.loc[scope_mask, "failed"].sum())
        for name in ROAD_CLASS_ORDER:
            class_rows.append(
                {
                    "road_class": name,
                    "scope": scope,
                    **_figures(outcomes, scope_mask & (flags["road_class"] == name), total),
                }
            )
        for name, mask in groups.items():
            summary_rows.append({"group": name, "scope": scope, **_figures(outcomes, scope_mask & mask, total)})
    by_class = pd.DataFrame(class_rows)
    summary = pd.DataFrame(summary_rows)

    emerg = by_class[by_class["scope"] == "emergency"].set_index("road_class")["expected_failures"]
    others = emerg.drop(TRUNK_CLASS)
    trunk_largest = bool(emerg[TRUNK_CLASS] > 0 and (emerg[TRUNK_CLASS] > others).all())
    top = emerg.max()
    by_class["largest_group_of_emergency_failures"] = (
        (by_class["scope"] == "emergency") & (by_class["expected_failures"] == top) & (top > 0)
    )
    # A group is "largest" when its emergency failures exceed those of every non-trunk road class.
    non_trunk_max = float(others.max()) if len(others) else 0.0
    largest = pd.Series(pd.NA, index=summary.index, dtype="boolean")
    for i, row in summary.iterrows():
        if row["scope"] == "emergency" and row["group"] in (corridor.name, "all trunk and motorway roads"):
            largest[i] = bool(row["expected_failures"] > non_trunk_max)
    summary["largest_group_of_emergency_failures"] = largest

    types = incident_types(incidents, groups, emergency)
    counts = types[types["group"] == "all incidents"].set_index("category")["incidents"]
    counts = {str(k): int(v) for k, v in counts.items()}
    params = {
        "corridor": corridor.name,
        "ref": corridor.ref,
        "from_junction": corridor.from_junction,
        "to_junction": corridor.to_junction,
        "buffer_m": buffer_m,
        "projected_crs": projected_crs,
        "emergency_categories": list(emergency_categories),
        "trunk_classes": sorted(h for h, c in _HIGHWAY_CLASS.items() if c == TRUNK_CLASS),
        "unassigned_attended_without_outcome": int(outcomes["no_outcome"].sum()),
        "incident_types": counts,
        "rests_on": rests_on(counts),
    }
    return CorridorAnalysis(
        summary=summary,
        by_road_class=by_class,
        incidents=flags,
        trunk_largest=trunk_largest,
        parameters=params,
        incident_types=types,
    )

"""Isochrones: the area reachable within a time from a base (or from all bases), built from the network.

An isochrone covers the reachable pieces of road: whole edges where both ends are reached in time, and
the reached part of an edge where only part of it is (cut at the threshold from either end). The pieces
are sampled every <= 25 m, the samples mark cells of a ``cell_m`` grid (default 100 m) in the projected
CRS, the marks are dilated by ``dilate_cells`` (a band of about one cell around the roads) and the marked
cells are merged into polygons (row runs -> rectangles -> ``shapely.coverage_union_all``). So every
reached node lies inside, areas between roads that cannot be reached stay outside (no convex hulls), and
disjoint reach gives a MultiPolygon. Buffering the road pieces with GEOS instead needs tens of GB for a
county. Population covered is ONS LSOA population, apportioned by population-weighted centroid.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy import ndimage
from tqdm.auto import tqdm

from geo_response import routing, snapping
from geo_response.speeds import travel_time_field

DEFAULT_THRESHOLDS = (5, 10, 15, 20)
CELL_M = 100.0
DILATE_CELLS = 1
COLUMNS = ["base", "base_id", "threshold_min", "profile", "area_km2", "population", "geometry"]


def reachable_points(index: snapping.EdgeIndex, rg: routing.RoutingGraph, node_seconds: np.ndarray,
                     seconds: float) -> np.ndarray:
    """Projected points sampling the network reachable within ``seconds`` of a node field.

    Each reached (part of a) 50 m segment of :class:`snapping.EdgeIndex` gives its two ends and its middle,
    so samples are at most 25 m apart along reached roads and never beyond the reached part of an edge.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 2)``.
    """
    forward, reverse = index.weights[rg.weight]
    seg = index.segments
    t_u = node_seconds[rg.index_of(index.u)]
    t_v = node_seconds[rg.index_of(index.v)]
    length = seg.edge_length
    with np.errstate(invalid="ignore", divide="ignore"):
        reach_u = np.nan_to_num(np.clip((seconds - t_u) / forward, 0.0, 1.0), nan=0.0) * length   # metres from u
        reach_v = np.nan_to_num(np.clip((seconds - t_v) / reverse, 0.0, 1.0), nan=0.0) * length   # metres from v
    seg_len = np.hypot(*(seg.end - seg.start).T)
    s0, s1, e = seg.offset, seg.offset + seg_len, seg.edge
    parts = [(reach_u[e] > s0, s0, np.minimum(s1, reach_u[e])),                      # from u: [s0, min(s1, reach)]
             (reach_v[e] > 0, np.maximum(s0, length[e] - reach_v[e]), s1)]          # from v: [max(s0, L - reach), s1]
    samples = []
    d = np.where(seg_len > 0, seg_len, 1.0)
    for mask, lo, hi in parts:
        idx = np.flatnonzero(mask & (hi >= lo))
        a, b = seg.start[idx], seg.end[idx]
        for pos in (lo[idx], (lo[idx] + hi[idx]) / 2.0, hi[idx]):
            samples.append(a + (b - a) * ((pos - s0[idx]) / d[idx])[:, None])
    return np.concatenate(samples) if samples else np.empty((0, 2))


def grid_polygon(points: np.ndarray, origin: tuple[float, float], shape: tuple[int, int], cell_m: float = CELL_M,
                 dilate_cells: int = DILATE_CELLS):
    """Polygon of the grid cells holding ``points``, dilated by ``dilate_cells`` (empty polygon if none).

    Parameters
    ----------
    points : numpy.ndarray
        Projected points, shape ``(n, 2)``.
    origin : (float, float)
        Lower-left corner of the grid.
    shape : (int, int)
        Rows, columns.
    cell_m : float
        Cell size (m).
    dilate_cells : int
        Cells added around every marked cell (a disk of this radius).
    """
    if len(points) == 0:
        return shapely.Polygon()
    col = np.clip(((points[:, 0] - origin[0]) // cell_m).astype(np.int64), 0, shape[1] - 1)
    row = np.clip(((points[:, 1] - origin[1]) // cell_m).astype(np.int64), 0, shape[0] - 1)
    grid = np.zeros(shape, dtype=bool)
    grid[row, col] = True
    if dilate_cells > 0:
        r = dilate_cells
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        grid = ndimage.binary_dilation(grid, structure=(xx ** 2 + yy ** 2) <= r * r + r)
    # each row's runs of marked cells become rectangles; they tile without overlap, so coverage_union works
    step = np.diff(np.pad(grid, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    start_r, start_c = np.nonzero(step == 1)
    _, end_c = np.nonzero(step == -1)
    x0 = origin[0] + start_c * cell_m
    x1 = origin[0] + end_c * cell_m
    y0 = origin[1] + start_r * cell_m
    boxes = shapely.box(x0, y0, x1, y0 + cell_m)
    return shapely.coverage_union_all(boxes)


def network_grid(index: snapping.EdgeIndex, cell_m: float = CELL_M,
                 margin_cells: int = 4) -> tuple[tuple[float, float], tuple[int, int]]:
    """Origin and shape of a grid covering the whole network with a margin."""
    coords = np.vstack([index.segments.start, index.segments.end])
    lo = coords.min(axis=0) - margin_cells * cell_m
    hi = coords.max(axis=0) + margin_cells * cell_m
    shape = (int(np.ceil((hi[1] - lo[1]) / cell_m)), int(np.ceil((hi[0] - lo[0]) / cell_m)))
    return (float(lo[0]), float(lo[1])), shape


def population_within(polygons: Sequence, lsoas: gpd.GeoDataFrame | None, crs: str) -> np.ndarray:
    """ONS population whose LSOA population-weighted centroid lies inside each polygon (projected)."""
    if lsoas is None:
        return np.full(len(polygons), np.nan)
    pts = gpd.GeoSeries(gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]), crs=4326).to_crs(crs)
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    pop = lsoas["population"].to_numpy()
    out = []
    for poly in polygons:
        shapely.prepare(poly)
        out.append(int(pop[shapely.contains_xy(poly, x, y)].sum()) if not poly.is_empty else 0)
    return np.asarray(out)


def isochrones(G: nx.MultiDiGraph, bases: gpd.GeoDataFrame, thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS,
               profile: str = "blue_light", per_base: bool = True, combined: bool = True,
               lsoas: gpd.GeoDataFrame | None = None, cell_m: float = CELL_M, dilate_cells: int = DILATE_CELLS,
               crs: str = "EPSG:27700",
               index: snapping.EdgeIndex | None = None, rg: routing.RoutingGraph | None = None) -> gpd.GeoDataFrame:
    """Isochrone polygons per base and for all bases combined.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Network with ``travel_time_<profile>``.
    bases : GeoDataFrame
        Bases with ``base_id``, ``name`` and ``node`` (attached here if missing).
    thresholds_min : sequence of float
        Minutes (default 5, 10, 15, 20).
    profile : str
        Speed profile.
    per_base, combined : bool
        Which isochrones to build (combined rows have ``base`` "all bases" and ``base_id`` -1).
    lsoas : GeoDataFrame, optional
        :func:`geography.load_lsoas` output, for the population covered.
    cell_m, dilate_cells : float, int
        Grid cell size (m) and the band of cells added around reached roads.
    crs : str
        Projected CRS for geometry work.
    index, rg : optional
        Prebuilt snapping index and routing graph to reuse.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, columns ``base, base_id, threshold_min, profile, area_km2, population, geometry``.
    """
    if "node" not in bases.columns:
        from geo_response.bases import attach_nodes

        bases = attach_nodes(bases, G, crs)
    index = index or snapping.edge_index(G, crs)
    rg = rg or routing.to_csr(G, travel_time_field(profile))
    limit = max(thresholds_min) * 60.0
    fields: list[tuple[str, int, np.ndarray]] = []
    if combined:
        seconds, _ = routing.nearest_source_field(rg, bases["node"].to_numpy(), limit=limit)
        fields.append(("all bases", -1, seconds))
    if per_base:
        per = routing.per_source_fields(rg, bases["node"].to_numpy(), limit=limit)
        fields += [(str(name), int(bid), per[i]) for i, (name, bid) in enumerate(zip(bases["name"], bases["base_id"],
                                                                                     strict=True))]
    origin, shape = network_grid(index, cell_m)
    rows = []
    total = len(fields) * len(thresholds_min)
    with tqdm(total=total, desc=f"isochrones ({profile})", unit="polygon", disable=None) as bar:
        for name, bid, seconds in fields:
            for t in thresholds_min:
                poly = grid_polygon(reachable_points(index, rg, seconds, t * 60.0), origin, shape, cell_m,
                                    dilate_cells)
                rows.append({"base": name, "base_id": bid, "threshold_min": float(t), "profile": profile,
                             "geometry": poly})
                bar.update()
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    out["area_km2"] = out.geometry.area / 1e6
    out["population"] = population_within(out.geometry.values, lsoas, crs)
    return out.to_crs(4326)[COLUMNS]

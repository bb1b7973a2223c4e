"""Unit bases: from a CSV, or the ``amenity=police`` features of the same OSM source.

A bases GeoDataFrame (EPSG:4326) has ``base_id`` (0..n-1), ``name``, ``type``, ``units`` (>= 1),
``outside_area`` (True for a base outside the force boundary but within the buffer the network keeps) and
``geometry`` (Point). :func:`attach_nodes` adds ``node``, the nearest graph node.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geo_response.errors import InputFileError
from geo_response.geography import table_points
from geo_response.inputs import read_csv_table
from geo_response.roads.roadnet import RoadNetwork

BASE_COLUMNS = ["base_id", "name", "type", "units", "outside_area", "geometry"]
DUPLICATE_DISTANCE_M = 10.0


def _lower_columns(df: pd.DataFrame) -> dict[str, str]:
    return {str(c).strip().lower(): c for c in df.columns}


def _finish(
    names,
    types,
    units,
    geometry,
    boundary: BaseGeometry | None,
    area: BaseGeometry | None,
    issues: list[dict],
    projected_crs: str,
    rows: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Drop bases outside ``area`` and near-duplicates, flag the rest; ``rows`` numbers them in issues
    (file lines of a CSV; default 1..n).
    """
    gdf = gpd.GeoDataFrame({"name": names, "type": types, "units": units}, geometry=geometry, crs=4326)
    row = (np.arange(1, len(gdf) + 1) if rows is None else np.asarray(rows)).astype(int).tolist()
    keep = np.ones(len(gdf), dtype=bool)
    if area is not None:
        outside_area = ~shapely.contains_xy(area, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
        for i in np.flatnonzero(outside_area):
            issues.append(
                {
                    "row": row[i],
                    "name": gdf.name.iloc[i],
                    "issue": "outside the network area (force boundary plus buffer): dropped",
                }
            )
        keep &= ~outside_area
    gdf["outside_area"] = False
    if boundary is not None:
        outside = ~shapely.contains_xy(boundary, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
        gdf["outside_area"] = outside
        for i in np.flatnonzero(outside & keep):
            issues.append(
                {
                    "row": row[i],
                    "name": gdf.name.iloc[i],
                    "issue": "outside the force boundary (kept: within the buffer)",
                }
            )
    # duplicates: within DUPLICATE_DISTANCE_M of an earlier base (whatever its name) are dropped; a name shared
    # by bases farther apart is common in OSM ("Police Station"), so those are kept and flagged
    xy = gdf.to_crs(projected_crs).geometry.get_coordinates().to_numpy()
    seen_names: dict[str, int] = {}
    tree = cKDTree(xy) if len(xy) else None
    for i in range(len(gdf)):
        if not keep[i]:
            continue
        name = gdf.name.iloc[i]
        near = [j for j in tree.query_ball_point(xy[i], DUPLICATE_DISTANCE_M) if j < i and keep[j]]
        if near:
            issue = f"within {DUPLICATE_DISTANCE_M:.0f} m of row {row[near[0]]}: dropped as a duplicate"
            issues.append({"row": row[i], "name": name, "issue": issue})
            keep[i] = False
            continue
        if name in seen_names:
            j = seen_names[name]
            km = float(np.hypot(*(xy[i] - xy[j]))) / 1000
            issues.append(
                {
                    "row": row[i],
                    "name": name,
                    "issue": f"same name as row {row[j]}, {km:.1f} km away: "
                    "kept (give it a distinct name to refer to it in scenarios)",
                }
            )
            continue
        seen_names[name] = i
    gdf = gdf[keep].reset_index(drop=True)
    gdf.insert(0, "base_id", np.arange(len(gdf)))
    return gdf[BASE_COLUMNS]


def read_bases_csv(
    path: str | Path,
    boundary: BaseGeometry | None = None,
    area: BaseGeometry | None = None,
    projected_crs: str = "EPSG:27700",
) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Read bases from a CSV.

    Parameters
    ----------
    path : str or Path
        Columns (any case): ``name`` and either ``latitude``/``longitude`` (WGS84) or ``easting``/``northing``
        (EPSG:27700); optional ``type`` and ``units`` (default 1, also for an empty cell). Cells are read as
        text, so a base named ``NaN`` or ``NA`` keeps its name.
    boundary : shapely geometry, optional
        The force boundary (lon/lat): bases outside it are flagged ``outside_area``.
    area : shapely geometry, optional
        The network area (boundary plus buffer): bases outside it are dropped and reported.
    projected_crs : str
        CRS of easting/northing and of the duplicate test.

    Returns
    -------
    (GeoDataFrame, list of dict)
        The bases and the issues found (``row``: the file line, header = 1; ``name``, ``issue``). A row with
        more non-empty fields than the header is dropped and reported (its columns cannot be trusted);
        a trailing comma (an empty extra field) is ignored.

    Raises
    ------
    InputFileError
        If the file cannot be read, lacks the columns, or a row has unusable coordinates or units.
    """
    table = read_csv_table(path, what="bases file", skipinitialspace=True)
    df = table.frame
    cols = _lower_columns(df)
    if "name" not in cols:
        raise InputFileError(f"bases file {path} needs a 'name' column; it has {list(df.columns)}")
    issues: list[dict] = []
    extra = table.extra > 0
    for line, name, text in zip(
        table.lines[extra], df.loc[extra, cols["name"]], table.extra_detail()[extra], strict=True
    ):
        issues.append({"row": int(line), "name": str(name).strip(), "issue": f"{text}: dropped"})
    df, lines = df[~extra].reset_index(drop=True), table.lines[~extra]
    points, bad = table_points(df, f"bases file {path}", projected_crs)
    if bad.any():
        rows = [int(i) for i in lines[bad.to_numpy()]]
        raise InputFileError(
            f"bases file {path}: rows {rows} (line numbers) have missing or impossible "
            "coordinates; fix them or remove the rows"
        )
    units = pd.to_numeric(df[cols["units"]], errors="coerce") if "units" in cols else pd.Series(1, index=df.index)
    if "units" in cols:
        units = units.where(df[cols["units"]].str.strip() != "", 1)  # an empty cell is the default, 1
    wrong = units.isna() | (units < 1) | (units % 1 != 0)
    if wrong.any():
        rows = [int(i) for i in lines[wrong.to_numpy()]]
        raise InputFileError(f"bases file {path}: 'units' must be a whole number >= 1 (lines {rows})")
    types = df[cols["type"]].astype(str) if "type" in cols else pd.Series("", index=df.index)
    gdf = _finish(
        df[cols["name"]].astype(str).str.strip().to_numpy(),
        types.to_numpy(),
        units.astype(int).to_numpy(),
        points.values,
        boundary,
        area,
        issues,
        projected_crs,
        lines,
    )
    return gdf, issues


def bases_from_osm(
    path: str | Path,
    boundary: BaseGeometry | None = None,
    area: BaseGeometry | None = None,
    projected_crs: str = "EPSG:27700",
) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Police stations (``amenity=police`` nodes and areas) from an OSM file.

    Areas become their representative point. Stations with no ``name`` are named ``police <osm id>``.
    Each station gets ``units = 1``; ``type`` is ``"police"``.
    """
    path = Path(path)
    if path.name.lower().endswith(".pbf"):
        import pyrosm

        pois = pyrosm.OSM(str(path)).get_pois(custom_filter={"amenity": ["police"]})
        if pois is None or len(pois) == 0:
            pois = gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=4326)
    else:
        import osmnx as ox

        try:
            pois = ox.features_from_xml(str(path), tags={"amenity": "police"}).reset_index()
        except Exception:  # OSMnx raises when a file has no matching features
            pois = gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=4326)
    if len(pois) == 0:
        raise InputFileError(f"{path} has no amenity=police features; give the bases as a CSV with --bases")
    ids = pois["id"] if "id" in pois else pois.get("osmid", pd.Series(range(len(pois))))
    names = pois["name"] if "name" in pois else pd.Series(pd.NA, index=pois.index)
    names = [str(n) if isinstance(n, str) and n.strip() else f"police {i}" for n, i in zip(names, ids, strict=True)]
    geometry = pois.geometry.representative_point().values
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")  # stable base_id order
    issues: list[dict] = []
    gdf = _finish(
        np.asarray(names, dtype=object)[order],
        np.full(len(order), "police", dtype=object),
        np.ones(len(order), dtype=int),
        geometry[order],
        boundary,
        area,
        issues,
        projected_crs,
    )
    return gdf, issues


def attach_nodes(bases: gpd.GeoDataFrame, net: RoadNetwork, projected_crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    """Add ``node`` (nearest network node id) and ``node_distance_m`` to a bases frame (returns a copy)."""
    nodes, distance = net.nearest_nodes(bases.geometry, projected_crs)
    out = bases.copy()
    out["node"] = nodes
    out["node_distance_m"] = distance
    return out


def load_bases(
    csv_path: str | Path | None = None,
    osm_path: str | Path | None = None,
    boundary: BaseGeometry | None = None,
    area: BaseGeometry | None = None,
    projected_crs: str = "EPSG:27700",
) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Bases from a CSV when given, else from the OSM file's police stations."""
    if csv_path is not None:
        return read_bases_csv(csv_path, boundary, area, projected_crs)
    if osm_path is None:
        raise InputFileError("no bases: give a bases CSV (--bases) or an OSM file with amenity=police (--osm)")
    return bases_from_osm(osm_path, boundary, area, projected_crs)

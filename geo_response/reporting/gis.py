"""GIS-ready exports: one GeoPackage holding named layers that open in QGIS, ArcGIS Pro and Power BI.

Typical layers (the caller chooses the names): ``hexagon_results`` (:func:`geo_response.hotspots.hex_aggregate`
or :func:`~geo_response.hotspots.failure_tests`), ``lsoa_results`` (:func:`~geo_response.hotspots.lsoa_aggregate`),
``hotspots`` (:func:`~geo_response.hotspots.find_hotspots`), ``gi_star`` (:func:`~geo_response.hotspots.gi_star_spots`),
``isochrones`` and ``scenario_coverage``; from a simulation (:func:`simulation_layers`) ``simulation_causes_district``
(misses by cause per district polygon) and ``simulation_causes_lsoa`` (per LSOA, small LSOAs left out).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response.errors import OutputError
from geo_response.reporting import palette

LAYER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
CAUSES = palette.CAUSE_ORDER


def causes_by_district(causes: pd.DataFrame, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Simulated misses by cause (all grades, mean per replication) joined to the district polygons.

    Parameters
    ----------
    causes : DataFrame
        ``causes.csv`` (``district, grade, cause, missed``).
    districts : GeoDataFrame
        :func:`geo_response.geography.load_districts` (``district``, polygons).

    Returns
    -------
    GeoDataFrame
        One row per district: ``district``, ``missed_<cause>`` per cause, ``missed_total`` and
        ``main_cause`` (the cause with most misses; ``none`` without a miss). Districts without a
        simulated incident have zero misses.
    """
    sel = causes[(causes["grade"].astype(str) == "all") & (causes["district"].astype(str) != "all")]
    wide = sel.pivot_table(index="district", columns="cause", values="missed", aggfunc="sum")
    wide = wide.reindex(columns=list(CAUSES)).fillna(0.0)
    out = districts[["district", districts.geometry.name]].copy()
    for c in CAUSES:
        out[f"missed_{c}"] = out["district"].astype(str).map(wide[c]).fillna(0.0).to_numpy(float)
    values = out[[f"missed_{c}" for c in CAUSES]].to_numpy(float)
    out["missed_total"] = values.sum(axis=1)
    out["main_cause"] = np.where(
        out["missed_total"] > 0, np.asarray(CAUSES, dtype=object)[values.argmax(axis=1)] if len(out) else [], "none"
    )
    return gpd.GeoDataFrame(out, geometry=districts.geometry.name, crs=districts.crs)


def simulation_layers(run, districts: gpd.GeoDataFrame | None, lsoas: gpd.GeoDataFrame | None) -> dict:
    """GeoPackage layers of a ``SimulationRun`` (none when `run` is None): causes per district and per LSOA."""
    if run is None:
        return {}
    from geo_response import map_causes

    layers = {}
    if districts is not None and "district" in districts.columns:
        layers["simulation_causes_district"] = causes_by_district(run.tables["causes"], districts)
    if lsoas is not None:
        layers["simulation_causes_lsoa"] = map_causes.cause_cells(run.tables["incidents"], lsoas)
    return layers


def _plain_columns(gdf: gpd.GeoDataFrame, decimals: int) -> gpd.GeoDataFrame:
    """Columns GeoPackage can store: lists / dicts as JSON text, mixed objects as text, floats rounded."""
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if pd.api.types.is_float_dtype(s):
            out[col] = s.round(decimals)
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.astype(bool)
        elif s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = [
                None
                if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                else json.dumps(v, default=str)
                if isinstance(v, (list, dict, tuple))
                else str(v)
                for v in s
            ]
    return out


def write_gis(path: str | Path, layers: dict[str, gpd.GeoDataFrame], decimals: int = 6) -> Path:
    """Write every layer to one GeoPackage (an existing file at `path` is replaced).

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file.
    layers : dict
        Layer name -> GeoDataFrame with a CRS. Names: a letter, then letters, digits or ``_`` (max 63).
        ``None`` values are skipped, so optional layers can be passed as they are.
    decimals : int
        Float columns are rounded to this many decimals.

    Returns
    -------
    Path
    """
    p = Path(path)
    if p.suffix.lower() != ".gpkg":
        raise OutputError(f"GIS exports are GeoPackages: name the file *.gpkg, not {p.name!r}")
    given = {k: v for k, v in layers.items() if v is not None}
    if not given:
        raise OutputError("no layer to write: pass at least one GeoDataFrame")
    for name, gdf in given.items():
        if not LAYER_NAME.match(str(name)):
            raise OutputError(f"layer name {name!r} is not a plain name (letter, then letters, digits, _)")
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
            raise OutputError(f"layer {name!r} must be a GeoDataFrame with a CRS")
    if len({n.lower() for n in given}) != len(given):
        raise OutputError("layer names must differ in more than case (GeoPackage tables are case-insensitive)")
    from geo_response.outputs import atomic_path

    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:  # all layers into a temporary file, renamed into place at the end
        for name, gdf in given.items():
            _plain_columns(gdf, decimals).to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return p

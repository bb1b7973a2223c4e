"""Loaders for the force's real geography layers (ONS, National Highways).

Every loader returns data in EPSG:4326 with plain, documented column names, whatever the source
file calls them. Paths come from the force profile and are resolved with :mod:`geo_response.datadir`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo_response.config import ForceProfile
from geo_response.datadir import find_file
from geo_response.errors import InputFileError
from geo_response.inputs import read_csv_table

ONS_GEOPORTAL = "https://geoportal.statistics.gov.uk/"
LAT_NAMES = ("latitude", "lat")
LON_NAMES = ("longitude", "lon", "lng", "long")

LSOA_COLUMNS = [
    "lsoa_code",
    "lsoa_name",
    "district_code",
    "district",
    "ruc",
    "urban_rural",
    "population",
    "area_km2",
    "pwc_lon",
    "pwc_lat",
    "geometry",
]


@lru_cache(maxsize=8)
def _read_vector(path: str, mtime_ns: int, size: int) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        raise InputFileError(f"{path} has no CRS; save it with one (EPSG:4326 or EPSG:27700)")
    return gdf.to_crs(4326)


def read_vector(path: str | Path) -> gpd.GeoDataFrame:
    """Read a vector file into EPSG:4326 (cached per path and modification time; returns a copy)."""
    stat = Path(path).stat()
    return _read_vector(str(path), stat.st_mtime_ns, stat.st_size).copy()


def vector_sha256(path: str | Path) -> str:
    """SHA-256 of a vector file's bytes; of a Shapefile, of all its parts (``.shp``, ``.shx``, ``.dbf``, ``.prj``,
    ``.cpg``): an edit to the attributes in the ``.dbf`` is another file.
    """
    import hashlib

    p = Path(path)
    parts = [p]
    if p.suffix.lower() == ".shp":
        parts = sorted(
            q for q in p.parent.glob(p.stem + ".*") if q.suffix.lower() in (".shp", ".shx", ".dbf", ".prj", ".cpg")
        )
    h = hashlib.sha256()
    for q in parts:
        h.update(q.suffix.lower().encode())
        h.update(q.read_bytes())
    return h.hexdigest()


def load_boundary(profile: ForceProfile, data_dir: str | Path | None = None) -> BaseGeometry:
    """The force area as one (Multi)Polygon in EPSG:4326."""
    path = find_file(profile.geography.boundary, data_dir, url=ONS_GEOPORTAL)
    gdf = read_vector(path)
    return shapely.union_all(gdf.geometry.values)


def buffer_boundary(
    boundary: BaseGeometry, buffer_m: float, projected_crs: str = "EPSG:27700", tolerance_m: float = 250.0
) -> BaseGeometry:
    """Buffer a lon/lat boundary by at least ``buffer_m`` metres and return it in EPSG:4326.

    The boundary is first simplified by ``tolerance_m`` and then buffered by ``buffer_m + tolerance_m``,
    so the result contains the exact buffer. Buffering the fine coastline directly takes ~30 s; this ~1 s.
    """
    if buffer_m <= 0:
        return boundary
    projected = gpd.GeoSeries([boundary], crs=4326).to_crs(projected_crs).iloc[0]
    tolerance = min(tolerance_m, buffer_m / 4)
    grown = shapely.buffer(shapely.simplify(projected, tolerance), buffer_m + tolerance, quad_segs=4)
    return gpd.GeoSeries([grown], crs=projected_crs).to_crs(4326).iloc[0]


def load_lsoas(profile: ForceProfile, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """LSOA polygons with rural-urban class, district and population.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, columns ``lsoa_code, lsoa_name, district_code, district, ruc, urban_rural
        ('urban'/'rural' from the profile's RUC lists), population, area_km2, pwc_lon, pwc_lat, geometry``.
    """
    geo = profile.geography
    path = find_file(geo.lsoa, data_dir, url=ONS_GEOPORTAL)
    raw = read_vector(path)
    missing = [
        c
        for c in (geo.lsoa_code_field, geo.ruc_field, geo.population_field, geo.district_field)
        if c not in raw.columns
    ]
    if missing:
        raise InputFileError(f"{path} lacks columns {missing}; fix [geography] field names in the force profile")
    ruc = raw[geo.ruc_field].astype(str).str.strip()
    urban_rural = pd.Series(pd.NA, index=raw.index, dtype="object")
    urban_rural[ruc.isin(geo.urban_ruc)] = "urban"
    urban_rural[ruc.isin(geo.rural_ruc)] = "rural"
    if urban_rural.isna().any():
        bad = sorted(ruc[urban_rural.isna()].unique())
        raise InputFileError(f"{path}: RUC codes {bad} are in neither urban_ruc nor rural_ruc of the profile")
    out = gpd.GeoDataFrame(
        {
            "lsoa_code": raw[geo.lsoa_code_field].astype(str),
            "lsoa_name": raw.get("lsoa11nm", raw[geo.lsoa_code_field]).astype(str),
            "district_code": raw.get("lad_cd", pd.Series("", index=raw.index)).astype(str),
            "district": raw[geo.district_field].astype(str),
            "ruc": ruc,
            "urban_rural": urban_rural.astype(str),
            "population": pd.to_numeric(raw[geo.population_field], errors="coerce").fillna(0).astype(int),
            "area_km2": pd.to_numeric(raw.get("area_km2", 0), errors="coerce"),
            "pwc_lon": pd.to_numeric(raw.get("pwc_lon", raw.geometry.representative_point().x), errors="coerce"),
            "pwc_lat": pd.to_numeric(raw.get("pwc_lat", raw.geometry.representative_point().y), errors="coerce"),
        },
        geometry=raw.geometry.values,
        crs=4326,
    )
    return out[LSOA_COLUMNS]


def load_districts(profile: ForceProfile, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """District (local authority) polygons: ``district_code, district, geometry`` in EPSG:4326."""
    path = find_file(profile.geography.districts, data_dir, url=ONS_GEOPORTAL)
    raw = read_vector(path)
    return gpd.GeoDataFrame(
        {"district_code": raw["lad_cd"].astype(str), "district": raw["lad_nm"].astype(str)},
        geometry=raw.geometry.values,
        crs=4326,
    )


def load_towns(profile: ForceProfile, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """Built-up areas (towns) as points: ``name, population, geometry`` in EPSG:4326."""
    path = find_file(profile.geography.towns, data_dir, url=ONS_GEOPORTAL)
    raw = pd.read_csv(path)
    return gpd.GeoDataFrame(
        {"name": raw["bua22nm"].astype(str), "population": raw["pop_census2021"].astype(int)},
        geometry=gpd.points_from_xy(raw["lon"], raw["lat"]),
        crs=4326,
    )


def load_srn_links(profile: ForceProfile, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """Strategic road network links (junction to junction, straight): ``link_ref, road, description,
    start_junction, end_junction, geometry`` in EPSG:4326.
    """
    path = find_file(profile.geography.srn_links, data_dir, url="https://doi.org/10.1177/03611981221111150")
    raw = pd.read_csv(path)
    lines = shapely.linestrings(
        [[(a, b), (c, d)] for a, b, c, d in raw[["StartLon", "StartLat", "EndLon", "EndLat"]].to_numpy()]
    )
    return gpd.GeoDataFrame(
        {
            "link_ref": raw["LinkRef"].astype(str),
            "road": raw["road"].astype(str),
            "description": raw["LinkDescription"].astype(str),
            "start_junction": raw["StartJunction"].astype(str),
            "end_junction": raw["EndJunction"].astype(str),
        },
        geometry=lines,
        crs=4326,
    )


def table_points(
    df: pd.DataFrame, source: str = "table", projected_crs: str = "EPSG:27700"
) -> tuple[gpd.GeoSeries, pd.Series]:
    """Points from a table's ``latitude``/``longitude`` (WGS84) or ``easting``/``northing`` columns.

    Column names match in any case; ``lat``/``lon``/``lng`` are accepted too. Used for bases, candidate
    sites and point files (incident files have their own ledgered loader, :mod:`geo_response.incidents`).

    Parameters
    ----------
    df : DataFrame
    source : str
        How to name the table in errors (e.g. ``"bases file bases.csv"``).
    projected_crs : str
        CRS of easting / northing.

    Returns
    -------
    (GeoSeries, Series)
        Points in EPSG:4326 aligned with ``df`` (missing where the row's coordinates are missing or
        impossible), and that boolean ``bad`` mask. Rows are never dropped: callers report them.

    Raises
    ------
    InputFileError
        If the table has no coordinate columns.
    """
    cols = {str(c).strip().lower(): c for c in df.columns}
    lat = next((cols[c] for c in LAT_NAMES if c in cols), None)
    lon = next((cols[c] for c in LON_NAMES if c in cols), None)
    if lat is not None and lon is not None:
        x = pd.to_numeric(df[lon], errors="coerce")
        y = pd.to_numeric(df[lat], errors="coerce")
        bad = x.isna() | y.isna() | ~x.between(-180, 180) | ~y.between(-90, 90)
        crs = 4326
    elif {"easting", "northing"} <= cols.keys():
        x = pd.to_numeric(df[cols["easting"]], errors="coerce")
        y = pd.to_numeric(df[cols["northing"]], errors="coerce")
        bad = x.isna() | y.isna() | ~np.isfinite(x) | ~np.isfinite(y)
        crs = projected_crs
    else:
        raise InputFileError(
            f"{source} needs latitude/longitude or easting/northing columns (or lat/lon); it has {list(df.columns)}"
        )
    points = gpd.GeoSeries(gpd.points_from_xy(x.where(~bad), y.where(~bad)), index=df.index, crs=crs).to_crs(4326)
    points[bad.to_numpy()] = None
    return points, bad


def read_points_table(path: str | Path, what: str = "points file") -> pd.DataFrame:
    """Read a CSV of points (or candidate sites) with every cell kept as the text it was.

    Columns that are copied to an output keep their values: ``007`` stays ``007``, ``+441234`` stays text (the
    CSV writer neutralises it), ``NA`` / ``null`` / ``NaN`` stay strings and an empty cell is ``""``. Pass the
    result to :func:`table_points` for the coordinates.

    Parameters
    ----------
    path : str or Path
    what : str
        How to name the file in errors (``"points file"``, ``"candidates file"``).

    Returns
    -------
    DataFrame
        One row per CSV record (a ``RangeIndex``), every column as ``str``. ``attrs["lines"]`` holds each
        row's file line number (header = line 1, blank lines counted); ``attrs["extra_fields"]`` maps the
        line number of each record that had more non-empty fields than the header (kept, with its first
        fields) to a description: callers must report those rows, e.g. with the status ``extra_fields``,
        since their columns cannot be trusted. ``attrs["records"]`` is the reader's own record count.

    Raises
    ------
    InputFileError
        If the file cannot be read at all.
    """
    table = read_csv_table(path, what=what)
    df = table.frame
    detail = table.extra_detail()
    df.attrs["source"] = str(path)
    df.attrs["lines"] = table.lines
    df.attrs["records"] = table.records
    df.attrs["extra_fields"] = {int(line): str(text) for line, text in zip(table.lines, detail, strict=True) if text}
    return df

"""Load incident files with a ledger: every input row is accepted or rejected with a reason.

Reads CSV, GeoPackage or Parquet (one file, a folder of them, or a glob pattern such as
``police_uk/2018-*.csv``). Column names are matched case-insensitively, with spaces and hyphens
read as underscores, so the original police.uk headers (``Crime ID``, ``Longitude``, ``Crime type``)
and the snake_case ones (``crime_id``, ``longitude``, ``crime_type``) load with no options. A column map
(``columns=``, the CLI's ``--columns``) names other columns first (command-and-control exports); every column
left unused is named in ``summary["unused_columns"]`` and a logged warning.

Recognised columns
------------------
coordinates
    ``latitude``/``longitude`` (WGS84, also ``lat``/``lon``/``lng``) or ``easting``/``northing``
    (EPSG:27700). A GeoPackage or GeoParquet geometry column is used when neither pair is present.
``incident_id`` (or ``crime_id``, ``id``)
    Repeated non-empty ids are rejected after the first valid one. Empty ids are never duplicates.
``occurred_at`` (ISO 8601 or ``dd/mm/yyyy HH:MM``, see :func:`slash_order`) or ``month`` (YYYY-MM)
``grade``
    A code or a label of the policy (checked when a policy is given; see :mod:`geo_response.grading`).
``category`` (or ``crime_type``)
``response_minutes`` (call to arrival) or ``arrived_at`` (needs ``occurred_at``)
``dispatched_at``
    Splits the response into ``dispatch_minutes`` and ``travel_minutes_observed`` (warnings, never rejections).
``on_scene_minutes``
    Kept as a number >= 0 (the simulation's job time); bad values are left missing with a warning.
``lsoa_code``
    Used only for rows whose coordinates are missing: such a row is accepted when the code is one of
    the force's LSOAs (``lsoas`` given), located at that LSOA's population-weighted centroid, and
    flagged in the ledger with the warning ``located_by_lsoa_code``; otherwise it is rejected as
    ``missing_coordinates``.

Rejection reasons (the first that applies, in this order)
--------------------------------------------------------
``extra_fields`` (a CSV record with more non-empty fields than the header: its columns cannot be trusted),
``missing_coordinates``, ``unparseable_coordinates``, ``outside_force_area``, ``ambiguous_date`` (``01/02/2018``
with no ``dayfirst`` and no evidence in the file), ``unparseable_time``,
``time_out_of_range`` (a date before :data:`EARLIEST_TIME` or after :data:`LATEST_TIME`, e.g.
``9999-12-31``), ``unknown_grade``, ``unparseable_response_time``, ``negative_response_time``,
``implausible_response_time`` (longer than the force profile's ``response_model.max_response_minutes``),
``duplicate_incident_id``. Duplicates are judged last, among rows that passed every other check, so a
valid copy is kept.

Row numbers and counts
----------------------
``row_number`` is the file line number of a CSV record (the header is line 1; blank lines are counted,
a quoted field spanning lines gives the record's first line) and the 1-based feature number in a
GeoPackage or Parquet file. ``summary["input_rows"]`` is counted by the reader (CSV records, or the
file's own feature count), independently of the rows that come out, so ``input_rows == accepted +
rejected`` is a real check.

Privacy: ledger details never repeat coordinates. With ``show_points=True`` a row outside the force
area gets its 1 km Ordnance Survey grid square (e.g. ``TL 70 07``).

Examples
--------
>>> from geo_response import incidents
>>> result = incidents.load_incidents("police_uk/")            # doctest: +SKIP
>>> result.summary["input_rows"] == result.summary["accepted"] + result.summary["rejected"]  # doctest: +SKIP
True
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo_response.config import Policy
from geo_response.errors import InputFileError
from geo_response.incidents.grading import normalise_grade
from geo_response.inputs import read_csv_table
from geo_response.ledger import LEDGER_COLUMNS, ledger_rows

SUFFIXES = (".csv", ".gpkg", ".parquet", ".geoparquet")
LOG = logging.getLogger(__name__)

#: Accepted spellings (after lower-casing, spaces/hyphens -> underscores) of each column.
ALIASES: dict[str, tuple[str, ...]] = {
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "easting": ("easting", "x_27700"),
    "northing": ("northing", "y_27700"),
    "incident_id": ("incident_id", "crime_id", "id"),
    "occurred_at": ("occurred_at", "datetime", "date_time", "created"),
    "month": ("month",),
    "grade": ("grade",),
    "category": ("category", "crime_type"),
    "response_minutes": ("response_minutes",),
    "arrived_at": ("arrived_at", "arrived"),
    "dispatched_at": ("dispatched_at", "dispatched"),
    "on_scene_minutes": ("on_scene_minutes",),
    "lsoa_code": ("lsoa_code", "lsoa11cd"),
}

INCIDENT_COLUMNS = [
    "source_file",
    "row_number",
    "incident_id",
    "month",
    "occurred_at",
    "category",
    "grade",
    "response_minutes",
    "dispatch_minutes",
    "travel_minutes_observed",
    "on_scene_minutes",
    "location_source",
    "lsoa_code_input",
    "geometry",
]

MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"
#: times outside [EARLIEST_TIME, LATEST_TIME) are rejected as ``time_out_of_range``
EARLIEST_TIME = pd.Timestamp("1900-01-01", tz="UTC")
LATEST_TIME = pd.Timestamp("2100-01-01", tz="UTC")
#: used when no bound is given (the Essex profile sets ``response_model.max_response_minutes``)
DEFAULT_MAX_RESPONSE_MINUTES = 1440.0


@dataclass
class LoadResult:
    """Accepted incidents, the ledger of rejected and flagged rows, and a summary.

    Attributes
    ----------
    incidents : GeoDataFrame
        EPSG:4326, columns ``source_file, row_number, incident_id, month, occurred_at, category, grade,
        response_minutes, location_source ('coordinates' | 'lsoa_centroid'), lsoa_code_input, geometry``.
    ledger : DataFrame
        ``file, row_number, incident_id, status ('rejected' | 'warning'), reason, detail``.
    summary : dict
        ``input_rows`` (counted by the readers), ``accepted, rejected, rejected_by_reason, warnings, files``
        (per file: ``file, rows``, and for a CSV ``lines_read, blank_lines``; ``coordinates``),
        ``coordinates, has_grades, has_response_times, has_months``.
    """

    incidents: gpd.GeoDataFrame
    ledger: pd.DataFrame
    summary: dict = field(default_factory=dict)


class IncidentSource(list):
    """Incident paths (a list of files, folders or globs) with how to read them: a column map and the date order.

    A list, so every workflow that takes ``incidents_path`` passes it on unchanged; :func:`load_incidents`
    reads ``columns`` and ``dayfirst`` from it.

    Examples
    --------
    >>> src = IncidentSource(["storm.csv"], columns={"Created": "occurred_at"}, dayfirst=True)
    >>> list(src), src.dayfirst
    (['storm.csv'], True)
    """

    def __init__(
        self,
        paths: str | Path | Sequence[str | Path],
        columns: Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
    ) -> None:
        super().__init__([paths] if isinstance(paths, (str, Path)) else list(paths))
        self.columns = dict(columns) if columns else None
        self.dayfirst = dayfirst


def parse_column_map(text: str | Path | None) -> dict[str, str] | None:
    """A column map from ``"Incident URN=incident_id,Created=occurred_at"`` or a TOML file with a ``[columns]`` table.

    Raises
    ------
    InputFileError
        When the text is neither (saying what is expected).

    Examples
    --------
    >>> parse_column_map("Incident URN=incident_id, Created=occurred_at")
    {'Incident URN': 'incident_id', 'Created': 'occurred_at'}
    """
    if text is None or str(text).strip() == "":
        return None
    p = Path(str(text))
    if p.suffix.lower() == ".toml" or p.is_file():
        import tomllib

        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputFileError(f"--columns {p}: cannot read it as TOML: {exc}") from exc
        table = data.get("columns")
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise InputFileError(
                f"--columns {p}: needs a [columns] table of file column = geo-response name, "
                'e.g. "Incident URN" = "incident_id"'
            )
        return {str(k): v for k, v in table.items()}
    out: dict[str, str] = {}
    for part in str(text).split(","):
        source, sep, target = part.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InputFileError(
                f"--columns: {part.strip()!r} is not 'file column=name'; give e.g. "
                "'Incident URN=incident_id,Created=occurred_at,Arrived=arrived_at' or a TOML file"
            )
        out[source.strip()] = target.strip()
    return out


#: what to do about the commonest reason when no row of a file is accepted
NO_ROWS_HINTS = {
    "unparseable_time": "pass --dayfirst for UK dates (14/06/2018 17:20) or name the time column with --columns",
    "ambiguous_date": "pass --dayfirst for UK dates (14/06/2018 17:20), or --no-dayfirst",
    "unparseable_response_time": "pass --dayfirst for UK dates, or name the arrival column with --columns",
    "missing_coordinates": "name the coordinate columns with --columns (e.g. 'X=easting,Y=northing')",
    "unparseable_coordinates": "check the coordinate columns (--columns), and that easting/northing are EPSG:27700",
    "outside_force_area": "check the file is of this force (--force-profile) and its coordinates' system",
    "unknown_grade": "check --policy, or name the grade column with --columns",
}


def require_accepted(summary: dict) -> None:
    """Raise when rows were read but none was accepted, naming the commonest reason and what to do.

    Parameters
    ----------
    summary : dict
        A load summary (``input_rows``) or a command's summary (``input``), with ``accepted``, ``rejected``
        and ``rejected_by_reason``.

    Raises
    ------
    InputFileError
        When rows were read and ``accepted == 0``.
    """
    s = summary
    n_input = s.get("input_rows", s.get("input", 0))
    if s["accepted"] > 0 or n_input == 0:
        return
    reasons = s.get("rejected_by_reason") or {}
    top = max(reasons, key=reasons.get) if reasons else "none"
    hint = NO_ROWS_HINTS.get(top, "see the ledger (geo-response validate --incidents FILE --out DIR)")
    raise InputFileError(
        f"no incident accepted: {s['rejected']:,} of {n_input:,} rows rejected, most as {top} "
        f"({reasons.get(top, 0):,}); {hint}"
    )


def expand_paths(path: str | Path | Sequence[str | Path]) -> list[Path]:
    """Turn a file, a folder, a glob pattern or a list of those into a sorted list of files.

    Raises
    ------
    InputFileError
        If nothing matches.
    """
    if isinstance(path, (list, tuple)):
        out: list[Path] = []
        for p in path:
            out.extend(expand_paths(p))
        return out
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise InputFileError(
                f"folder {p} holds no incident files ({', '.join(SUFFIXES)}); "
                "pass a file, a folder of monthly files or a glob such as 'police_uk/*.csv'"
            )
        return files
    if p.is_file():
        return [p]
    if any(ch in str(path) for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(path)) if Path(f).is_file())
        if files:
            return files
        raise InputFileError(f"no file matches the pattern {path!r}; check the folder and the pattern")
    raise InputFileError(
        f"incident file {p} does not exist; pass an existing CSV, GeoPackage or Parquet file, "
        "a folder of them, or a glob pattern"
    )


def normalise_name(name: object) -> str:
    """Lower-case a column name, spaces and hyphens as underscores (``'Crime type' -> 'crime_type'``)."""
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one incident file into a DataFrame of strings (a ``__geometry__`` column is kept when present).

    CSV cells are kept as written (``""`` when empty); see :func:`read_source` for line numbers and counts.

    Raises
    ------
    InputFileError
        When the file cannot be read at all, saying why.
    """
    return read_source(path)[0]


def _feature_count(p: Path, suffix: str) -> int | None:
    """The row count a GeoPackage or Parquet file declares (None when it cannot be had cheaply)."""
    try:
        if suffix == ".gpkg":
            import pyogrio

            return int(pyogrio.read_info(p)["features"])
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    except Exception:  # noqa: BLE001 - the count is a cross-check; the reader's own error is the one to show
        return None


def _read_vector_table(p: Path, suffix: str) -> pd.DataFrame:
    try:
        if suffix == ".gpkg":
            df = gpd.read_file(p)
        else:
            try:
                df = gpd.read_parquet(p)
            except (ValueError, KeyError):
                df = pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure means the file is unreadable
        raise InputFileError(f"cannot read {p} as {suffix.lstrip('.').upper()}: {exc}") from exc
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        geom = df.geometry
        if geom.crs is not None and not geom.crs.equals("EPSG:4326"):
            geom = geom.to_crs(4326)
        df = pd.DataFrame(df.drop(columns=df.geometry.name)).astype(object)
        df = df.where(df.notna(), None).astype("string").astype(object)
        df["__geometry__"] = geom.values
    else:
        df = df.astype("string").astype(object)
    return df.reset_index(drop=True)


def read_source(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, pd.Series, dict]:
    """Read one incident file with its row numbers, extra-field flags and an independent row count.

    Returns
    -------
    (DataFrame, ndarray, Series, dict)
        The cells (strings; ``__geometry__`` for a GeoPackage / GeoParquet geometry), each row's number
        (CSV: file line, header = 1; others: feature number from 1), the ``extra_fields`` ledger detail per
        row (``""`` when fine) and counts: ``rows`` (records read by the reader or declared by the file),
        ``lines_read`` and ``blank_lines`` (CSV).

    Raises
    ------
    InputFileError
        When the file cannot be read at all, saying why.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        table = read_csv_table(p, what="incident file", skipinitialspace=True)
        counts = {"rows": table.records, "lines_read": table.lines_read, "blank_lines": table.blank_lines}
        return table.frame, table.lines, table.extra_detail(), counts
    if suffix not in SUFFIXES:
        raise InputFileError(f"{p}: unknown file type {suffix!r}; use one of {', '.join(SUFFIXES)}")
    if not p.is_file():
        raise InputFileError(f"incident file {p} does not exist; check the path")
    declared = _feature_count(p, suffix)
    df = _read_vector_table(p, suffix)
    counts = {"rows": declared if declared is not None else len(df)}
    return df, np.arange(1, len(df) + 1, dtype=np.int64), pd.Series("", index=df.index, dtype="object"), counts


def _apply_column_map(df: pd.DataFrame, path: Path, columns: Mapping[str, str]) -> dict[str, str]:
    """The file's columns named by a column map (``{"Incident URN": "incident_id", ...}``): canonical -> column.

    Raises
    ------
    InputFileError
        When a map names a column the file does not have (saying which it has, with a did-you-mean) or maps to
        a name geo-response does not know.
    """
    import difflib

    by_name = {str(c): str(c) for c in df.columns if c != "__geometry__"}
    by_norm = {normalise_name(c): c for c in reversed(list(by_name))}
    found: dict[str, str] = {}
    for source, target in columns.items():
        key = normalise_name(target)
        if key not in ALIASES:
            close = difflib.get_close_matches(key, list(ALIASES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputFileError(
                f"column map: {target!r} is not a column geo-response reads{hint}; use one of {', '.join(ALIASES)}"
            )
        col = by_name.get(str(source)) or by_norm.get(normalise_name(source))
        if col is None:
            close = difflib.get_close_matches(str(source), list(by_name), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputFileError(
                f"column map: {path.name} has no column {source!r}{hint}; its columns are {list(by_name)[:30]}"
            )
        found[key] = col
    return found


def _find_columns(
    df: pd.DataFrame, path: Path, columns: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Canonical name -> file column (the column map first, then the aliases), and the columns not used."""
    mapped = _apply_column_map(df, path, columns) if columns else {}
    taken = set(mapped.values())
    by_norm: dict[str, str] = {}
    for col in df.columns:
        if col == "__geometry__" or col in taken:
            continue
        by_norm.setdefault(normalise_name(col), col)
    found = dict(mapped)
    for key, names in ALIASES.items():
        if key in found:
            continue
        for name in names:
            if name in by_norm:
                found[key] = by_norm[name]
                break
    has_ll = "latitude" in found and "longitude" in found
    has_en = "easting" in found and "northing" in found
    if not (has_ll or has_en or "__geometry__" in df.columns):
        raise InputFileError(
            f"{path} has no coordinate columns: need latitude/longitude (WGS84) or easting/northing "
            f"(EPSG:27700), matched case-insensitively (or name them with --columns). "
            f"Columns found: {list(df.columns)[:20]}"
        )
    used = set(found.values())
    unused = [str(c) for c in df.columns if c != "__geometry__" and c not in used]
    return found, unused


def _clean(series: pd.Series) -> pd.Series:
    s = series.astype("string").str.strip()
    return s.mask(s == "")


def _parse_coordinates(df: pd.DataFrame, cols: dict[str, str]) -> tuple[np.ndarray, np.ndarray, pd.Series, str]:
    """Return lon, lat arrays, a reason per row (NA when fine) and the coordinate system used."""
    n = len(df)
    reason = pd.Series(pd.NA, index=df.index, dtype="object")
    if "latitude" in cols and "longitude" in cols:
        a_raw, b_raw, system = _clean(df[cols["longitude"]]), _clean(df[cols["latitude"]]), "EPSG:4326"
    elif "easting" in cols and "northing" in cols:
        a_raw, b_raw, system = _clean(df[cols["easting"]]), _clean(df[cols["northing"]]), "EPSG:27700"
    else:
        geom = df["__geometry__"]
        missing = geom.isna() | np.asarray(shapely.is_empty(geom.to_numpy()) if n else [], dtype=bool)
        arr = geom.to_numpy()
        pts = (
            np.where(shapely.get_type_id(arr) == 0, arr, shapely.centroid(arr)) if n else np.array([])
        )  # points; else centroid
        pts = np.where(missing, None, pts)
        lon = np.asarray(shapely.get_x(pts), dtype=float) if n else np.array([])
        lat = np.asarray(shapely.get_y(pts), dtype=float) if n else np.array([])
        reason[missing] = "missing_coordinates"
        return lon, lat, reason, "geometry"
    a, b = pd.to_numeric(a_raw, errors="coerce"), pd.to_numeric(b_raw, errors="coerce")
    missing = a_raw.isna() | b_raw.isna()
    bad = ~missing & (a.isna() | b.isna() | ~np.isfinite(a.astype(float)) | ~np.isfinite(b.astype(float)))
    a, b = a.astype(float).to_numpy(), b.astype(float).to_numpy()
    if system == "EPSG:4326":
        bad |= ~missing & ((np.abs(b) > 90) | (np.abs(a) > 180))
        lon, lat = a, b
    else:
        bad |= ~missing & ((a < 0) | (a > 800_000) | (b < 0) | (b > 1_400_000))
        lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(a, b)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    reason[missing.to_numpy()] = "missing_coordinates"
    reason[bad.to_numpy()] = "unparseable_coordinates"
    return lon, lat, reason, system


def point_geometry(df: pd.DataFrame, path: str | Path = "<table>") -> gpd.GeoSeries:
    """Points (EPSG:4326) from a table's latitude/longitude or easting/northing columns (any case).

    Rows with missing or unparseable coordinates get a missing geometry (check ``.isna()``).

    Raises
    ------
    InputFileError
        If the table has no coordinate columns.
    """
    cols = _find_columns(df, Path(path))
    lon, lat, reason, _ = _parse_coordinates(df, cols)
    points = gpd.points_from_xy(lon, lat)
    points[reason.notna().to_numpy()] = None
    return gpd.GeoSeries(points, index=df.index, crs=4326)


def grid_references(lon: np.ndarray, lat: np.ndarray) -> list[str]:
    """1 km Ordnance Survey grid squares (``"TL 70 07"``) of lon/lat points; ``"off the grid"`` outside GB.

    Examples
    --------
    >>> grid_references(np.array([0.4690]), np.array([51.7360]))
    ['TL 70 07']
    """
    e, n = Transformer.from_crs(4326, 27700, always_xy=True).transform(np.asarray(lon, float), np.asarray(lat, float))
    out = []
    for x, y in zip(np.atleast_1d(e), np.atleast_1d(n), strict=True):
        if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < 700_000 and 0 <= y < 1_300_000):
            out.append("off the grid")
            continue
        e100, n100 = int(x // 100_000), int(y // 100_000)
        first = (19 - n100) - (19 - n100) % 5 + (e100 + 10) // 5
        second = (19 - n100) * 5 % 25 + e100 % 5
        letters = "".join(chr(65 + v + (v > 7)) for v in (first, second))  # the grid skips the letter I
        out.append(f"{letters} {int(x % 100_000) // 1000:02d} {int(y % 100_000) // 1000:02d}")
    return out


#: a day/month/year or month/day/year date, optionally with a time (``14/06/2018 17:20``, ``14/06/2018``)
SLASH_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
TIME_COLUMNS = ("occurred_at", "dispatched_at", "arrived_at")


def slash_order(values: Sequence[pd.Series], dayfirst: bool | None = None) -> str | None:
    """How ``a/b/yyyy`` dates of a file are to be read: ``'dayfirst'``, ``'monthfirst'``, ``'ambiguous'`` or None.

    ``dayfirst`` True / False decides. Otherwise the file decides: day-first when some first field is over 12
    and no second one is (``14/06/2018``), month-first the other way round; ``'ambiguous'`` when every date
    reads both ways (or the evidence conflicts); None when the file holds no such date.

    Examples
    --------
    >>> slash_order([pd.Series(["14/06/2018 17:20", "01/02/2018"])])
    'dayfirst'
    >>> slash_order([pd.Series(["01/02/2018"])])
    'ambiguous'
    """
    if dayfirst is not None:
        return "dayfirst" if dayfirst else "monthfirst"
    parts = [s.dropna().astype(str).str.strip().str.extract(SLASH_DATE)[[0, 1]].dropna() for s in values]
    found = pd.concat(parts) if parts else pd.DataFrame()
    if found.empty:
        return None
    first, second = found[0].astype(int), found[1].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and not month_first:
        return "dayfirst"
    if month_first and not day_first:
        return "monthfirst"
    return "ambiguous"


def _iso_from_slash(s: pd.Series, order: str) -> pd.Series:
    """``a/b/yyyy[ HH:MM[:SS]]`` rewritten as ISO text in the given order (NA where the pattern does not match)."""
    g = s.astype(str).str.strip().str.extract(SLASH_DATE)
    day, month = (g[0], g[1]) if order == "dayfirst" else (g[1], g[0])
    text = g[2] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    clock = g[3].fillna("0").str.zfill(2) + ":" + g[4].fillna("00") + ":" + g[5].fillna("00")
    return (text + "T" + clock).where(g[0].notna())


def _parse_times(s: pd.Series, order: str | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Time text -> (UTC times in ns, NaT where unparseable or out of range; the out-of-range mask; the
    ambiguous mask).

    ISO 8601 first; then ``dd/mm/yyyy[ HH:MM[:SS]]`` (``order='dayfirst'``) or ``mm/dd/yyyy`` (``'monthfirst'``);
    with ``order='ambiguous'`` such dates are left unparsed and flagged (never guessed). Naive times are wall
    clock times. Never raises: a value pandas cannot hold (year 9999, 0202) is out of range, not an error.
    """
    try:
        parsed = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
    except (ValueError, OverflowError):  # a value the vectorised parser chokes on: parse one by one

        def one(v: object) -> pd.Timestamp:
            try:
                return pd.to_datetime(v, format="ISO8601", errors="coerce", utc=True)
            except (ValueError, OverflowError):
                return pd.NaT

        parsed = pd.to_datetime(pd.Series([one(v) for v in s], index=s.index, dtype=object), utc=True)
    ambiguous = pd.Series(False, index=s.index)
    slash = parsed.isna() & s.notna() & s.astype(str).str.strip().str.fullmatch(SLASH_DATE).fillna(False).astype(bool)
    if slash.any():
        if order in ("dayfirst", "monthfirst"):
            iso = _iso_from_slash(s[slash], order)
            parsed[slash] = pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=True)
        else:
            ambiguous = slash
    out_of_range = parsed.notna() & ((parsed < EARLIEST_TIME) | (parsed >= LATEST_TIME))
    parsed = parsed.where(~out_of_range)
    return parsed.dt.tz_convert(None).astype("datetime64[ns]"), out_of_range.astype(bool), ambiguous.astype(bool)


AMBIGUOUS_DETAIL = " reads as day/month or month/day: pass --dayfirst (UK dates) or --no-dayfirst"


def _time_column(s: pd.Series, name: str, order: str | None, reject, unparseable: str) -> pd.Series:
    """Parse one time column, rejecting ambiguous, unparseable (as ``unparseable``) and out-of-range values."""
    parsed, out_of_range, ambiguous = _parse_times(s, order)
    text = name + "=" + s.astype(str)
    reject(ambiguous, "ambiguous_date", text + AMBIGUOUS_DETAIL)
    reject(s.notna() & parsed.isna() & ~out_of_range & ~ambiguous, unparseable, text)
    reject(out_of_range, "time_out_of_range", text + f" is not between {EARLIEST_TIME.year} and {LATEST_TIME.year}")
    return parsed


def _times(raw: pd.DataFrame, cols: dict[str, str], reject, order: str | None = None) -> tuple[pd.Series, pd.Series]:
    """``occurred_at`` (naive UTC) and ``month`` (YYYY-MM as written) of every row, rejecting bad ones."""
    idx = raw.index
    occurred = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    month = pd.Series(pd.NA, index=idx, dtype="object")
    if "occurred_at" in cols:
        name = cols["occurred_at"]
        s = _clean(raw[name])
        occurred = _time_column(s, name, order, reject, "unparseable_time")
        # the month as written (local wall clock), not the UTC one: 2021-05-01T00:30+01:00 is May
        written = s.str[:7]
        iso_month = written.str.fullmatch(MONTH_PATTERN).fillna(False).astype(bool)
        slash = s.str.fullmatch(SLASH_DATE).fillna(False).astype(bool)
        month = written.where(occurred.notna() & iso_month, pd.NA).astype("object")
        from_slash = occurred.notna() & slash & ~iso_month
        month[from_slash] = occurred[from_slash].dt.strftime("%Y-%m")
    if "month" in cols:
        s = _clean(raw[cols["month"]])
        good = s.str.fullmatch(MONTH_PATTERN).fillna(False).astype(bool)
        reject(s.notna() & ~good, "unparseable_time", cols["month"] + "=" + s.astype(str) + " (expected YYYY-MM)")
        fill = month.isna() & good
        month[fill] = s[fill].astype(str)
    return occurred, month


def _response(
    raw: pd.DataFrame,
    cols: dict[str, str],
    occurred: pd.Series,
    reject,
    max_minutes: float,
    order: str | None = None,
) -> pd.Series:
    """Response minutes from ``response_minutes`` or ``arrived_at - occurred_at``, rejecting bad ones."""
    response = pd.Series(np.nan, index=raw.index, dtype=float)
    if "response_minutes" in cols:
        name = cols["response_minutes"]
        s = _clean(raw[name])
        response = pd.to_numeric(s, errors="coerce").astype(float)
        text = name + "=" + s.astype(str)
        reject(s.notna() & (response.isna() | ~np.isfinite(response)), "unparseable_response_time", text)
        reject(response < 0, "negative_response_time", text)
    elif "arrived_at" in cols:
        name = cols["arrived_at"]
        s = _clean(raw[name])
        arrived = _time_column(s, name, order, reject, "unparseable_response_time")
        if "occurred_at" not in cols:
            reject(s.notna(), "unparseable_response_time", "arrived_at given but no occurred_at to measure from")
        else:
            response = ((arrived - occurred).dt.total_seconds() / 60.0).astype(float)
            reject(response < 0, "negative_response_time", "arrived_at " + s.astype(str) + " is before occurred_at")
    reject(
        response > max_minutes,
        "implausible_response_time",
        response.map(
            lambda m: (
                f"{m:,.1f} minutes is longer than the plausible {max_minutes:,.0f} "
                "(force profile response_model.max_response_minutes)"
            )
        ),
    )
    return response


def _dispatch_split(
    raw: pd.DataFrame, cols: dict[str, str], occurred: pd.Series, order: str | None, warn
) -> tuple[pd.Series, pd.Series]:
    """``dispatch_minutes`` (dispatched - occurred) and ``travel_minutes_observed`` (arrived - dispatched).

    A bad or out-of-order dispatch time never rejects a row (its response time stands): the split is left
    missing and the row gets a warning (``unparseable_dispatch_time`` or ``dispatch_time_out_of_order``).
    """
    idx = raw.index
    dispatch = pd.Series(np.nan, index=idx, dtype=float)
    travel = pd.Series(np.nan, index=idx, dtype=float)
    if "dispatched_at" not in cols or "occurred_at" not in cols:
        return dispatch, travel
    name = cols["dispatched_at"]
    s = _clean(raw[name])
    dispatched, out_of_range, ambiguous = _parse_times(s, order)
    bad = s.notna() & dispatched.isna()
    warn(bad, "unparseable_dispatch_time", name + "=" + s.astype(str) + " (no dispatch / travel split)")
    dispatch = ((dispatched - occurred).dt.total_seconds() / 60.0).astype(float)
    if "arrived_at" in cols:
        arrived, _, _ = _parse_times(_clean(raw[cols["arrived_at"]]), order)
        travel = ((arrived - dispatched).dt.total_seconds() / 60.0).astype(float)
    disorder = (dispatch < 0) | (travel < 0)
    warn(
        disorder,
        "dispatch_time_out_of_order",
        name + "=" + s.astype(str) + " is not between the call and the arrival (no dispatch / travel split)",
    )
    dispatch[disorder], travel[disorder] = np.nan, np.nan
    return dispatch, travel


def _on_scene(raw: pd.DataFrame, cols: dict[str, str], warn) -> pd.Series:
    """``on_scene_minutes`` as numbers; bad or negative values are left missing with a warning."""
    if "on_scene_minutes" not in cols:
        return pd.Series(np.nan, index=raw.index, dtype=float)
    name = cols["on_scene_minutes"]
    s = _clean(raw[name])
    value = pd.to_numeric(s, errors="coerce").astype(float)
    bad = s.notna() & (value.isna() | ~np.isfinite(value) | (value < 0))
    warn(bad, "bad_on_scene_minutes", name + "=" + s.astype(str) + " is not a non-negative number (left missing)")
    return value.where(~bad)


def _coordinate_text(
    coord_reason: pd.Series, cols: dict[str, str], system: str, lsoa_in: pd.Series | None
) -> pd.Series:
    """Ledger detail of rows with missing or unparseable coordinates; never the values themselves (a
    near-miss such as ``51.7503x`` is still a location).
    """
    text = pd.Series("", index=coord_reason.index, dtype="object")
    text[coord_reason == "missing_coordinates"] = "no coordinates"
    if "lsoa_code" in cols and lsoa_in is not None:
        m = (coord_reason == "missing_coordinates") & lsoa_in.notna()
        text[m] = "no coordinates; lsoa_code " + lsoa_in[m].astype(str) + " is not an LSOA of the force area"
    bad = coord_reason == "unparseable_coordinates"
    if bad.any():
        if system == "geometry":
            text[bad] = "bad geometry"
        else:
            a_col = cols["longitude"] if system == "EPSG:4326" else cols["easting"]
            b_col = cols["latitude"] if system == "EPSG:4326" else cols["northing"]
            text[bad] = f"{a_col} / {b_col} not numbers in range (values not repeated in the ledger)"
    return text


def _outside(
    boundary: BaseGeometry, lon: np.ndarray, lat: np.ndarray, ok: np.ndarray, show_points: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (among ``ok``) outside the force area, and their ledger detail: a 1 km OS grid square at most,
    and only with ``show_points``.
    """
    shapely.prepare(boundary)
    inside = np.zeros(len(lon), dtype=bool)
    inside[ok] = shapely.contains_xy(boundary, lon[ok], lat[ok])
    out = ok & ~inside
    text = np.full(len(lon), "outside the force area", dtype=object)
    if show_points and out.any():
        text[out] = ["outside the force area, in 1 km square " + ref for ref in grid_references(lon[out], lat[out])]
    return out, text


def _load_one(
    path: Path,
    boundary: BaseGeometry | None,
    policy: Policy | None,
    lsoas: gpd.GeoDataFrame | None,
    max_response_minutes: float = DEFAULT_MAX_RESPONSE_MINUTES,
    show_points: bool = False,
    columns: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, dict]:
    raw, rows, extra_detail, counts = read_source(path)
    cols, unused = _find_columns(raw, path, columns)
    order = slash_order([raw[cols[k]] for k in TIME_COLUMNS if k in cols], dayfirst)
    idx = raw.index
    reason = pd.Series(pd.NA, index=idx, dtype="object")
    detail = pd.Series("", index=idx, dtype="object")
    warn_reason = pd.Series(pd.NA, index=idx, dtype="object")
    warn_detail = pd.Series("", index=idx, dtype="object")

    def reject(mask: pd.Series | np.ndarray, why: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=idx) & reason.isna()
        reason[m] = why
        detail[m] = text[m] if isinstance(text, pd.Series) else text

    def warn(mask: pd.Series | np.ndarray, why: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=idx) & warn_reason.isna()
        warn_reason[m] = why
        warn_detail[m] = text[m] if isinstance(text, pd.Series) else text

    reject(extra_detail != "", "extra_fields", extra_detail)
    lon, lat, coord_reason, system = _parse_coordinates(raw, cols)
    lon, lat = np.array(lon, dtype=float), np.array(lat, dtype=float)  # writable copies
    location_source = pd.Series("coordinates", index=idx, dtype="object")
    lsoa_in = _clean(raw[cols["lsoa_code"]]) if "lsoa_code" in cols else pd.Series(pd.NA, index=idx, dtype="string")
    if lsoas is not None:
        fallback = (coord_reason == "missing_coordinates") & lsoa_in.notna()
        if fallback.any():
            pwc = lsoas.set_index("lsoa_code")[["pwc_lon", "pwc_lat"]]
            known = fallback & lsoa_in.isin(pwc.index).fillna(False).astype(bool)
            if known.any():
                k = known.to_numpy()
                lon[k] = pwc.loc[lsoa_in[known].to_numpy(), "pwc_lon"].to_numpy()
                lat[k] = pwc.loc[lsoa_in[known].to_numpy(), "pwc_lat"].to_numpy()
                coord_reason[known] = pd.NA
                location_source[known] = "lsoa_centroid"
                warn_reason[known] = "located_by_lsoa_code"
                warn_detail[known] = "no coordinates; placed at the population-weighted centroid of LSOA " + lsoa_in[
                    known
                ].astype(str)
            unknown = fallback & ~known
            coord_reason[unknown] = "missing_coordinates"
    coord_text = _coordinate_text(coord_reason, cols, system, lsoa_in if lsoas is not None else None)
    for why in ("missing_coordinates", "unparseable_coordinates"):
        reject(coord_reason == why, why, coord_text)
    if boundary is not None:
        out, text = _outside(boundary, lon, lat, reason.isna().to_numpy(), show_points)
        reject(out, "outside_force_area", pd.Series(text, index=idx, dtype="object"))

    occurred, month = _times(raw, cols, reject, order)
    grade = pd.Series(pd.NA, index=idx, dtype="object")
    if "grade" in cols:
        s = _clean(raw[cols["grade"]])
        grade = s.astype("object").where(s.notna(), pd.NA)
        if policy is not None:
            uniq = {v: normalise_grade(v, policy) for v in s.dropna().unique()}
            resolved = s.map(lambda v: uniq.get(v) if isinstance(v, str) else None)
            # an empty cell is a missing grade (sampled later, like files without grades), not an unknown one
            unknown = s.notna() & resolved.isna()
            text = pd.Series(f"not a grade of policy {policy.name}: ", index=idx, dtype="object") + s.fillna("").astype(
                str
            )
            reject(unknown, "unknown_grade", text)

    response = _response(raw, cols, occurred, reject, max_response_minutes, order)
    dispatch, travel = _dispatch_split(raw, cols, occurred, order, warn)
    on_scene = _on_scene(raw, cols, warn)
    incident_id = (
        _clean(raw[cols["incident_id"]]) if "incident_id" in cols else pd.Series(pd.NA, index=idx, dtype="string")
    )
    category = _clean(raw[cols["category"]]) if "category" in cols else pd.Series(pd.NA, index=idx, dtype="string")

    geometry = gpd.points_from_xy(lon, lat, crs=4326)
    frame = pd.DataFrame(
        {
            "source_file": str(path),
            "row_number": np.asarray(rows, dtype=np.int64),
            "incident_id": incident_id.astype("object").where(incident_id.notna(), None),
            "month": month,
            "occurred_at": occurred,
            "category": category.astype("object").where(category.notna(), None),
            "grade": grade,
            "response_minutes": response,
            "dispatch_minutes": dispatch,
            "travel_minutes_observed": travel,
            "on_scene_minutes": on_scene,
            "location_source": location_source,
            "lsoa_code_input": lsoa_in.astype("object").where(lsoa_in.notna(), None),
            "geometry": geometry,
            "_reason": reason,
            "_detail": detail,
            "_warn": warn_reason,
            "_warn_detail": warn_detail,
        },
        index=idx,
    )
    info = {
        "file": str(path),
        **counts,
        "coordinates": system,
        "columns": {k: v for k, v in cols.items()},
        "unused_columns": unused,
        "date_order": order,
        "has_grades": "grade" in cols and bool(grade.notna().any()),
        "has_response_times": ("response_minutes" in cols or "arrived_at" in cols) and bool(response.notna().any()),
        "has_months": bool(month.notna().any()),
    }
    return frame, info


def load_incidents(
    path: str | Path | Sequence[str | Path],
    boundary: BaseGeometry | None = None,
    policy: Policy | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
    *,
    max_response_minutes: float | None = None,
    show_points: bool = False,
    columns: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
) -> LoadResult:
    """Load incidents from one or more files, accounting for every row.

    Parameters
    ----------
    path : str, Path or list
        A CSV, GeoPackage or Parquet file, a folder of them, a glob pattern, or a list of those.
    boundary : shapely geometry, optional
        The force area (EPSG:4326, e.g. :func:`geo_response.geography.load_boundary`). Rows outside are
        rejected as ``outside_force_area``. None skips the check.
    policy : Policy, optional
        When given, grades are checked against it (``unknown_grade``).
    lsoas : GeoDataFrame, optional
        The force's LSOAs (:func:`geo_response.geography.load_lsoas`); lets rows with no coordinates but a
        known ``lsoa_code`` be kept (located at the LSOA's population-weighted centroid, with a warning).
    max_response_minutes : float, optional
        Longer response times are rejected as ``implausible_response_time`` (pass the force profile's
        ``response_model.max_response_minutes``; default :data:`DEFAULT_MAX_RESPONSE_MINUTES`).
    show_points : bool
        Give rows outside the force area their 1 km OS grid square in the ledger detail (the CLI's
        ``--show-points``). By default the ledger holds no location of a rejected row.
    columns : mapping, optional
        A column map, file column -> geo-response name (``{"Incident URN": "incident_id", "Created":
        "occurred_at"}``), applied before the aliases; see :func:`parse_column_map`. Default: the
        :class:`IncidentSource`'s own, else none.
    dayfirst : bool, optional
        Read ``a/b/yyyy`` dates as day-first (True, UK) or month-first (False). None (default) detects the
        order per file (:func:`slash_order`); dates that read both ways are rejected as ``ambiguous_date``.

    Returns
    -------
    LoadResult
        ``summary["input_rows"]`` is counted by the readers (CSV records, or the features a file declares),
        independently of ``accepted`` (rows returned) and ``rejected`` (rows ledgered as rejected).

    Raises
    ------
    InputFileError
        When a file cannot be read at all, or has no coordinate columns. Bad rows never raise.
    """
    if isinstance(path, IncidentSource):
        columns = path.columns if columns is None else columns
        dayfirst = path.dayfirst if dayfirst is None else dayfirst
    files = expand_paths(path)
    limit = DEFAULT_MAX_RESPONSE_MINUTES if max_response_minutes is None else float(max_response_minutes)
    frames, infos = [], []
    for f in files:
        frame, info = _load_one(f, boundary, policy, lsoas, limit, show_points, columns, dayfirst)
        frames.append(frame)
        infos.append(info)
    allrows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)

    valid = allrows["_reason"].isna()
    ids = allrows["incident_id"]
    has_id = ids.notna() & valid
    dup = has_id & ids.where(has_id).duplicated(keep="first") & has_id
    if dup.any():
        first = allrows.loc[has_id & ~dup].drop_duplicates("incident_id").set_index("incident_id")
        where_first = first["source_file"].map(lambda s: Path(s).name) + " line " + first["row_number"].astype(str)
        allrows.loc[dup, "_reason"] = "duplicate_incident_id"
        allrows.loc[dup, "_detail"] = "same incident_id as " + allrows.loc[dup, "incident_id"].map(where_first)

    rejected = allrows["_reason"].notna()
    warned = allrows["_warn"].notna() & ~rejected
    ledger = pd.concat(
        [
            ledger_rows(
                allrows[rejected], allrows.loc[rejected, "_reason"], allrows.loc[rejected, "_detail"], status="rejected"
            ),
            ledger_rows(allrows[warned], allrows.loc[warned, "_warn"], allrows.loc[warned, "_warn_detail"]),
        ],
        ignore_index=True,
    )
    ledger = ledger.reindex(columns=LEDGER_COLUMNS).sort_values(["file", "row_number"], kind="stable")
    ledger = ledger.reset_index(drop=True)

    accepted = allrows.loc[~rejected, INCIDENT_COLUMNS].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(accepted, geometry="geometry", crs=4326)
    by_reason = allrows.loc[rejected, "_reason"].value_counts()
    warnings = ledger.loc[ledger["status"] == "warning", "reason"].value_counts()
    summary = {
        "input_rows": int(sum(i["rows"] for i in infos)),
        "accepted": int(len(gdf)),
        "rejected": int((ledger["status"] == "rejected").sum()),
        "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "warnings": {str(k): int(v) for k, v in warnings.items()},
        "files": [
            {k: i[k] for k in ("file", "rows", "lines_read", "blank_lines", "coordinates") if k in i} for i in infos
        ],
        "columns": infos[0]["columns"] if infos else {},
        "unused_columns": sorted({c for i in infos for c in i["unused_columns"]}),
        "date_order": sorted({i["date_order"] for i in infos if i["date_order"]}),
        "has_dispatch_times": bool(gdf["dispatch_minutes"].notna().any()),
        "has_on_scene_minutes": bool(gdf["on_scene_minutes"].notna().any()),
        "coordinates": sorted({i["coordinates"] for i in infos}),
        "has_grades": any(i["has_grades"] for i in infos),
        "has_response_times": any(i["has_response_times"] for i in infos),
        "has_months": any(i["has_months"] for i in infos),
        "boundary_checked": boundary is not None,
        "policy_checked": policy.name if policy is not None else None,
    }
    if summary["unused_columns"]:
        LOG.warning("incidents: columns not used: %s", ", ".join(summary["unused_columns"]))
    return LoadResult(incidents=gdf, ledger=ledger, summary=summary)


def add_warnings(result: LoadResult, warnings: pd.DataFrame) -> LoadResult:
    """Append warning rows (same columns as the ledger) to a load result's ledger and summary."""
    if warnings is None or warnings.empty:
        return result
    ledger = pd.concat([result.ledger, warnings.reindex(columns=LEDGER_COLUMNS)], ignore_index=True)
    ledger = ledger.sort_values(["file", "row_number"], kind="stable").reset_index(drop=True)
    counts = ledger.loc[ledger["status"] == "warning", "reason"].value_counts()
    summary = dict(result.summary, warnings={str(k): int(v) for k, v in counts.items()})
    return LoadResult(incidents=result.incidents, ledger=ledger, summary=summary)

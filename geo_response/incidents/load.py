"""Load incident files with a ledger: every input row is accepted or rejected with a reason.

Reads CSV, GeoPackage or Parquet (one file, a folder of them, or a glob pattern such as
``police_uk/2018-*.csv``). Column names are matched case-insensitively, with spaces and hyphens
read as underscores, so the original police.uk headers (``Crime ID``, ``Longitude``, ``Crime type``)
and the snake_case ones (``crime_id``, ``longitude``, ``crime_type``) load with no options.

Recognised columns
------------------
coordinates
    ``latitude``/``longitude`` (WGS84, also ``lat``/``lon``/``lng``) or ``easting``/``northing``
    (EPSG:27700). A GeoPackage or GeoParquet geometry column is used when neither pair is present.
``incident_id`` (or ``crime_id``, ``id``)
    Repeated non-empty ids are rejected after the first valid one. Empty ids are never duplicates.
``occurred_at`` (ISO 8601) or ``month`` (YYYY-MM)
``grade``
    A code or a label of the policy (checked when a policy is given; see :mod:`geo_response.grading`).
``category`` (or ``crime_type``)
``response_minutes`` (call to arrival) or ``arrived_at`` (ISO 8601, needs ``occurred_at``)
``lsoa_code``
    Used only for rows whose coordinates are missing: such a row is accepted when the code is one of
    the force's LSOAs (``lsoas`` given), located at that LSOA's population-weighted centroid, and
    flagged in the ledger with the warning ``located_by_lsoa_code``; otherwise it is rejected as
    ``missing_coordinates``.

Rejection reasons (the first that applies, in this order)
--------------------------------------------------------
``extra_fields`` (a CSV record with more non-empty fields than the header: its columns cannot be trusted),
``missing_coordinates``, ``unparseable_coordinates``, ``outside_force_area``, ``unparseable_time``,
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
from collections.abc import Sequence
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

#: Accepted spellings (after lower-casing, spaces/hyphens -> underscores) of each column.
ALIASES: dict[str, tuple[str, ...]] = {
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "easting": ("easting", "x_27700"),
    "northing": ("northing", "y_27700"),
    "incident_id": ("incident_id", "crime_id", "id"),
    "occurred_at": ("occurred_at", "datetime", "date_time"),
    "month": ("month",),
    "grade": ("grade",),
    "category": ("category", "crime_type"),
    "response_minutes": ("response_minutes",),
    "arrived_at": ("arrived_at",),
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


def _find_columns(df: pd.DataFrame, path: Path) -> dict[str, str]:
    by_norm: dict[str, str] = {}
    for col in df.columns:
        if col == "__geometry__":
            continue
        by_norm.setdefault(normalise_name(col), col)
    found = {}
    for key, names in ALIASES.items():
        for name in names:
            if name in by_norm:
                found[key] = by_norm[name]
                break
    has_ll = "latitude" in found and "longitude" in found
    has_en = "easting" in found and "northing" in found
    if not (has_ll or has_en or "__geometry__" in df.columns):
        raise InputFileError(
            f"{path} has no coordinate columns: need latitude/longitude (WGS84) or easting/northing "
            f"(EPSG:27700), matched case-insensitively. Columns found: {list(df.columns)[:20]}"
        )
    return found


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


def _parse_times(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 text -> (UTC times in ns, NaT where unparseable or out of range; the out-of-range mask).

    Never raises: a value pandas cannot hold (year 9999, 0202) is out of range, not an error.
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
    out_of_range = parsed.notna() & ((parsed < EARLIEST_TIME) | (parsed >= LATEST_TIME))
    parsed = parsed.where(~out_of_range)
    return parsed.dt.tz_convert(None).astype("datetime64[ns]"), out_of_range.astype(bool)


def _times(raw: pd.DataFrame, cols: dict[str, str], reject) -> tuple[pd.Series, pd.Series]:
    """``occurred_at`` (naive UTC) and ``month`` (YYYY-MM as written) of every row, rejecting bad ones."""
    idx = raw.index
    occurred = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    month = pd.Series(pd.NA, index=idx, dtype="object")
    if "occurred_at" in cols:
        name = cols["occurred_at"]
        s = _clean(raw[name])
        occurred, out_of_range = _parse_times(s)
        reject(s.notna() & occurred.isna() & ~out_of_range, "unparseable_time", name + "=" + s.astype(str))
        reject(
            out_of_range,
            "time_out_of_range",
            name + "=" + s.astype(str) + f" is not between {EARLIEST_TIME.year} and {LATEST_TIME.year}",
        )
        # the month as written (local wall clock), not the UTC one: 2021-05-01T00:30+01:00 is May
        written = s.str[:7]
        month = written.where(occurred.notna() & written.str.fullmatch(MONTH_PATTERN).fillna(False), pd.NA)
        month = month.astype("object")
    if "month" in cols:
        s = _clean(raw[cols["month"]])
        good = s.str.fullmatch(MONTH_PATTERN).fillna(False).astype(bool)
        reject(s.notna() & ~good, "unparseable_time", cols["month"] + "=" + s.astype(str) + " (expected YYYY-MM)")
        fill = month.isna() & good
        month[fill] = s[fill].astype(str)
    return occurred, month


def _response(raw: pd.DataFrame, cols: dict[str, str], occurred: pd.Series, reject, max_minutes: float) -> pd.Series:
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
        arrived, out_of_range = _parse_times(s)
        reject(s.notna() & arrived.isna() & ~out_of_range, "unparseable_response_time", name + "=" + s.astype(str))
        reject(
            out_of_range,
            "time_out_of_range",
            name + "=" + s.astype(str) + f" is not between {EARLIEST_TIME.year} and {LATEST_TIME.year}",
        )
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
) -> tuple[pd.DataFrame, dict]:
    raw, rows, extra_detail, counts = read_source(path)
    cols = _find_columns(raw, path)
    idx = raw.index
    reason = pd.Series(pd.NA, index=idx, dtype="object")
    detail = pd.Series("", index=idx, dtype="object")
    warn_reason = pd.Series(pd.NA, index=idx, dtype="object")
    warn_detail = pd.Series("", index=idx, dtype="object")

    def reject(mask: pd.Series | np.ndarray, why: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=idx) & reason.isna()
        reason[m] = why
        detail[m] = text[m] if isinstance(text, pd.Series) else text

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

    occurred, month = _times(raw, cols, reject)
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

    response = _response(raw, cols, occurred, reject, max_response_minutes)
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
    files = expand_paths(path)
    limit = DEFAULT_MAX_RESPONSE_MINUTES if max_response_minutes is None else float(max_response_minutes)
    frames, infos = [], []
    for f in files:
        frame, info = _load_one(f, boundary, policy, lsoas, limit, show_points)
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
        "coordinates": sorted({i["coordinates"] for i in infos}),
        "has_grades": any(i["has_grades"] for i in infos),
        "has_response_times": any(i["has_response_times"] for i in infos),
        "has_months": any(i["has_months"] for i in infos),
        "boundary_checked": boundary is not None,
        "policy_checked": policy.name if policy is not None else None,
    }
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

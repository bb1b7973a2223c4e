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
``missing_coordinates``, ``unparseable_coordinates``, ``outside_force_area``, ``unparseable_time``,
``unknown_grade``, ``unparseable_response_time``, ``negative_response_time``, ``duplicate_incident_id``.
Duplicates are judged last, among rows that passed every other check, so a valid copy is kept.

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
        ``input_rows, accepted, rejected, rejected_by_reason, warnings, files, coordinates,
        has_grades, has_response_times, has_months``.
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
    """Read one incident file into a DataFrame of strings (a ``geometry`` column is kept when present).

    Raises
    ------
    InputFileError
        When the file cannot be read at all, saying why.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(
                p,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                encoding="utf-8-sig",
            )
        elif suffix == ".gpkg":
            df = gpd.read_file(p)
        elif suffix in (".parquet", ".geoparquet"):
            try:
                df = gpd.read_parquet(p)
            except (ValueError, KeyError):
                df = pd.read_parquet(p)
        else:
            raise InputFileError(f"{p}: unknown file type {suffix!r}; use one of {', '.join(SUFFIXES)}")
    except InputFileError:
        raise
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p} is not UTF-8 text ({exc}); save it as a UTF-8 CSV") from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(f"{p} is empty: it has no header row; it needs at least coordinate columns") from exc
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
        df = df.astype("string").astype(object) if suffix != ".csv" else df
    return df


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


def _load_one(
    path: Path, boundary: BaseGeometry | None, policy: Policy | None, lsoas: gpd.GeoDataFrame | None
) -> tuple[pd.DataFrame, dict]:
    raw = read_table(path)
    cols = _find_columns(raw, path)
    n = len(raw)
    idx = raw.index
    rows = pd.RangeIndex(1, n + 1)
    reason = pd.Series(pd.NA, index=idx, dtype="object")
    detail = pd.Series("", index=idx, dtype="object")
    warn_reason = pd.Series(pd.NA, index=idx, dtype="object")
    warn_detail = pd.Series("", index=idx, dtype="object")

    def reject(mask: pd.Series | np.ndarray, why: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=idx) & reason.isna()
        reason[m] = why
        detail[m] = text[m] if isinstance(text, pd.Series) else text

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
    coord_text = pd.Series("", index=idx, dtype="object")
    coord_text[coord_reason == "missing_coordinates"] = "no coordinates"
    if "lsoa_code" in cols and lsoas is not None:
        m = (coord_reason == "missing_coordinates") & lsoa_in.notna()
        coord_text[m] = "no coordinates; lsoa_code " + lsoa_in[m].astype(str) + " is not an LSOA of the force area"
    bad = coord_reason == "unparseable_coordinates"
    if bad.any():
        if system == "geometry":
            coord_text[bad] = "bad geometry"
        else:
            a_col = cols["longitude"] if system == "EPSG:4326" else cols["easting"]
            b_col = cols["latitude"] if system == "EPSG:4326" else cols["northing"]
            coord_text[bad] = (
                a_col + "=" + raw.loc[bad, a_col].astype(str) + ", " + b_col + "=" + raw.loc[bad, b_col].astype(str)
            )
    for why in ("missing_coordinates", "unparseable_coordinates"):
        reject(coord_reason == why, why, coord_text)

    if boundary is not None:
        shapely.prepare(boundary)
        ok = reason.isna().to_numpy()
        inside = np.zeros(n, dtype=bool)
        inside[ok] = shapely.contains_xy(boundary, lon[ok], lat[ok])
        out = ok & ~inside
        text = pd.Series("", index=idx, dtype="object")
        text[out] = [
            f"lon {x:.6f}, lat {y:.6f} is outside the force area" for x, y in zip(lon[out], lat[out], strict=True)
        ]
        reject(out, "outside_force_area", text)

    occurred = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    month = pd.Series(pd.NA, index=idx, dtype="object")
    if "occurred_at" in cols:
        s = _clean(raw[cols["occurred_at"]])
        parsed = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
        bad_time = s.notna() & parsed.isna()
        reject(bad_time, "unparseable_time", cols["occurred_at"] + "=" + s.astype(str))
        occurred = parsed.dt.tz_convert(None).astype("datetime64[ns]")
        # the month as written (local wall clock), not the UTC one: 2021-05-01T00:30+01:00 is May
        written = s.str[:7]
        month = written.where(parsed.notna() & written.str.fullmatch(MONTH_PATTERN).fillna(False), pd.NA)
        month = month.astype("object")
    if "month" in cols:
        s = _clean(raw[cols["month"]])
        good = s.str.fullmatch(MONTH_PATTERN).fillna(False).astype(bool)
        reject(s.notna() & ~good, "unparseable_time", cols["month"] + "=" + s.astype(str) + " (expected YYYY-MM)")
        fill = month.isna() & good
        month[fill] = s[fill].astype(str)

    grade = pd.Series(pd.NA, index=idx, dtype="object")
    if "grade" in cols:
        s = _clean(raw[cols["grade"]])
        grade = s.astype("object").where(s.notna(), pd.NA)
        if policy is not None:
            uniq = {v: normalise_grade(v, policy) for v in s.dropna().unique()}
            resolved = s.map(lambda v: uniq.get(v) if isinstance(v, str) else None)
            # an empty cell is a missing grade (sampled later, like files without grades), not an unknown one
            unknown = s.notna() & resolved.isna()
            text = pd.Series(f"not a grade of policy {policy.name}: ", index=idx, dtype="object") + s.fillna(
                ""
            ).astype(str)
            reject(unknown, "unknown_grade", text)

    response = pd.Series(np.nan, index=idx, dtype=float)
    if "response_minutes" in cols:
        s = _clean(raw[cols["response_minutes"]])
        response = pd.to_numeric(s, errors="coerce").astype(float)
        reject(
            s.notna() & (response.isna() | ~np.isfinite(response)),
            "unparseable_response_time",
            cols["response_minutes"] + "=" + s.astype(str),
        )
        reject(response < 0, "negative_response_time", cols["response_minutes"] + "=" + s.astype(str))
    elif "arrived_at" in cols:
        s = _clean(raw[cols["arrived_at"]])
        arrived = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True).dt.tz_convert(None)
        reject(s.notna() & arrived.isna(), "unparseable_response_time", cols["arrived_at"] + "=" + s.astype(str))
        if "occurred_at" not in cols:
            reject(s.notna(), "unparseable_response_time", "arrived_at given but no occurred_at to measure from")
        else:
            response = ((arrived - occurred).dt.total_seconds() / 60.0).astype(float)
            reject(
                response < 0,
                "negative_response_time",
                "arrived_at " + s.astype(str) + " is before occurred_at",
            )

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
        "rows": n,
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

    Returns
    -------
    LoadResult
        ``summary["input_rows"] == summary["accepted"] + summary["rejected"]`` always holds.

    Raises
    ------
    InputFileError
        When a file cannot be read at all, or has no coordinate columns. Bad rows never raise.
    """
    files = expand_paths(path)
    frames, infos = [], []
    for f in files:
        frame, info = _load_one(f, boundary, policy, lsoas)
        frames.append(frame)
        infos.append(info)
    allrows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)

    valid = allrows["_reason"].isna()
    ids = allrows["incident_id"]
    has_id = ids.notna() & valid
    dup = has_id & ids.where(has_id).duplicated(keep="first") & has_id
    if dup.any():
        first = allrows.loc[has_id & ~dup].drop_duplicates("incident_id").set_index("incident_id")
        where_first = first["source_file"].map(lambda s: Path(s).name) + " row " + first["row_number"].astype(str)
        allrows.loc[dup, "_reason"] = "duplicate_incident_id"
        allrows.loc[dup, "_detail"] = "same incident_id as " + allrows.loc[dup, "incident_id"].map(where_first)

    rejected = allrows["_reason"].notna()
    warned = allrows["_warn"].notna() & ~rejected
    ledger = pd.concat(
        [ledger_rows(allrows[rejected], allrows.loc[rejected, "_reason"], allrows.loc[rejected, "_detail"],
                     status="rejected"),
         ledger_rows(allrows[warned], allrows.loc[warned, "_warn"], allrows.loc[warned, "_warn_detail"])],
        ignore_index=True,
    )
    ledger = ledger.reindex(columns=LEDGER_COLUMNS).sort_values(["file", "row_number"], kind="stable")
    ledger = ledger.reset_index(drop=True)

    accepted = allrows.loc[~rejected, INCIDENT_COLUMNS].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(accepted, geometry="geometry", crs=4326)
    by_reason = allrows.loc[rejected, "_reason"].value_counts()
    warnings = ledger.loc[ledger["status"] == "warning", "reason"].value_counts()
    summary = {
        "input_rows": int(len(allrows)),
        "accepted": int((~rejected).sum()),
        "rejected": int(rejected.sum()),
        "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "warnings": {str(k): int(v) for k, v in warnings.items()},
        "files": [{"file": i["file"], "rows": i["rows"], "coordinates": i["coordinates"]} for i in infos],
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

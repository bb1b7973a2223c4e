"""STATS19 road collisions (DfT) as incidents: both header styles, filtered by police force, with a ledger.

The DfT publishes the collision ("accident") table in two styles, and both load with no options:

* **older** (to ~2019, and the R ``stats19`` package's samples): ``Accident_Index``, ``Location_Easting_OSGR``,
  ``Location_Northing_OSGR``, ``Longitude``, ``Latitude``, ``Police_Force``, ``Accident_Severity``, ``Date``,
  ``Time``, ``1st_Road_Class``, ``1st_Road_Number``, ``Speed_limit``, ``Urban_or_Rural_Area``,
  ``Did_Police_Officer_Attend_Scene_of_Accident``, ``LSOA_of_Accident_Location``, often with factor
  **labels** (``Essex``, ``Serious``, ``A``);
* **current**: the same names in lower case with ``first_`` for ``1st_`` (``accident_index`` or
  ``collision_index``, ``location_easting_osgr``, ``police_force``, ``first_road_class``, ...) and numeric
  **codes** (Essex = 42; severity 1 fatal, 2 serious, 3 slight; road class 1 motorway, 2 A(M), 3 A, 4 B,
  5 C, 6 unclassified).

Dates are ISO (``2013-07-14``) or day-first (``14/06/2018``). Coordinates: longitude / latitude when
present, else OSGB easting / northing. The result has the standard incident columns of
:mod:`geo_response.incidents.load` with ``category = 'road collision'`` and no grade or response time,
plus ``severity``, ``road_class``, ``road_number``, ``road`` (e.g. ``A12``), ``speed_limit``,
``police_attended``, ``dft_urban_rural`` and ``police_force``. Rows of other forces are ledgered as
``other_police_force``, so ``input_rows = accepted + rejected`` as for every other loader. The file is read as
text with :func:`geo_response.inputs.read_csv_table`, so ``row_number`` is the file line (header = line 1, as in
every ledger) and a record with more fields than the header is ledgered ``extra_fields``.

:func:`snap_collisions` then puts each collision on its own carriageway: the nearest edge whose OSM ``ref``
names its road, else of its road's highway class (within 250 m), else the nearest edge (within 1 km, else
ledgered ``no_road_within_limit``), with ``snap_method``, ``snap_distance_m`` and ``snapped_road``.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo_response.errors import InputFileError
from geo_response.incidents.load import INCIDENT_COLUMNS, LoadResult
from geo_response.inputs import read_csv_table
from geo_response.ledger import LEDGER_COLUMNS, ledger_rows
from geo_response.roads import snapping
from geo_response.roads.roadnet import RoadNetwork, edge_refs

CATEGORY = "road collision"
#: DfT STATS19 ``police_force`` codes and labels (checked against the Accident_Index of the bundle sample).
POLICE_FORCES = {
    1: "Metropolitan Police",
    3: "Cumbria",
    4: "Lancashire",
    5: "Merseyside",
    6: "Greater Manchester",
    7: "Cheshire",
    10: "Northumbria",
    11: "Durham",
    12: "North Yorkshire",
    13: "West Yorkshire",
    14: "South Yorkshire",
    16: "Humberside",
    17: "Cleveland",
    20: "West Midlands",
    21: "Staffordshire",
    22: "West Mercia",
    23: "Warwickshire",
    30: "Derbyshire",
    31: "Nottinghamshire",
    32: "Lincolnshire",
    33: "Leicestershire",
    34: "Northamptonshire",
    35: "Cambridgeshire",
    36: "Norfolk",
    37: "Suffolk",
    40: "Bedfordshire",
    41: "Hertfordshire",
    42: "Essex",
    43: "Thames Valley",
    44: "Hampshire",
    45: "Surrey",
    46: "Kent",
    47: "Sussex",
    48: "City of London",
    50: "Devon and Cornwall",
    52: "Avon and Somerset",
    53: "Gloucestershire",
    54: "Wiltshire",
    55: "Dorset",
    60: "North Wales",
    61: "Gwent",
    62: "South Wales",
    63: "Dyfed-Powys",
    91: "Northern",
    92: "Grampian",
    93: "Tayside",
    94: "Fife",
    95: "Lothian and Borders",
    96: "Central",
    97: "Strathclyde",
    98: "Dumfries and Galloway",
}
SEVERITY = {"1": "fatal", "2": "serious", "3": "slight"}
ROAD_CLASS = {"1": "Motorway", "2": "A(M)", "3": "A", "4": "B", "5": "C", "6": "Unclassified"}
URBAN_RURAL = {"1": "urban", "2": "rural", "3": "unallocated"}
#: Standard name -> accepted (normalised) header names.
COLUMNS = {
    "incident_id": ("accident_index", "collision_index"),
    "easting": ("location_easting_osgr",),
    "northing": ("location_northing_osgr",),
    "longitude": ("longitude",),
    "latitude": ("latitude",),
    "police_force": ("police_force",),
    "severity": ("accident_severity", "collision_severity"),
    "date": ("date",),
    "time": ("time",),
    "road_class": ("first_road_class",),
    "road_number": ("first_road_number",),
    "speed_limit": ("speed_limit",),
    "urban_rural": ("urban_or_rural_area",),
    "police_attended": ("did_police_officer_attend_scene_of_accident", "did_police_officer_attend_scene_of_collision"),
    "lsoa_code": ("lsoa_of_accident_location", "lsoa_of_collision_location"),
}
REQUIRED = ("incident_id", "police_force", "date")


def normalise_header(name: object) -> str:
    """A header in the current style: ``'1st_Road_Class'`` -> ``'first_road_class'``,
    ``'Local_Authority_(District)'`` -> ``'local_authority_district'``.
    """
    s = str(name).strip().lower()
    s = re.sub(r"^1st_", "first_", re.sub(r"^2nd_", "second_", s))
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def force_code(force: int | str) -> int:
    """The DfT code of a police force given as a code (``42``, ``'42'``) or a label (``'Essex'``)."""
    text = str(force).strip()
    if text.isdigit():
        return int(text)
    for code, label in POLICE_FORCES.items():
        if label.lower() == text.lower():
            return code
    raise InputFileError(
        f"unknown police force {force!r}; give the DfT code (Essex = 42) or one of "
        f"{sorted(POLICE_FORCES.values())[:6]}..."
    )


def _columns(raw: pd.DataFrame, path: Path) -> dict[str, str]:
    by_norm = {normalise_header(c): c for c in raw.columns}
    cols = {std: by_norm[n] for std, names in COLUMNS.items() for n in names if n in by_norm}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputFileError(
            f"{path.name} is not a STATS19 collision table: no {missing} column "
            "(expected Accident_Index / accident_index, Police_Force, Date)"
        )
    if not ({"longitude", "latitude"} <= set(cols) or {"easting", "northing"} <= set(cols)):
        raise InputFileError(f"{path.name} has neither Longitude/Latitude nor Location_Easting/Northing_OSGR")
    return cols


def _decode(values: pd.Series, codes: dict[str, str]) -> pd.Series:
    """Codes (``'3'``) to labels, labels kept as written; ``-1`` and blanks (DfT 'missing') to NA."""
    s = values.astype("string").str.strip()
    s = s.mask(s.isin(["", "-1", "NA", "nan"]))
    return s.map(lambda v: codes.get(v, v) if isinstance(v, str) else pd.NA).astype("object")


def _parse_dates(date: pd.Series, time: pd.Series | None) -> pd.Series:
    """ISO (``2013-07-14``) or day-first (``14/06/2018``) dates plus an optional ``HH:MM`` time."""
    d = date.astype("string").str.strip()
    parsed = pd.to_datetime(d, format="%Y-%m-%d", errors="coerce")
    uk = parsed.isna() & d.str.contains("/", regex=False).fillna(False)
    parsed[uk] = pd.to_datetime(d[uk], format="%d/%m/%Y", errors="coerce")
    if time is not None:
        t = time.astype("string").str.strip()
        hm = t.str.extract(r"^(\d{1,2}):(\d{2})")
        minutes = pd.to_numeric(hm[0], errors="coerce") * 60 + pd.to_numeric(hm[1], errors="coerce")
        parsed = parsed + pd.to_timedelta(minutes.fillna(0), unit="min")
    return parsed.astype("datetime64[ns]")


def _coordinates(raw: pd.DataFrame, cols: dict[str, str]) -> tuple[np.ndarray, np.ndarray, str]:
    def num(c: str) -> np.ndarray:
        return pd.to_numeric(raw[cols[c]].astype("string").str.strip(), errors="coerce").to_numpy(dtype=float)

    lon = num("longitude") if "longitude" in cols else np.full(len(raw), np.nan)
    lat = num("latitude") if "latitude" in cols else np.full(len(raw), np.nan)
    system = "latitude/longitude"
    if {"easting", "northing"} <= set(cols):
        e, n = num("easting"), num("northing")
        fill = ~(np.isfinite(lon) & np.isfinite(lat)) & np.isfinite(e) & np.isfinite(n)
        if fill.any():
            x, y = Transformer.from_crs(27700, 4326, always_xy=True).transform(e[fill], n[fill])
            lon[fill], lat[fill] = x, y
            system = "easting/northing (EPSG:27700)" if fill.all() else system + " and easting/northing"
    return lon, lat, system


def load_stats19(
    path: str | Path, police_force: int | str | None = "Essex", boundary: BaseGeometry | None = None
) -> LoadResult:
    """Load a STATS19 collision CSV (either DfT header style) as road-collision incidents.

    Parameters
    ----------
    path : str or Path
        The collision ("accident") table as CSV.
    police_force : int or str or None, default ``'Essex'``
        Keep this force's collisions (DfT code such as 42 or label); None keeps every row.
    boundary : shapely geometry, optional
        Force area (EPSG:4326); collisions outside it are rejected as ``outside_force_area``.

    Returns
    -------
    LoadResult
        ``incidents`` with the standard columns and the STATS19 extras (see the module notes), ``ledger``
        with one row per rejected input row (``extra_fields``, ``other_police_force``, ``missing_coordinates``,
        ``outside_force_area``, ``unparseable_time``, ``duplicate_incident_id``; ``row_number`` the file line,
        header = line 1), and ``summary``.

    Raises
    ------
    InputFileError
        When the file cannot be read (missing, a folder, not UTF-8 CSV) or is not a STATS19 table.
    """
    p = Path(path)
    if p.is_dir():
        raise InputFileError(
            f"STATS19 file {p} is a folder; pass the collision CSV (or a glob such as 'stats19/*.csv')"
        )
    table = read_csv_table(p, what="STATS19 file")
    raw = table.frame
    cols = _columns(raw, p)
    idx = raw.index
    reason = pd.Series(None, index=idx, dtype="object")
    detail = pd.Series(None, index=idx, dtype="object")

    def reject(mask: pd.Series | np.ndarray, why: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=idx) & reason.isna()
        reason[m] = why
        detail[m] = text[m] if isinstance(text, pd.Series) else text

    reject(table.extra > 0, "extra_fields", table.extra_detail())
    force_raw = raw[cols["police_force"]].astype(str).str.strip()
    codes = force_raw.map(
        lambda v: (
            int(v) if v.isdigit() else next((c for c, lab in POLICE_FORCES.items() if lab.lower() == v.lower()), -1)
        )
    )
    if police_force is not None:
        reject(codes != force_code(police_force), "other_police_force", "police_force=" + force_raw)
    lon, lat, system = _coordinates(raw, cols)
    reject(~(np.isfinite(lon) & np.isfinite(lat)), "missing_coordinates", "no longitude/latitude or easting/northing")
    if boundary is not None:
        ok = np.isfinite(lon) & np.isfinite(lat)
        inside = np.zeros(len(idx), dtype=bool)
        inside[ok] = shapely.contains_xy(boundary, lon[ok], lat[ok])
        reject(ok & ~inside, "outside_force_area", "outside the force area")
    occurred = _parse_dates(raw[cols["date"]], raw[cols["time"]] if "time" in cols else None)
    reject(occurred.isna(), "unparseable_time", cols["date"] + "=" + raw[cols["date"]].astype(str))
    ids = raw[cols["incident_id"]].astype(str).str.strip()
    ok = reason.isna() & ids.ne("")
    reject(
        ok & ids.where(ok).duplicated(keep="first"),
        "duplicate_incident_id",
        "repeats an earlier accepted row's " + cols["incident_id"],
    )
    return _result(p, raw, table.lines, cols, ids, lon, lat, occurred, codes, reason, detail, system)


def road_ref(road_class: object, number: float) -> str | None:
    """``('A', 12) -> 'A12'``, ``('Motorway', 25) -> 'M25'``, ``('A(M)', 1) -> 'A1(M)'``; None for C and
    unclassified roads or a missing number.

    Examples
    --------
    >>> road_ref("Motorway", 25), road_ref("A(M)", 1), road_ref("C", 7), road_ref("A", 0)
    ('M25', 'A1(M)', None, None)
    """
    prefix = {"Motorway": "M", "A(M)": "A", "A": "A", "B": "B"}.get(str(road_class))
    if prefix is None or not number or not np.isfinite(number) or number <= 0:
        return None
    return f"{prefix}{int(number)}{'(M)' if road_class == 'A(M)' else ''}"


def _result(
    p: Path,
    raw: pd.DataFrame,
    lines: np.ndarray,
    cols: dict[str, str],
    ids: pd.Series,
    lon: np.ndarray,
    lat: np.ndarray,
    occurred: pd.Series,
    codes: pd.Series,
    reason: pd.Series,
    detail: pd.Series,
    system: str,
) -> LoadResult:
    def col(name: str, codes_: dict[str, str] | None = None) -> pd.Series:
        if name not in cols:
            return pd.Series(pd.NA, index=raw.index, dtype="object")
        return _decode(raw[cols[name]], codes_ or {})

    road_class, road_number = col("road_class", ROAD_CLASS), pd.to_numeric(col("road_number"), errors="coerce")
    road = [road_ref(c, n) for c, n in zip(road_class, road_number.fillna(0), strict=True)]
    attended = col("police_attended", {"1": "yes", "2": "no", "3": "no"}).map(
        lambda v: {"yes": True, "no": False}.get(str(v).lower(), pd.NA)
    )
    frame = pd.DataFrame(
        {
            "source_file": str(p),
            "row_number": np.asarray(lines, dtype=np.int64),
            "incident_id": ids.where(ids.ne(""), None).astype("object"),
            "month": occurred.dt.strftime("%Y-%m").astype("object"),
            "occurred_at": occurred,
            "category": CATEGORY,
            "grade": None,
            "response_minutes": np.nan,
            "dispatch_minutes": np.nan,
            "travel_minutes_observed": np.nan,
            "on_scene_minutes": np.nan,
            "location_source": "coordinates",
            "lsoa_code_input": col("lsoa_code"),
            "severity": col("severity", SEVERITY).map(lambda v: str(v).lower() if isinstance(v, str) else v),
            "road_class": road_class,
            "road_number": road_number,
            "road": road,
            "speed_limit": pd.to_numeric(col("speed_limit"), errors="coerce"),
            "police_attended": attended,
            "dft_urban_rural": col("urban_rural", URBAN_RURAL),
            "police_force": codes,
        },
        index=raw.index,
    )
    accepted = reason.isna().to_numpy()
    incidents = gpd.GeoDataFrame(
        frame[accepted].reset_index(drop=True), geometry=gpd.points_from_xy(lon[accepted], lat[accepted]), crs=4326
    )
    incidents = incidents[
        INCIDENT_COLUMNS[:-1] + [c for c in frame.columns if c not in INCIDENT_COLUMNS] + ["geometry"]
    ]
    ledger = ledger_rows(frame[~accepted], reason[~accepted], detail[~accepted], status="rejected")
    ledger = ledger.reindex(columns=LEDGER_COLUMNS)
    by_reason = reason.dropna().value_counts()
    summary = {
        "input_rows": int(len(raw)),
        "accepted": int(accepted.sum()),
        "rejected": int((~accepted).sum()),
        "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "warnings": {},
        "files": [{"file": str(p), "rows": int(len(raw)), "coordinates": system}],
        "columns": dict(cols),
        "coordinates": [system],
        "has_grades": False,
        "has_response_times": False,
        "has_months": bool(incidents["month"].notna().any()),
        "source": "STATS19",
        "categories": [CATEGORY],
    }
    return LoadResult(incidents, ledger, summary)


#: STATS19 road class -> OSM ``highway`` values of the same class (the fallback when no edge carries the ref).
HIGHWAY_CLASSES = {
    "Motorway": ("motorway", "motorway_link"),
    "A(M)": ("motorway", "motorway_link"),
    "A": ("trunk", "trunk_link", "primary", "primary_link"),
    "B": ("secondary", "secondary_link"),
    "C": ("tertiary", "tertiary_link", "unclassified"),
    "Unclassified": ("unclassified", "residential", "living_street", "service", "road"),
}
SNAP_METHODS = ("ref", "class", "nearest")
#: Columns :func:`snap_collisions` adds (``edge .. too_far`` as :func:`geo_response.roads.snapping.snap_points`).
COLLISION_SNAP_COLUMNS = ["snap_method", "snap_distance_m", "snapped_road", "edge", "u", "v", "key", "edge_fraction"]


def _nearest_among(index: snapping.EdgeIndex, pts: np.ndarray, group: np.ndarray, masks: np.ndarray, within_m: float):
    """Per point, the nearest indexed edge allowed by ``masks[group[i]]`` (a boolean row over the EdgeIndex
    rows; ``group[i] = -1``: none) within ``within_m``: (edge row or -1, distance, fraction along the edge).

    Uses the EdgeIndex's STRtree (``dwithin``), then exact distances to the candidate edges.
    """
    n = len(pts)
    edge, dist, frac = np.full(n, -1, dtype=np.int64), np.full(n, np.inf), np.zeros(n)
    which = np.flatnonzero(group >= 0)
    if len(which) == 0:
        return edge, dist, frac
    point_i, edge_i = index.tree.query(pts[which], predicate="dwithin", distance=within_m)
    point_i = which[point_i]
    keep = masks[group[point_i], edge_i]
    point_i, edge_i = point_i[keep], edge_i[keep]
    d = shapely.distance(index.geometry[edge_i], pts[point_i])
    order = np.lexsort((edge_i, d, point_i))  # per point: nearest first (ties: lowest edge row)
    first = order[np.r_[True, point_i[order][1:] != point_i[order][:-1]]] if len(order) else order
    edge[point_i[first]], dist[point_i[first]] = edge_i[first], d[first]
    found = edge >= 0
    frac[found] = shapely.line_locate_point(index.geometry[edge[found]], pts[found], normalized=True)
    return edge, dist, frac


def snap_collisions(
    result: LoadResult,
    net: RoadNetwork,
    *,
    match_m: float = 250.0,
    max_m: float = 1000.0,
    crs: str = "EPSG:27700",
) -> LoadResult:
    """Snap STATS19 collisions to the carriageway they are on.

    Each collision goes to the nearest network edge whose OSM ``ref`` names its road (``A12`` matches
    ``A12`` and ``A12;A120``, not ``A120``) within ``match_m``; else to the nearest edge of its road's
    highway class (:data:`HIGHWAY_CLASSES`: A -> trunk / primary, B -> secondary, ...) within ``match_m``;
    else to the nearest drivable edge within ``max_m``. A collision farther than ``max_m`` from every edge is
    ledgered ``no_road_within_limit``.

    Parameters
    ----------
    result : LoadResult
        From :func:`load_stats19`.
    net : RoadNetwork
        The network; its snapping index (:meth:`RoadNetwork.edge_index`) is used.
    match_m : float, default 250
        How far a collision may be from an edge of its own road (or class) to be put on it.
    max_m : float, default 1000
        The farthest a collision may be from any edge.
    crs : str
        Projected CRS for distances.

    Returns
    -------
    LoadResult
        The collisions kept, with ``snap_method`` (``ref`` | ``class`` | ``nearest``), ``snap_distance_m``,
        ``snapped_road`` (the edge's ref, else name, else highway) and the edge position (``edge, u, v, key,
        edge_fraction``) that :func:`geo_response.roads.routing.travel_times_to_points` routes to (its
        ``snapped=``); the ledger and summary (``snap_methods``, ``rejected_by_reason``) extended.
    """
    if not 0 < match_m <= max_m:
        raise InputFileError(f"snap distances must satisfy 0 < match_m <= max_m, got {match_m} and {max_m}")
    inc = result.incidents.reset_index(drop=True)
    index = net.edge_index(crs)
    edges = net.edges.iloc[index.rows]
    # a network where no road has a ref (or a name) has no such column: none to match
    edges = edges.assign(**{c: None for c in ("ref", "name") if c not in edges.columns})
    roads = sorted(inc["road"].dropna().unique())
    ref_masks = np.zeros((len(roads), len(edges)), dtype=bool)
    position = {road.upper(): i for i, road in enumerate(roads)}
    for row, ref in enumerate(edges["ref"].astype(object)):
        if isinstance(ref, str):
            for token in edge_refs(ref):  # as the corridor reads refs: "A12;A120" -> {A12, A120}
                if token in position:
                    ref_masks[position[token], row] = True
    highway = edges["highway"].astype(str).to_numpy()
    pts = shapely.points(
        np.column_stack(Transformer.from_crs(4326, index.crs, always_xy=True).transform(inc.geometry.x, inc.geometry.y))
    )
    ref_group = np.array([roads.index(r) if isinstance(r, str) else -1 for r in inc["road"]], dtype=np.int64)
    classes = list(HIGHWAY_CLASSES)
    class_masks = np.array([np.isin(highway, HIGHWAY_CLASSES[c]) for c in classes], dtype=bool)
    class_group = np.array([classes.index(c) if c in HIGHWAY_CLASSES else -1 for c in inc["road_class"]])
    ref_edge, ref_d, ref_f = _nearest_among(index, pts, ref_group, ref_masks, match_m)
    cls_edge, cls_d, cls_f = _nearest_among(index, pts, class_group, class_masks, match_m)
    near = snapping.snap_points(net, inc, crs=crs, limit_m=max_m)
    method = np.where(ref_edge >= 0, "ref", np.where(cls_edge >= 0, "class", "nearest"))
    edge = np.where(ref_edge >= 0, ref_edge, np.where(cls_edge >= 0, cls_edge, near["edge"].to_numpy()))
    dist = np.where(ref_edge >= 0, ref_d, np.where(cls_edge >= 0, cls_d, near["snap_distance_m"].to_numpy()))
    frac = np.where(ref_edge >= 0, ref_f, np.where(cls_edge >= 0, cls_f, near["edge_fraction"].to_numpy()))
    chosen = edges.iloc[edge]
    label = [
        next((str(x) for x in (r, nm, h) if isinstance(x, str) and x), None)
        for r, nm, h in zip(chosen["ref"].astype(object), chosen["name"].astype(object), chosen["highway"], strict=True)
    ]
    snapped = inc.assign(
        snap_method=method,
        snap_distance_m=dist,
        snapped_road=label,
        edge=edge,
        u=index.u[edge],
        v=index.v[edge],
        key=index.key[edge],
        edge_fraction=np.clip(frac, 0.0, 1.0),
    )
    far = dist > max_m
    ledger = ledger_rows(
        snapped[far],
        "no_road_within_limit",
        [f"nearest road {d:.0f} m away (limit {max_m:.0f} m)" for d in dist[far]],
        status="rejected",
    )
    summary = dict(result.summary)
    by_reason = dict(summary.get("rejected_by_reason", {}))
    if far.any():
        by_reason["no_road_within_limit"] = int(far.sum())
    kept = snapped[~far].reset_index(drop=True)
    summary.update(
        accepted=len(kept),
        rejected=int(summary.get("rejected", 0)) + int(far.sum()),
        rejected_by_reason=by_reason,
        snap_methods={m: int((kept["snap_method"] == m).sum()) for m in SNAP_METHODS},
        snap_limits_m={"match_m": float(match_m), "max_m": float(max_m)},
    )
    return LoadResult(kept, pd.concat([result.ledger, ledger], ignore_index=True), summary)

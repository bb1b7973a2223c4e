"""The routing workflows behind ``geo-response travel-times`` and ``geo-response isochrones``.

Each reads its inputs through the study area, calls the library and writes its output with a JSON
summary beside it that says which network (and whether it is the stand-in), bases and parameters made it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from geo_response import geography
from geo_response.errors import InputFileError
from geo_response.outputs import OutputFile, write_csv, write_json
from geo_response.roads import isochrones as iso
from geo_response.roads import routing
from geo_response.roads.speeds import When
from geo_response.study_area import StudyArea

__all__ = ["read_points_csv", "run_isochrones", "run_travel_times"]

TRAVEL_TIME_COLUMNS = ("nearest_base", "base_id", "travel_minutes", "snap_distance_m", "status", "profile", "network")


def read_points_csv(path: str | Path, projected_crs: str = "EPSG:27700"):
    """Read a CSV of points; every column kept as the text it was (``007`` stays ``007``).

    Columns (any case): ``latitude``/``longitude`` (or ``lat``/``lon``) in WGS84, or ``easting``/``northing``
    in ``projected_crs``.

    Returns
    -------
    (DataFrame, GeoSeries)
        The rows as read (strings; ``attrs['lines']`` their file lines, ``attrs['extra_fields']`` the lines with
        more fields than the header), and their points in EPSG:4326 (missing where a row has missing or
        impossible coordinates, or extra fields: those rows are kept and reported, never dropped).

    Raises
    ------
    InputFileError
        If the file cannot be read or has no coordinate columns.
    """
    df = geography.read_points_table(path, "points file")
    points, _ = geography.table_points(df, f"points file {path}", projected_crs)
    extra = np.isin(np.asarray(df.attrs["lines"]), list(df.attrs["extra_fields"]))
    points[extra] = None
    return df, points


def provenance(area: StudyArea, **params) -> dict:
    """What made an output: when, the network read this run, and the parameters."""
    net = area.network
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "network": {k: net.graph.get(k) for k in ("source", "source_sha256", "network_label", "standin")},
        "graph": {"nodes": net.number_of_nodes(), "edges": net.number_of_edges()},
        "force_profile": {"path": area.force.path, "sha256": area.force.sha256},
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()},
    }


def run_travel_times(
    area: StudyArea,
    points_csv: str | Path,
    out: str | Path,
    *,
    speed: str = "blue_light",
    when: When | str | None = None,
    access_speed_kph: float | None = None,
    limit_m: float | None = None,
    overwrite: bool = False,
) -> dict:
    """Travel time from the nearest base to each point of a CSV; writes the CSV and ``<out>.json``.

    The output has every input column (as text) plus ``nearest_base, base_id, travel_minutes,
    snap_distance_m, status`` (:data:`geo_response.roads.routing.STATUSES`, or ``extra_fields`` for a row with
    more fields than the header), ``profile`` and ``network``. The output never replaces the input or a file
    geo-response did not write (unless ``overwrite``), and formula-like cells are neutralised.

    Returns
    -------
    dict
        The summary written to the JSON file.
    """
    speed = area.speed(speed)
    rm = area.force.response_model
    access = rm.access_speed_kph if access_speed_kph is None else float(access_speed_kph)
    limit = rm.snap_limit_m if limit_m is None else float(limit_m)
    df, points = read_points_csv(points_csv, area.force.projected_crs)
    clash = [c for c in TRAVEL_TIME_COLUMNS if c in df.columns]
    if clash:  # checked before the slow part
        raise InputFileError(f"points file {points_csv} already has columns {clash}; rename them")
    with OutputFile(out, inputs=[points_csv], overwrite=overwrite, companions=(".json",)) as target:
        tt = routing.travel_times_to_points(
            area.network,
            area.bases,
            points,
            speed,
            when=when,
            access_speed_kph=access,
            limit_m=limit,
            crs=area.force.projected_crs,
        )
        extra = np.isin(np.asarray(df.attrs["lines"]), list(df.attrs["extra_fields"]))
        tt.loc[extra, "status"] = "extra_fields"
        summary = _travel_outputs(
            area, df, tt, speed, target, points_csv=points_csv, when=when, access_speed_kph=access, snap_limit_m=limit
        )
    return summary


def _travel_outputs(
    area: StudyArea, df: pd.DataFrame, tt: pd.DataFrame, speed: str, target: OutputFile, **params
) -> dict:
    """Write the travel-times CSV and its JSON summary; return the summary."""
    result = pd.DataFrame(
        {
            "nearest_base": tt["nearest_base"],
            "base_id": tt["base_id"].where(tt["base_id"] >= 0).astype("Int64"),
            "travel_minutes": tt["travel_minutes"].round(3),
            "snap_distance_m": tt["snap_distance_m"].round(1),
            "status": tt["status"],
            "profile": speed,
            "network": area.network.graph.get("network_label", ""),
        },
        index=df.index,
    )
    write_csv(pd.concat([df, result], axis=1), target.path)
    summary = provenance(
        area,
        points=params.pop("points_csv"),
        bases=area.bases_source,
        profile=speed,
        crs=area.force.projected_crs,
        **params,
    )
    summary["counts"] = {"points": len(df), **{k: int(v) for k, v in result["status"].value_counts().items()}}
    summary["bases"] = {"count": len(area.bases), "issues": area.base_issues}
    # points farther than the snap limit from any road are counted above, not mixed into the figures
    minutes = result.loc[result["status"] == "ok", "travel_minutes"].dropna()
    summary["travel_minutes"] = (
        {
            "points": int(len(minutes)),
            "median": round(float(minutes.median()), 2),
            "p90": round(float(minutes.quantile(0.9)), 2),
            "max": round(float(minutes.max()), 2),
        }
        if len(minutes)
        else None
    )
    write_json(summary, target.companion(".json"))
    return summary


def run_isochrones(
    area: StudyArea,
    out: str | Path,
    *,
    thresholds=(5, 10, 15, 20),
    speeds=("blue_light",),
    when: When | str | None = None,
    per_base: bool = True,
    combined: bool = True,
    buffer_m: float | None = None,
    overwrite: bool = False,
) -> dict:
    """Isochrones per base and for all bases; writes the GeoPackage / GeoJSON and ``<out>.json``."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".json"):
        raise InputFileError(f"--out should end in .gpkg or .geojson, got {out}")
    if not per_base and not combined:
        raise InputFileError("nothing to draw: --no-per-base and --no-combined together; keep one of them")
    if not thresholds or not all(np.isfinite(t) and t > 0 for t in thresholds):
        raise InputFileError(f"--thresholds must be positive minutes, got {list(thresholds)}")
    speeds = [area.speed(s) for s in speeds]
    buffer = iso.BUFFER_M if buffer_m is None else float(buffer_m)
    with OutputFile(
        out, inputs=[p for p in (area.osm, area.bases_csv) if p], overwrite=overwrite, companions=(".json",)
    ) as target:
        return _isochrone_outputs(area, target, suffix, thresholds, speeds, when, per_base, combined, buffer)


def _isochrone_outputs(
    area: StudyArea, target: OutputFile, suffix: str, thresholds, speeds, when, per_base, combined, buffer
) -> dict:
    frames = [
        iso.isochrones(
            area.network,
            area.bases,
            thresholds,
            speed=s,
            when=when,
            per_base=per_base,
            combined=combined,
            lsoas=area.lsoas,
            buffer_m=buffer,
            crs=area.force.projected_crs,
            access_speed_kph=area.force.response_model.access_speed_kph,
        )
        for s in speeds
    ]
    result = pd.concat(frames, ignore_index=True)
    result["area_km2"] = result["area_km2"].round(3)
    result["population"] = result["population"].round().astype("Int64")
    result["network"] = area.network.graph.get("network_label", "")
    if suffix == ".gpkg":
        result.to_file(target.path, layer="isochrones", driver="GPKG")
    else:
        result.to_file(target.path, driver="GeoJSON")
    summary = provenance(
        area,
        bases=area.bases_source,
        thresholds_min=list(thresholds),
        profiles=speeds,
        when=when,
        per_base=per_base,
        combined=combined,
        buffer_m=buffer,
        cell_m=iso.CELL_M,
        sample_m=iso.SAMPLE_M,
        population="ONS mid-2019 LSOA population by population-weighted centroid",
        method=frames[0].attrs.get("method"),
    )
    summary["bases"] = {"count": len(area.bases), "issues": area.base_issues}
    summary["polygons"] = len(result)
    combined_rows = result.loc[result["base_id"] == -1, ["profile", "threshold_min", "area_km2", "population"]]
    summary["combined"] = [
        {**r, "population": None if pd.isna(r["population"]) else int(r["population"])}
        for r in combined_rows.to_dict("records")
    ]
    write_json(summary, target.companion(".json"))
    return summary

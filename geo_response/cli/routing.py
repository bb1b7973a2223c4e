"""``geo-response travel-times`` and ``geo-response isochrones``: thin commands over routing, snapping, isochrones.

Here ``--profile`` is the *speed* profile (blue_light, normal, free_flow), as in the issue's command lines;
the force profile TOML is ``--force-profile``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import typer

from geo_response import geography
from geo_response.cli import app
from geo_response.cli.common import BasesOption, DataDirOption, OsmOption, fail
from geo_response.errors import GeoResponseError, InputFileError, RoutingError

ForceProfileOption = Annotated[
    Path | None, typer.Option("--force-profile", help="Force profile TOML (default: the embedded Essex profile).")
]


def read_points_csv(path: str | Path, projected_crs: str = "EPSG:27700") -> tuple[pd.DataFrame, gpd.GeoSeries]:
    """Read a CSV of points.

    Columns (any case): ``latitude``/``longitude`` (or ``lat``/``lon``) in WGS84, or ``easting``/``northing``
    in ``projected_crs``. Every other column is kept.

    Returns
    -------
    (DataFrame, GeoSeries)
        The rows as read, and their points in EPSG:4326 (empty points where a row has missing or impossible
        coordinates: those rows are kept and reported, never dropped).

    Raises
    ------
    InputFileError
        If the file cannot be read or has no coordinate columns.
    """
    try:
        df = pd.read_csv(path, index_col=False)   # a row with extra fields must not shift columns into the index
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read points file {path}: {exc}") from exc
    points, _ = geography.table_points(df, f"points file {path}", projected_crs)
    return df, points


TRAVEL_TIME_COLUMNS = ("nearest_base", "base_id", "travel_minutes", "snap_distance_m", "too_far", "status",
                       "profile", "network")


def _echo_base_issues(issues: list[dict]) -> None:
    for issue in issues:
        typer.secho(f"base row {issue['row']} ({issue['name']}): {issue['issue']}", fg=typer.colors.YELLOW)


def _speed_profile(prof, name: str) -> str:
    known = list(prof.speeds.profiles)
    if name not in known:
        raise RoutingError(f"unknown speed profile {name!r}; use one of {known}")
    return name


def _network_and_bases(prof, osm, bases_csv, data_dir):
    from geo_response import bases as bases_module
    from geo_response import geography
    from geo_response.roads import network

    G = network.load_network(osm, profile=prof, data_dir=data_dir)
    boundary = geography.load_boundary(prof, data_dir)
    area = geography.buffer_boundary(boundary, prof.geography.boundary_buffer_m, prof.projected_crs)
    osm_path = osm if osm is not None else network.essex_standin_path(data_dir)
    frame, issues = bases_module.load_bases(csv_path=bases_csv, osm_path=None if bases_csv else osm_path,
                                            boundary=boundary, area=area, projected_crs=prof.projected_crs)
    if len(frame) == 0:
        raise RoutingError("no bases left to route from (none in the file, or all outside the network area); "
                           "give a bases CSV with --bases")
    return G, bases_module.attach_nodes(frame, G, prof.projected_crs), issues, str(bases_csv or osm_path)


def _provenance(G, **params) -> dict:
    return {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "network": {k: G.graph.get(k) for k in ("source", "source_sha256", "network_label", "standin")},
            "graph": {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()},
            "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()}}


def run_travel_times(points_csv: Path, out: Path, *, osm=None, bases_csv=None, profile: str = "blue_light",
                     access_speed_kph: float | None = None, limit_m: float | None = None, force_profile=None,
                     data_dir=None) -> dict:
    """Compose the library calls behind ``geo-response travel-times``; write the CSV and ``<out>.json``.

    The output has every input column plus ``nearest_base, base_id, travel_minutes, snap_distance_m, too_far,
    status`` (``ok``, ``too_far``: farther than ``limit_m`` from a road, time still given; ``unreachable``;
    ``no_coordinates``). Returns the summary written to the JSON file.
    """
    from geo_response import config
    from geo_response.roads.snapping import travel_times_to_points

    prof = config.load_profile(force_profile)
    profile = _speed_profile(prof, profile)
    access = prof.response_model.access_speed_kph if access_speed_kph is None else float(access_speed_kph)
    limit = prof.response_model.snap_limit_m if limit_m is None else float(limit_m)
    df, points = read_points_csv(points_csv, prof.projected_crs)
    clash = [c for c in TRAVEL_TIME_COLUMNS if c in df.columns]
    if clash:   # checked before the slow part
        raise InputFileError(f"points file {points_csv} already has columns {clash}; rename them")
    G, bases, issues, bases_source = _network_and_bases(prof, osm, bases_csv, data_dir)
    has_xy = points.notna().to_numpy() & ~points.is_empty.to_numpy()
    tt = travel_times_to_points(G, bases, points[has_xy], profile, access_speed_kph=access, limit_m=limit,
                                crs=prof.projected_crs)
    result = pd.DataFrame({"nearest_base": None, "base_id": pd.NA, "travel_minutes": np.nan,
                           "snap_distance_m": np.nan, "too_far": pd.NA, "status": "no_coordinates"}, index=df.index)
    result = result.astype({"nearest_base": "object", "base_id": "Int64", "too_far": "boolean", "status": "object"})
    reach = tt["reachable"].to_numpy()
    result.loc[tt.index, "nearest_base"] = tt["nearest_base"].where(reach)
    result.loc[tt.index, "base_id"] = tt["base_id"].where(reach).astype("Int64")
    result.loc[tt.index, "travel_minutes"] = tt["travel_minutes"].round(3)
    result.loc[tt.index, "snap_distance_m"] = tt["snap_distance_m"].round(1)
    result.loc[tt.index, "too_far"] = tt["too_far"]
    result.loc[tt.index, "status"] = np.where(~reach, "unreachable", np.where(tt["too_far"], "too_far", "ok"))
    result["profile"] = profile
    result["network"] = G.graph.get("network_label", "")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pd.concat([df, result], axis=1).to_csv(out, index=False)
    summary = _provenance(G, points=points_csv, bases=bases_source, profile=profile, access_speed_kph=access,
                          snap_limit_m=limit, crs=prof.projected_crs)
    summary["counts"] = {"points": len(df), **{k: int(v) for k, v in result["status"].value_counts().items()}}
    summary["bases"] = {"count": len(bases), "issues": issues}
    # points farther than the snap limit from any road are counted above, not mixed into the figures
    minutes = result.loc[result["status"] == "ok", "travel_minutes"].dropna()
    summary["travel_minutes"] = ({"points": int(len(minutes)), "median": round(float(minutes.median()), 2),
                                  "p90": round(float(minutes.quantile(0.9)), 2),
                                  "max": round(float(minutes.max()), 2)} if len(minutes) else None)
    Path(str(out) + ".json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def run_isochrones(out: Path, *, osm=None, bases_csv=None, thresholds=(5, 10, 15, 20), profiles=("blue_light",),
                   per_base: bool = True, combined: bool = True, buffer_m: float | None = None, force_profile=None,
                   data_dir=None) -> dict:
    """Compose the library calls behind ``geo-response isochrones``; write the GeoPackage / GeoJSON and a JSON."""
    from geo_response import config, geography
    from geo_response.roads import isochrones as iso
    from geo_response.roads import routing, snapping
    from geo_response.roads.speeds import travel_time_field

    suffix = Path(out).suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".json"):
        raise InputFileError(f"--out should end in .gpkg or .geojson, got {out}")
    if not per_base and not combined:
        raise InputFileError("nothing to draw: --no-per-base and --no-combined together; keep one of them")
    if not thresholds or not all(np.isfinite(t) and t > 0 for t in thresholds):
        raise InputFileError(f"--thresholds must be positive minutes, got {list(thresholds)}")
    prof = config.load_profile(force_profile)
    profiles = [_speed_profile(prof, p) for p in profiles]
    buffer = iso.BUFFER_M if buffer_m is None else float(buffer_m)
    G, bases, issues, bases_source = _network_and_bases(prof, osm, bases_csv, data_dir)
    lsoas = geography.load_lsoas(prof, data_dir)
    index = snapping.edge_index(G, prof.projected_crs)
    samples = iso.network_samples(index, pad_m=buffer + 4 * iso.CELL_M)
    frames = [iso.isochrones(G, bases, thresholds, profile=p, per_base=per_base, combined=combined, lsoas=lsoas,
                             buffer_m=buffer, crs=prof.projected_crs, index=index,
                             rg=routing.to_csr(G, travel_time_field(p)), samples=samples) for p in profiles]
    result = pd.concat(frames, ignore_index=True)
    result["area_km2"] = result["area_km2"].round(3)
    result["population"] = result["population"].round().astype("Int64")
    result["network"] = G.graph.get("network_label", "")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpkg":
        result.to_file(out, layer="isochrones", driver="GPKG")
    else:
        result.to_file(out, driver="GeoJSON")
    summary = _provenance(G, bases=bases_source, thresholds_min=list(thresholds), profiles=profiles,
                          per_base=per_base, combined=combined, buffer_m=buffer, cell_m=iso.CELL_M,
                          sample_m=iso.SAMPLE_M, population="ONS mid-2019 LSOA population by population-weighted "
                          "centroid", method=frames[0].attrs.get("method"))
    summary["bases"] = {"count": len(bases), "issues": issues}
    summary["polygons"] = len(result)
    summary["combined"] = result.loc[result["base_id"] == -1, ["profile", "threshold_min", "area_km2",
                                                               "population"]].to_dict("records")
    Path(str(out) + ".json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


@app.command("travel-times")
def travel_times_command(
    points: Annotated[Path, typer.Option("--points", help="CSV with latitude/longitude or easting/northing "
                                                          "columns (all columns are copied to the output).")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV (a JSON summary is written beside it).")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    profile: Annotated[str, typer.Option("--profile", help="Speed profile: blue_light, normal or free_flow.")
                       ] = "blue_light",
    access_speed: Annotated[float | None, typer.Option(
        "--access-speed", help="Off-network leg speed, km/h (default: force profile).")] = None,
    snap_limit: Annotated[float | None, typer.Option(
        "--snap-limit", help="Flag points farther than this from a road, m (default: force profile).")] = None,
    force_profile: ForceProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Travel time from the nearest base to each point: nearest_base, travel_minutes, snap_distance_m."""
    try:
        summary = run_travel_times(points, out, osm=osm, bases_csv=bases, profile=profile,
                                   access_speed_kph=access_speed, limit_m=snap_limit, force_profile=force_profile,
                                   data_dir=data_dir)
    except GeoResponseError as exc:
        fail(exc)
        return
    counts = summary["counts"]
    typer.echo(f"network: {summary['network']['network_label']} ({summary['graph']['nodes']:,} nodes); "
               f"bases {summary['bases']['count']}; profile {summary['parameters']['profile']}")
    _echo_base_issues(summary["bases"]["issues"])
    typer.echo("points: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if summary["travel_minutes"]:
        m = summary["travel_minutes"]
        typer.echo(f"travel minutes ({m['points']:,} points within the snap limit): median {m['median']}, "
                   f"90th percentile {m['p90']}, max {m['max']}")
    typer.echo(f"wrote {out}")


@app.command("isochrones")
def isochrones_command(
    out: Annotated[Path, typer.Option("--out", help="Output .gpkg or .geojson (a JSON summary beside it).")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    thresholds: Annotated[str, typer.Option("--thresholds", help="Minutes, comma separated.")] = "5,10,15,20",
    profile: Annotated[list[str] | None, typer.Option(
        "--profile", help="Speed profile (repeatable; default blue_light).")] = None,
    per_base: Annotated[bool, typer.Option("--per-base/--no-per-base", help="One polygon per base.")] = True,
    combined: Annotated[bool, typer.Option("--combined/--no-combined", help="Polygons for all bases.")] = True,
    buffer_m: Annotated[float | None, typer.Option("--buffer-m", help="Band around reached roads, m.")] = None,
    force_profile: ForceProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Areas reachable within each threshold, per base and for all bases, with population covered."""
    try:
        try:
            minutes = tuple(float(t) for t in thresholds.split(",") if t.strip())
        except ValueError:
            raise InputFileError(f"--thresholds must be minutes separated by commas, got {thresholds!r}") from None
        summary = run_isochrones(out, osm=osm, bases_csv=bases, thresholds=minutes,
                                 profiles=tuple(profile or ("blue_light",)), per_base=per_base, combined=combined,
                                 buffer_m=buffer_m, force_profile=force_profile, data_dir=data_dir)
    except GeoResponseError as exc:
        fail(exc)
        return
    typer.echo(f"network: {summary['network']['network_label']}; bases {summary['bases']['count']}")
    _echo_base_issues(summary["bases"]["issues"])
    for row in summary["combined"]:
        pop = "" if pd.isna(row["population"]) else f", population {int(row['population']):,}"
        typer.echo(f"all bases, {row['profile']}, {row['threshold_min']:g} min: {row['area_km2']:,.1f} km2{pop}")
    typer.echo(f"wrote {out} ({summary['polygons']} polygons)")

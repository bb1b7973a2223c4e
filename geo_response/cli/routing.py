"""``geo-response travel-times`` and ``geo-response isochrones``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response import bases as bases_module
from geo_response import config, geography, incidents, isochrones, network, snapping
from geo_response.cli import app
from geo_response.cli.common import BasesOption, DataDirOption, OsmOption, ProfileOption, fail
from geo_response.errors import GeoResponseError, InputFileError


def _network_and_bases(osm, bases_csv, data_dir, prof):
    G = network.load_network(osm, profile=prof, data_dir=data_dir)
    boundary = geography.load_boundary(prof, data_dir)
    area = geography.buffer_boundary(boundary, prof.geography.boundary_buffer_m, prof.projected_crs)
    osm_path = osm if osm is not None else network.essex_standin_path(data_dir)
    stations, issues = bases_module.load_bases(bases_csv, None if bases_csv else osm_path, boundary, area,
                                               prof.projected_crs)
    for issue in issues:
        typer.secho(f"bases: row {issue['row']} ({issue['name']}): {issue['issue']}", err=True,
                    fg=typer.colors.YELLOW)
    if G.graph["standin"]:
        typer.secho("note: travel times from the SYNTHETIC stand-in network, not real Essex roads", err=True,
                    fg=typer.colors.YELLOW)
    return G, bases_module.attach_nodes(stations, G, prof.projected_crs)


def _check_profile(prof, name: str) -> None:
    if name not in prof.speeds.profiles:
        raise InputFileError(f"unknown speed profile {name!r}; use one of {sorted(prof.speeds.profiles)}")


@app.command("travel-times")
def travel_times_command(
    points: Annotated[Path, typer.Option("--points", help="CSV of points (latitude/longitude or easting/northing).")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV.")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    profile_name: Annotated[str, typer.Option("--profile", help="Speed profile: blue_light, normal, free_flow.")]
    = "blue_light",
    force_profile: ProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Travel time from the nearest base to every point: nearest_base, travel_minutes, snap_distance_m + input."""
    try:
        prof = config.load_profile(force_profile)
        _check_profile(prof, profile_name)
        table = incidents.read_table(points)
        xy = incidents.point_geometry(table, points)
        G, stations = _network_and_bases(osm, bases, data_dir, prof)
        ok = xy.notna().to_numpy()
        rm = prof.response_model
        times = snapping.travel_times_to_points(G, stations, xy[ok], profile_name, rm.access_speed_kph,
                                                rm.snap_limit_m, prof.projected_crs)
    except GeoResponseError as exc:
        fail(exc)
    result = table.copy()
    for column in ("nearest_base", "travel_minutes", "snap_distance_m", "too_far"):
        result[column] = None
        result.loc[ok, column] = times[column].to_numpy()
    result.loc[~ok, "nearest_base"] = "(no usable coordinates)"
    result["travel_minutes"] = result["travel_minutes"].astype(float).round(3)
    result["snap_distance_m"] = result["snap_distance_m"].astype(float).round(1)
    result["profile"] = profile_name
    result["network"] = G.graph["network_label"]
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out, index=False)
    typer.echo(f"{ok.sum():,} of {len(table):,} points timed ({(~ok).sum():,} without usable coordinates, "
               f"{int(times['too_far'].sum()):,} farther than {prof.response_model.snap_limit_m:g} m from a road, "
               f"{int((~times['reachable']).sum()):,} unreachable) -> {out}")


@app.command("isochrones")
def isochrones_command(
    out: Annotated[Path, typer.Option("--out", help="Output .gpkg or .geojson.")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    thresholds: Annotated[str, typer.Option(help="Minutes, comma separated.")] = "5,10,15,20",
    profile_name: Annotated[str, typer.Option("--profile", help="Speed profile: blue_light, normal, free_flow.")]
    = "blue_light",
    force_profile: ProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Isochrone polygons per base and for all bases, with area and population covered."""
    try:
        prof = config.load_profile(force_profile)
        _check_profile(prof, profile_name)
        try:
            minutes = [float(t) for t in thresholds.split(",") if t.strip()]
        except ValueError:
            raise InputFileError(f"--thresholds must be minutes separated by commas, got {thresholds!r}") from None
        if not minutes or min(minutes) <= 0:
            raise InputFileError("--thresholds needs at least one positive number of minutes")
        G, stations = _network_and_bases(osm, bases, data_dir, prof)
        iso = isochrones.isochrones(G, stations, minutes, profile_name, lsoas=geography.load_lsoas(prof, data_dir),
                                    crs=prof.projected_crs)
    except GeoResponseError as exc:
        fail(exc)
    iso["network"] = G.graph["network_label"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    driver = "GeoJSON" if out.suffix.lower() in (".geojson", ".json") else "GPKG"
    iso.to_file(out, driver=driver, **({"layer": "isochrones"} if driver == "GPKG" else {}))
    combined = iso[iso.base_id == -1]
    for _, row in combined.iterrows():
        typer.echo(f"{row.threshold_min:g} min ({profile_name}): {row.area_km2:,.0f} km2, "
                   f"{row.population:,} people within reach of any base")
    typer.echo(f"{len(iso)} polygons -> {out}")

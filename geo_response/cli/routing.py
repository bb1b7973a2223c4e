"""``geo-response travel-times`` and ``geo-response isochrones``: thin commands over the routing workflows.

``--speed`` is the speed profile (blue_light, normal, free_flow); ``--profile`` is its deprecated alias.
The force profile TOML is ``--force-profile``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli.common import (
    BasesOption,
    DataDirOption,
    ForceOption,
    OsmOption,
    OverwriteOption,
    WhenOption,
    echo_base_issues,
    errors,
    speed_option,
)
from geo_response.errors import InputFileError
from geo_response.study_area import load_study_area
from geo_response.workflows import routing as workflow

SpeedOption = Annotated[str | None, typer.Option("--speed", help="Speed profile: blue_light, normal or free_flow.")]
OldProfileOption = Annotated[str | None, typer.Option("--profile", hidden=True, help="Deprecated: use --speed.")]


def travel_times_command(
    points: Annotated[
        Path,
        typer.Option(
            "--points",
            help="CSV with latitude/longitude or easting/northing columns (all columns are copied to the output).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output CSV (a JSON summary is written beside it).")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    speed: SpeedOption = None,
    profile: OldProfileOption = None,
    when: WhenOption = None,
    access_speed: Annotated[
        float | None, typer.Option("--access-speed", help="Off-network leg speed, km/h (default: force profile).")
    ] = None,
    snap_limit: Annotated[
        float | None,
        typer.Option("--snap-limit", help="Flag points farther than this from a road, m (default: force profile)."),
    ] = None,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Travel time from the nearest base to each point: nearest_base, travel_minutes, snap_distance_m, status."""
    with errors():
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        summary = workflow.run_travel_times(
            area,
            points,
            out,
            speed=speed_option(speed, profile),
            when=when,
            access_speed_kph=access_speed,
            limit_m=snap_limit,
            overwrite=overwrite,
        )
    typer.echo(
        f"network: {summary['network']['network_label']} ({summary['graph']['nodes']:,} nodes); "
        f"bases {summary['bases']['count']}; speed {summary['parameters']['profile']}"
    )
    echo_base_issues(summary["bases"]["issues"])
    typer.echo("points: " + ", ".join(f"{k} {v:,}" for k, v in summary["counts"].items()))
    if summary["travel_minutes"]:
        m = summary["travel_minutes"]
        typer.echo(
            f"travel minutes ({m['points']:,} points within the snap limit): median {m['median']}, "
            f"90th percentile {m['p90']}, max {m['max']}"
        )
    typer.echo(f"wrote {out}")


def isochrones_command(
    out: Annotated[Path, typer.Option("--out", help="Output .gpkg or .geojson (a JSON summary beside it).")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    thresholds: Annotated[str, typer.Option("--thresholds", help="Minutes, comma separated.")] = "5,10,15,20",
    speed: Annotated[
        list[str] | None, typer.Option("--speed", help="Speed profile (repeatable; default blue_light).")
    ] = None,
    profile: Annotated[list[str] | None, typer.Option("--profile", hidden=True, help="Deprecated: --speed.")] = None,
    when: WhenOption = None,
    per_base: Annotated[bool, typer.Option("--per-base/--no-per-base", help="One polygon per base.")] = True,
    combined: Annotated[bool, typer.Option("--combined/--no-combined", help="Polygons for all bases.")] = True,
    buffer_m: Annotated[float | None, typer.Option("--buffer-m", help="Band around reached roads, m.")] = None,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Areas reachable within each threshold, per base and for all bases, with population covered."""
    with errors():
        try:
            minutes = tuple(float(t) for t in thresholds.split(",") if t.strip())
        except ValueError:
            raise InputFileError(f"--thresholds must be minutes separated by commas, got {thresholds!r}") from None
        if profile:
            speed_option(None, profile[0])
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        summary = workflow.run_isochrones(
            area,
            out,
            thresholds=minutes,
            speeds=tuple(speed or profile or ("blue_light",)),
            when=when,
            per_base=per_base,
            combined=combined,
            buffer_m=buffer_m,
            overwrite=overwrite,
        )
    typer.echo(f"network: {summary['network']['network_label']}; bases {summary['bases']['count']}")
    echo_base_issues(summary["bases"]["issues"])
    for row in summary["combined"]:
        pop = "" if row["population"] is None else f", population {row['population']:,}"
        typer.echo(f"all bases, {row['profile']}, {row['threshold_min']:g} min: {row['area_km2']:,.1f} km2{pop}")
    typer.echo(f"wrote {out} ({summary['polygons']} polygons)")


def register(app: typer.Typer) -> None:
    """Add ``travel-times`` and ``isochrones`` to the app."""
    app.command("travel-times")(travel_times_command)
    app.command("isochrones")(isochrones_command)

"""Options and error handling shared by the CLI commands."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from geo_response.errors import GeoResponseError

STATE = {"debug": False}

DebugOption = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $GEO_RESPONSE_DATA, ../shared/data, user cache)."),
]
ForceOption = Annotated[
    Path | None, typer.Option("--force-profile", help="Force profile TOML (default: the embedded Essex profile).")
]
OsmOption = Annotated[
    Path | None, typer.Option("--osm", help="OSM file (.osm, .osm.bz2, .osm.pbf). Default: the bundle's stand-in.")
]
BasesOption = Annotated[
    Path | None, typer.Option("--bases", help="Bases CSV (name, latitude/longitude or easting/northing). "
                                              "Default: amenity=police in the OSM file.")
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace files in --out that geo-response did not write (default: refuse).")
]
WhenOption = Annotated[str | None, typer.Option(
    "--when", help="Time of the week for time-of-day speeds: '08:00', '08:00 weekend', 'Sat 03:00' or an ISO "
                   "datetime (default: each incident's own time when the file has one, else none).")]
PolicyOption = Annotated[str, typer.Option("--policy", help="Grading policy: essex-2022 or ncmg.")]
SeedOption = Annotated[int | None, typer.Option("--seed", min=0, help="Seed for sampled grades and the Monte Carlo.")]
IncidentsOption = Annotated[
    list[str] | None,
    typer.Option("--incidents", help="Incident file (CSV, GeoPackage, Parquet), a folder of them or a glob such as "
                                     "'police_uk/*.csv'. Repeatable."),
]


def incident_source(incidents: list[str] | None) -> str | list[str] | None:
    """One path, a list of them, or None."""
    if not incidents:
        return None
    return incidents if len(incidents) > 1 else incidents[0]


def default_incidents(area, incidents: list[str] | None) -> str | list[str]:
    """The incidents given (each resolved, see :func:`resolve_incidents`), or the data folder's ``police_uk/``."""
    from geo_response import datadir

    if not incidents:
        source = str(datadir.default_incidents(area.data_dir))
        typer.echo(f"incidents: {source} (default: the data folder's police_uk/; give --incidents for others)")
        return source
    return incident_source(resolve_incidents(area, incidents))


def resolve_incidents(area, incidents: list[str]) -> list[str]:
    """Each path or glob as given when it exists in the working folder, else in the data folder (said which)."""
    import glob

    from geo_response import datadir

    out = []
    for given in incidents:
        if Path(given).is_absolute() or Path(given).exists() or glob.glob(given):
            out.append(given)
            continue
        base = datadir.resolve_data_dir(area.data_dir)
        candidate = base / given
        if candidate.exists() or glob.glob(str(candidate)):
            typer.echo(f"incidents: {given} is not in the working folder; using {candidate} from the data folder")
            out.append(str(candidate))
        else:
            out.append(given)      # the loader says it does not exist, naming the path
    return out


def speed_option(speed: str | None, profile: str | None, default: str = "blue_light") -> str:
    """The speed profile from ``--speed``, or from the deprecated ``--profile`` (with a warning)."""
    if profile is not None:
        typer.secho("warning: --profile is deprecated for the speed profile; use --speed", err=True,
                    fg=typer.colors.YELLOW)
        if speed is None:
            return profile
    return speed or default


def echo_base_issues(issues: list[dict]) -> None:
    """Print the problems found in the bases file."""
    for issue in issues:
        typer.secho(f"base row {issue['row']} ({issue['name']}): {issue['issue']}", fg=typer.colors.YELLOW)


def standin_warning(label: str | None, standin: bool) -> None:
    """Say so when results come from the synthetic stand-in network."""
    if standin:
        typer.secho(f"network: {label}: results exercise the method only, not real Essex roads",
                    fg=typer.colors.YELLOW)


@contextmanager
def errors() -> Iterator[None]:
    """Turn errors the user can fix into one line on stderr and exit status 2 (a traceback with --debug)."""
    try:
        yield
    except (GeoResponseError, OSError) as exc:
        if STATE["debug"]:
            traceback.print_exc()
        text = str(exc) if isinstance(exc, GeoResponseError) else f"{type(exc).__name__}: {exc}"
        typer.secho(f"error: {text.splitlines()[0] if text else type(exc).__name__}", err=True,
                    fg=typer.colors.RED)
        rest = text.splitlines()[1:] + list(getattr(exc, "__notes__", []))
        for line in rest:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(code=2) from None

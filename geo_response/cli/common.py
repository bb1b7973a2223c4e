"""Options and error handling shared by the CLI commands."""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from geo_response.errors import GeoResponseError

STATE = {"debug": False, "quiet": False, "verbose": False}

DebugOption = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars and no info lines.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log what geo-response does (logging INFO).")]

_LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def configure_output(quiet: bool = False, verbose: bool = False) -> None:
    """Set up logging and progress bars for ``--quiet`` / ``--verbose``.

    Verbose turns on logging INFO for the ``geo_response`` logger (to stderr); quiet shows warnings only and
    hides every tqdm bar. Without either, bars stay ``disable=None`` (shown on a terminal only).
    """
    STATE["quiet"], STATE["verbose"] = quiet, verbose
    logger = logging.getLogger("geo_response")
    if not any(getattr(h, "_geo_response_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        handler._geo_response_cli = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose and not quiet else logging.WARNING)
    _set_progress(not quiet)


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _set_progress(enabled: bool) -> None:
    """Hide every tqdm bar (``enabled=False``) or restore the library's own choice."""
    from tqdm import std

    original = getattr(std.tqdm.__init__, "_geo_response_original", None)
    if enabled:
        if original is not None:
            std.tqdm.__init__ = original
        return
    if original is not None:
        return
    original = std.tqdm.__init__

    @functools.wraps(original)
    def quiet_init(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    quiet_init._geo_response_original = original
    std.tqdm.__init__ = quiet_init


def info(message: str) -> None:
    """Print an info line unless ``--quiet``."""
    if not STATE["quiet"]:
        typer.echo(message)


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
    Path | None,
    typer.Option(
        "--bases",
        help="Bases CSV (name, latitude/longitude or easting/northing). Default: amenity=police in the OSM file.",
    ),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace files in --out that geo-response did not write (default: refuse).")
]
WhenOption = Annotated[
    str | None,
    typer.Option(
        "--when",
        help="Time of the week for time-of-day speeds: '08:00', '08:00 weekend', 'Sat 03:00' or an ISO "
        "datetime (default: each incident's own time when the file has one, else none).",
    ),
]
PolicyOption = Annotated[str, typer.Option("--policy", help="Grading policy: essex-2022 or ncmg.")]
SeedOption = Annotated[int | None, typer.Option("--seed", min=0, help="Seed for sampled grades and the Monte Carlo.")]
IncidentsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--incidents",
        help="Incident file (CSV, GeoPackage, Parquet), a folder of them or a glob such as "
        "'police_uk/*.csv'. Repeatable.",
    ),
]

CollisionsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--collisions",
        help="STATS19 road collisions (DfT collision CSV, either header style) or a glob such as 'stats19/*.csv': "
        "the force's collisions join the modelled incidents as road incidents on their carriageway, graded by "
        "severity (force profile [road_collisions]). Repeatable.",
    ),
]


ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Column map of the incident file: 'Incident URN=incident_id,Created=occurred_at,Arrived=arrived_at' "
        "or a TOML file with a [columns] table (docs/INPUTS.md).",
    ),
]
DayfirstOption = Annotated[
    bool | None,
    typer.Option(
        "--dayfirst/--no-dayfirst",
        help="Read 14/06/2018-style dates day-first (UK) or month-first (default: detected per file; "
        "dates that read both ways are rejected as ambiguous_date).",
    ),
]


def incident_source(
    incidents: list[str] | None, columns: str | None = None, dayfirst: bool | None = None
) -> str | list[str] | None:
    """One path, a list of them, or None; an :class:`IncidentSource` when a column map or date order is given."""
    if not incidents:
        return None
    if columns is not None or dayfirst is not None:
        from geo_response.incidents.load import IncidentSource, parse_column_map

        return IncidentSource(incidents, columns=parse_column_map(columns), dayfirst=dayfirst)
    return incidents if len(incidents) > 1 else incidents[0]


def default_incidents(
    area, incidents: list[str] | None, columns: str | None = None, dayfirst: bool | None = None
) -> str | list[str]:
    """The incidents given (each resolved, see :func:`resolve_incidents`), or the data folder's ``police_uk/``.

    With ``--columns`` / ``--dayfirst`` the paths come back as an :class:`IncidentSource` carrying them.
    """
    from geo_response import datadir

    if not incidents:
        source = str(datadir.default_incidents(area.data_dir))
        info(f"incidents: {source} (default: the data folder's police_uk/; give --incidents for others)")
        return incident_source([source], columns, dayfirst) if columns or dayfirst is not None else source
    return incident_source(resolve_incidents(area, incidents), columns, dayfirst)


def resolve_incidents(area, incidents: list[str], what: str = "incidents") -> list[str]:
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
            info(f"{what}: {given} is not in the working folder; using {candidate} from the data folder")
            out.append(str(candidate))
        else:
            out.append(given)  # the loader says it does not exist, naming the path
    return out


def resolve_collisions(area, collisions: list[str] | None) -> list[str] | None:
    """``--collisions`` resolved as ``--incidents`` is (working folder, then data folder); None when not given."""
    return resolve_incidents(area, collisions, "collisions") if collisions else None


def echo_collisions(summary: dict) -> None:
    """The collisions' line: file rows = accepted + rejected, snapping, grades and their period against the
    incidents' (a different period is said, never silently mixed); a note when none was the force's.
    """
    c = summary.get("collisions")
    if not c:
        return
    reasons = ", ".join(f"{k} {v:,}" for k, v in c["rejected_by_reason"].items()) or "none"
    names = ", ".join(Path(f["file"]).name for f in c["files"])
    typer.echo(
        f"collisions ({names}): {c['input_rows']:,} rows = accepted {c['accepted']:,} + rejected {c['rejected']:,} "
        f"({reasons})"
    )
    if c.get("note"):
        typer.secho(f"warning: collisions: {c['note']}", err=True, fg=typer.colors.YELLOW)
        return
    snaps = ", ".join(f"{k} {v}" for k, v in c.get("snap_methods", {}).items())
    grades = ", ".join(f"{k} {v}" for k, v in c.get("by_grade_category", {}).items())
    typer.echo(f"  on their carriageway by {snaps}; grades from severity: {grades}")
    cp, ip = c.get("period") or {}, summary.get("period") or {}
    line = f"  collisions {cp.get('first_month')} to {cp.get('last_month')}"
    if ip.get("first_month") and (cp.get("first_month"), cp.get("last_month")) != (
        ip.get("first_month"),
        ip.get("last_month"),
    ):
        line += (
            f"; incidents {ip['first_month']} to {ip['last_month']}: a different period, counted together in the tables"
        )
    typer.echo(line)


def speed_option(speed: str | None, profile: str | None, default: str = "blue_light") -> str:
    """The speed profile from ``--speed``, or from the deprecated ``--profile`` (with a warning)."""
    if profile is not None:
        typer.secho(
            "warning: --profile is deprecated for the speed profile; use --speed", err=True, fg=typer.colors.YELLOW
        )
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
        typer.secho(f"network: {label}: results exercise the method only, not real Essex roads", fg=typer.colors.YELLOW)


@contextmanager
def errors() -> Iterator[None]:
    """Turn errors the user can fix into one line on stderr and exit status 2 (a traceback with --debug)."""
    try:
        yield
    except (GeoResponseError, OSError) as exc:
        if STATE["debug"]:
            traceback.print_exc()
        text = str(exc) if isinstance(exc, GeoResponseError) else f"{type(exc).__name__}: {exc}"
        typer.secho(f"error: {text.splitlines()[0] if text else type(exc).__name__}", err=True, fg=typer.colors.RED)
        rest = text.splitlines()[1:] + list(getattr(exc, "__notes__", []))
        for line in rest:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(code=2) from None

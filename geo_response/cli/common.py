"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.errors import GeoResponseError

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $GEO_RESPONSE_DATA, ../shared/data, user cache)."),
]
ProfileOption = Annotated[
    Path | None, typer.Option("--force-profile", help="Force profile TOML (default: the embedded Essex profile).")
]
OsmOption = Annotated[
    Path | None, typer.Option("--osm", help="OSM file (.osm, .osm.bz2, .osm.pbf). Default: the bundle's stand-in.")
]
BasesOption = Annotated[
    Path | None, typer.Option("--bases", help="Bases CSV (name, latitude/longitude or easting/northing).")
]


def fail(exc: GeoResponseError) -> None:
    """Print a geo-response error without a traceback and exit with status 2."""
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)

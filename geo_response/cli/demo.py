"""``geo-response demo``: the whole job on the bundled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli import common
from geo_response.cli.common import (
    CollisionsOption,
    ColumnsOption,
    DataDirOption,
    DayfirstOption,
    ForceOption,
    OsmOption,
    OverwriteOption,
    errors,
)
from geo_response.errors import InputFileError
from geo_response.study_area import load_study_area
from geo_response.workflows.demo import run_demo


def demo_command(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("maps"),
    osm: OsmOption = None,
    data_dir: DataDirOption = None,
    force_profile: ForceOption = None,
    incidents: Annotated[Path | None, typer.Option(help="Incidents file or folder (default: police.uk).")] = None,
    collisions: CollisionsOption = None,
    no_collisions: Annotated[
        bool,
        typer.Option(
            "--no-collisions", help="Leave STATS19 collisions out (default: the data folder's stats19/ when present)."
        ),
    ] = False,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    no_calibrate: Annotated[bool, typer.Option("--no-calibrate", help="Keep the default delays.")] = False,
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration", help="A calibration.json from compliance --calibrate-to: use its delay scale (no refit)."
        ),
    ] = None,
    force_calibration: Annotated[
        bool, typer.Option("--force-calibration", help="Use --calibration even if fitted on another network or policy.")
    ] = False,
    online: Annotated[bool, typer.Option("--online", help="Load Leaflet from its CDN, not inlined.")] = False,
    show_points: Annotated[bool, typer.Option("--show-points", help="Draw individual incidents (sensitive).")] = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Network, bases, isochrones, modelled compliance (essex-2022 and ncmg), hotspots, A12 corridor, map."""
    with errors():
        if no_collisions and collisions:
            raise InputFileError("--collisions and --no-collisions contradict each other; give one")
        area = load_study_area(osm, force=force_profile, data_dir=data_dir)
        summary = run_demo(
            out,
            area=area,
            incidents_path=common.default_incidents(area, [str(incidents)] if incidents else None, columns, dayfirst)
            if incidents or columns or dayfirst is not None
            else None,
            calibrate=not no_calibrate,
            calibration=calibration,
            force_calibration=force_calibration,
            offline=not online,
            show_points=show_points,
            overwrite=overwrite,
            collisions=False if no_collisions else (common.resolve_collisions(area, collisions) or True),
        )
    common.info(f"network: {summary['network']['label']}")
    for name, p in summary["policies"].items():
        e = p["emergency"]
        rate = "n/a" if e["all"] is None else f"{100 * e['all']:.1f}%"
        typer.echo(f"{name}: emergency within target {rate} of {e['incidents']:,} incidents")
    typer.echo(summary["calibration_stamp"])
    typer.echo(f"rows: {summary['input']:,} in = {summary['accepted']:,} accepted + {summary['rejected']:,} rejected")
    common.echo_collisions(summary)
    typer.echo(f"outputs in {out}/: {', '.join(summary['outputs'])}")
    common.info(f"total {summary['timings_seconds']['total']:.1f} s")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo_command)

"""``geo-response compliance``: attendance target compliance from an incident file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli.common import (
    BasesOption,
    CollisionsOption,
    ColumnsOption,
    DataDirOption,
    DayfirstOption,
    ForceOption,
    IncidentsOption,
    OsmOption,
    OverwriteOption,
    PolicyOption,
    SeedOption,
    WhenOption,
    default_incidents,
    echo_collisions,
    errors,
    resolve_collisions,
)
from geo_response.incidents.load import require_accepted
from geo_response.study_area import load_study_area
from geo_response.workflows.compliance import run_compliance


def compliance_command(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    incidents: IncidentsOption = None,
    collisions: CollisionsOption = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    policy: PolicyOption = "essex-2022",
    osm: OsmOption = None,
    bases: BasesOption = None,
    calibrate_to: Annotated[
        float | None,
        typer.Option(
            "--calibrate-to", help="Fit the delay scale so modelled emergency compliance equals this rate, e.g. 0.827."
        ),
    ] = None,
    delay_scale: Annotated[
        float | None,
        typer.Option("--delay-scale", min=0.0, help="Scale on the modelled delays without fitting (default 1)."),
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="A calibration.json from --calibrate-to: use its delay scale (no refit)."),
    ] = None,
    force_calibration: Annotated[
        bool, typer.Option("--force-calibration", help="Use --calibration even if fitted on another network or policy.")
    ] = False,
    when: WhenOption = None,
    seed: SeedOption = None,
    draws: Annotated[int | None, typer.Option("--draws", min=1, help="Monte Carlo draws (default: profile).")] = None,
    report_format: Annotated[str, typer.Option("--format", help="Report format: md or html.")] = "md",
    show_points: Annotated[
        bool, typer.Option("--show-points", help="Let the ledger name a rejected row's 1 km grid square (sensitive).")
    ] = False,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Observed or modelled attendance compliance: long CSV, report, ledger and summary.json in --out."""
    with errors():
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        source = default_incidents(area, incidents, columns, dayfirst)
        run = run_compliance(
            area,
            source,
            out,
            policy=policy,
            calibrate_to=calibrate_to,
            delay_scale=delay_scale,
            seed=seed,
            draws=draws,
            report_format=report_format,
            overwrite=overwrite,
            when=when,
            show_points=show_points,
            calibration=calibration,
            force_calibration=force_calibration,
            collisions=resolve_collisions(area, collisions),
        )
    s = run.summary
    typer.echo(
        f"input {s['input']:,} rows = accepted {s['accepted']:,} + rejected {s['rejected']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in s['rejected_by_reason'].items()) or 'none'})"
    )
    n_sampled, n_accepted = s.get("grades_sampled_rows", 0), s["accepted"]
    grades = "given" if not n_sampled else "SAMPLED" if n_sampled == n_accepted else f"given; {n_sampled:,} SAMPLED"
    echo_collisions(s)
    typer.echo(f"policy {s['policy']}; times {s['outcomes']}; grades {grades}")
    for row in s["headline"]:
        if row["urban_rural"] == "all":
            typer.echo(f"  {row['grade']}: {row['pct_met']:.1f}% met")
    if s.get("calibration"):
        c = s["calibration"]
        typer.echo(f"calibrated delay scale x{c['delay_scale']:.4f} -> {c['achieved_rate']:.2%} emergency met")
    if s["outcomes"] == "modelled":
        typer.echo(s["calibration_stamp"])
    typer.echo(f"wrote {', '.join(s['outputs'])} to {out}")
    with errors():
        require_accepted(s)  # the ledger is written; a file with no usable row is still an error (exit 2)


def register(app: typer.Typer) -> None:
    """Add ``compliance`` to the app."""
    app.command("compliance")(compliance_command)

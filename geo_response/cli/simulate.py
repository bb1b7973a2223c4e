"""``geo-response simulate``: dispatch of busy response units simulated over a road network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli.common import (
    ColumnsOption,
    DataDirOption,
    DayfirstOption,
    ForceOption,
    IncidentsOption,
    OsmOption,
    OverwriteOption,
    PolicyOption,
    default_incidents,
    errors,
    standin_warning,
)
from geo_response.study_area import load_study_area
from geo_response.workflows.simulate import run_simulation

RosterOption = Annotated[
    Path | None,
    typer.Option(
        "--roster", help="Roster CSV or TOML (base,units,start,end[,days]). Default: the force profile's (ASSUMPTION)."
    ),
]
PostsOption = Annotated[
    Path | None,
    typer.Option(
        "--posts", help="Patrol posts CSV (base,latitude,longitude): that base's units wait there. Default: the base."
    ),
]
ReplicationsOption = Annotated[int, typer.Option("--replications", min=1, help="Independent replications.")]
DaysOption = Annotated[float, typer.Option("--days", min=0.01, help="Days simulated from the first month.")]
SimSeedOption = Annotated[int | None, typer.Option("--seed", min=0, help="Root seed (default: the profile's).")]
SchedulerOption = Annotated[
    str | None, typer.Option("--scheduler", help="Address of a running Dask scheduler (default: a local cluster).")
]
WorkersOption = Annotated[
    int,
    typer.Option("--workers", min=0, help="Workers of the local Dask cluster (0: run in this process without Dask)."),
]


def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    osm: OsmOption = None,
    incidents: IncidentsOption = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    roster: RosterOption = None,
    posts: PostsOption = None,
    policy: PolicyOption = "essex-2022",
    replications: ReplicationsOption = 5,
    days: DaysOption = 365.0,
    seed: SimSeedOption = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration",
            help="A calibration.json from compliance --calibrate-to: its delay scale multiplies answer + handling.",
        ),
    ] = None,
    force_calibration: Annotated[
        bool, typer.Option("--force-calibration", help="Use --calibration even if fitted on another network or policy.")
    ] = False,
    calibrate_to: Annotated[
        str | None,
        typer.Option(
            "--calibrate-to",
            help="Fit the job-time scale so simulated emergency % met equals this rate (e.g. 0.827, or 'reported': "
            "the force profile's reported emergency rate).",
        ),
    ] = None,
) -> None:
    """Simulate units dispatched to the incidents: % met with intervals, causes of misses, utilisation."""
    with errors():
        area = load_study_area(osm, bases=None, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        source = default_incidents(area, incidents, columns, dayfirst)
        target = reported_rate(area, calibrate_to)
        run = run_simulation(
            area,
            source,
            out,
            policy=policy,
            roster=roster,
            posts=posts,
            replications=replications,
            days=days,
            seed=seed,
            scheduler=scheduler,
            workers=workers,
            overwrite=overwrite,
            calibration=calibration,
            force_calibration=force_calibration,
            calibrate_to=target,
        )
    s = run.summary
    standin_warning(s["network"].get("label"), s["network"].get("standin"))
    typer.echo(
        f"simulated {s['simulated_incidents']:,} incidents, {s['period']['start']} + {s['period']['days']:g} "
        f"days; scale x{s['scale']['factor']:.3f} ({s['scale']['source']})"
    )
    typer.echo(f"roster: {s['roster']['units']} units ({s['roster']['source']}); {s['replications']} replications")
    for grade, h in s["headline"].items():
        typer.echo(f"  {grade}: {h['pct_met']:.1f}% met (95% CI {h['low']:.1f}-{h['high']:.1f})")
    typer.echo(s["calibration_stamp"])
    jc = s.get("job_calibration")
    if jc:
        typer.echo(
            f"fitted job-time scale x{jc['job_scale']:.4f} to {100 * jc['target_emergency_met']:.1f}% emergency met "
            f"({jc['load_equivalent']}); implied (a check, not fitted):"
        )
        for grade, by in jc["implied_pct_met"].items():
            typer.echo(f"  {grade}: " + ", ".join(f"{k} {'n/a' if v is None else f'{v:.1f}%'}" for k, v in by.items()))
    typer.echo("misses by cause: " + ", ".join(f"{k} {v:,.1f}" for k, v in s["misses_by_cause"].items()))
    for note in s["warnings"]:
        typer.secho(f"warning: {note}", fg=typer.colors.YELLOW)
    typer.echo(f"wrote {', '.join(s['outputs'])} to {out}")


def reported_rate(area, given: str | None) -> float | None:
    """``--calibrate-to``: a rate, or ``reported`` (the force profile's ``reported.emergency_met``)."""
    from geo_response.errors import SimulationError

    if given is None:
        return None
    if given.strip().lower() == "reported":
        rate = area.force.reported.get("emergency_met")
        if rate is None:
            raise SimulationError("--calibrate-to reported: the force profile gives no reported emergency_met")
        return float(rate)
    try:
        return float(given)
    except ValueError:
        raise SimulationError(f"--calibrate-to must be a rate such as 0.827 or 'reported', got {given!r}") from None


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the app."""
    app.command("simulate")(simulate_command)

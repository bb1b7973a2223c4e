"""``geo-response plan``: what-if scenarios (``compare``) and new-site optimisation (``optimise``)."""

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
    standin_warning,
)
from geo_response.planning import report as planning_report
from geo_response.study_area import load_study_area
from geo_response.workflows.plan import run_compare, run_optimise

DelayOption = Annotated[
    str, typer.Option("--delay", help="Fixed delay added to travel for coverage: 'median' or 'mean' of the stages.")
]


def compare_command(
    scenario: Annotated[
        Path,
        typer.Option(
            "--scenario", help="Scenario file (.csv or .toml): add/remove/move bases, set units, move_units/add_units."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    osm: OsmOption = None,
    bases: BasesOption = None,
    incidents: IncidentsOption = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    collisions: CollisionsOption = None,
    no_incidents: Annotated[
        bool,
        typer.Option(
            "--no-incidents", help="Skip incident compliance (default: the data folder's police_uk/ incidents)."
        ),
    ] = False,
    policy: PolicyOption = "essex-2022",
    seed: SeedOption = None,
    delay_scale: Annotated[
        float, typer.Option("--delay-scale", min=0.0, help="Scale on modelled delays (calibrated).")
    ] = 1.0,
    delay: DelayOption = "median",
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="A calibration.json from compliance --calibrate-to: use its delay scale."),
    ] = None,
    force_calibration: Annotated[
        bool, typer.Option("--force-calibration", help="Use --calibration even if fitted on another network or policy.")
    ] = False,
    online: Annotated[bool, typer.Option("--online", help="Load Leaflet from its CDN instead of inlining it.")] = False,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
    when: WhenOption = None,
    roster: Annotated[
        Path | None,
        typer.Option("--roster", help="Current roster for move_units / add_units changes (default: profile)."),
    ] = None,
    posts: Annotated[
        Path | None,
        typer.Option(
            "--posts",
            help="Current patrol posts CSV (base,latitude,longitude) for roster changes (default: the bases).",
        ),
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", min=1, help="Replications when the scenario changes units.")
    ] = 3,
    days: Annotated[
        float, typer.Option("--days", min=0.01, help="Days simulated when the scenario changes units.")
    ] = 28.0,
) -> None:
    """Compare a scenario with the current bases: coverage, travel and modelled compliance per district.

    A scenario that moves, adds or posts units (move_units / add_units / set_post) is also simulated: the
    current against the scenario roster with the same seeds, paired % met changes with 95% intervals.
    """
    with errors():
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        source = None if no_incidents else default_incidents(area, incidents, columns, dayfirst)
        result, paths = run_compare(
            area,
            scenario,
            out,
            policy=policy,
            incidents_path=source,
            seed=seed,
            delay_scale=delay_scale,
            delay=delay,
            offline=not online,
            overwrite=overwrite,
            calibration=calibration,
            force_calibration=force_calibration,
            when=when,
            roster=roster,
            posts=posts,
            replications=replications,
            days=days,
            collisions=resolve_collisions(area, collisions),
        )
    s = result.summary
    standin_warning(s["network"].get("label"), s["network"].get("standin"))
    echo_collisions({"collisions": s.get("collisions"), "period": (s.get("incident_file") or {}).get("period")})
    typer.echo(
        f"bases: {s['bases']['current']} now -> {s['bases']['scenario']} in the scenario "
        f"(added {len(s['bases']['added'])}, removed {len(s['bases']['removed'])}, "
        f"moved {len(s['bases']['moved'])})"
    )
    typer.echo(
        f"LSOAs within emergency target: {s['lsoas']['gained']} gained "
        f"({s['lsoas']['population_gained']:,.0f} people), {s['lsoas']['lost']} lost "
        f"({s['lsoas']['population_lost']:,.0f} people)"
    )
    for key in planning_report.headline_measures(s["overall"]):
        row = s["overall"].get(key)
        if row:
            typer.echo(
                f"  {planning_report.measure_label(key)}: {planning_report.fmt(row['current'], row['unit'])}"
                f" -> {planning_report.fmt(row['scenario'], row['unit'])} "
                f"({planning_report.fmt(row['change'], row['unit'], signed=True)})"
            )
    for grade, r in (s.get("simulation") or {}).get("overall", {}).items():
        typer.echo(
            f"  simulated % {grade} met: {r['current_pct']:.1f} -> {r['scenario_pct']:.1f} "
            f"({r['change_pp']:+.2f} pp, 95% {r['change_low']:+.2f} to {r['change_high']:+.2f})"
        )
    typer.echo(s["calibration_stamp"])
    typer.echo(f"outputs in {out}/: {', '.join(p.name for p in paths.values())}")


def optimise_command(
    add: Annotated[int, typer.Option("--add", help="Number of new sites to choose.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    osm: OsmOption = None,
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates",
            help="Candidate sites CSV (latitude/longitude or easting/northing, optional name). "
            "Default: LSOA population-weighted centroids.",
        ),
    ] = None,
    incidents: IncidentsOption = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    collisions: CollisionsOption = None,
    no_incidents: Annotated[
        bool,
        typer.Option(
            "--no-incidents",
            help="Weight demand by population, not incidents (default: the data folder's police_uk/ incidents).",
        ),
    ] = False,
    bases: BasesOption = None,
    policy: PolicyOption = "essex-2022",
    delay: DelayOption = "median",
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="CBC time limit (s).")] = None,
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="A calibration.json from compliance --calibrate-to: use its delay scale."),
    ] = None,
    force_calibration: Annotated[
        bool, typer.Option("--force-calibration", help="Use --calibration even if fitted on another network or policy.")
    ] = False,
    seed: SeedOption = None,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
    when: WhenOption = None,
) -> None:
    """Choose --add new sites maximising demand within target (bases fixed); greedy baseline; closures.

    Demand is weighted by incidents per LSOA (--incidents, default the data folder's police_uk/), or by
    population with --no-incidents.
    """
    with errors():
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        run, paths = run_optimise(
            area,
            add,
            out,
            policy=policy,
            candidates=candidates,
            incidents_path=None if no_incidents else default_incidents(area, incidents, columns, dayfirst),
            seed=seed,
            delay=delay,
            time_limit=time_limit,
            overwrite=overwrite,
            calibration=calibration,
            force_calibration=force_calibration,
            when=when,
            collisions=resolve_collisions(area, collisions),
        )
    s = run.summary
    standin_warning(s["network"].get("label"), s["network"].get("standin"))
    echo_collisions({"collisions": s.get("collisions"), "period": (s.get("incident_file") or {}).get("period")})
    m, g = run.mclp, run.greedy
    w = s["weight"]
    typer.echo(f"covered now: {m.covered_before:,.0f} of {m.total_weight:,.0f} {w}")
    typer.echo(
        f"optimal (MCLP): +{m.gain:,.0f} {w} with {len(m.sites)} sites in {m.seconds:.1f} s; greedy: +{g.gain:,.0f}"
    )
    if m.details.get("note"):
        typer.echo(f"note: {m.details['note']}")
    for r in run.sites.itertuples():
        typer.echo(f"  {r.order}. {r.name} ({r.district}): +{r.gain:,.0f} {w} ({r.gain_population:,.0f} people)")
    least = run.closures.iloc[0]
    typer.echo(f"least loss if one base closed: {least['name']} (-{least['loss']:,.0f} {w})")
    typer.echo(s["calibration_stamp"])
    typer.echo(f"outputs in {out}/: {', '.join(p.name for p in paths.values())}")


def staff_command(
    add_units: Annotated[int, typer.Option("--add-units", min=1, help="Extra units to place.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    shift: Annotated[
        str | None, typer.Option("--shift", help="Only this roster shift: its times (23:00-07:00) or name (night).")
    ] = None,
    osm: OsmOption = None,
    incidents: IncidentsOption = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    roster: Annotated[Path | None, typer.Option("--roster", help="Roster CSV or TOML (default: profile).")] = None,
    posts: Annotated[Path | None, typer.Option("--posts", help="Patrol posts CSV (base,latitude,longitude).")] = None,
    policy: PolicyOption = "essex-2022",
    replications: Annotated[int, typer.Option("--replications", min=1, help="Replications of the check.")] = 5,
    days: Annotated[float, typer.Option("--days", min=0.01, help="Days simulated.")] = 365.0,
    seed: SeedOption = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Local Dask workers (0: no Dask).")] = 2,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Put --add-units extra units where they raise emergency (then priority) % met most; check by simulation."""
    from geo_response.workflows.plan_staff import run_staff

    with errors():
        area = load_study_area(osm, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        run = run_staff(
            area,
            default_incidents(area, incidents, columns, dayfirst),
            out,
            add_units=add_units,
            shift=shift,
            policy=policy,
            roster=roster,
            posts=posts,
            replications=replications,
            days=days,
            seed=seed,
            scheduler=scheduler,
            workers=workers,
            overwrite=overwrite,
        )
    s = run.summary
    standin_warning(s["network"].get("label"), s["network"].get("standin"))
    echo_collisions({"collisions": s.get("collisions"), "period": (s.get("incident_file") or {}).get("period")})
    for r in run.staff.itertuples():
        typer.echo(
            f"  {r.order}. {r.base}, {r.shift}: screen emergency {r.screen_emergency_before:.1f}% -> "
            f"{r.screen_emergency_after:.1f}%"
        )
    for grade, c in s["simulation_check"].items():
        typer.echo(
            f"simulated {grade}: {c['baseline']:.1f}% -> {c['plan']:.1f}% ({c['change']:+.1f}, 95% CI "
            f"{c['change_low']:+.1f} to {c['change_high']:+.1f})"
        )
    typer.echo(f"outputs in {out}/: {', '.join(s['outputs'])}")


def register(app: typer.Typer) -> None:
    """Add the ``plan`` group (``compare``, ``optimise``) to the app."""
    plan_app = typer.Typer(
        help="Deployment planning: compare a scenario, choose new sites, rank closures.", no_args_is_help=True
    )
    plan_app.command("compare")(compare_command)
    plan_app.command("optimise")(optimise_command)
    plan_app.command("staff")(staff_command)
    app.add_typer(plan_app, name="plan")

"""``geo-response plan``: what-if scenarios (``compare``) and new-site optimisation (``optimise``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli import app
from geo_response.cli.common import DataDirOption, OsmOption, ProfileOption, fail
from geo_response.errors import GeoResponseError

plan_app = typer.Typer(help="Deployment planning: compare a scenario, choose new sites, rank closures.",
                       no_args_is_help=True)
app.add_typer(plan_app, name="plan")

BasesCsvOption = Annotated[
    Path | None, typer.Option("--bases", help="Current bases CSV (default: amenity=police in the OSM file).")
]
IncidentsOption = Annotated[
    list[str] | None,
    typer.Option("--incidents", help="Incident file, folder or glob (repeatable): incident compliance (compare) "
                                     "or demand weights (optimise)."),
]
PolicyOption = Annotated[str, typer.Option("--policy", help="Grading policy: essex-2022 or ncmg.")]
DelayOption = Annotated[
    str, typer.Option("--delay", help="Fixed delay added to travel for coverage: 'median' or 'mean' of the stages.")
]


def _incident_path(incidents: list[str] | None):
    if not incidents:
        return None
    return incidents if len(incidents) > 1 else incidents[0]


def _standin_warning(G) -> None:
    if G.graph.get("standin"):
        typer.secho("network: SYNTHETIC stand-in, not real Essex roads; results exercise the method only",
                    fg=typer.colors.YELLOW)


@plan_app.command("compare")
def compare_command(
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario file (.csv or .toml): add/remove/move "
                                                              "bases, set units.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    osm: OsmOption = None,
    bases: BasesCsvOption = None,
    incidents: IncidentsOption = None,
    no_incidents: Annotated[bool, typer.Option(
        "--no-incidents", help="Skip incident compliance (default: the data folder's police_uk/ incidents).")] = False,
    policy: PolicyOption = "essex-2022",
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for sampled grades and the Monte Carlo.")] = None,
    delay_scale: Annotated[float, typer.Option("--delay-scale", help="Scale on modelled delays (calibrated).")] = 1.0,
    delay: DelayOption = "median",
    online: Annotated[bool, typer.Option("--online", help="Load Leaflet from its CDN instead of inlining it.")] = False,
    profile: ProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Compare a scenario with the current bases: coverage, travel and modelled compliance per district."""
    from geo_response import config, datadir
    from geo_response.planning import compare as planning
    from geo_response.planning import report as planning_report
    from geo_response.planning import scenarios

    try:
        inputs = planning.load_inputs(osm, bases, profile=config.load_profile(profile), policy=policy,
                                      data_dir=data_dir)
        table = scenarios.read_scenario(scenario)
        new_bases = scenarios.apply_scenario(inputs.bases, table, area=inputs.area, boundary=inputs.boundary,
                                             projected_crs=inputs.profile.projected_crs)
        inc, inc_info = None, None
        source = None if no_incidents else _incident_path(incidents) or datadir.default_incidents(data_dir)
        if source is not None:
            inc, inc_info = planning.prepare_incidents(source, inputs.profile, inputs.policy,
                                                       inputs.lsoas, inputs.boundary, seed=seed)
        result = planning.compare(inputs.G, inputs.bases, new_bases, inputs.lsoas, inputs.profile, inputs.policy,
                                  incidents=inc, seed=seed, delay_scale=delay_scale, delay=delay)
        result.summary.update({"sources": {**inputs.sources, "scenario": str(scenario)},
                               "incident_file": inc_info, "base_issues": inputs.base_issues})
        paths = planning_report.write_comparison(result, out, attribution=inputs.profile.attribution,
                                                 offline=not online)
    except GeoResponseError as exc:
        fail(exc)
        return
    _standin_warning(inputs.G)
    s = result.summary
    typer.echo(f"bases: {s['bases']['current']} now -> {s['bases']['scenario']} in the scenario "
               f"(added {len(s['bases']['added'])}, removed {len(s['bases']['removed'])}, "
               f"moved {len(s['bases']['moved'])})")
    typer.echo(f"LSOAs within emergency target: {s['lsoas']['gained']} gained "
               f"({s['lsoas']['population_gained']:,.0f} people), {s['lsoas']['lost']} lost "
               f"({s['lsoas']['population_lost']:,.0f} people)")
    for key in planning_report.headline_measures(s["overall"]):
        row = s["overall"].get(key)
        if row:
            typer.echo(f"  {planning_report.measure_label(key)}: {planning_report.fmt(row['current'], row['unit'])}"
                       f" -> {planning_report.fmt(row['scenario'], row['unit'])} "
                       f"({planning_report.fmt(row['change'], row['unit'], signed=True)})")
    typer.echo(f"outputs in {out}/: {', '.join(p.name for p in paths.values())}")


@plan_app.command("optimise")
def optimise_command(
    add: Annotated[int, typer.Option("--add", help="Number of new sites to choose.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    osm: OsmOption = None,
    candidates: Annotated[Path | None, typer.Option(
        "--candidates", help="Candidate sites CSV (latitude/longitude or easting/northing, optional name). "
                             "Default: LSOA population-weighted centroids.")] = None,
    incidents: IncidentsOption = None,
    bases: BasesCsvOption = None,
    policy: PolicyOption = "essex-2022",
    delay: DelayOption = "median",
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="CBC time limit (s).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for sampled grades (incidents).")] = None,
    profile: ProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Choose --add new sites maximising demand within target (bases fixed); greedy baseline; closures."""
    from geo_response import config
    from geo_response.planning import compare as planning
    from geo_response.planning import report as planning_report

    try:
        inputs = planning.load_inputs(osm, bases, profile=config.load_profile(profile), policy=policy,
                                      data_dir=data_dir)
        cands = None
        if candidates is not None:
            cands = planning.read_candidates_csv(candidates, area=inputs.area,
                                                 projected_crs=inputs.profile.projected_crs)
            cands.attrs["source"] = str(candidates)
        inc, inc_info = None, None
        source = _incident_path(incidents)
        if source is not None:
            inc, inc_info = planning.prepare_incidents(source, inputs.profile, inputs.policy,
                                                       inputs.lsoas, inputs.boundary, seed=seed)
        run = planning.optimise(inputs.G, inputs.bases, inputs.lsoas, inputs.profile, inputs.policy, add,
                                candidates=cands, incidents=inc, delay=delay, time_limit=time_limit)
        run.summary.update({"sources": {**inputs.sources, "candidates": str(candidates) if candidates else
                                        "LSOA population-weighted centroids"},
                            "incident_file": inc_info, "base_issues": inputs.base_issues})
        paths = planning_report.write_siting(run, out)
    except GeoResponseError as exc:
        fail(exc)
        return
    _standin_warning(inputs.G)
    m, g = run.mclp, run.greedy
    w = run.summary["weight"]
    typer.echo(f"covered now: {m.covered_before:,.0f} of {m.total_weight:,.0f} {w}")
    typer.echo(f"optimal (MCLP): +{m.gain:,.0f} {w} with {len(m.sites)} sites in {m.seconds:.1f} s; "
               f"greedy: +{g.gain:,.0f}")
    if m.details.get("note"):
        typer.echo(f"note: {m.details['note']}")
    for r in run.sites.itertuples():
        typer.echo(f"  {r.order}. {r.name} ({r.district}): +{r.gain:,.0f} {w} ({r.gain_population:,.0f} people)")
    least = run.closures.iloc[0]
    typer.echo(f"least loss if one base closed: {least['name']} (-{least['loss']:,.0f} {w})")
    typer.echo(f"outputs in {out}/: {', '.join(p.name for p in paths.values())}")

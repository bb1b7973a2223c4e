"""``geo-response compliance``: attendance target compliance from an incident file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli import app
from geo_response.cli.common import DataDirOption, OsmOption, ProfileOption, fail
from geo_response.errors import GeoResponseError


@app.command("compliance")
def compliance_command(
    incidents: Annotated[
        list[str],
        typer.Option(
            "--incidents",
            help="Incident file (CSV, GeoPackage, Parquet), "
            "a folder of them or a glob such as 'police_uk/*.csv'. Repeatable.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    policy: Annotated[str, typer.Option("--policy", help="Grading policy: essex-2022 or ncmg.")] = "essex-2022",
    osm: OsmOption = None,
    bases: Annotated[
        Path | None,
        typer.Option(
            "--bases",
            help="Bases CSV (default: amenity=police in the OSM file). Used when response times are modelled.",
        ),
    ] = None,
    calibrate_to: Annotated[
        float | None,
        typer.Option(
            "--calibrate-to",
            help="Fit the delay scale so modelled emergency compliance equals this rate, e.g. 0.827.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed for sampled grades and the Monte Carlo (default: the profile's seeds)."),
    ] = None,
    draws: Annotated[int | None, typer.Option("--draws", help="Monte Carlo draws (default: profile).")] = None,
    report_format: Annotated[str, typer.Option("--format", help="Report format: md or html.")] = "md",
    profile: ProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Observed or modelled attendance compliance: long CSV, report, ledger and summary.json in --out."""
    from geo_response import config
    from geo_response.compliance import tables as compliance

    try:
        prof = config.load_profile(profile)
        run = compliance.run_compliance(
            incidents if len(incidents) > 1 else incidents[0],
            out,
            profile=prof,
            policy=policy,
            osm=osm,
            bases_csv=bases,
            calibrate_to=calibrate_to,
            data_dir=data_dir,
            seed=seed,
            draws=draws,
            report_format=report_format,
        )
    except GeoResponseError as exc:
        fail(exc)
        return
    s = run.summary
    typer.echo(
        f"input {s['input']:,} rows = accepted {s['accepted']:,} + rejected {s['rejected']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in s['rejected_by_reason'].items()) or 'none'})"
    )
    n_sampled, n_accepted = s.get("grades_sampled_rows", 0), s["accepted"]
    grades = "given" if not n_sampled else "SAMPLED" if n_sampled == n_accepted else f"given; {n_sampled:,} SAMPLED"
    typer.echo(f"policy {s['policy']}; times {s['outcomes']}; grades {grades}")
    for row in s["headline"]:
        if row["urban_rural"] == "all":
            typer.echo(f"  {row['grade']}: {row['pct_met']:.1f}% met")
    if s.get("calibration"):
        c = s["calibration"]
        typer.echo(f"calibrated delay scale x{c['delay_scale']:.4f} -> {c['achieved_rate']:.2%} emergency met")
    typer.echo(f"wrote {', '.join(s['outputs'])} to {out}")

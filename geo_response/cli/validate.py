"""``geo-response validate``: what an incident file would give, without routing anything."""

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
    OverwriteOption,
    PolicyOption,
    default_incidents,
    errors,
)
from geo_response.incidents.load import require_accepted
from geo_response.study_area import load_study_area
from geo_response.workflows.validate import validate_incidents


def validate_command(
    incidents: IncidentsOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write ledger.csv and summary.json here.")] = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    policy: PolicyOption = "essex-2022",
    show_points: Annotated[
        bool, typer.Option("--show-points", help="Let the ledger name a rejected row's 1 km grid square (sensitive).")
    ] = False,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Report which incident rows would be accepted or rejected (the ledger), in seconds: no routing."""
    with errors():
        area = load_study_area(None, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        source = default_incidents(area, incidents, columns, dayfirst)
        result = validate_incidents(area, source, out, policy=policy, overwrite=overwrite, show_points=show_points)
        s = result.summary
        typer.echo(f"input {s['input']:,} rows = accepted {s['accepted']:,} + rejected {s['rejected']:,}")
        for reason, n in sorted(s["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0])):
            typer.echo(f"  rejected {reason}: {n:,}")
        for reason, n in sorted(s["warnings"].items(), key=lambda kv: (-kv[1], kv[0])):
            typer.echo(f"  warning {reason}: {n:,}")
        mapped = ", ".join(f"{v} -> {k}" for k, v in s["columns"].items())
        typer.echo(f"columns used: {mapped}")
        if s["unused_columns"]:
            typer.secho(f"warning: columns not used: {', '.join(s['unused_columns'])}", fg=typer.colors.YELLOW)
        dates = ", ".join(s["date_order"]) or "ISO 8601"
        typer.echo(f"times: {s['times']}; dates {dates}; dispatch split {'yes' if s['has_dispatch_times'] else 'no'}")
        if out is not None:
            typer.echo(f"wrote {', '.join(s['outputs'])} to {out}")
        require_accepted(result.summary)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the app."""
    app.command("validate")(validate_command)

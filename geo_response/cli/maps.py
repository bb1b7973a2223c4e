"""``geo-response map``: a Folium map of attendance compliance, hotspots, isochrones and the A12 corridor."""

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
from geo_response.workflows.maps import MapOptions, build_map


def map_command(
    out: Annotated[Path, typer.Option("--out", help="Output HTML file.")],
    incidents: IncidentsOption = None,
    collisions: CollisionsOption = None,
    columns: ColumnsOption = None,
    dayfirst: DayfirstOption = None,
    osm: OsmOption = None,
    policy: PolicyOption = "essex-2022",
    bases: BasesOption = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline/--online",
            help="Self-contained file (default): Leaflet inlined, no third-party code, no tiles. "
            "--online loads Leaflet from folium's CDN and a basemap.",
        ),
    ] = True,
    show_points: Annotated[
        bool, typer.Option("--show-points", help="Draw individual incidents (off by default: maps show aggregates).")
    ] = False,
    aggregate: Annotated[str, typer.Option("--aggregate", help="Choropleth cells: hex or lsoa.")] = "hex",
    resolution: Annotated[int, typer.Option("--resolution", help="H3 resolution of the hexagons.")] = 8,
    category: Annotated[
        str, typer.Option("--category", help="Grade category mapped ('all' for every attended incident).")
    ] = "emergency",
    min_count: Annotated[
        int, typer.Option("--min-count", help="Minimum attended incidents for a cell to be tested as a hotspot.")
    ] = 20,
    alpha: Annotated[float, typer.Option("--alpha", help="False discovery rate for hotspots.")] = 0.05,
    isochrone_speeds: Annotated[
        list[str] | None,
        typer.Option(
            "--isochrone-speed",
            "--isochrone-profile",
            help="Speed profile(s) for isochrones (repeatable; default blue_light).",
        ),
    ] = None,
    no_isochrones: Annotated[bool, typer.Option("--no-isochrones", help="Leave the isochrone layers out.")] = False,
    tiles: Annotated[
        str | None, typer.Option("--tiles", help="Basemap tiles when online (folium name); 'none' for none.")
    ] = "cartodbpositron",
    hotspots_csv: Annotated[Path | None, typer.Option("--hotspots-csv", help="Also write hotspots.csv here.")] = None,
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="A calibration.json from compliance --calibrate-to: use its delay scale."),
    ] = None,
    force_calibration: Annotated[
        bool, typer.Option("--force-calibration", help="Use --calibration even if fitted on another network or policy.")
    ] = False,
    simulation: Annotated[
        Path | None,
        typer.Option(
            "--simulation",
            help="A geo-response simulate output folder: adds the 'Cause of failure' layer (misses per LSOA).",
        ),
    ] = None,
    when: WhenOption = None,
    seed: SeedOption = None,
    draws: Annotated[int | None, typer.Option("--draws", min=1, help="Monte Carlo draws (default: profile).")] = None,
    overwrite: OverwriteOption = False,
    force_profile: ForceOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Map target compliance (% met by hexagon or LSOA) with bases, isochrones, hotspots and the A12 corridor."""
    options = MapOptions(
        policy=policy,
        offline=offline,
        show_points=show_points,
        aggregate=aggregate,
        resolution=resolution,
        category=None if category == "all" else category,
        min_count=min_count,
        alpha=alpha,
        isochrone_speeds=() if no_isochrones else tuple(isochrone_speeds or ("blue_light",)),
        tiles=None if offline or (tiles or "").lower() == "none" else tiles,
        seed=seed,
        draws=draws,
        overwrite=overwrite,
        when=when,
        calibration=calibration,
        force_calibration=force_calibration,
        simulation=simulation,
    )
    with errors():
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        area.policy(policy)
        options.collisions = resolve_collisions(area, collisions)
        result = build_map(
            area, default_incidents(area, incidents, columns, dayfirst), out, options, hotspots_csv=hotspots_csv
        )
    typer.echo(
        f"network: {result['network_label']}; bases {result['bases']}; "
        f"incidents: {result['input']:,} rows in = {result['incidents']:,} accepted + {result['rejected']:,} "
        f"rejected; outcomes {result['outcomes']}"
    )
    echo_collisions(result)
    for row in result.get("headline", []):
        if row["urban_rural"] == "all":
            typer.echo(f"  {row['grade']}: {row['pct_met']:.1f}% met")
    if result.get("calibration_stamp"):
        typer.echo(result["calibration_stamp"])
    typer.echo(f"hotspots: {result['hotspots']} ({result['cells_tested']} cells tested, min {min_count} attended)")
    if result.get("cause_cells"):
        cc = result["cause_cells"]
        typer.echo(
            f"cause of failure layer: {cc['drawn']} LSOAs drawn, {cc['suppressed']} with too few incidents left out"
        )
    if result.get("corridor"):
        c = result["corridor"]
        typer.echo(
            f"{c['name']}: {c['length_km']:.1f} km; emergency failures share {c['share']:.1%}; "
            f"trunk roads the largest group of emergency failures: {'yes' if c['trunk_largest'] else 'no'}"
        )
    typer.echo(
        f"wrote {out} ({result['bytes'] / 1e6:.2f} MB, {'offline' if offline else 'online'}) and the ledger "
        f"of rejected rows and warnings, {result['ledger_path']}"
    )
    with errors():
        require_accepted({**result, "accepted": result["incidents"]})


def register(app: typer.Typer) -> None:
    """Add ``map`` to the app."""
    app.command("map")(map_command)

"""``geo-response network`` (build or load the road network) and ``geo-response bases`` (list the bases)."""

from __future__ import annotations

from typing import Annotated

import typer

from geo_response.cli.common import BasesOption, DataDirOption, ForceOption, OsmOption, errors, standin_warning
from geo_response.study_area import load_study_area


def network_command(
    osm: OsmOption = None,
    data_dir: DataDirOption = None,
    force_profile: ForceOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild even if a cached network exists.")] = False,
) -> None:
    """Build the drive network from an OSM file and print nodes, edges, components dropped and timing."""
    with errors():
        area = load_study_area(osm, force=force_profile, data_dir=data_dir, use_cache=not no_cache)
        net = area.network
    b = net.graph["build"]
    typer.echo(f"source:     {net.graph['source']}")
    typer.echo(f"network:    {net.graph['network_label']}")
    standin_warning(net.graph["network_label"], net.graph["standin"])
    typer.echo(f"nodes:      {b['nodes']:,}")
    typer.echo(f"edges:      {b['edges']:,}")
    typer.echo(f"clipped:    {b['nodes_clipped']:,} nodes outside the boundary + buffer")
    typer.echo(
        f"components: {b['components']:,} strongly connected; {b['components_dropped']:,} dropped "
        f"({b['nodes_dropped_scc']:,} nodes)"
    )
    typer.echo(f"profiles:   {', '.join(net.speed_profiles)}")
    typer.echo(
        f"memory:     {net.memory_bytes() / 1e6:,.1f} MB ({net.memory_bytes() / max(len(net.edges), 1):,.0f} "
        "bytes per edge)"
    )
    if b["from_cache"]:
        typer.echo(f"cache:      used {b['cache_path']} ({b['seconds']:.2f} s)")
    else:
        typer.echo(f"built in:   {b['seconds']:.2f} s" + (f"; cached to {b['cache_path']}" if b["cache_path"] else ""))


def bases_command(
    osm: OsmOption = None,
    bases: BasesOption = None,
    data_dir: DataDirOption = None,
    force_profile: ForceOption = None,
) -> None:
    """List the bases (id, name, position, units, source) without loading the road network."""
    with errors():
        area = load_study_area(osm, bases=bases, force=force_profile, data_dir=data_dir)
        frame, issues = area.unattached_bases
    typer.echo(f"bases from {area.bases_source}: {len(frame)}")
    typer.echo("base_id,name,latitude,longitude,units,type,outside_area")
    for row in frame.itertuples():
        typer.echo(
            f"{row.base_id},{row.name},{row.geometry.y:.6f},{row.geometry.x:.6f},{row.units},{row.type},"
            f"{row.outside_area}"
        )
    for issue in issues:
        typer.secho(f"base row {issue['row']} ({issue['name']}): {issue['issue']}", fg=typer.colors.YELLOW)


def register(app: typer.Typer) -> None:
    """Add ``network`` and ``bases`` to the app."""
    app.command("network")(network_command)
    app.command("bases")(bases_command)

"""``geo-response network``: build (or load from cache) the road network and report it."""

from __future__ import annotations

from typing import Annotated

import typer

from geo_response import config
from geo_response.cli import app
from geo_response.cli.common import DataDirOption, OsmOption, ProfileOption, fail
from geo_response.errors import GeoResponseError
from geo_response.roads import network


@app.command("network")
def network_command(
    osm: OsmOption = None,
    data_dir: DataDirOption = None,
    profile: ProfileOption = None,
    buffer_m: Annotated[float | None, typer.Option(help="Buffer around the force boundary (m).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild even if a cached graph exists.")] = False,
) -> None:
    """Build the drive network from an OSM file and print nodes, edges, components dropped and timing."""
    try:
        prof = config.load_profile(profile)
        G = network.load_network(osm, profile=prof, data_dir=data_dir, buffer_m=buffer_m, use_cache=not no_cache)
    except GeoResponseError as exc:
        fail(exc)
    b = G.graph["build"]
    typer.echo(f"source:     {G.graph['source']}")
    typer.echo(f"network:    {G.graph['network_label']}")
    if G.graph["standin"]:
        typer.secho("            results from this network are from a SYNTHETIC stand-in, not real Essex roads",
                    fg=typer.colors.YELLOW)
    typer.echo(f"nodes:      {b['nodes']:,}")
    typer.echo(f"edges:      {b['edges']:,}")
    typer.echo(f"clipped:    {b['nodes_clipped']:,} nodes outside the boundary + buffer")
    typer.echo(f"components: {b['components']:,} strongly connected; {b['components_dropped']:,} dropped "
               f"({b['nodes_dropped_scc']:,} nodes)")
    typer.echo(f"profiles:   {', '.join(G.graph['speed_profiles'])}")
    if b["from_cache"]:
        typer.echo(f"cache:      used {b['cache_path']} ({b['seconds']:.2f} s)")
    else:
        typer.echo(f"built in:   {b['seconds']:.2f} s" + (f"; cached to {b['cache_path']}" if b["cache_path"] else ""))

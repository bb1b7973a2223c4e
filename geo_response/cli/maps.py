"""``geo-response map``: a Folium map of attendance compliance, hotspots, isochrones and the A12 corridor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response.cli import app
from geo_response.cli.common import DataDirOption, OsmOption, ProfileOption, fail
from geo_response.errors import GeoResponseError


@app.command("map")
def map_command(
    incidents: Annotated[list[str], typer.Option(
        "--incidents", help="Incident file (CSV, GeoPackage, Parquet), a folder or a glob. Repeatable.")],
    out: Annotated[Path, typer.Option("--out", help="Output HTML file.")],
    osm: OsmOption = None,
    policy: Annotated[str, typer.Option("--policy", help="Grading policy: essex-2022 or ncmg.")] = "essex-2022",
    bases: Annotated[Path | None, typer.Option(
        "--bases", help="Bases CSV (default: amenity=police in the OSM file).")] = None,
    offline: Annotated[bool, typer.Option(
        "--offline/--online", help="Self-contained file: Leaflet inlined, no CDN, no basemap tiles.")] = False,
    show_points: Annotated[bool, typer.Option(
        "--show-points", help="Draw individual incidents (off by default: maps show aggregates).")] = False,
    aggregate: Annotated[str, typer.Option("--aggregate", help="Choropleth cells: hex or lsoa.")] = "hex",
    resolution: Annotated[int, typer.Option("--resolution", help="H3 resolution of the hexagons.")] = 8,
    category: Annotated[str, typer.Option(
        "--category", help="Grade category mapped ('all' for every attended incident).")] = "emergency",
    min_count: Annotated[int, typer.Option(
        "--min-count", help="Minimum attended incidents for a cell to be tested as a hotspot.")] = 20,
    alpha: Annotated[float, typer.Option("--alpha", help="False discovery rate for hotspots.")] = 0.05,
    isochrone_profiles: Annotated[list[str] | None, typer.Option(
        "--isochrone-profile", help="Speed profile(s) for isochrones (repeatable; default blue_light).")] = None,
    no_isochrones: Annotated[bool, typer.Option("--no-isochrones", help="Leave the isochrone layers out.")] = False,
    tiles: Annotated[str | None, typer.Option(
        "--tiles", help="Basemap tiles when online (folium name); 'none' for none.")] = "cartodbpositron",
    hotspots_csv: Annotated[Path | None, typer.Option("--hotspots-csv", help="Also write hotspots.csv here.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for sampled grades and the Monte Carlo.")] = None,
    draws: Annotated[int | None, typer.Option("--draws", help="Monte Carlo draws (default: profile).")] = None,
    profile: ProfileOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Map target compliance (% met by hexagon or LSOA) with bases, isochrones, hotspots and the A12 corridor."""
    try:
        result = build_map(
            incidents if len(incidents) > 1 else incidents[0], out, osm=osm, policy=policy, bases_csv=bases,
            offline=offline, show_points=show_points, aggregate=aggregate, resolution=resolution,
            category=None if category == "all" else category, min_count=min_count, alpha=alpha,
            isochrone_profiles=() if no_isochrones else tuple(isochrone_profiles or ("blue_light",)),
            tiles=None if offline or (tiles or "").lower() == "none" else tiles, hotspots_csv=hotspots_csv,
            seed=seed, draws=draws, profile=profile, data_dir=data_dir)
    except GeoResponseError as exc:
        fail(exc)
        return
    typer.echo(f"network: {result['network_label']}; bases {result['bases']}; "
               f"incidents {result['incidents']:,} ({result['outcomes']})")
    typer.echo(f"hotspots: {result['hotspots']} ({result['cells_tested']} cells tested, min {min_count} attended)")
    if result.get("corridor"):
        c = result["corridor"]
        typer.echo(f"{c['name']}: {c['length_km']:.1f} km; emergency failures share {c['share']:.1%}; "
                   f"trunk roads the largest group of emergency failures: {'yes' if c['trunk_largest'] else 'no'}")
    typer.echo(f"wrote {out} ({result['bytes'] / 1e6:.2f} MB, {'offline' if offline else 'online'})")


def build_map(incidents_path, out: Path, *, osm=None, policy: str = "essex-2022", bases_csv=None,
              offline: bool = False, show_points: bool = False, aggregate: str = "hex", resolution: int = 8,
              category: str | None = "emergency", min_count: int = 20, alpha: float = 0.05,
              isochrone_profiles: tuple[str, ...] = ("blue_light",), tiles: str | None = None,
              hotspots_csv: Path | None = None, seed: int | None = None, draws: int | None = None,
              profile=None, data_dir=None) -> dict:
    """Compose the library calls behind ``geo-response map`` and save the map. Returns a summary dict."""
    from geo_response import bases as bases_module
    from geo_response import config, geography, hotspots, maps
    from geo_response import corridor as corridor_module
    from geo_response.compliance import tables as compliance
    from geo_response.roads import network

    prof = config.load_profile(profile)
    pol = prof.policy(policy)
    if aggregate not in ("hex", "lsoa"):
        raise maps.MapError(f"--aggregate must be 'hex' or 'lsoa', got {aggregate!r}")
    if Path(out).suffix.lower() not in (".html", ".htm"):
        raise maps.MapError(f"--out should be an .html file, got {out}")
    G = network.load_network(osm, profile=prof, data_dir=data_dir)
    boundary = geography.load_boundary(prof, data_dir)
    osm_path = osm if osm is not None else network.essex_standin_path(data_dir)
    base_frame, _issues = bases_module.load_bases(
        csv_path=bases_csv, osm_path=None if bases_csv else osm_path, boundary=boundary,
        area=geography.buffer_boundary(boundary, prof.geography.boundary_buffer_m, prof.projected_crs),
        projected_crs=prof.projected_crs)
    run = compliance.run_compliance(incidents_path, None, profile=prof, policy=policy, osm=osm,
                                    bases_csv=bases_csv, data_dir=data_dir, seed=seed, draws=draws,
                                    G=G, bases=base_frame)
    inc = run.incidents
    lsoas = geography.load_lsoas(prof, data_dir)
    districts = geography.load_districts(prof, data_dir)
    towns = geography.load_towns(prof, data_dir)

    iso = None
    if isochrone_profiles:
        import pandas as pd

        from geo_response.roads import isochrones as isochrones_module

        attached = bases_module.attach_nodes(base_frame, G, prof.projected_crs) \
            if "node" not in base_frame.columns else base_frame
        iso = pd.concat([isochrones_module.isochrones(G, attached, profile=p, per_base=False, combined=True,
                                                      lsoas=lsoas) for p in isochrone_profiles],
                        ignore_index=True)

    selected = inc[inc["attended"].astype(bool)]
    if category is not None:
        selected = selected[selected["grade_category"] == category]
    agg = hotspots.lsoa_aggregate(selected, lsoas) if aggregate == "lsoa" else \
        hotspots.hex_aggregate(selected, resolution)
    hot = hotspots.find_hotspots(agg, min_count=min_count, alpha=alpha, towns=towns,
                                 projected_crs=prof.projected_crs)
    if hotspots_csv is not None:
        hotspots.write_hotspots_csv(hot, hotspots_csv)

    corridor_info = None
    corridor_geom = corridor_summary = None
    corridor_name = "corridor"
    buffer_m = None
    if prof.corridors:
        spec = prof.corridors[0]
        corridor_geom = corridor_module.corridor_geometry(G, spec, prof.projected_crs)
        analysis = corridor_module.corridor_analysis(inc, G, spec, corridor_geom=corridor_geom,
                                                     projected_crs=prof.projected_crs)
        corridor_summary, corridor_name, buffer_m = analysis.summary, spec.name, spec.buffer_m
        row = analysis.summary[(analysis.summary["group"] == spec.name) & (analysis.summary["scope"] == "emergency")]
        corridor_info = {"name": spec.name, "length_km": corridor_module.corridor_length_km(G, spec),
                         "share": float(row["share_of_failures"].iloc[0]), "trunk_largest": analysis.trunk_largest}

    label = G.graph.get("network_label") or ("synthetic stand-in network (NOT OpenStreetMap)"
                                             if G.graph.get("standin") else "OpenStreetMap contributors")
    m = maps.compliance_map(
        inc, bases=base_frame, isochrones=iso, hotspots=hot, corridor=corridor_geom, corridor_name=corridor_name,
        corridor_buffer_m=buffer_m, corridor_summary=corridor_summary, lsoas=lsoas, districts=districts,
        aggregate=aggregate, resolution=resolution, category=category, network_label=label,
        policy_label=pol.label, attribution=prof.attribution, title=f"{prof.name}: attendance compliance",
        show_points=show_points, tiles=tiles, projected_crs=prof.projected_crs)
    path = maps.save_map(m, out, offline=offline)
    return {"network_label": label, "bases": len(base_frame), "incidents": len(inc),
            "outcomes": run.summary.get("outcomes", ""), "hotspots": len(hot),
            "cells_tested": hot.attrs.get("cells_tested", 0), "corridor": corridor_info,
            "bytes": maps.map_summary(path)["bytes"]}

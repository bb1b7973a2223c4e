"""The map workflow behind ``geo-response map``: compliance, hotspots, isochrones and the corridor on one map."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo_response import corridor as corridor_module
from geo_response import hotspots, map_causes, maps
from geo_response.compliance import report
from geo_response.errors import MapError
from geo_response.outputs import OutputFile
from geo_response.roads import isochrones as iso
from geo_response.roads.speeds import When
from geo_response.study_area import StudyArea
from geo_response.workflows.compliance import ComplianceRun, run_compliance

__all__ = ["MapOptions", "build_map", "corridor_layer", "isochrone_layer", "isochrones_at"]

LEDGER_SUFFIX = ".ledger.csv"  # the map's ledger of rejected rows and warnings: <out>.ledger.csv


@dataclass
class MapOptions:
    """What to draw and how (the options of ``geo-response map``)."""

    policy: str = "essex-2022"
    offline: bool = False
    show_points: bool = False
    aggregate: str = "hex"
    resolution: int = 8
    category: str | None = "emergency"
    min_count: int = 20
    alpha: float = 0.05
    isochrone_speeds: tuple[str, ...] = ("blue_light",)
    tiles: str | None = None
    seed: int | None = None
    draws: int | None = None
    overwrite: bool = False
    when: str | None = None
    calibration: Any = None  # a CalibrationRecord or a calibration.json path (its delay scale is used)
    force_calibration: bool = False
    simulation: str | Path | None = None  # a geo-response simulate output folder: the "Cause of failure" layer
    collisions: Any = None  # STATS19 collision file(s) or a glob: joined to the incidents (--collisions)


def isochrone_layer(
    area: StudyArea, speeds: tuple[str, ...], when: When | str | None = None
) -> gpd.GeoDataFrame | None:
    """Combined (all bases) isochrones for each speed profile, or None when none is asked for."""
    if not speeds:
        return None
    frames = [
        iso.isochrones(
            area.network,
            area.bases,
            speed=area.speed(s),
            when=when,
            per_base=False,
            combined=True,
            lsoas=area.lsoas,
            crs=area.force.projected_crs,
            access_speed_kph=area.force.response_model.access_speed_kph,
        )
        for s in speeds
    ]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)


def isochrones_at(
    area: StudyArea,
    whens: tuple[When | str, ...] | list = ("08:00 weekday", "03:00 weekday"),
    speed: str = "normal",
    thresholds_min: tuple[float, ...] = iso.DEFAULT_THRESHOLDS,
) -> list[gpd.GeoDataFrame]:
    """Combined (all bases) isochrones at each time of the week: one GeoDataFrame per entry of ``whens``.

    Each frame is :func:`geo_response.roads.isochrones.isochrones` output (EPSG:4326, ``per_base=False``) with
    a column ``when`` (the time as given) and ``attrs["when"]`` (as parsed), ready to draw as one map layer
    each (e.g. the morning peak against the night).

    Parameters
    ----------
    area : StudyArea
    whens : sequence of When or str
        Times of the week (``"08:00 weekday"``, ``"Sat 03:00"``, an ISO datetime).
    speed : str
        Speed profile name or alias (``normal`` carries the time-of-day multipliers).
    thresholds_min : sequence of float
        Isochrone thresholds (minutes).
    """
    profile = area.speed(speed)
    frames = []
    for when in whens:
        frame = iso.isochrones(
            area.network,
            area.bases,
            thresholds_min,
            speed=profile,
            when=when,
            per_base=False,
            combined=True,
            lsoas=area.lsoas,
            crs=area.force.projected_crs,
            access_speed_kph=area.force.response_model.access_speed_kph,
        )
        frame.insert(len(frame.columns) - 1, "when", str(when))
        frames.append(frame)
    return frames


def corridor_layer(area: StudyArea, incidents: gpd.GeoDataFrame) -> dict[str, Any] | None:
    """The force's first corridor: its road, the analysis of the incidents, and a short summary."""
    if not area.force.corridors:
        return None
    spec = area.force.corridors[0]
    crs = area.force.projected_crs
    geom = corridor_module.corridor_geometry(area.network, spec, crs)
    analysis = corridor_module.corridor_analysis(incidents, area.network, spec, corridor_geom=geom, projected_crs=crs)
    row = analysis.summary[(analysis.summary["group"] == spec.name) & (analysis.summary["scope"] == "emergency")]
    info = {
        "name": spec.name,
        "length_km": corridor_module.corridor_length_km(area.network, spec, crs),
        "share": float(row["share_of_failures"].iloc[0]),
        "trunk_largest": analysis.trunk_largest,
        "incident_types": analysis.parameters["incident_types"],
        "rests_on": analysis.parameters["rests_on"],
    }
    return {"spec": spec, "geometry": geom, "analysis": analysis, "info": info}


def build_map(
    area: StudyArea,
    incidents_path: Any,
    out: str | Path,
    options: MapOptions | None = None,
    hotspots_csv: str | Path | None = None,
    run: ComplianceRun | None = None,
) -> dict:
    """Judge the incidents (or take a run), then map % met with bases, isochrones, hotspots and the corridor.

    Returns
    -------
    dict
        A summary: network label, counts, hotspots, corridor figures and the map's size.
    """
    opt = options or MapOptions()
    area.policy(opt.policy)
    if opt.aggregate not in ("hex", "lsoa"):
        raise MapError(f"--aggregate must be 'hex' or 'lsoa', got {opt.aggregate!r}")
    if Path(out).suffix.lower() not in (".html", ".htm"):
        raise MapError(f"--out should be an .html file, got {out}")
    inputs = [
        p
        for p in (
            *(incidents_path if isinstance(incidents_path, list | tuple) else [incidents_path]),
            *(opt.collisions if isinstance(opt.collisions, list | tuple) else [opt.collisions]),
            area.osm,
            area.bases_csv,
        )
        if p is not None
    ]
    if opt.simulation is not None:
        inputs.append(Path(opt.simulation) / "incidents.csv")
        map_causes.read_simulation_incidents(opt.simulation)  # a bad folder fails before the network loads
    with OutputFile(out, inputs=inputs, overwrite=opt.overwrite, companions=(LEDGER_SUFFIX,)) as target:
        summary = _draw(area, incidents_path, opt, hotspots_csv, run, target)
    summary.update(ledger_path=str(out) + LEDGER_SUFFIX, bytes=maps.map_summary(out)["bytes"])
    return summary


def _draw(
    area: StudyArea,
    incidents_path: Any,
    opt: MapOptions,
    hotspots_csv: str | Path | None,
    run: ComplianceRun | None,
    target: OutputFile,
) -> dict:
    """Judge, aggregate, draw and save the map and its ledger into the open output transaction."""
    pol = area.policy(opt.policy)
    if run is None:
        run = run_compliance(
            area,
            incidents_path,
            None,
            policy=opt.policy,
            seed=opt.seed,
            draws=opt.draws,
            when=opt.when,
            calibration=opt.calibration,
            force_calibration=opt.force_calibration,
            collisions=opt.collisions,
        )
    inc = run.incidents
    selected = inc[inc["attended"].astype(bool)]
    if opt.category is not None:
        selected = selected[selected["grade_category"] == opt.category]
    agg = (
        hotspots.lsoa_aggregate(selected, area.lsoas)
        if opt.aggregate == "lsoa"
        else hotspots.hex_aggregate(selected, opt.resolution)
    )
    hot = hotspots.find_hotspots(
        agg, min_count=opt.min_count, alpha=opt.alpha, towns=area.towns, projected_crs=area.force.projected_crs
    )
    if hotspots_csv is not None:
        hotspots.write_hotspots_csv(hot, hotspots_csv)
    layer = corridor_layer(area, inc)
    net = area.network
    label = net.graph.get("network_label") or (
        "synthetic stand-in network (NOT OpenStreetMap)" if net.graph.get("standin") else "OpenStreetMap contributors"
    )
    causes = (
        map_causes.cause_cells(map_causes.read_simulation_incidents(opt.simulation), area.lsoas)
        if opt.simulation is not None
        else None
    )
    m = maps.compliance_map(
        inc,
        bases=area.bases,
        isochrones=isochrone_layer(area, opt.isochrone_speeds, opt.when),
        hotspots=hot,
        corridor=layer["geometry"] if layer else None,
        corridor_name=layer["spec"].name if layer else "corridor",
        corridor_buffer_m=layer["spec"].buffer_m if layer else None,
        corridor_summary=layer["analysis"].summary if layer else None,
        lsoas=area.lsoas,
        districts=area.districts,
        aggregate=opt.aggregate,
        resolution=opt.resolution,
        category=opt.category,
        network_label=label,
        policy_label=f"{pol.label}; {run.summary.get('calibration_stamp', 'calibration: none')}",
        attribution=area.force.attribution,
        title=f"{area.force.name}: attendance compliance",
        show_points=opt.show_points,
        tiles=opt.tiles,
        projected_crs=area.force.projected_crs,
        causes=causes,
    )
    maps.save_map(m, target.path, offline=opt.offline)
    report.write_ledger(run.ledger, target.companion(LEDGER_SUFFIX))
    return {
        "network_label": label,
        "bases": len(area.bases),
        "incidents": len(inc),
        "input": run.summary["input"],
        "rejected": run.summary["rejected"],
        "rejected_by_reason": run.summary["rejected_by_reason"],
        "outcomes": run.summary.get("outcomes", ""),
        "hotspots": len(hot),
        "cells_tested": hot.attrs.get("cells_tested", 0),
        "corridor": layer["info"] if layer else None,
        "ledger": run.ledger,
        "calibration_stamp": run.summary.get("calibration_stamp"),
        "calibration_used": run.summary.get("calibration_used"),
        "collisions": run.summary.get("collisions"),
        "period": run.summary.get("period"),
        "headline": run.summary.get("headline", []),
        "cause_cells": None if causes is None else {"drawn": len(causes), "suppressed": causes.attrs["suppressed"]},
    }

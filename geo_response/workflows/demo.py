"""The end-to-end job on the bundled data (what ``geo-response demo`` and ``make demo`` run).

Steps: network (stand-in or a real extract) -> bases (amenity=police) -> isochrones (blue light and
normal traffic) -> police.uk incidents with sampled grades -> modelled compliance under each policy
(the first calibrated to the reported emergency rate) -> hotspots -> A12 corridor and trunk roads ->
offline Folium map -> report.md and summary.json saying which data, network, policy and seeds made them.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from geo_response import datadir, hotspots, maps
from geo_response.compliance import report
from geo_response.config import ForceProfile
from geo_response.outputs import OutputFolder, write_csv, write_json, write_text
from geo_response.roads import isochrones
from geo_response.study_area import StudyArea, load_study_area
from geo_response.workflows.compliance import run_compliance, write_outputs
from geo_response.workflows.maps import corridor_layer

ISOCHRONE_PROFILES = ("blue_light", "normal")
MAP_NAME = "essex_compliance.html"
DEMO_OUTPUTS = ("compliance_by_month.csv", "corridor.csv", MAP_NAME, "hotspots.csv", "incidents.csv",
                "isochrones.gpkg", "ledger.csv", "report.md", "summary.json", "calibration.json")
THRESHOLDS_MIN = (5, 10, 15, 20)


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100 * value:.1f}%"


def kpi_rates(incidents: pd.DataFrame, categories: tuple[str, ...]) -> dict[str, float | None]:
    """Expected share meeting target for attended incidents of these categories: all, urban, rural."""
    judged = incidents[incidents["attended"].astype(bool) & incidents["p_met"].notna()
                       & incidents["grade_category"].isin(categories)]
    out: dict[str, float | None] = {"all": float(judged["p_met"].mean()) if len(judged) else None}
    for setting in ("urban", "rural"):
        part = judged[judged["urban_rural"] == setting]
        out[setting] = float(part["p_met"].mean()) if len(part) else None
    out["incidents"] = int(len(judged))
    return out


def run_demo(out_dir: str | Path = "maps", *, area: StudyArea | None = None, incidents_path: str | Path | None = None,
             policies: tuple[str, ...] = ("essex-2022", "ncmg"), calibrate: bool = True,
             offline: bool = True, show_points: bool = False, hex_resolution: int = 8,
             overwrite: bool = False) -> dict:
    """Run the whole job and write its outputs to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created). The first policy's compliance outputs go to its top level, the others'
        to ``out_dir/<policy>/``.
    area : StudyArea, optional
        Default: :func:`geo_response.study_area.load_study_area` (the bundle's stand-in and Essex profile).
    incidents_path : path, optional
        Incidents file, folder or glob; default the data folder's police.uk folder.
    policies : tuple of str
        Grading policies to model.
    calibrate : bool
        Calibrate the delay scale of the first policy to ``profile.reported["emergency_met"]`` and use the
        fitted scale for every policy.
    offline : bool
        Inline Leaflet in the HTML map (no CDN).
    show_points : bool
        Draw individual incidents on the map (off by default: victims' locations are sensitive).
    hex_resolution : int
        H3 resolution of the hotspot and choropleth cells.
    overwrite : bool
        Replace files in ``out_dir`` that geo-response did not write (default: refuse).

    Returns
    -------
    dict
        The summary written to ``summary.json``.
    """
    area = area or load_study_area()
    for name in policies:
        area.policy(name)
    incidents_source = incidents_path or datadir.default_incidents(area.data_dir)
    inputs = [incidents_source, area.osm, area.bases_csv]
    with OutputFolder(out_dir, inputs=[p for p in inputs if p is not None], overwrite=overwrite,
                      expected=DEMO_OUTPUTS) as folder:
        summary = _demo(folder, area, incidents_source, policies, calibrate, offline, show_points, hex_resolution)
    summary["map"] = str(Path(out_dir) / MAP_NAME)
    return summary


def _demo(folder: OutputFolder, area: StudyArea, incidents_source, policies: tuple[str, ...], calibrate: bool,
          offline: bool, show_points: bool, hex_resolution: int) -> dict:
    t_start = time.perf_counter()
    out = folder.root
    prof = area.force
    timings: dict[str, float] = {}
    steps = tqdm(total=8, desc="geo-response demo", unit="step", disable=None)

    def done(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 2)
        steps.set_postfix_str(f"{name} {timings[name]:.1f}s")
        steps.update()

    t0 = time.perf_counter()
    net = area.network
    done("network", t0)

    t0 = time.perf_counter()
    stations, lsoas = area.bases, area.lsoas
    done("bases_and_geography", t0)

    t0 = time.perf_counter()
    iso = pd.concat([isochrones.isochrones(net, stations, THRESHOLDS_MIN, speed=s, lsoas=lsoas,
                                           crs=prof.projected_crs) for s in ISOCHRONE_PROFILES], ignore_index=True)
    iso = gpd.GeoDataFrame(iso, geometry="geometry", crs=4326)
    iso.to_file(folder.path("isochrones.gpkg"), layer="isochrones", driver="GPKG")
    done("isochrones", t0)

    t0 = time.perf_counter()
    runs = {}
    record = None   # the demo's own calibration.json, passed to the other policies' runs (forced: other policy)
    for i, name in enumerate(policies):
        target_rate = prof.reported.get("emergency_met") if (calibrate and i == 0) else None
        runs[name] = run_compliance(area, incidents_source, policy=name, calibrate_to=target_rate,
                                    calibration=record, force_calibration=True, show_points=show_points)
        write_outputs(out if i == 0 else folder.folder(name), runs[name])
        if runs[name].calibration is not None and runs[name].record is not None:
            record = runs[name].record
            record.write(folder.path("calibration.json"))
    done("compliance", t0)
    main_run = runs[policies[0]]
    incidents = main_run.incidents

    t0 = time.perf_counter()
    # hotspots of emergency failures: the KPI that published reports single out (15 / 20 minutes)
    emergencies = incidents[incidents["grade_category"] == "emergency"]
    cells = hotspots.hex_aggregate(emergencies, resolution=hex_resolution)
    spots = hotspots.find_hotspots(cells, towns=area.towns, projected_crs=prof.projected_crs)
    hotspots.write_hotspots_csv(spots, folder.path("hotspots.csv"))
    done("hotspots", t0)

    t0 = time.perf_counter()
    layer = corridor_layer(area, incidents)
    corridor_table = layer["analysis"].table
    write_csv(corridor_table, folder.path("corridor.csv"))
    done("corridor", t0)

    t0 = time.perf_counter()
    first_policy = area.policy(policies[0])
    fmap = maps.compliance_map(
        incidents, bases=stations, isochrones=iso, hotspots=spots, corridor=layer["geometry"],
        corridor_name=layer["spec"].name, corridor_buffer_m=layer["spec"].buffer_m,
        corridor_summary=layer["analysis"].summary, lsoas=lsoas, districts=area.districts, resolution=hex_resolution,
        policy=first_policy, policy_label=f"{first_policy.label}; {main_run.summary['calibration_stamp']}",
        network_label=net.graph["network_label"],
        standin=net.graph["standin"], attribution=prof.attribution, show_points=show_points,
        projected_crs=prof.projected_crs)
    maps.save_map(fmap, folder.path(MAP_NAME), offline=offline)
    done("map", t0)

    summary = dict(main_run.summary)
    summary.update({
        "job": "geo-response demo",
        "network": {"label": net.graph["network_label"], "standin": net.graph["standin"],
                    "source": net.graph["source"], "source_sha256": net.graph["source_sha256"], **net.graph["build"]},
        "bases": {"count": int(len(stations)), "source": area.bases_source, "issues": area.base_issues},
        "policies": {name: {"label": prof.policy(name).label,
                            "emergency": kpi_rates(run.incidents, ("emergency",)),
                            "priority": kpi_rates(run.incidents, ("priority", "urgent")),
                            "calibration": run.summary.get("calibration")}
                     for name, run in runs.items()},
        "hotspots": {"scope": "emergency incidents", "cells": int(len(cells)),
                     "cells_tested": spots.attrs.get("cells_tested"), "hotspots": int(len(spots)),
                     "h3_resolution": hex_resolution},
        "corridor": corridor_table.to_dict(orient="records"),
        "outputs": sorted(DEMO_OUTPUTS + tuple(policies[1:])),
        "timings_seconds": {**timings, "total": round(time.perf_counter() - t_start, 2)},
    })
    steps.close()
    write_json(summary, folder.path("summary.json"))
    blocks = demo_blocks(summary, spots, corridor_table, prof) + report.report_blocks(main_run.long, main_run.summary)
    write_text(report.render_markdown(blocks), folder.path("report.md"))
    return summary


def corridor_readable(table: pd.DataFrame) -> pd.DataFrame:
    """The corridor table for a report: emergency columns, counts with separators, percentages to 1 dp."""
    out = pd.DataFrame({"group": table["group"]})
    out["emergency incidents"] = table["emergency_incidents"].map(lambda v: f"{int(v):,}")
    out["% met"] = table["emergency_pct_met"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1f}%")
    out["expected failures"] = table["emergency_expected_failures"].map(lambda v: f"{v:,.1f}")
    out["share of all failures"] = table["emergency_share_of_failures"].map(
        lambda v: "n/a" if pd.isna(v) else f"{100 * v:.1f}%")
    return out


def hotspots_readable(spots: pd.DataFrame) -> pd.DataFrame:
    """The hotspots for a report: name, counts, % met against the force, q-value to 2 significant figures."""
    table = hotspots.hotspots_table(spots)
    if table.empty:
        return table
    return pd.DataFrame({
        "setting": table["urban_rural"], "rank": table["rank"], "hotspot": table["name"],
        "emergency incidents": table["attended"].map(lambda v: f"{int(v):,}"),
        "% met": table["pct_met"].map(lambda v: f"{v:.1f}%"),
        "force % met": table["force_failure_rate"].map(lambda v: f"{100 * (1 - v):.1f}%"),
        "excess failures": table["excess_failures"].map(lambda v: f"{v:.1f}"),
        "q-value": table["q_value"].map(lambda v: f"{v:.2g}"),
        "cell": table["cell"],
    })


def demo_blocks(summary: dict, spots: pd.DataFrame, corridor_table: pd.DataFrame,
                profile: ForceProfile) -> list[report.Block]:
    """The key figures of a demo run as report blocks: KPIs per policy, A12 corridor, top hotspots, timings."""
    net = summary["network"]
    blocks: list[report.Block] = [("h1", f"geo-response: {profile.name} response compliance (demo)")]
    facts = [f"Network: **{net['label']}**, {net['nodes']:,} nodes and {net['edges']:,} edges, from "
             f"`{net['source']}` (sha256 {str(net['source_sha256'])[:12]}…)."]
    if net["standin"]:
        facts.append("**Every travel time here comes from a SYNTHETIC stand-in road network, not real Essex roads. "
                     "Do not read these figures as Essex Police performance.**")
    facts.append(f"Incidents: {summary['input']:,} rows in = {summary['accepted']:,} accepted + "
                 f"{summary['rejected']:,} rejected (see ledger.csv).")
    if summary.get("grades_sampled"):
        facts.append(f"Grades were **sampled** per crime type (seed {summary.get('grade_seed')}): police.uk data "
                     "carry no grades or response times.")
    facts.append(f"Outcomes: {summary.get('outcomes')}: travel from the nearest base under the grade's speed "
                 "profile plus call handling and dispatch delays (Monte Carlo); see summary.json for parameters.")
    blocks += [("p", "\n".join(f"- {f}" for f in facts)), ("h2", "KPIs by policy (expected share meeting target)")]
    rows = []
    for name, p in summary["policies"].items():
        e, pr = p["emergency"], p["priority"]
        rows.append({"policy": name, "emergency": _fmt_pct(e["all"]), "urban": _fmt_pct(e["urban"]),
                     "rural": _fmt_pct(e["rural"]), "emergency incidents": f"{e['incidents']:,}",
                     "priority / urgent": _fmt_pct(pr["all"])})
    kpis = "; ".join(f"{k.name}: {100 * k.threshold:.0f}%" for k in profile.kpis)
    blocks.append(("table", f"KPIs (essex-2022): {kpis}", pd.DataFrame(rows)))
    cal = next(iter(summary["policies"].values())).get("calibration")
    if cal:
        blocks.append(("p", f"Delays calibrated to the reported emergency rate "
                            f"({_fmt_pct(profile.reported.get('emergency_met'))}); every policy uses the fitted "
                            f"delay scale {cal.get('delay_scale', float('nan')):.3f} (full parameters in "
                            f"summary.json)."))
    if summary.get("calibration_stamp"):
        blocks.append(("p", f"Calibration used: {summary['calibration_stamp']}."))
    blocks += [("h2", "A12 corridor and trunk roads"),
               ("table", "Emergency incidents: expected failures and share of all emergency failures",
                corridor_readable(corridor_table)),
               ("h2", "Top failure hotspots (H3 cells, emergency incidents)")]
    top = hotspots_readable(spots).head(10)
    blocks.append(("table", "Ranked separately for urban and rural cells (full figures in hotspots.csv)", top)
                  if len(top) else ("p", "No cell is significantly above the force-wide failure rate."))
    timings = ", ".join(f"{k} {v} s" for k, v in summary["timings_seconds"].items())
    blocks += [("h2", "Run"), ("p", f"Timings: {timings}."), ("p", profile.attribution)]
    return blocks

"""The end-to-end job on the bundled data (what ``geo-response demo`` and ``make demo`` run).

Steps: network (stand-in or a real extract) -> bases (amenity=police) -> isochrones (blue light and
normal traffic) -> police.uk incidents with sampled grades -> modelled compliance under each policy
(the first calibrated to the reported emergency rate) -> hotspots -> A12 corridor and trunk roads ->
offline Folium map -> report.md and summary.json saying which data, network, policy and seeds made them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from geo_response import calibration as calibration_records
from geo_response import corridor, datadir, hotspots, map_causes, maps
from geo_response.compliance import report
from geo_response.config import ForceProfile
from geo_response.errors import HotspotError
from geo_response.map_layers import main_roads
from geo_response.outputs import OutputFolder, write_csv, write_json, write_text
from geo_response.reporting import gis
from geo_response.reporting.bundle import write_reports
from geo_response.roads import isochrones
from geo_response.study_area import StudyArea, load_study_area
from geo_response.workflows.compliance import run_compliance, write_outputs
from geo_response.workflows.maps import corridor_layer, isochrones_at

ISOCHRONE_PROFILES = ("blue_light", "normal")
MAP_NAME = "essex_compliance.html"
SIMULATION_DAYS = 28.0  # the demo's simulation: four weeks, two replications (geo-response simulate: a year)
SIMULATION_REPLICATIONS = 2
TIME_OF_DAY_LAYERS = ("08:00 weekday", "03:00 weekday")
DEMO_OUTPUTS = (
    "board_pack.xlsx",
    "compliance_by_month.csv",
    "corridor.csv",
    "corridor_incident_types.csv",
    MAP_NAME,
    "geo_response.gpkg",
    "hotspots.csv",
    "incidents.csv",
    "isochrones.gpkg",
    "ledger.csv",
    "report.html",
    "report.md",
    "summary.json",
    "calibration.json",
)
THRESHOLDS_MIN = (5, 10, 15, 20)


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100 * value:.1f}%"


def kpi_rates(incidents: pd.DataFrame, categories: tuple[str, ...]) -> dict[str, float | None]:
    """Expected share meeting target for attended incidents of these categories: all, urban, rural."""
    judged = incidents[
        incidents["attended"].astype(bool) & incidents["p_met"].notna() & incidents["grade_category"].isin(categories)
    ]
    out: dict[str, float | None] = {"all": float(judged["p_met"].mean()) if len(judged) else None}
    for setting in ("urban", "rural"):
        part = judged[judged["urban_rural"] == setting]
        out[setting] = float(part["p_met"].mean()) if len(part) else None
    out["incidents"] = int(len(judged))
    return out


def run_demo(
    out_dir: str | Path = "maps",
    *,
    area: StudyArea | None = None,
    incidents_path: str | Path | None = None,
    policies: tuple[str, ...] = ("essex-2022", "ncmg"),
    calibrate: bool = True,
    calibration: str | Path | None = None,
    force_calibration: bool = False,
    offline: bool = True,
    show_points: bool = False,
    hex_resolution: int = 8,
    overwrite: bool = False,
    collisions: Any = True,
) -> dict:
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
        fitted scale for every policy. Ignored when ``calibration`` is given.
    calibration : str or Path, optional
        A ``calibration.json`` (from ``compliance --calibrate-to``): use its delay scale for every policy
        instead of fitting; refused when fitted on another network or on another policy than the first
        (unless ``force_calibration``). It is copied into ``out_dir`` (same hash) and stamped in every output.
    force_calibration : bool
        Use ``calibration`` even if it was fitted on another network or policy.
    offline : bool
        Inline Leaflet in the HTML map (no CDN).
    show_points : bool
        Draw individual incidents on the map (off by default: victims' locations are sensitive).
    hex_resolution : int
        H3 resolution of the hotspot and choropleth cells.
    overwrite : bool
        Replace files in ``out_dir`` that geo-response did not write (default: refuse).
    collisions : bool, path or list
        STATS19 collisions joined to the incidents as graded road incidents (``--collisions``). True (default):
        the data folder's ``stats19/`` when it has one (:func:`geo_response.datadir.default_collisions`); False
        or None: none. Their period is recorded apart (``summary["collisions"]["period"]``).

    Returns
    -------
    dict
        The summary written to ``summary.json``.
    """
    area = area or load_study_area()
    for name in policies:
        area.policy(name)
    record = calibration_records.load(calibration, area, policies[0], force=force_calibration)
    incidents_source = incidents_path or datadir.default_incidents(area.data_dir)
    if collisions is True:
        collisions = datadir.default_collisions(area.data_dir)
    collisions = collisions or None
    given = incidents_source if isinstance(incidents_source, list | tuple) else [incidents_source]
    more = collisions if isinstance(collisions, list | tuple) else [collisions]
    inputs = [*given, *more, area.osm, area.bases_csv]
    with OutputFolder(
        out_dir, inputs=[p for p in inputs if p is not None], overwrite=overwrite, expected=DEMO_OUTPUTS
    ) as folder:
        summary = _demo(
            folder,
            area,
            incidents_source,
            policies,
            calibrate,
            offline,
            show_points,
            hex_resolution,
            record,
            collisions,
        )
    summary["map"] = str(Path(out_dir) / MAP_NAME)
    return summary


def _demo(
    folder: OutputFolder,
    area: StudyArea,
    incidents_source,
    policies: tuple[str, ...],
    calibrate: bool,
    offline: bool,
    show_points: bool,
    hex_resolution: int,
    record=None,
    collisions=None,
) -> dict:
    t_start = time.perf_counter()
    out = folder.root
    prof = area.force
    timings: dict[str, float] = {}
    steps = tqdm(total=10, desc="geo-response demo", unit="step", disable=None)

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
    iso = pd.concat(
        [
            isochrones.isochrones(net, stations, THRESHOLDS_MIN, speed=s, lsoas=lsoas, crs=prof.projected_crs)
            for s in ISOCHRONE_PROFILES
        ],
        ignore_index=True,
    )
    iso = gpd.GeoDataFrame(iso, geometry="geometry", crs=4326)
    iso.to_file(folder.path("isochrones.gpkg"), layer="isochrones", driver="GPKG")
    done("isochrones", t0)

    t0 = time.perf_counter()
    runs = {}
    # the record given (checked against the first policy in run_demo), else the demo's own fitted on the first
    # policy: passed to the other policies' runs (forced: it was fitted on another policy)
    if record is not None:
        record.write(folder.path("calibration.json"))
    for i, name in enumerate(policies):
        target_rate = prof.reported.get("emergency_met") if (calibrate and i == 0 and record is None) else None
        runs[name] = run_compliance(
            area,
            incidents_source,
            policy=name,
            calibrate_to=target_rate,
            calibration=record,
            force_calibration=True,
            show_points=show_points,
            collisions=collisions,
        )
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
    spots = hotspots.find_hotspots(cells, towns=area.places, projected_crs=prof.projected_crs)
    hotspots.write_hotspots_csv(spots, folder.path("hotspots.csv"))
    done("hotspots", t0)

    t0 = time.perf_counter()
    layer = corridor_layer(area, incidents)
    corridor_table = layer["analysis"].table
    write_csv(corridor.rounded_for_people(corridor_table), folder.path("corridor.csv"))
    write_csv(layer["analysis"].incident_types, folder.path("corridor_incident_types.csv"))
    done("corridor", t0)

    t0 = time.perf_counter()
    sim_summary, sim_run = simulation_step(folder, area, incidents_source, policies[0], record=main_run.record)
    done("simulation", t0)
    t0 = time.perf_counter()
    staffing = staffing_step(folder, area, sim_run)
    done("staffing_vs_base", t0)

    t0 = time.perf_counter()
    first_policy = area.policy(policies[0])
    roads = main_roads(net)
    first, last = main_run.summary["period"]["first_month"], main_run.summary["period"]["last_month"]
    period = f"{first} to {last}" if first else None
    cp = (main_run.summary.get("collisions") or {}).get("period") or {}
    if period and cp.get("first_month") and main_run.summary["collisions"].get("accepted"):
        period += f"; STATS19 collisions {cp['first_month']} to {cp['last_month']}"
    fmap = maps.compliance_map(
        incidents,
        bases=stations,
        isochrones=map_isochrones(area, iso),
        hotspots=spots,
        corridor=layer["geometry"],
        corridor_name=layer["spec"].name,
        corridor_buffer_m=layer["spec"].buffer_m,
        corridor_summary=layer["analysis"].summary,
        lsoas=lsoas,
        districts=area.districts,
        resolution=hex_resolution,
        policy=first_policy,
        policy_label=f"{first_policy.label}; {main_run.summary['calibration_stamp']}",
        network_label=net.graph["network_label"],
        standin=net.graph["standin"],
        attribution=prof.attribution,
        show_points=show_points,
        projected_crs=prof.projected_crs,
        roads=roads,
        places=area.places,
        period=period,
        outcomes=main_run.summary["outcomes"],
        causes=map_causes.cause_cells(sim_run.tables["incidents"], lsoas),
    )
    maps.save_map(fmap, folder.path(MAP_NAME), offline=offline)
    done("map", t0)

    summary = dict(main_run.summary)
    summary.update(
        {
            "job": "geo-response demo",
            "network": {
                "label": net.graph["network_label"],
                "standin": net.graph["standin"],
                "source": net.graph["source"],
                "source_sha256": net.graph["source_sha256"],
                **net.graph["build"],
            },
            "bases": {"count": int(len(stations)), "source": area.bases_source, "issues": area.base_issues},
            "policies": {
                name: {
                    "label": prof.policy(name).label,
                    "emergency": kpi_rates(run.incidents, ("emergency",)),
                    "priority": kpi_rates(run.incidents, ("priority", "urgent")),
                    "calibration": run.summary.get("calibration"),
                }
                for name, run in runs.items()
            },
            "hotspots": {
                "scope": "emergency incidents",
                "cells": int(len(cells)),
                "cells_tested": spots.attrs.get("cells_tested"),
                "hotspots": int(len(spots)),
                "h3_resolution": hex_resolution,
            },
            "corridor": corridor_table.to_dict(orient="records"),
            "corridor_incident_types": layer["analysis"].parameters["incident_types"],
            "corridor_rests_on": layer["analysis"].parameters["rests_on"],
            "outputs": sorted(DEMO_OUTPUTS + tuple(policies[1:]) + ("board_pack", "simulation", "staffing_vs_base")),
            "timings_seconds": {**timings, "total": round(time.perf_counter() - t_start, 2)},
        }
    )
    summary["simulation"] = sim_summary
    summary["staffing_vs_base"] = staffing
    board_outputs(folder, area, main_run, cells, spots, iso, corridor_table, roads, summary, sim_run)
    steps.close()
    write_json(summary, folder.path("summary.json"))
    blocks = demo_blocks(summary, spots, corridor_table, prof) + report.report_blocks(main_run.long, main_run.summary)
    write_text(report.render_markdown(blocks), folder.path("report.md"))
    return summary


def map_isochrones(area: StudyArea, iso: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The isochrones the demo map draws: all bases combined per speed profile, and normal traffic at the weekday
    morning peak (08:00) against the night (03:00) as two more layers.
    """
    combined = iso[iso["base_id"] == -1]
    timed = []
    for frame in isochrones_at(area, TIME_OF_DAY_LAYERS):
        timed.append(frame.assign(profile=frame["profile"] + " at " + frame["when"]).drop(columns="when"))
    return gpd.GeoDataFrame(pd.concat([combined, *timed], ignore_index=True), geometry="geometry", crs=4326)


class _Subfolder:
    """An open output transaction seen from one of its sub-folders (``path(name)`` -> ``<sub>/<name>``)."""

    def __init__(self, folder: OutputFolder, sub: str) -> None:
        self.folder, self.sub = folder, sub

    def path(self, name: str) -> Path:
        return self.folder.path(f"{self.sub}/{name}")


def simulation_step(
    folder: OutputFolder,
    area: StudyArea,
    incidents_source,
    policy: str,
    days: float = SIMULATION_DAYS,
    replications: int = SIMULATION_REPLICATIONS,
    record=None,
) -> tuple[dict, Any]:
    """Busy units, not just stations: a short simulation of dispatch (the profile's roster, an ASSUMPTION) over
    the first weeks of the incidents, written to ``simulation/``; returns its headline and causes of failure,
    and the ``SimulationRun`` (for the report's charts and the map's cause layer).
    ``record`` (the demo's calibration) scales its answer + handling delays as it scales the compliance model's.
    """
    from geo_response.workflows.simulate import run_simulation, write_simulation

    run = run_simulation(
        area,
        incidents_source,
        None,
        policy=policy,
        replications=replications,
        days=days,
        workers=0,
        progress=True,
        calibration=record,
        force_calibration=True,
    )
    write_simulation(_Subfolder(folder, "simulation"), run, area.force.kpis)
    s = run.summary
    return {
        "days": days,
        "replications": replications,
        "headline": s["headline"],
        "misses_by_cause": s["misses_by_cause"],
        "mean_utilisation": s.get("mean_utilisation"),
        "roster_units": s["roster"]["units"],
        "scale": s["scale"],
        "calibration_stamp": s["calibration_stamp"],
        "outputs": "simulation/",
    }, run


def staffing_step(folder: OutputFolder, area: StudyArea, run: Any) -> dict:
    """The demo's staffing question, on the simulation just run (same demand, seeds and replications):
    two night units moved to Tendring's base against a new base in Tendring, and Tendring's own night units
    posted at that site; ``staffing_vs_base/``.
    """
    from geo_response.compliance.report import md_escape
    from geo_response.planning.report import simulation_markdown
    from geo_response.workflows.plan_units import staffing_vs_base

    summary, table = staffing_vs_base(area, run.built, run.replications)
    summary["network"] = (
        "synthetic stand-in (a test of the method, not advice)"
        if area.network.graph.get("standin")
        else "OpenStreetMap"
    )
    sub = _Subfolder(folder, "staffing_vs_base")
    write_csv(table, sub.path("simulated_comparison.csv"))
    write_json(summary, sub.path("summary.json"))
    md = ["# Staffing against a new base or a patrol post: night units in Tendring", ""]
    md += [f"Road network: {md_escape(summary['network'])}.", "", md_escape(summary["rule"]) + ".", ""]
    md += [md_escape(summary["sentence"]), ""]
    for key, sc in summary["scenarios"].items():
        md += [f"## {md_escape(key)}", ""]
        block = {**sc, "replications": summary["replications"], "days": summary["days"]}
        block.update(simulated_incidents=len(run.built.incidents), notes=[])
        md += simulation_markdown(block)[2:]
    write_text("\n".join(md), sub.path("report.md"))
    return {"sentence": summary["sentence"], "rule": summary["rule"], "outputs": "staffing_vs_base/"}


def board_outputs(
    folder: OutputFolder, area: StudyArea, run, cells, spots, iso, corridor_table, roads, summary: dict, sim_run=None
) -> None:
    """The analyst's and the board's outputs: report.html (charts), board_pack.xlsx with its tidy CSVs, and
    the GIS layers in geo_response.gpkg (hexagon and LSOA results, hotspots, Gi* hot and cold spots,
    isochrones).
    """
    t0 = time.perf_counter()
    prof = area.force
    emergencies = run.incidents[run.incidents["grade_category"] == "emergency"]
    try:
        gi = hotspots.gi_star_spots(cells, towns=area.places, projected_crs=prof.projected_crs)
    except HotspotError as exc:  # too few incidents for the test (a small file): the rest of the demo stands
        gi, gi_skipped = None, str(exc)
    blocks = demo_blocks(summary, spots, corridor_table, prof)
    write_reports(
        folder.root,
        run.long,
        run.summary,
        kpis=prof.kpis,
        incidents=run.incidents,
        corridor=corridor_table,
        hotspots=spots,
        gi=gi,
        roads=roads,
        places=area.places,
        gis_layers={
            "hexagon_results": hotspots.failure_tests(cells),
            "lsoa_results": hotspots.lsoa_aggregate(emergencies, area.lsoas),
            "hotspots": spots,
            "gi_star": gi,
            "isochrones": iso,
            **gis.simulation_layers(sim_run, area.districts, area.lsoas),
        },
        appendix=report.html_fragments(blocks),
        projected_crs=prof.projected_crs,
        simulation=sim_run.tables if sim_run is not None else None,
    )
    summary["gi_star"] = (
        {"skipped": gi_skipped}
        if gi is None
        else {
            "cells_tested": int(gi.attrs.get("cells_tested", len(cells))),
            "hot": int((gi["gi_class"] == "hot").sum()) if len(gi) else 0,
            "cold": int((gi["gi_class"] == "cold").sum()) if len(gi) else 0,
        }
    )
    summary["timings_seconds"]["board_outputs"] = round(time.perf_counter() - t0, 2)


def corridor_readable(table: pd.DataFrame) -> pd.DataFrame:
    """The corridor table for a report: emergency columns, counts with separators, percentages to 1 dp."""
    out = pd.DataFrame({"group": table["group"]})
    out["emergency incidents"] = table["emergency_incidents"].map(lambda v: f"{int(v):,}")
    out["% met"] = table["emergency_pct_met"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1f}%")
    out["expected failures"] = table["emergency_expected_failures"].map(lambda v: f"{v:,.1f}")
    out["share of all failures"] = table["emergency_share_of_failures"].map(
        lambda v: "n/a" if pd.isna(v) else f"{100 * v:.1f}%"
    )
    return out


def hotspots_readable(spots: pd.DataFrame) -> pd.DataFrame:
    """The hotspots for a report: name, counts, % met against the force, q-value to 2 significant figures."""
    table = hotspots.hotspots_table(spots)
    if table.empty:
        return table
    return pd.DataFrame(
        {
            "setting": table["urban_rural"],
            "rank": table["rank"],
            "hotspot": table["name"],
            "emergency incidents": table["attended"].map(lambda v: f"{int(v):,}"),
            "% met": table["pct_met"].map(lambda v: f"{v:.1f}%"),
            "force % met": table["force_failure_rate"].map(lambda v: f"{100 * (1 - v):.1f}%"),
            "excess failures": table["excess_failures"].map(lambda v: f"{v:.1f}"),
            "q-value": table["q_value"].map(lambda v: f"{v:.2g}"),
            "cell": table["cell"],
        }
    )


def demo_blocks(
    summary: dict, spots: pd.DataFrame, corridor_table: pd.DataFrame, profile: ForceProfile
) -> list[report.Block]:
    """The key figures of a demo run as report blocks: KPIs per policy, A12 corridor, top hotspots, timings."""
    net = summary["network"]
    blocks: list[report.Block] = [("h1", f"geo-response: {profile.name} response compliance (demo)")]
    facts = [
        f"Network: **{net['label']}**, {net['nodes']:,} nodes and {net['edges']:,} edges, from "
        f"`{net['source']}` (sha256 {str(net['source_sha256'])[:12]}…)."
    ]
    if net["standin"]:
        facts.append(
            "**Every travel time here comes from a SYNTHETIC stand-in road network, not real Essex roads. "
            "Do not read these figures as Essex Police performance.**"
        )
    facts.append(
        f"Incidents: {summary['input']:,} rows in = {summary['accepted']:,} accepted + "
        f"{summary['rejected']:,} rejected (see ledger.csv)."
    )
    facts += report.collision_sentences(summary)
    if summary.get("grades_sampled"):
        facts.append(
            f"Grades were **sampled** per crime type (seed {summary.get('grade_seed')}): police.uk data "
            "carry no grades or response times."
        )
    facts.append(
        f"Outcomes: {summary.get('outcomes')}: travel from the nearest base under the grade's speed "
        "profile plus call handling and dispatch delays (Monte Carlo); see summary.json for parameters."
    )
    blocks += [("p", "\n".join(f"- {f}" for f in facts)), ("h2", "KPIs by policy (expected share meeting target)")]
    rows = []
    for name, p in summary["policies"].items():
        e, pr = p["emergency"], p["priority"]
        rows.append(
            {
                "policy": name,
                "emergency": _fmt_pct(e["all"]),
                "urban": _fmt_pct(e["urban"]),
                "rural": _fmt_pct(e["rural"]),
                "emergency incidents": f"{e['incidents']:,}",
                "priority / urgent": _fmt_pct(pr["all"]),
            }
        )
    kpis = "; ".join(f"{k.name}: {100 * k.threshold:.0f}%" for k in profile.kpis)
    blocks.append(("table", f"KPIs (essex-2022): {kpis}", pd.DataFrame(rows)))
    cal = next(iter(summary["policies"].values())).get("calibration")
    if cal:
        blocks.append(
            (
                "p",
                f"Delays calibrated to the reported emergency rate "
                f"({_fmt_pct(profile.reported.get('emergency_met'))}); every policy uses the fitted "
                f"delay scale {cal.get('delay_scale', float('nan')):.3f} (full parameters in "
                f"summary.json).",
            )
        )
    if summary.get("calibration_stamp"):
        blocks.append(("p", f"Calibration used: {summary['calibration_stamp']}."))
    blocks += [
        ("h2", "A12 corridor and trunk roads"),
        (
            "table",
            "Emergency incidents: expected failures and share of all emergency failures",
            corridor_readable(corridor_table),
        ),
        ("p", summary.get("corridor_rests_on") or "The incident types behind the corridor figures were not recorded."),
        ("h2", "Top failure hotspots (H3 cells, emergency incidents)"),
    ]
    top = hotspots_readable(spots).head(10)
    blocks.append(
        ("table", "Ranked separately for urban and rural cells (full figures in hotspots.csv)", top)
        if len(top)
        else ("p", "No cell is significantly above the force-wide failure rate.")
    )
    blocks += simulation_blocks(summary.get("simulation"))
    if summary.get("staffing_vs_base"):
        st = summary["staffing_vs_base"]
        blocks += [
            ("h2", "Staffing against a new base or a patrol post (Tendring, stand-in)"),
            ("p", f"{st['sentence']} Rule: {st['rule']}. Details in {st['outputs']}"),
        ]
    timings = ", ".join(f"{k} {v} s" for k, v in summary["timings_seconds"].items())
    blocks += [("h2", "Run"), ("p", f"Timings: {timings}."), ("p", profile.attribution)]
    return blocks


def simulation_blocks(sim: dict | None) -> list[report.Block]:
    """The demo's simulation: % met with replication intervals and the causes of failure."""
    if not sim:
        return []
    rows = [
        {"grade": name, "% met": f"{v['pct_met']:.1f}%", "95% interval": f"{v['low']:.1f}-{v['high']:.1f}%"}
        for name, v in sim["headline"].items()
        if v
    ]
    causes = pd.DataFrame(
        [{"cause": k, "missed per replication": f"{v:,.1f}"} for k, v in sim["misses_by_cause"].items()]
    )
    return [
        ("h2", "Busy units: a short simulation of dispatch"),
        (
            "p",
            f"{sim['days']:g} days, {sim['replications']} replications, {sim['roster_units']} units on the "
            "profile's default roster (an ASSUMPTION, not Essex's rota); demand scaled x"
            f"{sim['scale']['factor']:.3f} to the force's attended volume. The nearest free unit is sent; "
            "a miss is caused by travel, by the queue (no unit free), by distance (nearer units busy) or by "
            "the call-handling delay. Full tables in simulation/.",
        ),
        ("table", "Simulated % met (mean of replications)", pd.DataFrame(rows)),
        ("table", "Causes of failure", causes),
    ]

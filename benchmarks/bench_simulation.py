"""Benchmark: one simulated year of Essex demand, replications through Dask, and the hypercube models.

Inputs, built once on the bundle's road network (the synthetic stand-in unless ``--osm``):

* posts: the ``amenity=police`` bases of the OSM file (:func:`geo_response.bases.bases_from_osm`);
* atoms: LSOA population-weighted centroids (:func:`geo_response.geography.load_lsoas`), demand in
  proportion to population, urban / rural from the ONS classification;
* travel: posts x atoms seconds for ``blue_light`` and ``normal``
  (:func:`geo_response.roads.routing.travel_matrix`); posts or atoms off the network are dropped;
* demand and roster: the ``[simulation]`` defaults of data/essex.toml (176,000 attended a year; every
  base 2 / 3 / 2 units on early / late / night shifts).

Measures one replication (seconds, peak memory, events per second), the same inputs in the plain
SimPy model (events per second), 20 replications through a 2-worker Dask LocalCluster against the same
20 replications (same seeds, checked identical) run serially here, divided by 2, the approximate
hypercube for 100 units x 1,000 atoms and the exact one for 12 units.
Writes the "simulation" section of docs/PERFORMANCE.md.

    python benchmarks/bench_simulation.py [--replications 20] [--workers 2] [--seed 7]
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import geopandas as gpd
import numpy as np
from perfdoc import PERFORMANCE, machine_line, write_section

from geo_response import bases, config, geography
from geo_response.errors import SimulationError
from geo_response.roads import network, routing
from geo_response.simulation import demand, queueing, roster
from geo_response.simulation.calibration import Calibration, calibrate_job_scale
from geo_response.simulation.engine import CAUSES, simulate
from geo_response.simulation.replications import confidence_intervals, run_replications, summarise
from geo_response.simulation.simpy_model import simulate_simpy


def build_inputs(profile: config.ForceProfile, osm: str | None) -> dict:
    """Posts, atoms and the two travel matrices (built once)."""
    t0 = time.perf_counter()
    G = network.load_network(osm, profile=profile)
    path = osm or network.essex_standin_path()
    stations, _ = bases.bases_from_osm(path)
    stations = stations.reset_index(drop=True)
    lsoas = geography.load_lsoas(profile)
    atoms = gpd.GeoDataFrame(
        lsoas[["lsoa_code", "urban_rural", "population"]].reset_index(drop=True),
        geometry=gpd.points_from_xy(lsoas["pwc_lon"], lsoas["pwc_lat"]),
        crs=4326,
    )
    t1 = time.perf_counter()
    rm = profile.response_model
    travel = np.stack(
        [
            routing.travel_matrix(
                G,
                stations,
                atoms,
                p,
                access_speed_kph=rm.access_speed_kph,
                snap_limit_m=rm.snap_limit_m,
                crs=profile.projected_crs,
            )
            for p in ("blue_light", "normal")
        ]
    )
    t2 = time.perf_counter()
    posts_ok = np.isfinite(travel).any(axis=(0, 2))
    travel = travel[:, posts_ok]
    atoms_ok = np.isfinite(travel).all(axis=(0, 1))
    names = [f"{n} #{i}" if list(stations["name"]).count(n) > 1 else str(n) for i, n in enumerate(stations["name"])]
    return {
        "travel": travel[:, :, atoms_ok],
        "names": [n for n, ok in zip(names, posts_ok, strict=True) if ok],
        "weights": atoms["population"].to_numpy(float)[atoms_ok],
        "urban": atoms["urban_rural"].to_numpy()[atoms_ok] == "urban",
        "dropped": (int((~posts_ok).sum()), int((~atoms_ok).sum())),
        "load_s": t1 - t0,
        "matrix_s": t2 - t1,
        "network": f"{G.number_of_nodes():,} nodes",
    }


def time_hypercubes(scenario: demand.Scenario, seed: int) -> dict:
    """Approximate hypercube, 100 units x 1,000 atoms; exact hypercube, 12 units; both at rho = 0.6."""
    rng = np.random.default_rng(seed)
    blue = scenario.travel_s[0]
    units = rng.integers(0, blue.shape[0], 100)
    cols = rng.choice(blue.shape[1], size=min(1000, blue.shape[1]), replace=False)
    t_units = blue[np.ix_(units, cols)] + rng.uniform(0, 60, (100, len(cols)))  # units patrol near posts
    rates = scenario.atom_weights[cols] / scenario.atom_weights[cols].sum() * 0.6 * 100 / 3600
    t0 = time.perf_counter()
    approx = queueing.hypercube_approx(rates, t_units, 1 / 3600)
    t1 = time.perf_counter()
    twelve = rng.choice(blue.shape[0], size=min(12, blue.shape[0]), replace=False)
    rates12 = scenario.atom_weights / scenario.atom_weights.sum() * 0.6 * len(twelve) / 3600
    t2 = time.perf_counter()
    exact = queueing.hypercube_exact(rates12, blue[twelve], 1 / 3600)
    t3 = time.perf_counter()
    return {
        "approx_s": t1 - t0,
        "approx_atoms": len(cols),
        "approx_wait": approx.p_wait,
        "exact_s": t3 - t2,
        "exact_units": len(twelve),
        "exact_atoms": blue.shape[1],
        "exact_wait": exact.p_wait,
    }


def time_dask(sc: demand.Scenario, args: argparse.Namespace) -> tuple:
    """Replications through a process LocalCluster against the same replications (same seeds) run serially here."""
    from dask.distributed import Client, LocalCluster

    # Baseline with the same repetitions: the same replications (same seeds), one after another, here.
    t0 = time.perf_counter()
    serial = run_replications(sc, args.replications, args.seed, parallel=False)
    one_rep = (time.perf_counter() - t0) / args.replications
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(_warm_up)  # imports, outside the timing
    t1 = time.perf_counter()
    reps = run_replications(sc, args.replications, args.seed, client=client)
    t2 = time.perf_counter()
    start_s = t1 - t0
    client.close()
    cluster.close()
    same = reps.drop(columns="seconds").equals(serial.drop(columns="seconds"))
    if not same:
        msg = "Dask replications differ from the same seeds run serially"
        raise SystemExit(msg)
    in_worker = float(reps["seconds"].mean())
    ideal = args.replications * one_rep / args.workers
    ci = confidence_intervals(reps).set_index("measure")
    print(
        f"{args.replications} replications on {args.workers} Dask workers: {t2 - t1:.1f} s "
        f"(cluster start {start_s:.1f} s); {args.replications} x one ({one_rep:.2f} s serial, draw included) / "
        f"{args.workers} = {ideal:.1f} s; ratio {(t2 - t1) / ideal:.2f}; simulate() inside a worker "
        f"{in_worker:.2f} s on average",
        flush=True,
    )
    return reps, t2 - t1, start_s, one_rep, in_worker, ideal, ci


def _warm_up() -> None:
    import geo_response.simulation.replications  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--osm", default=None, help="OSM file (default: the bundle's stand-in)")
    ap.add_argument("--no-calibrate", action="store_true", help="skip fitting the job-time scale to 0.827")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/PERFORMANCE.md alone")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    profile = config.load_profile()
    built = build_inputs(profile, args.osm)
    lines, _ = roster.parse_rows(profile.simulation.roster)
    units = roster.build_units(lines, built["names"], horizon_days=args.days)
    sc = demand.scenario_from_profile(profile, built["travel"], built["weights"], units, built["urban"], days=args.days)
    print(
        f"inputs: {built['network']}, {len(built['names'])} posts, {len(built['weights'])} atoms "
        f"(dropped posts/atoms {built['dropped']}), {units.n_units} units; network {built['load_s']:.1f} s, "
        f"matrices {built['matrix_s']:.1f} s",
        flush=True,
    )

    inp = sc.draw(np.random.default_rng(np.random.SeedSequence(args.seed).spawn(1)[0]))
    t0 = time.perf_counter()
    res = simulate(inp)
    one_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summ = summarise(inp, res, sc.atom_urban)
    em = res.reported & (np.asarray(inp.priority) == 0) & ~res.met
    causes = {c: int((res.cause[em] == k).sum()) for k, c in enumerate(CAUSES) if k}
    print(f"emergency misses by cause: {causes}", flush=True)
    print(
        f"one replication: {inp.n_incidents:,} incidents, {res.events:,} events, {one_s:.2f} s "
        f"({res.events / res.seconds:,.0f} events/s), peak RSS {peak_mb:,.0f} MB; emergency "
        f"{summ['pct_met_emergency']:.3f}, priority {summ['pct_met_priority']:.3f}, "
        f"utilisation {summ['utilisation']:.2f}",
        flush=True,
    )
    sp = simulate_simpy(inp)
    same = bool(np.array_equal(sp.unit_id, res.unit_id))
    print(
        f"SimPy, same inputs: {sp.seconds:.2f} s ({sp.events / sp.seconds:,.0f} events/s), identical: {same}",
        flush=True,
    )

    reps, wall, start_s, one_rep, in_worker, ideal, ci = time_dask(sc, args)
    hc = time_hypercubes(sc, args.seed)
    print(
        f"approximate hypercube 100 units x {hc['approx_atoms']} atoms: {hc['approx_s']:.3f} s; "
        f"exact hypercube {hc['exact_units']} units x {hc['exact_atoms']} atoms: {hc['exact_s']:.2f} s",
        flush=True,
    )
    cal = None
    if not args.no_calibrate:
        t0 = time.perf_counter()
        target = profile.reported.get("emergency_met", 0.827)
        try:
            cal = calibrate_job_scale(sc, target, replications=1, seed=args.seed, bracket=(0.3, 3.0), xtol=2e-3)
        except SimulationError as exc:
            print(f"calibration: {exc}", flush=True)
            cal = str(exc)
    if isinstance(cal, Calibration):
        row = cal.replications.iloc[0]
        print(
            f"calibrated job-time scale {cal.job_scale:.3f} (emergency {cal.achieved:.3f} vs {target}) in "
            f"{time.perf_counter() - t0:.1f} s, {cal.evaluations} evaluations; implied priority "
            f"{row['pct_met_priority']:.3f}, emergency urban {row['pct_met_emergency_urban']:.3f} / rural "
            f"{row['pct_met_emergency_rural']:.3f}, utilisation {row['utilisation']:.2f}",
            flush=True,
        )
    if not args.no_write:
        write_section(
            "simulation",
            _section(
                args,
                built,
                units,
                inp,
                res,
                one_s,
                peak_mb,
                sp,
                same,
                reps,
                wall,
                start_s,
                ideal,
                ci,
                hc,
                one_rep,
                in_worker,
                cal,
                causes,
            ),
        )
        print(f"wrote {PERFORMANCE}")
    return 0


def _section(
    args,
    built,
    units,
    inp,
    res,
    one_s,
    peak_mb,
    sp,
    same,
    reps,
    wall,
    start,
    ideal,
    ci,
    hc,
    one_rep,
    in_worker,
    cal,
    causes,
) -> str:
    em = ci.loc["pct_met_emergency"]
    pr = ci.loc["pct_met_priority"]
    simpy_row = f"{sp.events / sp.seconds:,.0f} ({sp.seconds:.2f} s; identical dispatches: {same})"
    dask_row = f"{wall:.1f} s (+ {start:.1f} s cluster start)"
    ideal_row = (
        f"{ideal:.1f} s ({args.replications} serially, same seeds and identical results: one = {one_rep:.2f} s, "
        f"drawing inputs included; ratio {wall / ideal:.2f})"
    )
    exact_row = f"exact hypercube, {hc['exact_units']} units (4,096 states) x {hc['exact_atoms']} atoms"
    return f"""## Simulation (`benchmarks/bench_simulation.py`)

{machine_line()}
Synthetic stand-in network ({built["network"]}),
{len(built["names"])} posts (the `amenity=police` bases), {len(built["weights"])} LSOA atoms; travel matrices
blue-light and normal built once in {built["matrix_s"]:.1f} s. Demand and roster: `[simulation]` defaults of
data/essex.toml ({units.n_units} units: every base 2 / 3 / 2 on early / late / night shifts). {args.days:.0f} days,
7-day warm-up.

| measure | figure | target |
|---|---|---|
| one replication (heap engine) | {one_s:.2f} s; {inp.n_incidents:,} incidents, {res.events:,} events | < 60 s |
| peak memory (whole benchmark process at that point) | {peak_mb:,.0f} MB | < 2 GB |
| events per second, heap engine | {res.events / res.seconds:,.0f} | |
| events per second, plain SimPy, same inputs (full run) | {simpy_row} | baseline |
| {args.replications} replications, Dask LocalCluster {args.workers} workers | {dask_row} | |
| the same {args.replications} replications serially / {args.workers} | {ideal_row} | ratio <= 1.3 |
| approximate hypercube, 100 units x {hc["approx_atoms"]} atoms | {hc["approx_s"]:.3f} s | < 5 s |
| {exact_row} | {hc["exact_s"]:.2f} s | < 5 s |

Uncalibrated defaults (assumed job times and roster, stand-in roads), {args.replications} replications,
95% CI: emergency % met {em["mean"]:.3f} ({em["low"]:.3f}-{em["high"]:.3f}), priority
{pr["mean"]:.3f} ({pr["low"]:.3f}-{pr["high"]:.3f}), mean unit utilisation {ci.loc["utilisation", "mean"]:.2f}.
Emergency misses of the first replication by cause: {", ".join(f"{k} {v:,}" for k, v in causes.items())}.
These are benchmark figures, not findings: calibrate first (`simulation.calibration`). Inside the Dask workers
`simulate()` took {in_worker:.2f} s on average against {one_s:.2f} s alone (two workers share the two cores with
the scheduler; other jobs on the machine make the Dask ratio vary from run to run).
{_calibration_text(cal)}"""


def _calibration_text(cal) -> str:
    if cal is None:
        return ""
    if isinstance(cal, str):
        return f"\nCalibration to the reported emergency rate failed: {cal}\n"
    row = cal.replications.iloc[0]
    return f"""
Calibration (`calibrate_job_scale`, one replication per evaluation, common random numbers): on-scene times
x {cal.job_scale:.3f} bring emergency % met to {cal.achieved:.3f} (target {cal.target}) in {cal.evaluations}
evaluations. Implied, not fitted: priority {row["pct_met_priority"]:.3f} (reported ~0.50), emergency urban
{row["pct_met_emergency_urban"]:.3f} / rural {row["pct_met_emergency_rural"]:.3f}, utilisation
{row["utilisation"]:.2f}.
"""


if __name__ == "__main__":
    raise SystemExit(main())

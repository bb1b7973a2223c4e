"""Routing benchmark: travel-time fields, snapping and isochrones on the Essex stand-in network.

Each figure comes with a baseline measured in the same run, with the same repetitions on both sides:

* all-bases travel-time field: ``fields.nearest_source_field`` (scipy csgraph, one multi-source pass) vs
  ``networkx.multi_source_dijkstra_path_length`` on ``net.to_networkx()`` (compared node by node), reported
  both as the first query (a fresh network object: the CSR build included) and warm (CSR already built);
* isochrones for every base x 4 thresholds: ``isochrones.isochrones`` (cold and warm) vs two OSMnx-style
  methods: a fairer one (one Dijkstra per base to the largest threshold, nodes filtered per threshold, convex
  hull) and the documented example (``networkx.ego_graph`` per base and threshold + convex hull), with the
  km2 the hulls include that the network cannot reach;
* snapping 1,000,000 random points in the force area (seeded) to the nearest edge; exactness checked
  against shapely's STRtree on a sample.

Peak memory of each step is the process's peak resident set during the step (Linux ``VmHWM``, reset before
each step through ``/proc/self/clear_refs``), so C/C++ allocations (GEOS, scipy) count too. Run with
``python benchmarks/bench_routing.py`` (``--quick``: a small development run that leaves the docs alone);
it prints a table and rewrites the "routing" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from perfdoc import PERFORMANCE, machine_line, write_section
from pyproj import Transformer

from geo_response.roads import snapping

THRESHOLDS = (5, 10, 15, 20)


# --------------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------------
def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(fn: Callable, repeat: int = 1):
    """Run ``fn`` ``repeat`` times: (result of the last run, median seconds, peak RSS MB, RSS before MB)."""
    before = _status_mb("VmRSS")
    can_reset = _reset_peak()
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    peak = _status_mb("VmHWM") if can_reset else None
    return result, float(np.median(times)), peak, before


def random_points_in(geom, n: int, seed: int, crs: str) -> gpd.GeoSeries:
    """``n`` points uniform in a lon/lat polygon (drawn in ``crs``), returned as lon/lat."""
    rng = np.random.default_rng(seed)
    projected = gpd.GeoSeries([geom], crs=4326).to_crs(crs).iloc[0]
    shapely.prepare(projected)
    x0, y0, x1, y1 = projected.bounds
    chunks, have = [], 0
    while have < n:
        xy = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
        xy = xy[shapely.contains_xy(projected, xy[:, 0], xy[:, 1])]
        chunks.append(xy)
        have += len(xy)
    xy = np.vstack(chunks)[:n]
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326)


def osmnx_example_isochrones(G: nx.MultiDiGraph, nodes, thresholds_s, weight: str) -> list[list]:
    """The OSMnx isochrone example: ``ego_graph`` per centre and trip time, convex hull of the node points."""
    out = []
    for node in nodes:
        hulls = []
        for t in thresholds_s:
            sub = nx.ego_graph(G, node, radius=t, distance=weight)
            pts = shapely.points([(d["x"], d["y"]) for _, d in sub.nodes(data=True)])
            hulls.append(shapely.MultiPoint(pts).convex_hull)
        out.append(hulls)
    return out


def osmnx_fair_isochrones(G: nx.MultiDiGraph, nodes, thresholds_s, weight: str) -> list[list]:
    """A fairer OSMnx-style baseline: one search per centre to the largest trip time, filtered per threshold.

    ``ego_graph`` runs ``single_source_dijkstra`` to the radius and copies the subgraph; this runs the search
    once per centre at the largest threshold (``single_source_dijkstra_path_length``, times only, no subgraph
    copy) and keeps the nodes within each threshold, so it gives the same hulls as the example method.
    """
    xy = {n: (d["x"], d["y"]) for n, d in G.nodes(data=True)}
    out = []
    for node in nodes:
        times = nx.single_source_dijkstra_path_length(G, node, cutoff=max(thresholds_s), weight=weight)
        ids = np.fromiter(times.keys(), dtype=np.int64, count=len(times))
        secs = np.fromiter(times.values(), dtype=float, count=len(times))
        pts = shapely.points([xy[i] for i in ids.tolist()])
        out.append([shapely.MultiPoint(pts[secs <= t]).convex_hull for t in thresholds_s])
    return out


def fresh_copy(net):
    """The same network tables in a new RoadNetwork: its CSR, edge index and samples are built again."""
    from geo_response.roads.roadnet import RoadNetwork

    return RoadNetwork(
        nodes=net.nodes, edges=net.edges, coords=net.coords, offsets=net.offsets, graph=net.graph, speeds=net.speeds
    )


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--osm", default=None, help="OSM file (default: the bundle's stand-in)")
    ap.add_argument("--points", type=int, default=1_000_000, help="random points to snap")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of each field timing, both sides (default 5)")
    ap.add_argument("--bases", type=int, default=None, help="use only the first N bases (default: all)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument(
        "--quick", action="store_true", help="development run: 20,000 points, 3 bases, 2 repetitions; docs untouched"
    )
    ap.add_argument("--no-write", action="store_true", help="print only; do not touch docs/PERFORMANCE.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.bases, args.repeat, args.no_write = 20_000, 3, 2, True

    from geo_response.roads import fields, isochrones
    from geo_response.study_area import load_study_area

    area = load_study_area(args.osm, data_dir=args.data_dir)
    crs = area.force.projected_crs
    rows: list[tuple] = []  # (step, seconds, baseline seconds or None, ratio text, peak MB, note)
    reps = args.repeat

    net, t_load, peak_load, _ = measure(lambda: area.network)
    boundary, lsoas = area.boundary, area.lsoas
    base_frame = area.bases if args.bases is None else area.bases.head(args.bases)
    n_nodes, n_edges, n_bases = net.number_of_nodes(), net.number_of_edges(), len(base_frame)
    source_nodes = base_frame["node"].to_numpy()
    weight = "travel_time_blue_light"
    label = net.graph.get("network_label")
    print(f"network: {n_nodes:,} nodes, {n_edges:,} edges ({label}); {n_bases} bases", flush=True)
    rows.append(
        (
            "load network (`area.network`)",
            t_load,
            None,
            "",
            peak_load,
            "from the user cache (Parquet/.npy)" if net.graph["build"].get("from_cache") else "built from the OSM file",
        )
    )

    # ---- travel-time field --------------------------------------------------------------------------------
    rg, t_csr, peak_csr, _ = measure(lambda: fresh_copy(net).csr("blue_light"), repeat=reps)
    rows.append(
        (
            "CSR matrix, one speed profile (`net.csr`)",
            t_csr,
            None,
            "",
            peak_csr,
            f"median of {reps} builds; {rg.csr.nnz:,} arcs",
        )
    )
    field_at = len(rows)  # the field rows go here once the networkx side has run
    (seconds, _source), t_field, peak_field, _ = measure(
        lambda: fields.nearest_source_field(rg, source_nodes), repeat=reps
    )
    _, t_first, peak_first, _ = measure(
        lambda: fields.nearest_source_field(fresh_copy(net).csr("blue_light"), source_nodes), repeat=reps
    )

    # ---- snapping -----------------------------------------------------------------------------------------
    index, t_index, peak_index, _ = measure(lambda: net.edge_index(crs))
    rows.append(
        (
            "edge index for snapping (`net.edge_index`, once per network)",
            t_index,
            None,
            "",
            peak_index,
            f"{len(index.u):,} road pieces, {len(index.segments.edge):,} segments <= {snapping.SEGMENT_M:.0f} m",
        )
    )
    points = random_points_in(boundary, args.points, args.seed, crs)
    snapped, t_snap, peak_snap, _ = measure(lambda: snapping.snap_points(net, points, crs=crs, limit_m=1000))
    check = np.random.default_rng(args.seed).choice(len(points), size=min(20_000, len(points)), replace=False)
    pts = shapely.points(snapping._projected_xy(points.iloc[check], crs))
    ref_i, ref_e = index.tree.query_nearest(pts, all_matches=False)
    ref_edge = np.empty(len(check), dtype=np.int64)
    ref_edge[ref_i] = ref_e
    snap_diff = float(
        np.abs(shapely.distance(index.geometry[ref_edge], pts) - snapped["snap_distance_m"].to_numpy()[check]).max()
    )
    too_far = int(snapped["too_far"].sum())
    print(f"snap {len(points):,} points: {t_snap:.2f} s; max diff vs STRtree {snap_diff:.1e} m", flush=True)
    rows.append(
        (
            f"snap {len(points):,} random points in the force area",
            t_snap,
            None,
            "target < 10 s: " + ("met" if t_snap < 10 else "NOT met"),
            peak_snap,
            f"seed {args.seed}; incl. lon/lat -> EPSG:27700; median snap distance "
            f"{snapped['snap_distance_m'].median():.0f} m, {too_far:,} beyond 1 km (flagged); exact: max "
            f"difference from shapely STRtree {snap_diff:.1e} m on {len(check):,} points",
        )
    )
    snapped = points = None  # free the 1M-point frames before the isochrones

    # ---- isochrones ---------------------------------------------------------------------------------------
    # the same settings isochrones() asks for, so the call below reuses these samples
    pad_m = isochrones.BUFFER_M + 4 * isochrones.CELL_M
    samples, t_samples, peak_samples, _ = measure(
        lambda: net.samples(crs, pad_m=pad_m, sample_m=isochrones.SAMPLE_M, cell_m=isochrones.CELL_M)
    )
    rows.append(
        (
            "network samples for isochrones (`net.samples`, once per network)",
            t_samples,
            None,
            "",
            peak_samples,
            f"{len(samples.edge):,} samples every <= {isochrones.SAMPLE_M:.0f} m; grid "
            f"{samples.shape[1]} x {samples.shape[0]} cells of {samples.cell_m:.0f} m",
        )
    )
    iso_at = len(rows)  # the isochrone rows go here once the OSMnx methods have run

    def iso_call(network):
        return isochrones.isochrones(
            network, base_frame, THRESHOLDS, "blue_light", per_base=True, combined=False, lsoas=lsoas, crs=crs
        )

    # one small call first, so the one-off costs of a first call (lazy imports, LSOA projection caches) land
    # on neither measurement; then cold (a fresh network object) and warm (median of 3)
    isochrones.isochrones(net, base_frame.head(1), THRESHOLDS[:1], "blue_light", combined=False, lsoas=lsoas, crs=crs)
    _, t_iso_cold, peak_iso_cold, _ = measure(lambda: iso_call(fresh_copy(net)))
    iso, t_iso, peak_iso, _ = measure(lambda: iso_call(net), repeat=3)

    # the demo case: 2 profiles x (combined + every base) x 4 thresholds on a fresh network object
    def demo():
        fresh = fresh_copy(net)
        return [
            isochrones.isochrones(fresh, base_frame, THRESHOLDS, p, lsoas=lsoas, crs=crs)
            for p in ("blue_light", "normal")
        ]

    demo_frames, t_demo, peak_demo, _ = measure(demo)
    rows.append(
        (
            f"demo case: 2 profiles x ({n_bases} bases + all combined) x {len(THRESHOLDS)} thresholds",
            t_demo,
            None,
            "",
            peak_demo,
            f"{sum(len(f) for f in demo_frames)} polygons; fresh network object "
            "(two CSR builds, one edge index, one set of samples), as in `geo-response demo`",
        )
    )

    # ---- the networkx baselines, last: the networkx graph (millions of Python objects) is not alive while our
    # side runs, so the cyclic garbage collector's passes over it slow only the networkx side, as in real use
    field_rows: list[tuple] = []
    iso_rows: list[tuple] = []
    G, t_to_nx, peak_to_nx, _ = measure(net.to_networkx)
    expected, t_nx, peak_nx, _ = measure(
        lambda: nx.multi_source_dijkstra_path_length(G, set(source_nodes.tolist()), weight=weight), repeat=reps
    )
    ref = np.array([expected.get(n, np.inf) for n in rg.node_ids])
    max_diff = float(np.max(np.abs(seconds - ref)))
    del expected
    print(
        f"field: warm {t_field:.3f} s, first query incl. CSR {t_first:.3f} s, networkx {t_nx:.2f} s, "
        f"max |diff| {max_diff:.2e} s",
        flush=True,
    )
    field_rows.append(
        (
            f"all-bases travel-time field ({n_bases} bases, multi-source), **first query incl. the CSR build**",
            t_first,
            t_nx,
            f"**{t_nx / t_first:,.1f}x**",
            peak_first,
            f"median of {reps} on both sides; a fresh network object each time (`net.csr` + "
            "`fields.nearest_source_field`)",
        )
    )
    field_rows.append(
        (
            f"all-bases travel-time field ({n_bases} bases), warm query (CSR already built)",
            t_field,
            t_nx,
            f"{t_nx / t_field:,.0f}x",
            peak_field,
            f"median of {reps} on both sides; networkx peak {_mb(peak_nx)} MB; max abs difference "
            f"{max_diff:.1e} s over all {n_nodes:,} nodes; unreachable {fields.unreachable_count(seconds)}",
        )
    )
    field_rows.append(
        (
            "networkx graph for the baselines (`net.to_networkx()`)",
            t_to_nx,
            None,
            "",
            peak_to_nx,
            "not charged to networkx above (the old package held this graph after loading)",
        )
    )
    thresholds_s = [t * 60.0 for t in THRESHOLDS]
    hulls, t_hull, peak_hull, _ = measure(lambda: osmnx_example_isochrones(G, source_nodes, thresholds_s, weight))
    fair, t_fair, peak_fair, _ = measure(lambda: osmnx_fair_isochrones(G, source_nodes, thresholds_s, weight), repeat=3)
    hull_diff = max(
        abs(a.area - b.area) for ha, hb in zip(hulls, fair, strict=True) for a, b in zip(ha, hb, strict=True)
    )
    print(
        f"isochrones: {t_iso:.2f} s warm, {t_iso_cold:.2f} s cold; OSMnx example {t_hull:.2f} s, fairer "
        f"{t_fair:.2f} s (hull area diff {hull_diff:.1e} deg2)",
        flush=True,
    )
    label_iso = f"isochrones, {n_bases} bases x {len(THRESHOLDS)} thresholds (blue_light)"
    iso_rows.append(
        (
            f"{label_iso}, cold (fresh network object: CSR, edge index and samples built)",
            t_iso_cold,
            t_fair,
            f"{t_fair / t_iso_cold:,.1f}x vs fairer, {t_hull / t_iso_cold:,.1f}x vs example",
            peak_iso_cold,
            "incl. population; one run (a cold start happens once per process); baseline "
            "seconds = the fairer OSMnx method, median of 3",
        )
    )
    iso_rows.append(
        (
            f"{label_iso}, warm (structures already built)",
            t_iso,
            t_fair,
            f"{t_fair / t_iso:,.1f}x vs fairer, {t_hull / t_iso:,.0f}x vs example",
            peak_iso,
            f"median of 3 on both sides; incl. population; baseline seconds = the fairer OSMnx method "
            f"({t_fair:.1f} s, peak {_mb(peak_fair)} MB); the OSMnx example method took {t_hull:.1f} s (one "
            f"run; peak {_mb(peak_hull)} MB); "
            f"both give the same hulls (max area difference {hull_diff:.0e} deg2)",
        )
    )
    G = None  # free the networkx graph
    gc.collect()
    rows[iso_at:iso_at] = iso_rows
    rows[field_at:field_at] = field_rows

    # what the hulls wrongly include; "far" = land more than the 1 km snap limit from any road reached in time
    combined_iso = demo_frames[0]
    far = isochrones.isochrones(net, base_frame, THRESHOLDS, "blue_light", per_base=False, buffer_m=1000.0, crs=crs)
    far_proj = gpd.GeoSeries(far.geometry.values, crs=4326).to_crs(crs).values
    net_proj = gpd.GeoSeries(combined_iso.geometry.values, crs=4326).to_crs(crs).values
    per_base_net = gpd.GeoSeries(iso.geometry.values, crs=4326).to_crs(crs).values
    area_proj = gpd.GeoSeries([area.area], crs=4326).to_crs(crs).iloc[0]
    wrong_rows = []
    for j, t in enumerate(THRESHOLDS):
        hull_t = gpd.GeoSeries([h[j] for h in hulls], crs=4326).to_crs(crs).values
        union_hull = shapely.union_all(hull_t)
        combined = net_proj[
            (combined_iso["base_id"].to_numpy() == -1) & (combined_iso["threshold_min"].to_numpy() == t)
        ][0]
        mine = per_base_net[iso["threshold_min"].to_numpy() == t]
        per_base_wrong = float(sum(shapely.difference(h, m).area for h, m in zip(hull_t, mine, strict=True))) / 1e6
        wrong_rows.append(
            (
                t,
                union_hull.area / 1e6,
                combined.area / 1e6,
                shapely.difference(union_hull, combined).area / 1e6,
                shapely.difference(union_hull, far_proj[j]).area / 1e6,
                shapely.difference(union_hull, area_proj).area / 1e6,
                per_base_wrong,
            )
        )

    # ---- report -------------------------------------------------------------------------------------------
    lines = [
        "## Routing: travel-time fields, snapping, isochrones — `benchmarks/bench_routing.py`",
        "",
        f"Network: **{n_nodes:,} nodes, {n_edges:,} edges** ({label}), {n_bases} bases "
        f"(amenity=police in the stand-in), speed profile blue_light unless stated. Each baseline was measured in "
        f"the same run. Peak memory: the process's peak resident set during the step (Linux VmHWM, reset before "
        f"each step), so it includes what was already loaded (~{_mb(peak_load)} MB after loading the network, "
        f"imports included; see the memory section for the network alone).",
        "",
        "| step | seconds | baseline seconds | ratio | peak RSS MB | notes |",
        "|---|---:|---:|---|---:|---|",
    ]
    for step, sec, base, ratio, peak, note in rows:
        lines.append(
            f"| {step} | {sec:.3f} | {'' if base is None else f'{base:.2f}'} | {ratio} | {_mb(peak)} | {note} |"
        )
    lines += [
        "",
        "Baselines: field = `networkx.multi_source_dijkstra_path_length` on the same network as a networkx graph "
        "(`net.to_networkx()`) and the same weight, with the same repetitions as our side; the networkx baselines "
        "run after all of our steps, so the graph's millions of Python objects are not alive (and scanned by the "
        "garbage collector) while ours run. The headline is the "
        "first query, which pays for the CSR build networkx does not need; later queries on the same network "
        "(other bases, scenarios) are the warm figure. Isochrones: the *fairer* OSMnx method runs one Dijkstra "
        "per base to the largest threshold (`networkx.single_source_dijkstra_path_length` with `cutoff`, the "
        "search `ego_graph` runs inside, without its subgraph copy) and keeps the nodes within each threshold "
        "before the convex hull; the *example* method is OSMnx's documented one (`networkx.ego_graph(G, base, "
        "radius=t, distance='travel_time_blue_light')` per base and threshold, then the convex hull of the "
        "reached nodes). The two give the same hulls; ours are not hulls (see below), so the ratio compares "
        "time to an answer, not the same answer. "
        f"**Against the fairer baseline the speed gain is small ({t_fair / t_iso:,.1f}x warm, "
        f"{t_fair / t_iso_cold:,.1f}x cold, where the networkx side is not charged for its graph); the "
        f"{t_hull / t_iso:,.0f}x against the example comes from its one search per base and threshold.** The case "
        "for the method is the polygons: the hulls include the land in the table below.",
        "",
        'What the convex hulls wrongly include (km2; "network" = the reachable-network polygons of '
        "`geo_response.roads.isochrones`, roads reached in time buffered by "
        f"{isochrones.BUFFER_M:.0f} m):",
        "",
        "| threshold (min) | union of hulls | network, all bases | hulls outside the network polygon | "
        "hulls more than 1 km from any road reached in time | hulls outside the force area + buffer (sea, "
        "estuaries, no roads) | per-base hulls outside their polygons, summed |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t, hull_a, net_a, outside_net, outside_far, outside_area, per_base_wrong in wrong_rows:
        lines.append(
            f"| {t} | {hull_a:,.0f} | {net_a:,.0f} | {outside_net:,.0f} | {outside_far:,.0f} | "
            f"{outside_area:,.0f} | {per_base_wrong:,.0f} |"
        )
    lines += [
        "",
        f"Isochrone method (`geo_response/roads/isochrones.py`): edges sampled every {isochrones.SAMPLE_M:.0f} m "
        "with their arrival time (partial edges cut at the threshold), earliest time per "
        f"{isochrones.CELL_M:.0f} m grid cell, a minimum filter with a disc of {isochrones.BUFFER_M:.0f} m "
        "(the buffer), then filled contours (contourpy) of the one grid per base at each threshold, each seeing "
        "real times up to threshold + 60 s (so a polygon does not depend on the other thresholds asked for). "
        '"Hulls outside the network polygon" counts land farther than the buffer from any road reached in time: '
        'fields between roads as well as sea and places only reachable later; "more than 1 km" is land beyond the '
        "snap limit of every road reached in time (the same polygons with a 1,000 m buffer), unreachable by any "
        "reading.",
        "",
        machine_line(),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    if not args.no_write:
        write_section("routing", text)
        print(f"\nwrote the routing section of {PERFORMANCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

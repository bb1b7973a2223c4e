"""Benchmark the end-to-end demo (`geo-response demo`, what `make demo` runs) on the bundle.

Runs the demo twice in child processes with a private network cache: first cold (the road network is built
from the OSM file), then warm (the network comes from the cache), and reports the wall time, each step's time
(from ``summary.json``) and each run's peak resident memory (``os.wait4``). The cold run is the baseline the
warm run is compared with. Writes the ``pipeline`` section of docs/PERFORMANCE.md.

The parent imports nothing of geo_response: Linux keeps the parent's resident set at the fork in a child's
``ru_maxrss``, so a heavy parent would inflate the children's peaks.

Usage: ``python benchmarks/bench_pipeline.py [--data-dir DIR] [--quick]`` (``--quick``: the warm demo only,
with the user's network cache; docs untouched)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perfdoc import machine_line, write_section  # noqa: E402


def find_police_uk(data_dir: str | None) -> str:
    """The bundle's police.uk folder, looked up in a child process (keeps this process small)."""
    code = "import sys; from geo_response.datadir import find_file; print(find_file('police_uk', sys.argv[1] or None))"
    out = subprocess.run([sys.executable, "-c", code, data_dir or ""], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def run_cli(args: list[str], out: Path, cache: Path | None, data_dir: str | None) -> dict:
    """Run ``geo-response ARGS --out OUT`` in a child process; wall seconds, peak RSS (MB) and its summary.json."""
    cmd = [sys.executable, "-m", "geo_response", *args, "--out", str(out)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    if cache is not None:
        env["GEO_RESPONSE_CACHE"] = str(cache)
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"geo-response {args[0]} failed (exit {code}):\n{output[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="the data bundle (default: the usual search)")
    parser.add_argument("--quick", action="store_true", help="the warm demo only (user cache); docs untouched")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gr-bench-pipeline-"))
    try:
        if args.quick:
            warm = run_cli(["demo"], work / "warm", None, args.data_dir)
            print(
                json.dumps(
                    {"wall": warm["wall"], "rss_mb": warm["rss_mb"], "timings": warm["summary"]["timings_seconds"]},
                    indent=1,
                )
            )
            return
        cache = work / "cache"
        cold = run_cli(["demo"], work / "cold", cache, args.data_dir)
        warm = run_cli(["demo"], work / "warm", cache, args.data_dir)
        police_uk = find_police_uk(args.data_dir)
        comp = run_cli(
            ["compliance", "--incidents", police_uk, "--calibrate-to", "0.827"],
            work / "compliance",
            cache,
            args.data_dir,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    steps = list(cold["summary"]["timings_seconds"])
    rows = []
    for step in steps:
        c, w = cold["summary"]["timings_seconds"][step], warm["summary"]["timings_seconds"][step]
        ratio = f"{c / w:.1f}x" if w > 0 else ""
        rows.append(f"| {step} | {c:.1f} | {w:.1f} | {ratio} |")
    rows.append(
        f"| **wall clock (process start to exit)** | {cold['wall']:.1f} | {warm['wall']:.1f} | "
        f"{cold['wall'] / warm['wall']:.1f}x |"
    )
    rows.append(f"| peak RSS (MB) | {cold['rss_mb']:,.0f} | {warm['rss_mb']:,.0f} | |")

    s = warm["summary"]
    essex = s["policies"]["essex-2022"]["emergency"]
    text = "\n".join(
        [
            "## Pipeline: the demo end to end — `benchmarks/bench_pipeline.py`",
            "",
            f"`geo-response demo` on the bundle in a child process, twice with a private cache: cold (network built "
            f"from the OSM file) is the baseline, warm (network from the cache) is what `make demo` costs after the "
            f"first run. Network: {s['network']['label']}. Input {s['input']:,} rows: police.uk crimes"
            + (f" and {s['collisions']['input_rows']:,} STATS19 sample rows" if s.get("collisions") else "")
            + " "
            f"({s['accepted']:,} accepted, {s['rejected']:,} rejected with a reason); essex-2022 emergency met "
            f"{essex['all']:.1%} after calibration; {s['hotspots']['hotspots']} emergency-failure hotspots.",
            "",
            "| step | cold seconds | warm seconds | cold / warm |",
            "|---|---:|---:|---|",
            *rows,
            "",
            f"`geo-response compliance --incidents police_uk --calibrate-to 0.827` alone (warm cache; the whole "
            f"2018 bundle, {comp['summary']['input']:,} rows, target under 2 minutes): **{comp['wall']:.1f} s** wall "
            f"clock, peak RSS {comp['rss_mb']:,.0f} MB.",
            "",
            "Peak RSS is the child's maximum resident set (`os.wait4`), i.e. the whole demo with the network, two "
            "policies' compliance runs and the map in memory (imports included, ~260 MB).",
            "",
            machine_line(),
        ]
    )
    print(text)
    write_section("pipeline", text)


if __name__ == "__main__":
    main()

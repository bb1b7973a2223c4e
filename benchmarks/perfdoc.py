"""Write one benchmark's section of docs/PERFORMANCE.md (shared by the benchmark scripts)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"


def write_section(name: str, text: str, path: Path = PERFORMANCE) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` (append it if absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    if path.is_file():
        page = path.read_text(encoding="utf-8")
        if start in page and end in page:
            before, rest = page.split(start, 1)
            page = before + block + rest.split(end, 1)[1]
        else:
            page = page.rstrip() + "\n\n" + block + "\n"
    else:
        page = "# Performance\n\nMeasured figures of the geo-response benchmarks (`make bench`).\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def machine_line(note: str = "") -> str:
    """Where and when a benchmark ran: date (UTC), machine, cores, the load average when it ended, Python.

    The load average is measured, not assumed: above the core count, other jobs shared the machine and timings
    are noisier (memory figures much less so).
    """
    one, five, _ = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    extra = f" {note}" if note else ""
    return (
        f"Machine: measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {cores} "
        f"cores; load average {one:.1f} (1 min) / {five:.1f} (5 min) when it ended{extra}, Python "
        f"{platform.python_version()}."
    )

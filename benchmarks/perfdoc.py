"""Write one benchmark's section of docs/PERFORMANCE.md (shared by the benchmark scripts)."""

from __future__ import annotations

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

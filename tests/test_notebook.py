"""The deployment-planning notebook: stored without outputs, and run top to bottom on the bundle.

The slow test executes ``notebooks/deployment_planning.ipynb`` with nbclient in a kernel that runs this
interpreter, then reads the figures back from the executed cells' outputs (the tables a planner sees) and checks
them: the network is labelled a stand-in, isochrone population grows with time, compliance is calibrated to the
reported rate, the Kelvedon scenario cannot lose population or compliance, the rural hub gains LSOAs, and the
optimiser chooses two sites.
"""

from __future__ import annotations

import json
import re
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from geo_response.maps import external_resources

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "deployment_planning.ipynb"
RESULT_CELLS = (
    "setup",
    "bases",
    "isochrones",
    "compliance",
    "compliance-districts",
    "hotspots",
    "map",
    "scenario-kelvedon",
    "gaps",
    "scenario-thorpe",
    "scenario-table",
    "optimise",
    "siting-report",
    "closures",
    "reading",
    "staffing",
)


class _TableParser(HTMLParser):
    """Rows of the first ``<table>`` in a pandas ``_repr_html_`` (header row, then body rows; index cells kept)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._tables = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._tables += 1
        if self._tables != 1:
            return
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if self._tables != 1:
            return
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_table(html: str) -> list[dict[str, str]]:
    """A DataFrame's HTML as a list of row dicts keyed by column name (the index column is dropped)."""
    parser = _TableParser()
    parser.feed(html)
    header, *body = parser.rows
    columns = header[1:]
    return [dict(zip(columns, row[1:], strict=True)) for row in body]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_stored_notebook_has_no_outputs_and_names_its_result_cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "clear the outputs before committing"
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert "SYNTHETIC stand-in" in first.source and 'net.graph["network_label"]' in first.source
    tags = {t for c in code for t in c.metadata.get("tags", [])}
    assert set(RESULT_CELLS) <= tags
    # the notebook calls the library's public face only: `import geo_response as gr`, no submodule imported
    source = "\n".join(c.source for c in code)
    assert "import geo_response as gr" in source and "from geo_response" not in source
    assert "scipy" not in source and "spopt" not in source and "networkx" not in source


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A ``python3`` kernelspec that runs this interpreter, found first through ``$JUPYTER_PATH``."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (geo-response tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "python3"


@pytest.fixture
def executed(data_dir, venv_kernel, tmp_path, monkeypatch):
    """The notebook executed top to bottom on the bundle (skips when the bundle is absent)."""
    import nbclient
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(venv_kernel).argv[0] == sys.executable
    monkeypatch.setenv("GEO_RESPONSE_DATA", str(data_dir))  # the kernel reads the same bundle as this test
    nb = nbformat.read(NOTEBOOK, as_version=4)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name=venv_kernel, resources={"metadata": {"path": str(run_dir)}}
    ).execute()
    assert list(run_dir.iterdir()) == [], "the notebook should not write files"
    return {tag: cell for cell in nb.cells if cell.cell_type == "code" for tag in cell.metadata.get("tags", [])}


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _data(cell, mime: str) -> str:
    found = [o["data"][mime] for o in cell.outputs if "data" in o and mime in o["data"]]
    assert found, f"cell {cell.metadata['tags']} produced no {mime} output"
    return found[-1]


@pytest.mark.slow
def test_notebook_runs_on_the_bundle_and_reports_real_results(executed, profile):
    # network: the stand-in is named as such
    assert "synthetic stand-in" in _stdout(executed["setup"])
    assert "synthetic stand-in" in _data(executed["setup"], "text/markdown")

    # bases: the 25 stations of the stand-in
    assert len(html_table(_data(executed["bases"], "text/html"))) == 25

    # isochrones: 5/10/15/20 min, population covered grows with time and never exceeds the total
    iso = html_table(_data(executed["isochrones"], "text/html"))
    assert [number(r["minutes"]) for r in iso] == [5, 10, 15, 20]
    pops = [number(r["population_covered"]) for r in iso]
    assert pops == sorted(pops) and pops[0] > 0
    assert all(0 < number(r["pct_population"]) <= 100 for r in iso)

    # compliance: calibrated so emergency met equals the reported rate
    headline = html_table(_data(executed["compliance"], "text/html"))
    emergency_all = next(r for r in headline if r["grade"] == "emergency" and r["urban_rural"] == "all")
    assert number(emergency_all["pct_met"]) == pytest.approx(100 * profile.reported["emergency_met"], abs=0.05)
    accepted = re.search(r"([\d,]+) rows read: ([\d,]+) accepted, ([\d,]+) rejected", _stdout(executed["compliance"]))
    assert accepted and number(accepted[1]) == number(accepted[2]) + number(accepted[3])
    districts = html_table(_data(executed["compliance-districts"], "text/html"))
    assert len(districts) == 14
    rates = [number(r["pct_met"]) for r in districts]
    assert rates == sorted(rates)

    # hotspots: the count printed matches the table, each ranked within its setting
    count = int(re.search(r"(\d+) significant hotspot", _stdout(executed["hotspots"]))[1])
    spots = html_table(_data(executed["hotspots"], "text/html"))
    assert len(spots) == count
    assert all(
        r["urban_rural"] in ("urban", "rural") and number(r["failure_rate"]) > number(r["force_failure_rate"])
        for r in spots
    )

    # map: the whole offline page in a sandboxed frame (Leaflet inlined: renders with no CDN, untrusted notebook)
    html = _data(executed["map"], "text/html")
    assert html.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in html
    assert "leaflet" in html.lower() and "synthetic stand-in" in html and "MODELLED" in html
    page = unescape(html.split('srcdoc="', 1)[1].split('" sandbox=', 1)[0])
    assert "L.version" in page or "leafletjs" in page.lower()
    assert external_resources(page) == []

    # scenarios: Kelvedon cannot lose anyone (a base is only added; same seed in both runs), the rural hub gains
    scenario = {r["scenario"]: r for r in html_table(_data(executed["scenario-table"], "text/html"))}
    assert set(scenario) == {"A: Kelvedon (A12)", "B: Thorpe-le-Soken rural hub"}
    kelvedon, hub = scenario["A: Kelvedon (A12)"], scenario["B: Thorpe-le-Soken rural hub"]
    assert kelvedon["bases added"] == "Kelvedon (A12)"
    assert number(kelvedon["population gained"]) >= 0 and number(kelvedon["population lost"]) == 0
    assert number(kelvedon["change in mean travel (min)"]) <= 0
    assert number(kelvedon["change in % emergency met, all"]) >= 0
    assert number(hub["LSOAs gained"]) >= 1 and number(hub["population gained"]) > 0
    assert number(hub["population lost"]) == 0 and number(hub["change in % emergency met, all"]) > 0
    assert "Added: Kelvedon (A12)" in _data(executed["scenario-kelvedon"], "text/markdown")

    # optimisation: two distinct sites, each adding population within target
    sites = html_table(_data(executed["optimise"], "text/html"))
    assert len(sites) == 2 and len({r["name"] for r in sites}) == 2
    assert [number(r["order"]) for r in sites] == [1, 2]
    assert all(number(r["gain_population"]) > 0 for r in sites)
    report = _data(executed["siting-report"], "text/markdown")
    assert "Optimal sites (spopt MCLP, CBC)" in report and sites[0]["name"] in report

    # closures: least loss first
    closures = html_table(_data(executed["closures"], "text/html"))
    losses = [number(r["loss"]) for r in closures]
    assert len(closures) == 10 and losses == sorted(losses)

    # reading: the optimal pair's gain is the sum of the site gains, and is reported
    gain = re.search(r"optimal two sites:\s+\+([\d,]+) people", _stdout(executed["reading"]))
    assert gain and number(gain[1]) == pytest.approx(sum(number(r["gain_population"]) for r in sites))
    assert re.search(r"Notebook ran in \d+ s", _stdout(executed["timing"]))

    # staffing vs bases: the three options, force-wide and in Tendring, each change inside its interval
    staffing = html_table(_data(executed["staffing"], "text/html"))
    assert {(r["scenario"], r["district"]) for r in staffing} == {
        (s, d) for s in ("move_to_Clacton Police Station", "new_base", "post_night_units") for d in ("all", "Tendring")
    }
    for r in staffing:
        change = number(r["change_pp"])
        assert number(r["change_low"]) <= change <= number(r["change_high"])
        assert change == pytest.approx(number(r["scenario_pct"]) - number(r["current_pct"]), abs=0.02)
    assert "Moving two night units from" in _stdout(executed["staffing"])

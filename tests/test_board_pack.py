"""The board pack: tidy CSVs and board_pack.xlsx read back."""

from __future__ import annotations

import pandas as pd
import pytest
from test_reporting import KPIS, make_corridor, report_inputs

from geo_response.reporting import board_pack

openpyxl = pytest.importorskip("openpyxl")


@pytest.mark.parametrize("observed", [True, False])
def test_board_pack_round_trip(tmp_path, observed):
    inputs = report_inputs(observed)
    long = inputs["long"]
    summary = dict(inputs["summary"], grades_sampled=True)
    hot = inputs["hotspots"].copy()
    hot.loc[hot.index[0], "name"] = '=HYPERLINK("http://x")'
    paths = board_pack.write_board_pack(tmp_path, long, summary, kpis=KPIS, corridor=make_corridor(), hotspots=hot)
    assert set(paths) == {
        "compliance_detail",
        "compliance_totals",
        "kpi_scorecard",
        "kpi_monthly",
        "urban_rural",
        "districts",
        "corridor",
        "hotspots",
        "board_pack",
    }
    detail = pd.read_csv(paths["compliance_detail"])
    totals = pd.read_csv(paths["compliance_totals"])
    assert not detail.isin(["all", "Total"]).any().any()
    tol = 0 if observed else 0.05 * len(detail)
    for col in ("met", "not_met", "judged"):
        assert abs(detail[col].sum() - totals[col].sum()) <= tol
        by_grade = detail.groupby("grade")[col].sum()
        for g, v in totals.set_index("grade")[col].items():
            assert abs(by_grade[g] - v) <= tol
    assert totals["judged"].sum() == pytest.approx(3000, abs=tol)

    wb = openpyxl.load_workbook(paths["board_pack"])
    assert wb.sheetnames == [
        "README",
        "compliance_detail",
        "compliance_totals",
        "kpi_scorecard",
        "kpi_monthly",
        "urban_rural",
        "districts",
        "corridor",
        "hotspots",
    ]
    ws = wb["kpi_scorecard"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["kpi", "threshold"]
    assert ws.cell(row=2, column=1).value == "Emergency attendance"
    assert ws.cell(row=2, column=2).value == 0.9 and ws.cell(row=2, column=2).number_format == "0.0%"
    rag = ws.cell(row=2, column=header.index("period_rag") + 1)
    assert rag.value in ("GREEN", "AMBER", "RED") and rag.fill.fgColor.rgb.endswith(("009E73", "E69F00", "D55E00"))
    sheet = wb["compliance_detail"]
    met_col = [c.value for c in sheet[1]].index("met") + 1
    xl_met = sum(r[0].value for r in sheet.iter_rows(min_row=2, min_col=met_col, max_col=met_col))
    assert xl_met == pytest.approx(detail["met"].sum())
    names = [c.value for c in wb["hotspots"]["C"]] + [c.value for row in wb["hotspots"].iter_rows() for c in row]
    assert '\'=HYPERLINK("http://x")' in names
    assert ("MODELLED" if not observed else "OBSERVED") in wb["README"]["A2"].value


def test_write_reports_bundle(tmp_path):
    import pyogrio

    from geo_response.reporting.bundle import write_reports

    inputs = report_inputs(False)
    paths = write_reports(
        tmp_path,
        inputs["long"],
        inputs["summary"],
        kpis=KPIS,
        incidents=inputs["incidents"],
        corridor=make_corridor(),
        hotspots=inputs["hotspots"],
        gi=inputs["gi"],
        roads=inputs["roads"],
        places=inputs["places"],
        gis_layers={"hotspots": inputs["hotspots"], "gi_star": inputs["gi"], "isochrones": None},
        appendix=["<h2>Appendix</h2>"],
    )
    assert paths["report_html"] == tmp_path / "report.html" and paths["board_pack"] == tmp_path / "board_pack.xlsx"
    assert (tmp_path / "board_pack" / "compliance_detail.csv").is_file()
    assert "<h2>Appendix</h2>" in paths["report_html"].read_text()
    assert [str(n) for n in pyogrio.list_layers(paths["gis"])[:, 0]] == ["hotspots", "gi_star"]
    assert openpyxl.load_workbook(paths["board_pack"]).sheetnames[-1] == "hotspots"

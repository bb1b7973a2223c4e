"""``--when`` on ``plan compare`` / ``plan optimise``, and isochrones at two times of the week (tiny town)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo_response.roads import routing

TINY_TOWN = Path(__file__).parent / "fixtures" / "osm" / "tiny_town.osm"


def run_cli(args: list[str]):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    return CliRunner().invoke(get_app(), args)


def test_plan_compare_and_optimise_pass_when_to_the_routing(data_dir, tmp_path, monkeypatch):
    seen: list = []
    points, matrix = routing.travel_times_to_points, routing.travel_matrix

    def spy_points(*args, **kw):
        seen.append(("points", kw.get("when")))
        return points(*args, **kw)

    def spy_matrix(*args, **kw):
        seen.append(("matrix", kw.get("when")))
        return matrix(*args, **kw)

    monkeypatch.setattr(routing, "travel_times_to_points", spy_points)
    monkeypatch.setattr(routing, "travel_matrix", spy_matrix)
    scenario = tmp_path / "s.csv"
    scenario.write_text("action,name,latitude,longitude\nadd,North End,51.735,0.470\n", encoding="utf-8")
    r = run_cli(
        [
            "plan",
            "compare",
            "--osm",
            str(TINY_TOWN),
            "--scenario",
            str(scenario),
            "--out",
            str(tmp_path / "cmp"),
            "--data-dir",
            str(data_dir),
            "--online",
            "--no-incidents",
            "--when",
            "08:00 weekday",
        ]
    )
    assert r.exit_code == 0, r.output
    assert seen and all(w == "08:00 weekday" for kind, w in seen if kind == "points")
    assert json.loads((tmp_path / "cmp" / "summary.json").read_text())["when"] == "08:00 weekday"
    seen.clear()
    cands = tmp_path / "c.csv"
    cands.write_text("name,latitude,longitude\nNorth,51.735,0.470\nEast,51.734,0.472\n", encoding="utf-8")
    r = run_cli(
        [
            "plan",
            "optimise",
            "--osm",
            str(TINY_TOWN),
            "--add",
            "1",
            "--candidates",
            str(cands),
            "--out",
            str(tmp_path / "opt"),
            "--data-dir",
            str(data_dir),
            "--when",
            "Sat 03:00",
        ]
    )
    assert r.exit_code == 0, r.output
    assert [w for kind, w in seen if kind == "matrix"] == ["Sat 03:00", "Sat 03:00"]
    assert json.loads((tmp_path / "opt" / "summary.json").read_text())["when"] == "Sat 03:00"


def test_isochrones_at_the_morning_peak_and_at_night(data_dir):
    from geo_response.study_area import load_study_area
    from geo_response.workflows.maps import isochrones_at

    area = load_study_area(TINY_TOWN, data_dir=data_dir)
    peak, night = isochrones_at(area, thresholds_min=(1, 2))
    assert peak["when"].eq("08:00 weekday").all() and night["when"].eq("03:00 weekday").all()
    assert peak.crs.to_epsg() == 4326 and peak["base"].eq("all bases").all()
    assert peak.attrs["when"] != night.attrs["when"] and peak["profile"].eq("normal").all()
    # normal speeds x 0.90 at 08:00 on a weekday and x 1.10 at night (data/essex.toml): the peak reaches less
    for t in (1, 2):
        a = peak.loc[peak.threshold_min == t, "area_km2"].item()
        b = night.loc[night.threshold_min == t, "area_km2"].item()
        assert 0 < a < b
    with pytest.raises(Exception, match="unknown speed profile"):
        isochrones_at(area, speed="walking")

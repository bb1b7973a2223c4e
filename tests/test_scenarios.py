"""Scenario files (CSV and TOML) and applying them to bases, with errors that name the change."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo_response.planning.scenarios import (
    ScenarioError,
    apply_scenario,
    moved_from,
    read_scenario,
    removed_bases,
    scenario_table,
)

AREA = box(0.0, 51.5, 1.3, 52.1)  # lon/lat box standing in for the force area


@pytest.fixture
def bases() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "base_id": [0, 1, 2],
            "name": ["Chelmsford", "Colchester", "Harlow"],
            "type": ["police"] * 3,
            "units": [3, 2, 1],
            "outside_area": [False] * 3,
        },
        geometry=[Point(0.47, 51.73), Point(0.90, 51.89), Point(0.11, 51.77)],
        crs=4326,
    )


CSV = """action,name,latitude,longitude,units,type
add,Dunmow,51.872,0.365,2,police station
remove,Harlow,,,,
move,Colchester,51.88,0.95,,
set_units,Chelmsford,,,5,
"""

TOML = """
name = "test scenario"

[[change]]
action = "add"
name = "Dunmow"
latitude = 51.872
longitude = 0.365
units = 2
type = "police station"

[[change]]
action = "remove"
name = "Harlow"

[[change]]
action = "move"
name = "Colchester"
latitude = 51.88
longitude = 0.95

[[change]]
action = "set_units"
name = "Chelmsford"
units = 5
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def check_applied(out: gpd.GeoDataFrame) -> None:
    assert out["name"].tolist() == ["Chelmsford", "Colchester", "Dunmow"]
    assert out["base_id"].tolist() == [0, 1, 2]
    assert out["units"].tolist() == [5, 2, 2]
    assert out["change"].tolist() == ["units", "moved", "added"]
    assert (out.geometry.iloc[1].x, out.geometry.iloc[1].y) == (0.95, 51.88)
    assert (out.geometry.iloc[2].x, out.geometry.iloc[2].y) == (0.365, 51.872)
    assert out["type"].iloc[2] == "police station"
    assert out.crs.to_epsg() == 4326


def test_csv_scenario_adds_removes_moves_and_sets_units(tmp_path, bases):
    table = read_scenario(write(tmp_path, "s.csv", CSV))
    assert table["change"].tolist() == [1, 2, 3, 4]
    out = apply_scenario(bases, table, area=AREA)
    check_applied(out)
    assert removed_bases(bases, out)["name"].tolist() == ["Harlow"]
    assert out["current_base_id"].tolist() == [0, 1, -1]
    assert moved_from(bases, out)["name"].tolist() == ["Colchester"]
    assert (moved_from(bases, out).geometry.iloc[0].x, moved_from(bases, out).geometry.iloc[0].y) == (
        bases.geometry.iloc[1].x,
        bases.geometry.iloc[1].y,
    )
    assert [c["action"] for c in out.attrs["scenario"]] == ["add", "remove", "move", "set_units"]
    # the input is not modified
    assert bases["name"].tolist() == ["Chelmsford", "Colchester", "Harlow"]


def test_toml_scenario_gives_the_same_bases(tmp_path, bases):
    out = apply_scenario(bases, read_scenario(write(tmp_path, "s.toml", TOML)), area=AREA)
    check_applied(out)


def test_easting_northing_and_later_changes_to_an_added_base(bases):
    table = scenario_table(
        [
            {"action": "add", "name": "Witham", "easting": 582000, "northing": 214500},
            {"action": "set_units", "name": "Witham", "units": 4},
        ]
    )
    out = apply_scenario(bases, table, area=AREA)
    witham = out[out["name"] == "Witham"].iloc[0]
    back = gpd.GeoSeries([witham.geometry], crs=4326).to_crs(27700).iloc[0]
    assert back.x == pytest.approx(582000, abs=0.01) and back.y == pytest.approx(214500, abs=0.01)
    assert witham["units"] == 4 and witham["change"] == "added"


def test_boundary_flags_added_bases_outside_the_force_but_inside_the_area(bases):
    boundary = box(0.0, 51.5, 0.5, 52.1)
    out = apply_scenario(
        bases,
        scenario_table([{"action": "add", "name": "East", "latitude": 51.8, "longitude": 0.9}]),
        area=AREA,
        boundary=boundary,
    )
    assert out.loc[out["name"] == "East", "outside_area"].item() is True


@pytest.mark.parametrize(
    "rows, match",
    [
        (
            [{"action": "remove", "name": "Colchster"}],
            r"change 1 \(remove 'Colchster'\).*did you mean \['Colchester'\]",
        ),
        ([{"action": "move", "name": "Nowhere", "latitude": 51.8, "longitude": 0.5}], "no base named 'Nowhere'"),
        ([{"action": "add", "name": "Harlow", "latitude": 51.8, "longitude": 0.5}], "already exists"),
        ([{"action": "add", "name": "Sea", "latitude": 51.8, "longitude": 2.5}], r"change 1 .*outside the force area"),
        ([{"action": "add", "name": "Swapped", "latitude": 0.5, "longitude": 51.8}], "outside the force area"),
        ([{"action": "add", "name": "Bad", "latitude": 95, "longitude": 0.5}], "impossible"),
        ([{"action": "add", "name": "NoPlace"}], "give latitude and longitude"),
        ([{"action": "add", "name": "X", "latitude": "abc", "longitude": 0.5}], "'abc' is not a number"),
        ([{"action": "close", "name": "Harlow"}], "action must be one of"),
        ([{"action": "set_units", "name": "Harlow"}], "give 'units'"),
        ([{"action": "set_units", "name": "Harlow", "units": 0}], "whole number >= 1"),
        ([{"action": "set_units", "name": "Harlow", "units": 1.5}], "whole number >= 1"),
        ([{"action": "remove", "name": ""}], "needs the base's 'name'"),
        ([{"action": "remove", "name": n} for n in ("Harlow", "Chelmsford", "Colchester")], "removes every base"),
        (
            [{"action": "remove", "name": "Harlow"}, {"action": "remove", "name": "Harlow"}],
            r"change 2 \(remove 'Harlow'\): there is no base named 'Harlow'",
        ),
    ],
)
def test_bad_changes_raise_naming_the_change(bases, rows, match):
    with pytest.raises(ScenarioError, match=match):
        apply_scenario(bases, scenario_table(rows), area=AREA)


def test_unknown_fields_and_bad_files(tmp_path):
    with pytest.raises(ScenarioError, match=r"unknown field\(s\) \['colour'\]"):
        scenario_table([{"action": "add", "name": "A", "colour": "red"}])
    with pytest.raises(ScenarioError, match="no changes"):
        read_scenario(write(tmp_path, "empty.toml", 'name = "nothing"\n'))
    with pytest.raises(ScenarioError, match="must be .csv or .toml"):
        read_scenario(write(tmp_path, "s.json", "{}"))
    with pytest.raises(ScenarioError, match="not valid TOML"):
        read_scenario(write(tmp_path, "bad.toml", "[[change]\n"))
    with pytest.raises(ScenarioError, match="does not exist"):
        read_scenario(tmp_path / "missing.csv")
    with pytest.raises(ScenarioError, match="no changes"):
        read_scenario(write(tmp_path, "header.csv", "action,name\n"))


def test_csv_column_names_are_case_insensitive(tmp_path, bases):
    table = read_scenario(write(tmp_path, "s.csv", "Action,Name,Units\nSET_UNITS, Harlow ,4\n"))
    out = apply_scenario(bases, table)
    assert out.loc[out["name"] == "Harlow", "units"].item() == 4
    assert isinstance(table, pd.DataFrame) and table.attrs["source"].endswith("s.csv")


def test_removing_a_base_and_adding_another_under_its_name_is_still_a_removal(bases):
    out = apply_scenario(
        bases,
        scenario_table(
            [
                {"action": "remove", "name": "Harlow"},
                {"action": "add", "name": "Harlow", "latitude": 51.872, "longitude": 0.365},
            ]
        ),
        area=AREA,
    )
    assert out["name"].tolist() == ["Chelmsford", "Colchester", "Harlow"]
    assert out["change"].tolist() == ["", "", "added"]
    assert removed_bases(bases, out)["name"].tolist() == ["Harlow"]


def test_a_change_to_an_ambiguous_name_is_refused(bases):
    twins = bases.copy()
    twins["name"] = ["Police Station", "Police Station", "Harlow"]
    with pytest.raises(ScenarioError, match="2 bases are named 'Police Station'; give them distinct names"):
        apply_scenario(twins, scenario_table([{"action": "remove", "name": "Police Station"}]), area=AREA)
    # a change to another base is fine
    out = apply_scenario(twins, scenario_table([{"action": "remove", "name": "Harlow"}]), area=AREA)
    assert out["current_base_id"].tolist() == [0, 1]

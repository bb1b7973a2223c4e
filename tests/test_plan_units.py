"""Planning with units: scenario base names are checked before the road network is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_response import study_area
from geo_response.errors import ScenarioError

TINY_TOWN = Path(__file__).parent / "fixtures" / "osm" / "tiny_town.osm"


@pytest.fixture
def no_network(monkeypatch):
    """Make any road-network load fail loudly, so a test proves the network was never needed."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the road network was loaded")

    monkeypatch.setattr(study_area.network_module, "load_network", refuse)


def test_misspelt_base_is_caught_before_the_network(data_dir, tmp_path, no_network):
    from geo_response.workflows.plan import check_scenario, run_compare

    scenario = tmp_path / "s.csv"
    scenario.write_text("action,name,units\nset_units,Tiny Town Police Statoin,2\n", encoding="utf-8")
    area = study_area.load_study_area(TINY_TOWN, data_dir=data_dir)
    with pytest.raises(ScenarioError, match=r"did you mean \['Tiny Town Police Station'\]"):
        check_scenario(area, scenario)
    with pytest.raises(ScenarioError, match="Statoin"):
        run_compare(area, scenario, tmp_path / "out")
    assert area._network is None
    assert not (tmp_path / "out").exists()
    # the right name passes the check, still without a network
    scenario.write_text("action,name,units\nset_units,Tiny Town Police Station,2\n", encoding="utf-8")
    table = check_scenario(area, scenario)
    assert list(table["name"]) == ["Tiny Town Police Station"] and area._network is None


def test_cli_misspelt_base_exits_2_without_loading_the_network(data_dir, tmp_path, no_network):
    from typer.testing import CliRunner

    from geo_response.cli import get_app

    scenario = tmp_path / "s.toml"
    scenario.write_text('[[change]]\naction = "remove"\nname = "Tiny Twn Police Station"\n', encoding="utf-8")
    args = ["plan", "compare", "--osm", str(TINY_TOWN), "--scenario", str(scenario), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(get_app(), [*args, "--data-dir", str(data_dir), "--no-incidents"])
    assert r.exit_code == 2, r.output
    assert "did you mean ['Tiny Town Police Station']" in r.output
    assert "the road network was loaded" not in r.output

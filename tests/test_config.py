"""The force profile: the embedded Essex values and validation of bad ones."""

from __future__ import annotations

import tomllib

import pytest

from geo_response import config
from geo_response.errors import ConfigError


def test_essex_policies(profile):
    essex = profile.policy("essex-2022")
    assert [(g.code, g.target_minutes) for g in essex.grades] == [
        ("1", 15.0),
        ("2", 20.0),
        ("3", 60.0),
        ("4", 2880.0),
        ("5", None),
        ("6", None),
    ]
    assert essex.grade("1").setting == "urban" and essex.grade("2").setting == "rural"
    assert essex.grade("1").blue_lights and not essex.grade("3").blue_lights  # priority: normal traffic
    assert [g.attended for g in essex.grades] == [True, True, True, True, False, False]
    ncmg = profile.policy("ncmg")
    assert [(g.category, g.target_minutes) for g in ncmg.grades[:4]] == [
        ("emergency", 20.0),
        ("urgent", 60.0),
        ("priority", 480.0),
        ("scheduled", 1440.0),
    ]
    assert {k.threshold for k in profile.kpis} == {0.90, 0.84}
    assert profile.corridors[0].ref == "A12" and profile.corridors[0].from_junction == "M25 J28"


def test_unknown_policy_names_the_known_ones(profile):
    with pytest.raises(ConfigError, match=r"essex-2022.*ncmg"):
        profile.policy("met-2019")


def _raw():
    return tomllib.loads(config.default_profile_path().read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["policies"]["essex-2022"]["grades"][0].pop("target_minutes"), "no target_minutes"),
        (lambda r: r["policies"]["essex-2022"]["grades"][0].update(target_minutes=-5), "must be > 0"),
        (lambda r: r["policies"]["essex-2022"]["grades"][0].update(setting="suburban"), "setting must be"),
        (lambda r: r["policies"]["essex-2022"]["grades"][1].update(code="1"), "repeats a grade code"),
        (lambda r: r["policies"]["essex-2022"]["grades"][0].update(speed="warp"), "speed profile 'warp'"),
        (lambda r: r["policies"]["essex-2022"]["grades"][0].update(profile="blue_light"), "both 'speed' and its old"),
        (lambda r: r["kpis"][0].update(threshold=90), "between 0 and 1"),
        (lambda r: r["kpis"][0].update(categories=["urgent"]), "not categories of"),
        (lambda r: r["speeds"]["profiles"]["blue_light"]["urban_factor"].update(bus=1.2), "not a road class"),
        (lambda r: r["speeds"]["profiles"].pop("free_flow"), "must define 'free_flow'"),
        (lambda r: r["response_model"].update(dispatch_p90_s=10), "dispatch_p90_s must be >="),
        (lambda r: r["grade_mix"]["counts"].pop("default"), "'default' entry"),
        (lambda r: r.pop("speeds"), "missing 'speeds'"),
        # typos are errors, not silently ignored keys (a lost max_kph table would lift every speed cap)
        (
            lambda r: r["speeds"]["profiles"]["blue_light"].update(
                max_kmh=r["speeds"]["profiles"]["blue_light"].pop("max_kph")
            ),
            r"\[speeds.profiles.blue_light\] has unknown key\(s\) 'max_kmh' \(did you mean 'max_kph'\?\)",
        ),
        (
            lambda r: r["policies"]["essex-2022"]["grades"][0].update(atended=False),
            "'atended' \\(did you mean 'attended'",
        ),
        (lambda r: r.update(corridor=[]), "top level\\] has unknown key\\(s\\) 'corridor' \\(did you mean 'corridors'"),
        # types: a string where a boolean, number or whole number belongs
        (lambda r: r["policies"]["essex-2022"]["grades"][4].update(attended="no"), "attended must be true or false"),
        (
            lambda r: r["corridors"][0].update(from_lat="north"),
            r"corridors\[0\].from_lat must be a number, got 'north'",
        ),
        (
            lambda r: r["speeds"]["profiles"]["normal"]["time_of_day"][0].update(start_hour="7am"),
            "start_hour must be a whole number",
        ),
        (lambda r: r["response_model"].update(seed="abc"), "response_model.seed must be a whole number"),
        (lambda r: r["grade_mix"].update(seed=1.5), "grade_mix.seed must be a whole number"),
    ],
)
def test_bad_values_are_reported(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ConfigError, match=message):
        config.parse_profile(raw)


def test_old_profile_key_of_a_grade_is_read_with_a_warning():
    raw = _raw()
    grade = raw["policies"]["essex-2022"]["grades"][0]
    grade["profile"] = grade.pop("speed")
    with pytest.warns(DeprecationWarning, match="old name of 'speed'"):
        prof = config.parse_profile(raw)
    assert prof.policy("essex-2022").grade("1").speed == "blue_light"
    assert config.load_profile().policy("essex-2022").grade("3").speed == "normal"


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load_profile(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a folder, not a TOML file"):
        config.load_profile(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[force\nname = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load_profile(bad)

"""Grades, targets and sampled grades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo_response import config
from geo_response.incidents import grading
from geo_response.incidents.grading import GradingError


@pytest.fixture(scope="module")
def profile():
    return config.load_profile()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", "1"),
        (2, "2"),
        ("2.0", "2"),
        ("Grade 3", "3"),
        ("G4", "4"),
        ("emergency", "emergency"),
        ("EMERGENCY", "emergency"),
        ("Priority", "priority"),
        ("routine", "routine"),
        ("urgent", "priority"),
        ("Immediate", "emergency"),
        ("Emergency (rural)", "2"),
        ("resolution without deployment", "resolution_without_deployment"),
        ("RWD", "resolution_without_deployment"),
        ("appointment", "appointment"),
        ("7", None),
        ("purple", None),
        ("", None),
        (None, None),
        ("scheduled", None),
    ],
)
def test_normalise_grade_essex(profile, value, expected):
    assert grading.normalise_grade(value, profile.policy("essex-2022")) == expected


def test_normalise_grade_ncmg(profile):
    ncmg = profile.policy("ncmg")
    assert grading.normalise_grade("urgent", ncmg) == "urgent"
    assert grading.normalise_grade("scheduled", ncmg) == "scheduled"
    assert grading.normalise_grade("routine", ncmg) is None


def test_targets_by_grade_and_setting(profile):
    pol = profile.policy("essex-2022")
    inc = pd.DataFrame(
        {
            "grade": ["emergency", "emergency", "1", "2", "priority", "routine", "5", "appointment"],
            "urban_rural": ["urban", "rural", "rural", "rural", "urban", "rural", "urban", "urban"],
        }
    )
    out = grading.assign_targets(inc, pol)
    assert out["grade"].tolist() == ["1", "2", "1", "2", "3", "4", "5", "6"]
    assert out["target_minutes"].tolist()[:6] == [15.0, 20.0, 15.0, 20.0, 60.0, 2880.0]
    assert out["target_minutes"].iloc[6:].isna().all()
    assert out["attended"].tolist() == [True] * 6 + [False] * 2
    assert out["speed_profile"].tolist()[:6] == ["blue_light"] * 4 + ["normal"] * 2
    # explicit grade 1 at a rural location: kept (15 min), flagged
    assert out["grade_flag"].tolist() == [None, None, "grade_setting_mismatch", None, None, None, None, None]
    w = grading.grade_warnings(out.assign(row_number=range(1, 9)))
    assert w["row_number"].tolist() == [3] and w["reason"].tolist() == ["grade_setting_mismatch"]


def test_ncmg_targets(profile):
    out = grading.assign_targets(
        pd.DataFrame({"grade": ["emergency", "urgent", "priority", "scheduled"], "urban_rural": ["rural"] * 4}),
        profile.policy("ncmg"),
    )
    assert out["target_minutes"].tolist() == [20.0, 60.0, 480.0, 1440.0]


def test_missing_grades_raise(profile):
    with pytest.raises(GradingError, match="sample_grades"):
        grading.assign_targets(pd.DataFrame({"grade": [None]}), profile.policy("essex-2022"))
    with pytest.raises(GradingError, match="purple"):
        grading.assign_targets(pd.DataFrame({"grade": ["purple"]}), profile.policy("essex-2022"))


def test_sampled_grades_are_seeded_and_follow_the_mix(profile):
    pol = profile.policy("essex-2022")
    n = 40000
    inc = pd.DataFrame(
        {"category": ["Robbery"] * n + ["Shoplifting"] * n + ["burglary"] * 10, "grade": [None] * (2 * n) + ["2"] * 10}
    )
    a = grading.sample_grades(inc, profile, pol, seed=7)
    b = grading.sample_grades(inc, profile, pol, seed=7)
    c = grading.sample_grades(inc, profile, pol, seed=8)
    assert a["grade"].tolist() == b["grade"].tolist()
    assert a["grade"].tolist() != c["grade"].tolist()
    assert a["grade_sampled"].sum() == 2 * n and (a["grade"].iloc[-10:] == "2").all()
    robbery = a["grade"].iloc[:n].value_counts(normalize=True)
    # Robbery: 395 / 197 / 64 of 656
    np.testing.assert_allclose(
        [robbery["emergency"], robbery["priority"], robbery["routine"]], [395 / 656, 197 / 656, 64 / 656], atol=0.01
    )
    other = a["grade"].iloc[n : 2 * n].value_counts(normalize=True)  # default 1 / 4 / 5
    np.testing.assert_allclose([other["emergency"], other["priority"], other["routine"]], [0.1, 0.4, 0.5], atol=0.01)


def test_sampled_families_map_to_policy_categories(profile):
    assert grading.mix_categories(profile.policy("essex-2022")) == ("emergency", "priority", "routine")
    assert grading.mix_categories(profile.policy("ncmg")) == ("emergency", "urgent", "priority")
    inc = pd.DataFrame({"category": ["Robbery"] * 50})
    out = grading.sample_grades(inc, profile, profile.policy("ncmg"), seed=1)
    assert set(out["grade"]) <= {"emergency", "urgent", "priority"}


def test_published_figures_mapping():
    counts = grading.published_mix_counts()
    assert counts["Burglary"] == (577, 1391, 947)
    assert counts["Robbery"] == (395, 197, 64)
    assert counts["Violence and sexual offences"] == (165 + 391 + 5844, 429 + 759 + 1473, 255 + 665 + 762)


def test_profile_mix_matches_published_figures(profile):
    published = grading.published_mix_counts()
    for crime_type, counts in published.items():
        assert tuple(int(c) for c in profile.grade_mix_counts[crime_type]) == counts, crime_type

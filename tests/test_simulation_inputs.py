"""Roster, demand, the [simulation] profile table, replications through Dask and calibration."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from geo_response import config
from geo_response.errors import ConfigError, SimulationError
from geo_response.simulation import demand, roster
from geo_response.simulation.calibration import calibrate_job_scale
from geo_response.simulation.replications import confidence_intervals, run_replications

BASES = ["Colchester", "Chelmsford", "Southend", "Clacton"]


def test_roster_csv_overnight_all_day_and_days(tmp_path):
    p = tmp_path / "roster.csv"
    p.write_text(
        "base,units,start,end,days\n"
        "Colchester,2,22:00,07:00,\n"
        "Chelmsford,1,00:00,24:00,Mon-Fri\n"
        "Southend,1,7:00,15:00,Sat\n"
        "Clacton,x,07:00,15:00,\n"
        "Clacton,1,25:00,15:00,\n"
        "Clacton,1,07:00,15:00,Funday\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="line 5 skipped: units 'x'"):
        lines, issues = roster.read_roster(p)
    assert [i["line"] for i in issues] == [5, 6, 7]
    assert "outside 00:00-24:00" in issues[1]["reason"] and "Mon-Fri" in issues[2]["reason"]
    assert [(ln.start_min, ln.end_min) for ln in lines] == [(1320, 1860), (0, 1440), (420, 900)]
    assert lines[1].days == (0, 1, 2, 3, 4) and lines[2].days == (5,)
    with pytest.warns(UserWarning, match="no unit on duty"):
        r = roster.build_units(lines, BASES, horizon_days=7, start_weekday=0)
    assert r.n_units == 4 and r.unit_post.tolist() == [0, 0, 1, 2]
    u0 = r.shift_unit == 0
    # the night shift from the Sunday before day 0 covers 00:00-07:00 of day 0
    assert r.shift_start_s[u0][0] == 0 and r.shift_end_s[u0][0] == 7 * 3600
    assert r.shift_start_s[u0][1] == 22 * 3600 and r.shift_end_s[u0][1] == 31 * 3600
    assert (r.shift_unit == 2).sum() == 5  # Chelmsford all day, Mon-Fri
    assert r.shift_start_s[r.shift_unit == 3].tolist() == [5 * 86400 + 7 * 3600]


def test_roster_unknown_base_names_nearest():
    lines, _ = roster.parse_rows([{"base": "Colchster", "units": 1, "start": "07:00", "end": "15:00"}])
    with pytest.raises(SimulationError, match="unknown base 'Colchster'; nearest names: Colchester"):
        roster.build_units(lines, BASES, horizon_days=1)


def test_roster_toml_star_and_full_cover(tmp_path):
    p = tmp_path / "roster.toml"
    p.write_text(
        '[[roster]]\nbase = "*"\nunits = 1\nstart = "06:00"\nend = "18:00"\n'
        '[[roster]]\nbase = "*"\nunits = 1\nstart = "18:00"\nend = "06:00"\n',
        encoding="utf-8",
    )
    lines, issues = roster.read_roster(p)
    assert not issues and roster.uncovered_hours(lines) == []
    r = roster.build_units(lines, BASES, horizon_days=2)
    assert r.n_units == 8 and sorted(set(r.unit_shift)) == ["06:00-18:00", "18:00-06:00"]


def test_roster_gaps_listed():
    lines, _ = roster.parse_rows([{"base": "Clacton", "units": 1, "start": "07:00", "end": "23:00"}])
    assert roster.uncovered_hours(lines)[:2] == ["Mon 00:00-07:00", "Mon 23:00-07:00"]


def test_lognormal_and_scaling():
    mu, sigma = demand.lognormal_params(165, 400)
    x = demand.sample_lognormal(np.random.default_rng(0), 165, 400, 200_000)
    assert np.median(x) == pytest.approx(165, rel=0.02) and np.quantile(x, 0.9) == pytest.approx(400, rel=0.02)
    with pytest.raises(SimulationError):
        demand.lognormal_params(10, 5)
    idx = demand.scale_indices(1000, 2.5, np.random.default_rng(1))
    assert 2400 < len(idx) < 2600 and np.bincount(idx).min() >= 2


def test_hour_of_week_and_month_spreading():
    prof = demand.hour_of_week(np.r_[np.zeros(12), np.ones(12)], np.ones(7))
    assert prof.sum() == pytest.approx(1) and prof.shape == (168,)
    months = np.array(["2022-02"] * 500 + ["2022-03"] * 500)
    a = demand.spread_months(months, prof, np.random.default_rng(5))
    b = demand.spread_months(months, prof, np.random.default_rng(5))
    assert np.array_equal(a, b)
    ts = pd.to_datetime(a)
    assert (ts[:500].month == 2).all() and (ts[500:].month == 3).all() and (ts.hour >= 12).all()


def test_profile_simulation_table(profile):
    sim = profile.simulation
    assert sim.attended_per_year == 176000 and len(sim.hour_of_day) == 24 and len(sim.roster) == 3
    raw = tomllib.loads(config.default_profile_path().read_text())
    raw["simulation"]["job_minute"] = {}
    with pytest.raises(ConfigError, match="did you mean 'job_minutes'"):
        config.parse_profile(raw)
    raw = tomllib.loads(config.default_profile_path().read_text())
    raw["simulation"]["weekday"] = [1, 2]
    with pytest.raises(ConfigError, match="list of 7 numbers"):
        config.parse_profile(raw)


def _small_scenario(profile, days=20.0):
    lines, _ = roster.parse_rows(profile.simulation.roster)
    r = roster.build_units(lines, BASES, horizon_days=days)
    rng = np.random.default_rng(0)
    blue = rng.uniform(120, 1500, (4, 30))
    return demand.scenario_from_profile(
        profile,
        np.stack([blue, blue * 1.4]),
        rng.uniform(1, 3, 30),
        r,
        rng.random(30) < 0.7,
        days=days,
        attended_per_year=22000,
    )


def test_replications_same_with_dask_or_serial(profile):
    sc = _small_scenario(profile)
    serial = run_replications(sc, 4, seed=11, parallel=False)
    cols = [c for c in serial.columns if c != "seconds"]
    for workers in (1, 2):
        dasked = run_replications(sc, 4, seed=11, n_workers=workers, processes=False)
        pd.testing.assert_frame_equal(serial[cols], dasked[cols])
    assert serial["pct_met_emergency"].nunique() == 4
    ci = confidence_intervals(serial).set_index("measure")
    assert ci.loc["pct_met", "low"] <= ci.loc["pct_met", "mean"] <= ci.loc["pct_met", "high"]


def test_calibration_hits_target(profile):
    sc = _small_scenario(profile, days=10.0)
    base = run_replications(sc, 1, seed=3, parallel=False)["pct_met_emergency"].iloc[0]
    target = round(base - 0.08, 3)
    cal = calibrate_job_scale(sc, target, replications=1, seed=3, xtol=1e-3)
    assert cal.job_scale > 1 and abs(cal.achieved - target) < 0.02
    with pytest.raises(SimulationError, match="outside"):
        calibrate_job_scale(sc, 0.9999, replications=1, seed=3, bracket=(1.0, 1.5))


def test_incident_times_ledger():
    ts = ["2022-01-01 00:10", "2021-12-31 23:00", "2022-01-01 00:05", None, "2022-01-03 00:00"]
    secs, inside, issues = demand.incident_times(ts, "2022-01-01", days=2)
    assert inside.tolist() == [True, False, True, False, False]
    assert secs[0] == 600 and secs[2] == 300
    reasons = {i["row"]: i["reason"] for i in issues}
    assert reasons[1].startswith("outside") and reasons[3] == "no time" and reasons[4].startswith("outside")
    assert any(i["row"] == 2 and "out of order" in i["reason"] for i in issues)


def test_utilisation_by_base_and_shift(profile):
    sc = _small_scenario(profile, days=5.0)
    from geo_response.simulation.engine import simulate

    res = simulate(sc.draw(np.random.default_rng(2)))
    table = res.utilisation_by({"base": sc.roster.unit_base, "shift": sc.roster.unit_shift})
    assert len(table) == 4 * 3 and table["utilisation"].between(0, 1).all()
    assert table["on_duty_hours"].sum() == pytest.approx(res.unit_on_duty_s.sum() / 3600)


def test_scenario_from_profile_targets_and_draw(profile):
    sc = _small_scenario(profile, days=3.0)
    urban = sc.atom_urban
    assert set(np.asarray(sc.emergency_target_s)[urban]) == {900.0}  # essex-2022 grade 1: 15 min
    assert set(np.asarray(sc.emergency_target_s)[~urban]) == {1200.0}  # grade 2: 20 min
    assert sc.priority_target_s == 3600.0 and sc.routine_target_s == 2880 * 60.0
    a, b = sc.draw(np.random.default_rng(9)), sc.draw(np.random.default_rng(9))
    assert np.array_equal(a.job_s, b.job_s) and np.array_equal(a.atom, b.atom)
    assert (a.speed == (a.priority > 0)).all()  # blue lights for emergencies only
    c = sc.with_(job_scale=2.0).draw(np.random.default_rng(9))
    np.testing.assert_allclose(c.job_s, 2 * a.job_s)  # common random numbers
    assert np.array_equal(c.arrival_s, a.arrival_s) and np.array_equal(c.delay_s, a.delay_s)

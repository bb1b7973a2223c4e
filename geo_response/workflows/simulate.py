"""The simulation workflow: incidents and a roster in, dispatch of busy units simulated, tables out.

Steps (each a function, so ``plan staff`` reuses them):

1. :func:`check_roster`: read the roster (or the profile's default) and check its bases by name
   *before* the road network loads (an unknown base is an error with the nearest names);
2. :func:`build_demand`: load, classify and grade the incidents (:func:`prepare_incidents`), give each a
   time (``occurred_at``, else spread over its month by the profile's hour-of-week shape, seeded), keep
   those inside the period (others ledgered), scale crime-only data up to the force's attended volume,
   map each to its LSOA's atom (population-weighted centroid), build the posts x atoms travel matrices
   (blue lights, normal traffic) once, and pack everything a replication needs in a :class:`SimDemand`;
3. :func:`simulation_tables`: per-replication counts -> Met / Not Met / % Met with confidence intervals
   by grade, urban / rural, district and month or hour; utilisation by base and shift; causes;
4. :func:`run_simulation` runs them and writes every output through one :class:`OutputFolder`.

Warm-up: the first ``warmup_days`` of the period's demand are replayed *before* the period (not
reported), so units are already busy when the first real incident arrives; every real incident is
simulated and reported. Incidents that the horizon cuts off get one extra day to be dispatched; those
still queued then are misses with cause ``queue``.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_response.errors import SimulationError
from geo_response.ledger import ledger_rows
from geo_response.simulation import demand as sim_demand
from geo_response.simulation import roster as sim_roster
from geo_response.simulation.engine import CAUSES, SimInputs, simulate
from geo_response.study_area import StudyArea

__all__ = [
    "RANK",
    "RosterSpec",
    "SimDemand",
    "SimulationRun",
    "build_demand",
    "check_roster",
    "read_posts",
    "replicate_incidents",
    "run_simulation",
    "simulation_tables",
]

#: grade category -> dispatch rank (0 first); categories not listed are rank 2
RANK = {"emergency": 0, "urgent": 0, "priority": 1}
RANK_NAMES = ("emergency", "priority", "routine")
TAIL_DAYS = 1.0


@dataclass
class RosterSpec:
    """A roster checked against the bases: its lines, where it came from and its warnings."""

    lines: list[sim_roster.RosterLine]
    source: str
    path: Path | None
    base_names: list[str]
    issues: list[dict] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        """Units named on the roster (each on duty on its shift)."""
        return sum(ln.units * (len(self.base_names) if ln.base == "*" else 1) for ln in self.lines)


def _base_names(area: StudyArea) -> list[str]:
    """Unique base names in file order (``name #k`` when a name repeats), with no network loaded."""
    names = [str(n) for n in area.unattached_bases[0]["name"]]
    return [f"{n} #{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def check_roster(area: StudyArea, roster: str | Path | None = None) -> RosterSpec:
    """Read the roster (default: the force profile's, an ASSUMPTION) and check its bases.

    Raises
    ------
    SimulationError
        A missing or unusable roster file, or a roster line naming an unknown base (with the nearest
        names); checked before the road network is loaded.
    """
    if roster is None:
        rows = list(area.force.simulation.roster)
        if not rows:
            raise SimulationError("the force profile has no [simulation] roster; give one with --roster")
        lines, issues = sim_roster.parse_rows(rows)
        source, path = f"force profile {area.force.path} [simulation] roster (ASSUMPTION)", None
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lines, issues = sim_roster.read_roster(roster)
        source, path = str(roster), Path(roster)
    names = _base_names(area)
    expanded = sim_roster.expand_lines(lines, names)
    _check_bases(expanded, names, "roster line")
    return RosterSpec(lines, source, path, names, issues, sim_roster.uncovered_hours(expanded))


def _check_bases(lines: list[sim_roster.RosterLine], names: list[str], where: str) -> None:
    """An error naming the first unknown base, with "did you mean" and the nearest names."""
    import difflib

    for ln in lines:
        if ln.base not in names:
            near = difflib.get_close_matches(ln.base, names, n=3, cutoff=0.5)
            hint = (
                f"; did you mean {near[0]!r}? (nearest names: {', '.join(near)})"
                if near
                else f"; the bases are: {', '.join(sorted(names)[:10])}{' ...' if len(names) > 10 else ''}"
            )
            raise SimulationError(f"{where} {ln.line} names unknown base {ln.base!r}{hint}")


@dataclass(frozen=True)
class SimDemand:
    """Everything one replication needs (picklable; sent once to each Dask worker).

    Incident arrays are in output order: the ``real`` ones (the period's incidents, after scaling) first,
    then the warm-up replay. Times are seconds from the start of the warm-up.
    """

    arrival_s: np.ndarray
    atom: np.ndarray
    priority: np.ndarray
    speed: np.ndarray
    target_s: np.ndarray
    on_scene_s: np.ndarray
    n_real: int
    travel_s: np.ndarray
    roster: sim_roster.Roster
    job_minutes: dict[str, tuple[float, float]]
    delay_stages: tuple[tuple[float, float], ...]
    horizon_s: float
    warmup_s: float
    job_scale: float = 1.0
    delay_scale: float = 1.0

    def inputs(self, rng: np.random.Generator) -> SimInputs:
        """Draw delays and on-scene times (own streams, so rosters compare with common random numbers).

        The answer + handling delay is multiplied by ``delay_scale`` (a calibration record's, as the compliance
        model scales its delays); the draws do not depend on it, so delays scale exactly.
        """
        n = len(self.arrival_s)
        delay = np.zeros(n)
        for med, p90 in self.delay_stages:
            delay += sim_demand.sample_lognormal(rng, med, p90, n)
        delay = delay * self.delay_scale
        z = rng.standard_normal(n)
        job = np.empty(n)
        for c, name in enumerate(RANK_NAMES):
            mu, sigma = sim_demand.lognormal_params(*[60.0 * x for x in self.job_minutes[name]])
            sel = self.priority == c
            job[sel] = np.exp(mu + sigma * z[sel])
        job = np.where(np.isfinite(self.on_scene_s), self.on_scene_s, job) * self.job_scale
        r = self.roster
        return SimInputs(
            arrival_s=self.arrival_s,
            atom=self.atom,
            priority=self.priority,
            delay_s=delay,
            job_s=job,
            target_s=self.target_s,
            speed=self.speed,
            unit_post=r.unit_post,
            shift_unit=r.shift_unit,
            shift_start_s=r.shift_start_s,
            shift_end_s=r.shift_end_s,
            travel_s=self.travel_s,
            horizon_s=self.horizon_s,
            warmup_s=self.warmup_s,
        )


def replicate_incidents(d: SimDemand, seed: np.random.SeedSequence) -> dict[str, Any]:
    """One replication (module level, picklable for Dask): headline figures and per-incident arrays."""
    inp = d.inputs(np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = simulate(inp)
    k = d.n_real
    judged = res.has_target[:k]
    out: dict[str, Any] = {}
    for c, name in enumerate(RANK_NAMES):
        sel = judged & (d.priority[:k] == c)
        out[f"pct_met_{name}"] = float(res.met[:k][sel].mean()) if sel.any() else float("nan")
    out["pct_met"] = float(res.met[:k][judged].mean()) if judged.any() else float("nan")
    out["utilisation"] = float(np.nanmean(res.utilisation)) if res.unit_on_duty_s.any() else float("nan")
    out.update(
        met=res.met[:k],
        cause=res.cause[:k],
        delay=res.delay_s[:k].astype(np.float32),
        queue=res.queue_s[:k].astype(np.float32),
        travel=res.travel_s[:k].astype(np.float32),
        unit=res.unit_id[:k].astype(np.int32),
        busy=res.unit_busy_s,
        on_duty=res.unit_on_duty_s,
        events=float(res.events),
        seconds=res.seconds,
        notes=list(res.warnings),
    )
    return out


@dataclass
class BuiltDemand:
    """A :class:`SimDemand` with what the outputs need to label it.

    Attributes
    ----------
    demand : SimDemand
    incidents : DataFrame
        One row per simulated (real) incident, in the order of ``demand``: ``row_number, incident_id,
        grade, urban_rural, district, lsoa_code, month, hour, copy`` (no coordinates).
    prepared : PreparedIncidents
        Loaded, classified and graded, with the ledger (period and routing issues added).
    post_names : list of str
        Rows of the travel matrix (bases, then patrol posts).
    scale : dict
        ``factor``, ``source``, ``incidents_in_period``, ``data_days``.
    period : dict
        ``start``, ``end``, ``days``, ``warmup_days``, ``times`` (where the times came from).
    roster : RosterSpec
    notes : list of str
        Warnings for the console and the summary.
    units_args : dict
        ``horizon_days``, ``start_weekday`` and ``posts`` (base name -> row of the travel matrix).
    sites : GeoDataFrame
        The rows of the travel matrix (geometry, in ``post_names`` order).
    """

    demand: SimDemand
    incidents: pd.DataFrame
    prepared: Any
    post_names: list[str]
    scale: dict
    period: dict
    roster: RosterSpec
    notes: list[str] = field(default_factory=list)
    units_args: dict = field(default_factory=dict)
    sites: Any = None

    def with_lines(self, lines: list[sim_roster.RosterLine]) -> SimDemand:
        """The same demand (same incidents and travel) with the units of another roster."""
        from dataclasses import replace

        return replace(self.demand, roster=roster_units(lines, self.roster.base_names, **self.units_args))


def roster_units(
    lines: list[sim_roster.RosterLine], base_names: list[str], *, horizon_days: float, start_weekday: int, posts: dict
) -> sim_roster.Roster:
    """Units and on-duty intervals of roster ``lines`` (``*`` expanded to every base), warnings kept quiet."""
    lines = sim_roster.expand_lines(lines, base_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sim_roster.build_units(lines, base_names, horizon_days, start_weekday=start_weekday, posts=posts)


def _incident_times(inc: pd.DataFrame, profile: np.ndarray, rng: np.random.Generator) -> tuple[pd.Series, str]:
    """``occurred_at`` where given, else a time spread over the month by the hour-of-week profile."""
    ts = pd.to_datetime(inc["occurred_at"], errors="coerce")
    missing = ts.isna() & inc["month"].notna()
    if missing.any():
        ts[missing] = sim_demand.spread_months(inc.loc[missing, "month"], profile, rng)
    given = int((~missing & ts.notna()).sum())
    how = (
        "occurred_at"
        if not missing.any()
        else "spread over each month by the profile's hour-of-week shape (ASSUMPTION), seeded"
        if given == 0
        else f"occurred_at for {given:,} rows; {int(missing.sum()):,} month-only rows spread by the hour-of-week shape"
    )
    return ts, how


def _period(ts: pd.Series, start: str | None, days: float) -> pd.Timestamp:
    if start is not None:
        return pd.Timestamp(start).normalize()
    if ts.notna().any():
        return ts.min().to_period("M").start_time
    raise SimulationError("no incident has a time of occurrence (occurred_at or month): nothing to simulate")


def _ledger_period_issues(prepared: Any, inc: pd.DataFrame, issues: list[dict]) -> None:
    if not issues:
        return
    rows = inc.iloc[[i["row"] for i in issues]]
    reason = [
        "out_of_order"
        if i["reason"].startswith("out of order")
        else "no_time"
        if i["reason"] == "no time"
        else "outside_period"
        for i in issues
    ]
    prepared.warn(
        ledger_rows(
            rows, pd.Series(reason, index=rows.index), pd.Series([i["reason"] for i in issues], index=rows.index)
        )
    )


def _scale(area: StudyArea, n_inside: int, data_days: float, scale: float | None, month_only: bool) -> dict:
    """The factor from the file's volume to the force's attended volume, with its source."""
    sim = area.force.simulation
    if scale is not None:
        return {"factor": float(scale), "source": "given (--scale)"}
    if not month_only or n_inside == 0:
        return {"factor": 1.0, "source": "none: the file has times of occurrence and is taken as attended incidents"}
    expected = sim.attended_per_year / 365.0 * data_days
    return {
        "factor": expected / n_inside,
        "source": f"police.uk crime-only data scaled to {sim.attended_per_year:,.0f} attended incidents a year "
        f"({sim.attended_evidence or 'force profile [simulation] attended_per_year'}): "
        f"{expected:,.0f} expected over {data_days:g} days / {n_inside:,} in the file",
    }


def _data_days(ts: pd.Series, month: pd.Series, t0: pd.Timestamp, days: float) -> float:
    """Days of the period the data covers (its months, or the period when times are given)."""
    months = pd.PeriodIndex(month.dropna().astype(str).unique(), freq="M")
    if len(months) == 0:
        return days
    lo, hi = max(months.min().start_time, t0), min((months.max() + 1).start_time, t0 + pd.Timedelta(days=days))
    return max(0.0, (hi - lo).total_seconds() / 86400)


def read_posts(path: str | Path, base_names: list[str], area: Any = None) -> pd.DataFrame:
    """Read a patrol posts CSV (``base,latitude,longitude``): that base's units wait at the post.

    Parameters
    ----------
    path : str or Path
        The posts file (one row per base; its units wait at the point instead of the base).
    base_names : list of str
        The bases' names (a post of an unknown base is refused, with "did you mean").
    area : shapely geometry, optional
        Lon/lat area a post must lie in (the network area).

    Returns
    -------
    DataFrame
        ``base, latitude, longitude, line`` (file line numbers).

    Raises
    ------
    SimulationError
        Naming the first line that cannot be used (a missing column, unknown base, a base given twice, a
        coordinate that is not a number or lies outside ``area``): posts are configuration, used whole or not.
    """
    from geo_response.errors import InputFileError
    from geo_response.inputs import read_csv_table

    try:
        table = read_csv_table(path, what="posts file", skipinitialspace=True)
    except InputFileError as exc:
        raise SimulationError(str(exc)) from None
    frame = table.frame.rename(columns=lambda c: str(c).strip().lower())
    need = {"base", "latitude", "longitude"} - set(frame.columns)
    if need:
        raise SimulationError(f"posts file {path} lacks column(s) {sorted(need)}; need base,latitude,longitude")
    frame = frame.assign(base=frame["base"].astype(str).str.strip(), line=np.asarray(table.lines, dtype=int))
    _check_bases(
        [sim_roster.RosterLine(b, 1, 0, 60, (0,), int(n)) for b, n in zip(frame["base"], frame["line"], strict=True)],
        base_names,
        f"posts file {path} line",
    )
    twice = frame["base"].duplicated()
    if twice.any():
        first = frame.loc[twice].iloc[0]
        raise SimulationError(
            f"posts file {path} line {first['line']}: base {first['base']!r} already has a post; give one per base"
        )
    for col in ("latitude", "longitude"):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float))
        if bad.any():
            row = frame.loc[bad].iloc[0]
            raise SimulationError(f"posts file {path} line {row['line']}: {col} {row[col]!r} is not a number")
        frame[col] = values.astype(float)
    if area is not None:
        import shapely

        out = ~shapely.contains_xy(area, frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
        if out.any():
            row = frame.loc[out].iloc[0]
            raise SimulationError(
                f"posts file {path} line {row['line']}: ({row['latitude']}, {row['longitude']}) is outside the "
                "force area; check the coordinates (latitude, longitude order)"
            )
    return frame[["base", "latitude", "longitude", "line"]].reset_index(drop=True)


def _sites(area: StudyArea, posts: str | Path | None, base_names: list[str]) -> tuple[Any, list[str], dict]:
    """Rows of the travel matrix: the bases, then patrol posts (see :func:`read_posts`).

    Returns the sites GeoDataFrame, their names and base name -> the row its units wait at.
    """
    import geopandas as gpd

    sites = area.bases[["geometry"]].reset_index(drop=True)
    names = list(base_names)
    row_of = {b: i for i, b in enumerate(base_names)}
    if posts is None:
        return sites, names, row_of
    table = read_posts(posts, base_names, area.area)
    extra = gpd.GeoDataFrame(geometry=gpd.points_from_xy(table["longitude"], table["latitude"]), crs=4326)
    for i, b in enumerate(table["base"]):
        row_of[str(b)] = len(names)
        names.append(f"{b} post {i + 1}")
    return pd.concat([sites, extra.to_crs(sites.crs)], ignore_index=True), names, row_of


def _travel(area: StudyArea, sites: Any, codes: np.ndarray) -> np.ndarray:
    """Blue-light and normal seconds, sites x LSOA population-weighted centroids, built once."""
    import geopandas as gpd

    from geo_response.roads import routing

    ls = area.lsoas.set_index("lsoa_code").loc[codes]
    atoms = gpd.GeoDataFrame(geometry=gpd.points_from_xy(ls["pwc_lon"], ls["pwc_lat"]), crs=4326)
    rm = area.force.response_model
    return np.stack(
        [
            routing.travel_matrix(
                area.network,
                sites,
                atoms,
                speed,
                access_speed_kph=rm.access_speed_kph,
                snap_limit_m=rm.snap_limit_m,
                crs=area.force.projected_crs,
            )
            for speed in ("blue_light", "normal")
        ]
    )


def _attended(prepared: Any) -> pd.DataFrame:
    inc = prepared.incidents
    keep = inc["attended"].fillna(False).astype(bool) & inc["lsoa_code"].notna()
    return pd.DataFrame(inc.loc[keep].drop(columns="geometry")).reset_index(drop=True)


def _real_arrays(inc: pd.DataFrame, atom: np.ndarray) -> dict[str, np.ndarray]:
    rank = inc["grade_category"].map(RANK).fillna(2).astype(int).to_numpy()
    speed = np.where(inc.get("speed_profile", pd.Series("normal", index=inc.index)).eq("blue_light"), 0, 1)
    target = pd.to_numeric(inc["target_minutes"], errors="coerce").to_numpy(float) * 60.0
    on_scene = (
        pd.to_numeric(inc["on_scene_minutes"], errors="coerce").to_numpy(float) * 60.0
        if "on_scene_minutes" in inc.columns
        else np.full(len(inc), np.nan)
    )
    return {
        "atom": atom,
        "priority": rank,
        "speed": speed,
        "target_s": np.where(np.isfinite(target), target, np.inf),
        "on_scene_s": on_scene,
    }


def _timed_incidents(
    area: StudyArea, prepared: Any, days: float, start: str | None, scale: float | None, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, dict, dict]:
    """Attended incidents inside the period, scaled, with seconds from the period start."""
    inc = _attended(prepared)
    shape = sim_demand.hour_of_week(area.force.simulation.hour_of_day, area.force.simulation.weekday)
    ts, how = _incident_times(inc, shape, rng)
    t0 = _period(ts, start, days)
    secs, inside, issues = sim_demand.incident_times(ts, t0, days)
    _ledger_period_issues(prepared, inc, issues)
    month_only = bool(inc["occurred_at"].isna().all())
    data_days = _data_days(ts, inc["month"], t0, days) if month_only else days
    sc = _scale(area, int(inside.sum()), data_days, scale, month_only)
    sc.update(incidents_in_period=int(inside.sum()), data_days=round(data_days, 3))
    inc, ts, secs = inc.loc[inside].reset_index(drop=True), ts[inside].reset_index(drop=True), secs[inside]
    idx = sim_demand.scale_indices(len(inc), sc["factor"], rng)
    copy = pd.Series(idx).groupby(idx).cumcount().to_numpy()
    inc, ts, secs = inc.iloc[idx].reset_index(drop=True), ts.iloc[idx].reset_index(drop=True), secs[idx]
    if month_only and (copy > 0).any():  # copies of month-only rows: their own time
        again = pd.Series(sim_demand.spread_months(inc["month"], shape, rng))
        s2 = (again - t0).dt.total_seconds().to_numpy(float)
        ok = (copy > 0) & (s2 >= 0) & (s2 < days * 86400)
        secs, ts = np.where(ok, s2, secs), ts.where(~ok, again)
    inc["copy"] = copy
    inc["month_label"] = ts.dt.strftime("%Y-%m").to_numpy()
    inc["hour"] = ts.dt.hour.to_numpy()
    period = {
        "start": f"{t0:%Y-%m-%d %H:%M}",
        "end": f"{t0 + pd.Timedelta(days=days):%Y-%m-%d %H:%M}",
        "days": days,
        "times": how,
    }
    return inc, secs, sc, period


def build_demand(
    area: StudyArea,
    incidents_path: Any,
    spec: RosterSpec,
    *,
    policy: str = "essex-2022",
    posts: str | Path | None = None,
    days: float = 365.0,
    seed: int = 0,
    start: str | None = None,
    scale: float | None = None,
) -> BuiltDemand:
    """Incidents, atoms, travel matrices and units for the simulation (see the module docstring)."""
    from geo_response.workflows.compliance import prepare_incidents

    if days <= 0:
        raise SimulationError(f"--days must be > 0, got {days}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    prepared = prepare_incidents(area, incidents_path, policy, seed)
    inc, secs, sc, period = _timed_incidents(area, prepared, days, start, scale, rng)
    if len(inc) == 0:
        raise SimulationError(
            f"no attended incident falls inside the period {period['start']} + {days:g} days; "
            "check --days or the incident times (see the ledger)"
        )
    sites, post_names, row_of = _sites(area, posts, spec.base_names)
    codes, atom = np.unique(inc["lsoa_code"].astype(str).to_numpy(), return_inverse=True)
    travel = _travel(area, sites, codes)
    ok_atom = np.isfinite(travel).all(axis=(0, 1))
    notes = []
    if sc["data_days"] < days - 1e-9:
        notes.append(
            f"the incidents cover {sc['data_days']:g} of the {days:g} days simulated: the rest of the period "
            "has no demand (shorten --days to the months of the data)"
        )
    if sc["factor"] > 1:
        notes.append(
            f"demand scaled x{sc['factor']:.3f}: incidents.csv repeats a source row's row_number and "
            "incident_id for each scaled copy"
        )
    if not ok_atom.all():
        bad = ~ok_atom[atom]
        lost = inc.loc[bad & (inc["copy"] == 0)]
        prepared.warn(
            ledger_rows(
                lost,
                "unroutable",
                "its LSOA's population-weighted centroid is off the road "
                "network or unreachable from a post; not simulated",
            )
        )
        notes.append(f"{int(bad.sum()):,} incidents in {int((~ok_atom).sum())} LSOA(s) off the network: not simulated")
        inc, secs = inc.loc[~bad].reset_index(drop=True), secs[~bad]
        atom = (np.cumsum(ok_atom) - 1)[atom[~bad]]
        travel = travel[:, :, ok_atom]
    if len(inc) == 0:
        raise SimulationError("no incident's LSOA can be reached on the road network; nothing to simulate")
    return _assemble(area, inc, secs, atom, travel, spec, sites, post_names, row_of, prepared, sc, period, notes)


def _assemble(
    area: StudyArea,
    inc: pd.DataFrame,
    secs: np.ndarray,
    atom: np.ndarray,
    travel: np.ndarray,
    spec: RosterSpec,
    sites: Any,
    post_names: list[str],
    row_of: dict,
    prepared: Any,
    sc: dict,
    period: dict,
    notes: list[str],
) -> BuiltDemand:
    """Warm-up replay, units on duty over warm-up + period + tail, and the :class:`SimDemand`."""
    sim, rm = area.force.simulation, area.force.response_model
    days = float(period["days"])
    warm_days = float(math.floor(min(sim.warmup_days, days)))
    warm_s = warm_days * 86400.0
    real = _real_arrays(inc, atom)
    replay = np.flatnonzero(secs < warm_s)  # the first warm-up days, played before
    arrival = np.concatenate([secs + warm_s, secs[replay]])
    arrays = {k: np.concatenate([v, v[replay]]) for k, v in real.items()}
    horizon_days = warm_days + days + TAIL_DAYS
    t0 = pd.Timestamp(period["start"]) - pd.Timedelta(days=warm_days)
    units_args = {"horizon_days": horizon_days, "start_weekday": int(t0.dayofweek), "posts": dict(row_of)}
    units = roster_units(spec.lines, spec.base_names, **units_args)
    demand = SimDemand(
        arrival_s=arrival,
        atom=arrays["atom"],
        priority=arrays["priority"],
        speed=arrays["speed"],
        target_s=arrays["target_s"],
        on_scene_s=arrays["on_scene_s"],
        n_real=len(inc),
        travel_s=np.ascontiguousarray(travel),
        roster=units,
        job_minutes=dict(sim.job_minutes),
        delay_stages=(
            (rm.call_answer_median_s, rm.call_answer_p90_s),
            (rm.call_handling_median_s, rm.call_handling_p90_s),
        ),
        horizon_s=horizon_days * 86400.0,
        warmup_s=warm_s,
    )
    if spec.uncovered:
        more = f" and {len(spec.uncovered) - 6} more" if len(spec.uncovered) > 6 else ""
        notes.append(
            f"the roster leaves no unit on duty in {', '.join(spec.uncovered[:6])}{more}: incidents then queue"
        )
    period.update(warmup_days=warm_days, tail_days=TAIL_DAYS, warmup_replayed=int(len(replay)))
    out = pd.DataFrame(
        {
            "row_number": inc["row_number"],
            "incident_id": inc["incident_id"],
            "grade": inc["grade_category"],
            "urban_rural": inc["urban_rural"].fillna("unknown"),
            "district": inc["district"].fillna("unknown"),
            "lsoa_code": inc["lsoa_code"],
            "month": inc["month_label"],
            "hour": inc["hour"],
            "copy": inc["copy"],
            "has_target": np.isfinite(real["target_s"]),
        }
    )
    return BuiltDemand(demand, out, prepared, post_names, sc, period, spec, notes, units_args, sites)


def _ci(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and Student-t interval across replications (axis 1); NaN half-width with one replication."""
    from scipy import stats

    r = values.shape[1]
    mean = values.mean(axis=1)
    if r < 2:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    half = stats.t.ppf(0.5 + level / 2, r - 1) * values.std(axis=1, ddof=1) / math.sqrt(r)
    return mean, mean - half, mean + half


def compliance_table(inc: pd.DataFrame, met: np.ndarray, period_col: str) -> pd.DataFrame:
    """Met / Not Met / % Met by grade, urban / rural, district and ``period_col`` (``month`` or ``hour``).

    ``met`` is (replications, incidents). Every aggregate is included (``all``; ``Total`` over periods).
    ``met`` and ``not_met`` are means over replications; ``pct_met`` is the mean % with its 95% interval.
    """
    dims = ["grade", "urban_rural", "district", period_col]
    judged = inc["has_target"].to_numpy(bool)
    frame = inc.loc[judged, dims].astype(str).reset_index(drop=True)
    reps = [f"r{k}" for k in range(met.shape[0])]
    frame = pd.concat([frame, pd.DataFrame(met[:, judged].T.astype(float), columns=reps)], axis=1)
    frame["n"] = 1.0
    parts = []
    for mask in __import__("itertools").product((True, False), repeat=len(dims)):
        keys = [d for d, keep in zip(dims, mask, strict=True) if keep]
        g = (
            frame.groupby(keys, sort=True)[[*reps, "n"]].sum().reset_index()
            if keys
            else frame[[*reps, "n"]].sum().to_frame().T
        )
        for d, keep in zip(dims, mask, strict=True):
            if not keep:
                g[d] = "Total" if d == period_col else "all"
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    counts = out[reps].to_numpy(float)
    n = out["n"].to_numpy(float)
    mean, low, high = _ci(100.0 * counts / n[:, None])
    low, high = np.clip(low, 0, 100), np.clip(high, 0, 100)
    res = out[dims].copy()
    res["met"] = counts.mean(axis=1).round(2)
    res["not_met"] = (n - counts.mean(axis=1)).round(2)
    res["pct_met"], res["pct_met_low"], res["pct_met_high"] = mean.round(2), low.round(2), high.round(2)
    res["replications"] = met.shape[0]
    return res


def utilisation_table(roster: sim_roster.Roster, busy: np.ndarray, on_duty: np.ndarray) -> pd.DataFrame:
    """Busy / on-duty hours and utilisation (mean, 95% interval over replications) by base and shift."""
    if roster.n_units == 0:
        return pd.DataFrame(
            columns=[
                "base",
                "shift",
                "units",
                "busy_hours",
                "on_duty_hours",
                "utilisation",
                "utilisation_low",
                "utilisation_high",
                "replications",
            ]
        )
    key = pd.MultiIndex.from_arrays(
        [roster.unit_base.astype(str), roster.unit_shift.astype(str)], names=["base", "shift"]
    )
    b = pd.DataFrame(busy.T, index=key).groupby(level=[0, 1]).sum()
    d = pd.DataFrame(on_duty.T, index=key).groupby(level=[0, 1]).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, low, high = _ci(b.to_numpy() / d.to_numpy())
    out = b.index.to_frame(index=False)
    out["units"] = pd.Series(1, index=key).groupby(level=[0, 1]).sum().to_numpy()
    out["busy_hours"] = (b.to_numpy().mean(axis=1) / 3600).round(2)
    out["on_duty_hours"] = (d.to_numpy().mean(axis=1) / 3600).round(2)
    out["utilisation"], out["utilisation_low"], out["utilisation_high"] = mean.round(4), low.round(4), high.round(4)
    out["replications"] = busy.shape[0]
    return out


def causes_table(inc: pd.DataFrame, cause: np.ndarray) -> pd.DataFrame:
    """Misses by cause, district and grade (mean count per replication and share of the misses there)."""
    rows = []
    for district in ["all", *sorted(inc["district"].astype(str).unique())]:
        sel = np.ones(len(inc), bool) if district == "all" else (inc["district"].astype(str) == district).to_numpy()
        for grade in ["all", *sorted(inc["grade"].astype(str).unique())]:
            g = sel if grade == "all" else sel & (inc["grade"].astype(str) == grade).to_numpy()
            counts = np.stack([(cause[:, g] == k).sum(axis=1) for k in range(1, len(CAUSES))], axis=1)
            total = counts.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(total > 0, counts / np.maximum(total, 1), np.nan).mean(axis=0)
            for k, name in enumerate(CAUSES[1:]):
                rows.append(
                    {
                        "district": district,
                        "grade": grade,
                        "cause": name,
                        "missed": round(float(counts[:, k].mean()), 2),
                        "share_of_misses": round(float(share[k]), 4) if np.isfinite(share[k]) else None,
                        "replications": cause.shape[0],
                    }
                )
    return pd.DataFrame(rows)


def incidents_table(inc: pd.DataFrame, rep: dict) -> pd.DataFrame:
    """Per-incident outcomes of one replication (no coordinates; ``cause`` blank when met or no target)."""
    unit = rep["unit"].astype(np.int64)
    out = inc[["row_number", "incident_id", "grade", "urban_rural", "district", "lsoa_code"]].copy()
    dispatched = unit >= 0
    out["delay_minutes"] = (rep["delay"] / 60).round(3)
    out["queue_minutes"] = (np.where(np.isfinite(rep["queue"]), rep["queue"], np.nan) / 60).round(3)
    out["travel_minutes"] = (np.where(dispatched, rep["travel"], np.nan) / 60).round(3)
    out["response_minutes"] = np.where(
        dispatched, out["delay_minutes"] + out["queue_minutes"] + out["travel_minutes"], np.nan
    ).round(3)
    out["unit_id"] = pd.Series(unit, index=out.index, dtype="Int64").where(dispatched)
    out["met"] = np.where(inc["has_target"], rep["met"], None)
    out["cause"] = np.asarray(CAUSES, dtype=object)[rep["cause"]]
    return out


@dataclass
class SimulationRun:
    """What one simulation run produced (see :func:`run_simulation`)."""

    built: BuiltDemand
    replications: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    summary: dict
    paths: dict = field(default_factory=dict)


OUTPUTS = (
    "incidents.csv",
    "compliance_by_month.csv",
    "compliance_by_hour.csv",
    "utilisation.csv",
    "causes.csv",
    "ledger.csv",
    "summary.json",
    "report.md",
    "report.html",
    "simulation.gpkg",
)


def run_replications_of(
    d: SimDemand,
    replications: int,
    seed: int,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    desc: str = "replications",
) -> pd.DataFrame:
    """Replications of ``d`` through :func:`run_replications` (Dask unless ``workers == 0`` and no scheduler)."""
    from tqdm.auto import tqdm

    from geo_response.simulation.replications import run_replications

    bar = tqdm(total=replications, desc=desc, disable=None if progress else True)

    def tick(done: int, _n: int) -> None:
        bar.n = done
        bar.refresh()

    try:
        return run_replications(
            d,
            replications,
            seed,
            parallel=bool(scheduler) or workers > 0,
            scheduler=scheduler,
            n_workers=max(1, workers),
            progress=tick,
            func=replicate_incidents,
        )  # type: ignore[arg-type]
    finally:
        bar.close()


def simulation_tables(built: BuiltDemand, reps: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every output table from the replications."""
    met = np.stack(reps["met"].to_list())
    cause = np.stack(reps["cause"].to_list()).astype(int)
    inc = built.incidents
    return {
        "incidents": incidents_table(inc, reps.iloc[0].to_dict()),
        "compliance_by_month": compliance_table(inc, met, "month"),
        "compliance_by_hour": compliance_table(inc.assign(hour=inc["hour"].map("{:02d}".format)), met, "hour"),
        "utilisation": utilisation_table(
            built.demand.roster, np.stack(reps["busy"].to_list()), np.stack(reps["on_duty"].to_list())
        ),
        "causes": causes_table(inc, cause),
    }


def run_simulation(
    area: StudyArea,
    incidents_path: Any = None,
    out_dir: str | Path | None = None,
    *,
    policy: str = "essex-2022",
    roster: str | Path | None = None,
    posts: str | Path | None = None,
    replications: int = 5,
    days: float = 365.0,
    seed: int | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
    start: str | None = None,
    scale: float | None = None,
    calibration: Any = None,
    force_calibration: bool = False,
    calibrate_to: float | None = None,
) -> SimulationRun:
    """Simulate dispatch of busy units to the incidents and (with ``out_dir``) write every output.

    Parameters
    ----------
    area : StudyArea
        Force profile, geography, road network and bases.
    incidents_path : str, Path or list, optional
        Incident file(s); default: the data folder's ``police_uk/``.
    out_dir : str or Path, optional
        Output folder, written as one transaction (:class:`OutputFolder`); None writes nothing.
    policy : str
        Grading policy (targets).
    roster, posts : str or Path, optional
        Roster CSV / TOML (default: the force profile's, an ASSUMPTION); patrol posts CSV
        ``base,latitude,longitude`` (default: units wait at their base).
    replications, days, seed : int, float, int
        Replications, period length, root seed (default: the profile's ``simulation.seed``).
    scheduler, workers : str, int
        Dask scheduler address; workers of the default LocalCluster (0: in this process, no Dask).
    overwrite, progress : bool
        Replace files in ``out_dir`` geo-response did not write; show a progress bar.
    start : str, optional
        Period start (default: the first month of the incidents).
    scale : float, optional
        Volume factor (default: police.uk month-only data to the profile's attended volume, else 1).
    calibration : str, Path or CalibrationRecord, optional
        A ``calibration.json``: its delay scale multiplies the answer + handling delays (refused when fitted on
        another network or policy unless ``force_calibration``); stamped in ``summary.json`` and ``report.md``.
    force_calibration : bool
        Use ``calibration`` even if it was fitted on another network or policy.
    calibrate_to : float, optional
        Fit the job-time scale (:func:`geo_response.simulation.calibration.calibrate_job_scale`) so simulated
        emergency % met equals this rate, then simulate with it; the fit and what it implies for priority and
        urban vs rural go to ``summary.json`` (``job_calibration``) and ``report.md``.

    Returns
    -------
    SimulationRun

    Raises
    ------
    SimulationError
        Unknown roster base (before the network loads), no incident in the period, and similar.
    """
    from geo_response import calibration as calibration_records
    from geo_response import datadir
    from geo_response.outputs import OutputFolder

    area.policy(policy)
    if replications < 1:
        raise SimulationError(f"--replications must be >= 1, got {replications}")
    if calibrate_to is not None and not 0 < calibrate_to < 1:
        raise SimulationError(f"--calibrate-to must be a rate between 0 and 1, got {calibrate_to}")
    seed = area.force.simulation.seed if seed is None else int(seed)
    spec = check_roster(area, roster)
    record = calibration_records.load(calibration, area, policy, force=force_calibration)
    fit = {"record": record, "calibrate_to": calibrate_to}
    source = incidents_path if incidents_path is not None else str(datadir.default_incidents(area.data_dir))
    if out_dir is None:
        return _simulate(
            area, source, spec, policy, posts, replications, days, seed, scheduler, workers, progress, start, scale, fit
        )
    inputs = [
        p
        for p in (*(source if isinstance(source, list | tuple) else [source]), roster, posts, area.osm, area.bases_csv)
        if p is not None
    ]
    with OutputFolder(out_dir, inputs=inputs, overwrite=overwrite, expected=OUTPUTS) as out:
        run = _simulate(
            area, source, spec, policy, posts, replications, days, seed, scheduler, workers, progress, start, scale, fit
        )
        write_simulation(out, run, area.force.kpis, districts=area.districts, lsoas=area.lsoas)
    run.paths = {name: Path(out_dir) / name for name in OUTPUTS if (Path(out_dir) / name).exists()}
    return run


def _simulate(
    area: StudyArea,
    source: Any,
    spec: RosterSpec,
    policy: str,
    posts: Any,
    replications: int,
    days: float,
    seed: int,
    scheduler: str | None,
    workers: int,
    progress: bool,
    start: str | None,
    scale: float | None,
    fit: dict | None = None,
) -> SimulationRun:
    from dataclasses import replace

    fit = fit or {}
    record = fit.get("record")
    t0 = time.perf_counter()
    built = build_demand(area, source, spec, policy=policy, posts=posts, days=days, seed=seed, start=start, scale=scale)
    if record is not None:
        built.demand = replace(built.demand, delay_scale=float(record.delay_scale))
    job_fit = None
    if fit.get("calibrate_to") is not None:
        job_fit = fit_job_scale(built.demand, float(fit["calibrate_to"]), replications, seed, scheduler, workers)
        built.demand = replace(built.demand, job_scale=job_fit.job_scale)
    t1 = time.perf_counter()
    reps = run_replications_of(
        built.demand, replications, seed, scheduler=scheduler, workers=workers, progress=progress
    )
    t2 = time.perf_counter()
    for note in reps["notes"].iloc[0]:
        if note not in built.notes:
            built.notes.append(note)
    tables = simulation_tables(built, reps)
    summary = simulation_summary(area, built, reps, tables, source, policy, seed, replications)
    summary["inputs"]["posts"] = _file_entry(posts) if posts is not None else None
    summary["calibration_used"] = None if record is None else record.stamp()
    summary["calibration_stamp"] = _calibration_stamp(record)
    summary["job_calibration"] = None if job_fit is None else job_calibration_summary(job_fit, tables)
    summary["timings"] = {"build_seconds": round(t1 - t0, 3), "replications_seconds": round(t2 - t1, 3)}
    return SimulationRun(built, reps, tables, summary)


def _calibration_stamp(record: Any) -> str:
    from geo_response import calibration as calibration_records

    line = calibration_records.stamp(record)
    return line + ("; it scales the call answer + handling delays" if record is not None else "")


def fit_job_scale(
    demand: SimDemand, target: float, replications: int, seed: int, scheduler: str | None, workers: int
) -> Any:
    """The job-time scale at which simulated emergency % met equals ``target`` (same seeds every evaluation).

    Uses at most 2 replications per evaluation (the fit, not the reported figures, which use ``replications``),
    run in this process unless a ``scheduler`` is given: a local cluster started for each of ~10 evaluations of
    1-2 replications costs more than it saves (``workers`` is unused here).
    """
    from geo_response.simulation.calibration import calibrate_job_scale

    return calibrate_job_scale(
        demand,
        target,
        replications=min(2, replications),
        seed=seed,
        parallel=bool(scheduler),
        scheduler=scheduler,
        func=replicate_incidents,
    )


def job_calibration_summary(fit: Any, tables: dict) -> dict:
    """The fitted job-time scale and what the simulation with it implies (priority, urban vs rural): a check."""
    cm = tables["compliance_by_month"]
    tot = cm[(cm["month"] == "Total") & (cm["district"] == "all")]

    def pct(grade: str, setting: str) -> float | None:
        row = tot[(tot["grade"] == grade) & (tot["urban_rural"] == setting)]
        return None if row.empty else float(row["pct_met"].iloc[0])

    return {
        "parameter": "job_scale (multiplies every on-scene time)",
        "job_scale": round(float(fit.job_scale), 4),
        "target_emergency_met": float(fit.target),
        "achieved_in_fit": round(float(fit.achieved), 4),
        "evaluations": int(fit.evaluations),
        "fit_replications": int(len(fit.replications)),
        "load_equivalent": f"as if {1 / fit.job_scale:.3f} x the rostered units were on duty",
        "implied_pct_met": {g: {s: pct(g, s) for s in ("all", "urban", "rural")} for g in ("emergency", "priority")},
        "note": "emergency all is fitted; priority and urban vs rural do not follow from the fit (a check)",
    }


ASSUMPTIONS = (
    "Units are dispatched nearest-available by travel time from their post (blue lights for blue-light grades, "
    "normal traffic otherwise); the queue is by grade (emergency, priority, routine), first come first served "
    "within a grade.",
    "A unit drives back to its post after each job before it is available again; it is never re-dispatched from "
    "the scene (no atom-to-atom travel matrix).",
    "Incidents sit at their LSOA's population-weighted centroid (the atom), not at their own point.",
    "Call answer and handling delays are the profile's lognormal stages; on-scene times the profile's lognormal "
    "job minutes per category (ASSUMPTION unless the file gives on_scene_minutes).",
    "The first warm-up days of demand are replayed before the period and not reported; one extra day lets late "
    "incidents be dispatched.",
)


def _file_entry(path: Any) -> dict:
    from geo_response.outputs import sha256_file

    p = Path(path)
    return {"path": str(p), "sha256": sha256_file(p) if p.is_file() else None}


def _headline(reps: pd.DataFrame) -> dict:
    out = {}
    for name in ("emergency", "priority", "routine"):
        x = reps[f"pct_met_{name}"].to_numpy(float)[None, :]
        if np.isfinite(x).all():
            mean, low, high = _ci(100 * x)
            low, high = np.clip(low, 0, 100), np.clip(high, 0, 100)
            out[name] = {
                "pct_met": round(float(mean[0]), 2),
                "low": round(float(low[0]), 2),
                "high": round(float(high[0]), 2),
            }
    return out


def simulation_summary(
    area: StudyArea,
    built: BuiltDemand,
    reps: pd.DataFrame,
    tables: dict,
    source: Any,
    policy: str,
    seed: int,
    replications: int,
) -> dict:
    """What ``summary.json`` holds: inputs with sha256, roster, scale, seeds, network, assumptions, results."""
    from geo_response.compliance import report

    s = built.prepared.loaded.summary
    net = area.network_summary()
    misses = tables["causes"].query("district == 'all' and grade == 'all'")
    return {
        "inputs": {
            "incidents": [_file_entry(f["file"]) for f in s["files"]],
            "roster": _file_entry(built.roster.path) if built.roster.path else None,
            "osm": _file_entry(area.osm_path) if area.osm_path else None,
            "bases": area.bases_source,
            "force_profile": {"path": area.force.path, "sha256": area.force.sha256},
        },
        "ledger": {k: s[k] for k in ("input_rows", "accepted", "rejected", "rejected_by_reason", "warnings")},
        "simulated_incidents": int(len(built.incidents)),
        "roster": {
            "source": built.roster.source,
            "units": int(built.demand.roster.n_units),
            "lines": [
                {
                    "base": ln.base,
                    "units": ln.units,
                    "shift": ln.label,
                    "days": ",".join(sim_roster.DAYS[d] for d in ln.days),
                }
                for ln in built.roster.lines
            ],
            "skipped_lines": built.roster.issues,
            "uncovered": built.roster.uncovered,
        },
        "posts": built.post_names,
        "scale": built.scale,
        "period": built.period,
        "policy": policy,
        "seeds": {
            "root": seed,
            "replications": "numpy SeedSequence(root).spawn(n), child k for replication k",
            "demand": f"SeedSequence([{seed}, 1]) (times spread, scaling)",
            "grades": built.prepared.grade_seed,
        },
        "replications": replications,
        "network": {**net, "standin": bool(net.get("standin"))},
        "assumptions": list(ASSUMPTIONS),
        "headline": _headline(reps),
        "misses_by_cause": {r.cause: r.missed for r in misses.itertuples()},
        "mean_utilisation": round(float(np.nanmean(reps["utilisation"])), 4)
        if reps["utilisation"].notna().any()
        else None,
        "warnings": built.notes,
        "events": float(reps["events"].sum()),
        "outputs": list(OUTPUTS),
        "generated_at": report.now_utc(),
    }


def simulation_report(summary: dict, tables: dict) -> str:
    """``report.md``: every text cell escaped (:func:`render_markdown`)."""
    from geo_response.compliance.report import render_markdown

    return render_markdown(simulation_blocks(summary, tables))


def simulation_html(summary: dict, tables: dict, kpis: Any = None) -> str:
    """``report.html``: the hour-of-day and cause-of-failure charts, then the ``report.md`` blocks (escaped)."""
    from geo_response.compliance.report import html_fragments
    from geo_response.reporting.html_report import render_simulation_html

    blocks = simulation_blocks(summary, tables)[1:]  # the page has its own title
    return render_simulation_html(summary, tables, kpis=kpis, appendix=html_fragments(blocks))


def simulation_blocks(summary: dict, tables: dict) -> list:
    """The ``report.md`` content as report blocks (:func:`geo_response.compliance.report.render_markdown`)."""
    net = summary["network"]
    blocks: list = [("h1", "Dispatch simulation of response units")]
    if net.get("standin"):
        blocks.append(
            (
                "p",
                f"Network: {net.get('label')}: the SYNTHETIC STAND-IN network. These results exercise "
                "the method only; they are not findings about real Essex roads.",
            )
        )
    else:
        blocks.append(("p", f"Network: {net.get('label')} ({net.get('source')})."))
    sc, per = summary["scale"], summary["period"]
    blocks += [
        (
            "p",
            f"Period {per['start']} to {per['end']} ({per['days']:g} days, warm-up {per['warmup_days']:g} "
            f"days replayed before it); times: {per['times']}.",
        ),
        ("p", f"Volume scale x{sc['factor']:.4f}: {sc['source']}."),
        ("p", f"Calibration used: {summary.get('calibration_stamp') or 'none'}."),
        (
            "p",
            f"Roster: {summary['roster']['source']}; {summary['roster']['units']} units. "
            f"{summary['replications']} replications, root seed {summary['seeds']['root']}.",
        ),
    ]
    head = pd.DataFrame(
        [
            {"grade": k, "% met": v["pct_met"], "95% low": v["low"], "95% high": v["high"]}
            for k, v in summary["headline"].items()
        ]
    )
    if not head.empty:
        blocks.append(("table", "% met by grade (mean of replications, 95% interval)", head))
    blocks += job_calibration_blocks(summary.get("job_calibration"))
    cm = tables["compliance_by_month"]
    dist = cm[(cm["urban_rural"] == "all") & (cm["month"] == "Total") & (cm["grade"] != "all")]
    blocks.append(
        ("table", "% met by grade and district", dist.drop(columns=["urban_rural", "month"]).reset_index(drop=True))
    )
    causes = tables["causes"].query("grade == 'all'").pivot(index="district", columns="cause", values="missed")
    blocks.append(("table", "Misses by cause and district (mean per replication)", causes.reset_index()))
    blocks.append(("table", "Unit utilisation by base and shift", tables["utilisation"]))
    blocks.append(("h2", "Warnings"))
    blocks += [("p", w) for w in summary["warnings"]] or [("p", "None.")]
    blocks.append(("h2", "Assumptions"))
    blocks += [("p", a) for a in summary["assumptions"]]
    return blocks


def job_calibration_blocks(jc: dict | None) -> list:
    """``report.md`` blocks for a job-time scale fitted with ``--calibrate-to`` (none without)."""
    if not jc:
        return []
    rows = [{"grade": g, **{k: v for k, v in by.items()}} for g, by in jc["implied_pct_met"].items()]
    return [
        ("h2", "Calibration of the job-time scale"),
        (
            "p",
            f"Job-time scale x{jc['job_scale']:.4f} fitted so simulated emergency % met is "
            f"{100 * jc['target_emergency_met']:.1f}% ({jc['evaluations']} evaluations of "
            f"{jc['fit_replications']} replications; {jc['load_equivalent']}). Emergency (all) is fitted; "
            "priority and urban vs rural below do not follow from the fit: compare them with reported figures.",
        ),
        ("table", "% met implied by the fitted model", pd.DataFrame(rows)),
    ]


def write_simulation(
    out: Any, run: SimulationRun, kpis: Any = None, *, districts: Any = None, lsoas: Any = None
) -> None:
    """Write every output into an open :class:`OutputFolder` (`kpis`: ``profile.kpis`` for report.html).

    With ``districts`` and / or ``lsoas``, ``simulation.gpkg`` holds the causes of failure per district and per
    LSOA (:func:`geo_response.reporting.gis.simulation_layers`: aggregates only, LSOAs with fewer than 5 judged
    incidents left out).
    """
    from geo_response.outputs import write_csv, write_json, write_text
    from geo_response.reporting import gis

    for name in ("incidents", "compliance_by_month", "compliance_by_hour", "utilisation", "causes"):
        write_csv(run.tables[name], out.path(f"{name}.csv"))
    write_csv(run.built.prepared.loaded.ledger, out.path("ledger.csv"))
    write_json(run.summary, out.path("summary.json"))
    write_text(simulation_report(run.summary, run.tables), out.path("report.md"))
    write_text(simulation_html(run.summary, run.tables, kpis), out.path("report.html"))
    layers = {k: v for k, v in gis.simulation_layers(run, districts, lsoas).items() if v is not None and len(v)}
    if layers:
        gis.write_gis(out.path("simulation.gpkg"), layers)

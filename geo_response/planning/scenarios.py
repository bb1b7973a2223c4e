"""What-if deployment scenarios: add, remove or move bases, set units per base, and change the roster.

A scenario is a table of changes applied in order to the current bases. One row per change:

============  ==========================================================================
column        meaning
============  ==========================================================================
action        ``add``, ``remove``, ``move`` or ``set_units`` (bases); ``move_units``,
              ``add_units`` or ``set_post`` (the simulation's roster)
name          the base's name (``add``: a new name; others: an existing base;
              ``move_units``: the base the units leave; ``set_post``: the base whose
              units wait at the post)
latitude,     where the base goes (``add`` and ``move``) or the post is (``set_post``),
longitude     WGS84; or ``easting`` / ``northing`` in the force's projected CRS (EPSG:27700)
units         whole number >= 1 (``set_units``: required; ``add``: default 1; ``move``: optional;
              ``move_units`` / ``add_units``: required; ``set_post``: how many of the base's
              units on each matching shift, every day it runs, wait there; default all)
type          optional label of an added base (e.g. ``"police station"``)
to            ``move_units``: the base the units go to (an existing or added base);
              ``set_post``: the post's name (default ``"<base> post (change N)"``)
shift         the roster shift: its times ``HH:MM-HH:MM`` (``22:00-07:00`` overnight) or its
              name in the roster (``night``; any case). ``move_units`` takes ``units`` on
              every day that shift runs at ``name`` (blank: from its lines in roster order);
              ``add_units`` puts new units on it every day; ``set_post`` posts units of that
              shift (blank: of every shift)
============  ==========================================================================

Roster actions change the roster the simulation runs, not the bases: ``geo-response plan compare`` then
simulates the current and the scenario roster with the same seeds. A patrol post (``set_post``) is where
units wait between jobs and return to after one; it is not a base (no building, the unit stays the base's).
Roster lines of a removed base are dropped (said in the summary); an added base has no units until a
``move_units`` or ``add_units`` change gives it some. Units moved to another base wait at that base.

The same table as CSV (one change per line) or TOML::

    [[change]]
    action = "add"
    name = "Dunmow"
    latitude = 51.872
    longitude = 0.365
    units = 2

    [[change]]
    action = "remove"
    name = "Saffron Walden"

Every problem (unknown action, a base that does not exist, a duplicate name, missing or impossible
coordinates, a place outside the force area, bad units, a shift the roster does not have) raises
:class:`ScenarioError` naming the change (shift names are checked against the roster by :func:`scenario_roster`).
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geo_response.errors import InputFileError, ScenarioError
from geo_response.inputs import read_csv_table

BASE_ACTIONS = ("add", "remove", "move", "set_units")
ROSTER_ACTIONS = ("move_units", "add_units", "set_post")
ACTIONS = BASE_ACTIONS + ROSTER_ACTIONS
SCENARIO_COLUMNS = [
    "change",
    "action",
    "name",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "units",
    "type",
    "to",
    "shift",
]


def _blank(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def scenario_table(rows: list[dict], where: str = "scenario") -> pd.DataFrame:
    """Normalise a list of change mappings into the scenario table (``change`` = 1-based position).

    Column names are matched case-insensitively; unknown columns raise :class:`ScenarioError`.
    """
    out = []
    for i, raw in enumerate(rows, start=1):
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: change {i} is not a table of action/name/...; see the scenario format")
        row = {str(k).strip().lower(): v for k, v in raw.items()}
        unknown = set(row) - set(SCENARIO_COLUMNS[1:])
        if unknown:
            raise ScenarioError(
                f"{where}: change {i} has unknown field(s) {sorted(unknown)}; use {SCENARIO_COLUMNS[1:]}"
            )
        out.append({"change": i, **{c: row.get(c) for c in SCENARIO_COLUMNS[1:]}})
    table = pd.DataFrame(out, columns=SCENARIO_COLUMNS)
    table["action"] = [None if _blank(a) else str(a).strip().lower() for a in table["action"]]
    table["name"] = [None if _blank(n) else str(n).strip() for n in table["name"]]
    return table


def read_scenario(path: str | Path) -> pd.DataFrame:
    """Read a scenario file (``.csv`` or ``.toml``) into the scenario table.

    Returns
    -------
    DataFrame
        ``change`` (1-based: CSV data row or TOML ``[[change]]`` number), ``action, name, latitude, longitude,
        easting, northing, units, type``; ``attrs['source']`` is the path.

    Raises
    ------
    ScenarioError
        If the file cannot be read, has no changes, or uses unknown fields.
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"scenario file {p} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".toml":
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"scenario file {p} is not valid TOML: {exc}") from exc
        rows = raw.get("change", [])
        if not isinstance(rows, list):
            raise ScenarioError(f"scenario file {p}: write each change as a [[change]] table")
        unknown = set(raw) - {"change", "name", "description"}
        if unknown:
            raise ScenarioError(
                f"scenario file {p}: unknown top-level key(s) {sorted(unknown)}; changes go in [[change]] tables"
            )
    elif suffix == ".csv":
        rows = _csv_changes(p)
    else:
        raise ScenarioError(f"scenario file {p} must be .csv or .toml")
    if not rows:
        raise ScenarioError(f"scenario file {p} has no changes; add rows with action, name, ...")
    table = scenario_table(rows, where=f"scenario file {p}")
    table.attrs["source"] = str(p)
    return table


def _csv_changes(p: Path) -> list[dict]:
    """The changes of a CSV scenario as dicts of text (``None`` for an empty cell).

    A record with more non-empty fields than the header (``add,x,51.8,0.6,extra``) is refused, naming its
    line: its values cannot be matched to columns, and a scenario is applied whole or not at all. A trailing
    comma (an empty extra field) is ignored.
    """
    try:
        table = read_csv_table(p, what="scenario file", skipinitialspace=True)
    except InputFileError as exc:
        raise ScenarioError(str(exc)) from exc
    bad = np.flatnonzero(table.extra > 0)
    if len(bad):
        line, n = int(table.lines[bad[0]]), int(table.fields[bad[0]])
        raise ScenarioError(
            f"scenario file {p}: line {line} has {n} fields but the header has "
            f"{table.header_fields} ({list(table.frame.columns)}); quote a value that holds a "
            "comma, or remove the extra field"
        )
    return [
        {k: (None if not str(v).strip() else v) for k, v in r.items()} for r in table.frame.to_dict(orient="records")
    ]


def _label(row: pd.Series) -> str:
    return f"change {row['change']} ({row['action'] or '?'} {row['name'] or '?'!r})"


def _units(row: pd.Series, required: bool, default: int | None) -> int | None:
    value = row["units"]
    if _blank(value):
        if required:
            raise ScenarioError(f"{_label(row)}: give 'units' (a whole number >= 1)")
        return default
    try:
        u = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{_label(row)}: units {value!r} is not a number; give a whole number >= 1") from None
    if u < 1 or u % 1 != 0:
        raise ScenarioError(f"{_label(row)}: units must be a whole number >= 1, got {value!r}")
    return int(u)


def _number(row: pd.Series, column: str) -> float | None:
    value = row[column]
    if _blank(value):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{_label(row)}: {column} {value!r} is not a number") from None
    if not np.isfinite(v):
        raise ScenarioError(f"{_label(row)}: {column} must be a finite number, got {value!r}")
    return v


def _point(row: pd.Series, projected_crs: str) -> Point:
    lat, lon = _number(row, "latitude"), _number(row, "longitude")
    east, north = _number(row, "easting"), _number(row, "northing")
    if lat is not None and lon is not None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ScenarioError(
                f"{_label(row)}: latitude {lat} / longitude {lon} are impossible; "
                "latitude is -90..90, longitude -180..180 (did you swap them?)"
            )
        return Point(lon, lat)
    if east is not None and north is not None:
        return gpd.GeoSeries([Point(east, north)], crs=projected_crs).to_crs(4326).iloc[0]
    where = "the post is" if row["action"] == "set_post" else "the base goes"
    raise ScenarioError(
        f"{_label(row)}: give latitude and longitude (or easting and northing in {projected_crs}) for where {where}"
    )


def _missing(row: pd.Series, names: list[str]) -> ScenarioError:
    close = difflib.get_close_matches(row["name"], names, n=3)
    hint = f"; did you mean {close}?" if close else f"; bases are {names}"
    return ScenarioError(f"{_label(row)}: there is no base named {row['name']!r} at this point of the scenario{hint}")


def apply_scenario(  # noqa: C901
    bases: gpd.GeoDataFrame,
    scenario: pd.DataFrame,
    area: BaseGeometry | None = None,
    boundary: BaseGeometry | None = None,
    projected_crs: str = "EPSG:27700",
) -> gpd.GeoDataFrame:
    """Apply a scenario's changes, in order, to a bases frame.

    Parameters
    ----------
    bases : GeoDataFrame
        Current bases (``name``, ``type``, ``units``, geometry in EPSG:4326), e.g. from
        :func:`geo_response.bases.load_bases`.
    scenario : DataFrame
        From :func:`read_scenario` or :func:`scenario_table`.
    area : shapely geometry, optional
        Lon/lat area new or moved bases must lie in (the force area, or the network area: boundary plus
        buffer). Outside it is an error.
    boundary : shapely geometry, optional
        The force boundary: sets ``outside_area`` on added or moved bases.
    projected_crs : str
        CRS of easting / northing.

    Returns
    -------
    GeoDataFrame
        The scenario's bases: ``base_id`` (renumbered 0..n-1), ``name, type, units, outside_area,
        geometry``, ``change`` ('' unchanged, or 'added' / 'moved' / 'units' joined by '+') and
        ``current_base_id`` (the base it came from; -1 for added ones).
        Node columns are dropped (moved bases need :func:`geo_response.bases.attach_nodes` again).
        ``attrs['scenario']`` lists the changes applied.

    Raises
    ------
    ScenarioError
        Naming the first change that cannot be applied.
    """
    for col in ("name", "units"):
        if col not in bases.columns:
            raise ScenarioError(f"bases need a {col!r} column to apply a scenario")
    records = []
    for (_, b), base_id in zip(bases.to_crs(4326).iterrows(), _current_ids(bases), strict=True):
        records.append(
            {
                "current_base_id": int(base_id),
                "name": str(b["name"]),
                "type": b.get("type", ""),
                "units": int(b["units"]),
                "outside_area": bool(b.get("outside_area", False)),
                "geometry": b.geometry,
                "change": "",
            }
        )
    applied: list[dict] = []
    roster_changes: list[dict] = []
    removed: list[dict] = []
    for _, row in scenario.iterrows():
        action, name = row["action"], row["name"]
        if action not in ACTIONS:
            raise ScenarioError(f"{_label(row)}: action must be one of {list(ACTIONS)}, got {action!r}")
        if not name:
            raise ScenarioError(f"{_label(row)}: every change needs the base's 'name'")
        names = [r["name"] for r in records]
        if names.count(name) > 1:
            raise ScenarioError(
                f"{_label(row)}: {names.count(name)} bases are named {name!r}; give them distinct "
                "names (a bases CSV with --bases) so the change says which one"
            )
        position = names.index(name) if name in names else None
        if action == "add":
            clash = [ch for ch in roster_changes if ch.get("post") == name]
            if clash:
                raise ScenarioError(
                    f"{_label(row)}: patrol post {name!r} (change {clash[0]['change']}) has that name; give the "
                    "new base another name"
                )
            if position is not None:
                raise ScenarioError(
                    f"{_label(row)}: a base named {name!r} already exists; use 'move' or "
                    "'set_units' for it, or give the new base another name"
                )
        elif position is None:
            raise _missing(row, names)
        if action in ("add", "move", "set_post"):
            point = _point(row, projected_crs)
            if area is not None and not shapely.contains_xy(area, point.x, point.y):
                raise ScenarioError(
                    f"{_label(row)}: ({point.y:.5f}, {point.x:.5f}) is outside the force area; "
                    "check the coordinates (latitude, longitude order) or the force profile"
                )
            outside = bool(boundary is not None and not shapely.contains_xy(boundary, point.x, point.y))
        if action in ROSTER_ACTIONS:
            roster_changes.append(_roster_change(row, names, point if action == "set_post" else None, roster_changes))
            applied.append({"change": int(row["change"]), "action": action, "name": name})
            continue
        if action == "add":
            kind = "" if _blank(row["type"]) else str(row["type"])
            records.append(
                {
                    "current_base_id": -1,
                    "name": name,
                    "type": kind,
                    "units": _units(row, False, 1),
                    "outside_area": outside,
                    "geometry": point,
                    "change": "added",
                }
            )
        elif action == "remove":
            records.pop(position)
            removed.append({"change": int(row["change"]), "name": name})
        elif action == "move":
            rec = records[position]
            rec.update(geometry=point, outside_area=outside)
            units = _units(row, False, None)
            if units is not None:
                rec["units"] = units
            if rec["change"] != "added":
                rec["change"] = "+".join(dict.fromkeys([c for c in rec["change"].split("+") if c] + ["moved"]))
        else:
            rec = records[position]
            rec["units"] = _units(row, True, None)
            if rec["change"] != "added":
                rec["change"] = "+".join(dict.fromkeys([c for c in rec["change"].split("+") if c] + ["units"]))
        applied.append({"change": int(row["change"]), "action": action, "name": name})
    if not records:
        raise ScenarioError("the scenario removes every base; keep at least one")
    out = gpd.GeoDataFrame(records, geometry="geometry", crs=4326)
    out.insert(0, "base_id", np.arange(len(out)))
    out = out[["base_id", "name", "type", "units", "outside_area", "geometry", "change", "current_base_id"]]
    out.attrs["scenario"] = applied
    out.attrs["roster_changes"] = roster_changes
    out.attrs["removed"] = removed
    if "source" in scenario.attrs:
        out.attrs["scenario_source"] = scenario.attrs["source"]
    return out


def _shift(row: pd.Series, required: bool) -> tuple[int, int] | str | None:
    """A change's ``shift``: (start, end) minutes after midnight (end > start; overnight: end > 1440), or
    a shift name (text without ``:``), resolved against the roster by :func:`scenario_roster`.
    """
    text = row["shift"]
    if _blank(text):
        if required:
            raise ScenarioError(f"{_label(row)}: give 'shift' as HH:MM-HH:MM (e.g. 22:00-07:00) or a shift name")
        return None
    if ":" not in str(text):
        return str(text).strip()
    parts = str(text).strip().split("-")
    try:
        if len(parts) != 2:
            raise ValueError
        hm = [tuple(int(x) for x in p.strip().split(":")) for p in parts]
        if any(len(t) != 2 or not (0 <= t[0] <= 24 and 0 <= t[1] < 60) for t in hm):
            raise ValueError
    except ValueError:
        raise ScenarioError(
            f"{_label(row)}: shift {text!r} is not HH:MM-HH:MM (e.g. 07:00-19:00 or 22:00-07:00) or a shift name"
        ) from None
    start, end = (60 * h + m for h, m in hm)
    if start >= 1440 or end > 1440:
        raise ScenarioError(f"{_label(row)}: shift {text!r}: times run 00:00..24:00 (start before 24:00)")
    return start, end if end > start else end + 1440


def _roster_change(row: pd.Series, names: list[str], point: Point | None, earlier: list[dict]) -> dict:
    """A ``move_units`` / ``add_units`` / ``set_post`` change checked against the bases at this point."""
    to = row["name"]
    action = str(row["action"])
    if action == "move_units":
        to = None if _blank(row["to"]) else str(row["to"]).strip()
        if to is None:
            raise ScenarioError(f"{_label(row)}: give 'to', the base the units move to")
        if to not in names:
            raise _missing(pd.Series({**row.to_dict(), "name": to}), names)
    shift = _shift(row, required=action == "add_units")
    change = {
        "change": int(row["change"]),
        "action": action,
        "from": str(row["name"]),
        "to": to,
        "units": _units(row, action != "set_post", None),
        "shift": None if shift is None else str(row["shift"]).strip(),
        "start_min": shift[0] if isinstance(shift, tuple) else None,
        "end_min": shift[1] if isinstance(shift, tuple) else None,
    }
    if action == "set_post":
        post = f"{row['name']} post (change {row['change']})" if _blank(row["to"]) else str(row["to"]).strip()
        if post in names:
            raise ScenarioError(f"{_label(row)}: the post's name {post!r} is a base's; give the post another name")
        for ch in earlier:
            if ch.get("post") == post and (ch["latitude"], ch["longitude"]) != (point.y, point.x):
                raise ScenarioError(
                    f"{_label(row)}: post {post!r} is already at ({ch['latitude']}, {ch['longitude']}) "
                    f"(change {ch['change']}); give this post another name"
                )
        change.update(to=None, post=post, latitude=float(point.y), longitude=float(point.x))
    return change


def _shift_lines(recs: list[dict], ch: dict, base: str) -> list[dict]:
    """The roster records at ``base`` on the change's shift (times or name; blank: all of the base's)."""
    at = [r for r in recs if r["base"] == base]
    if ch["shift"] is None:
        return at
    if ch["start_min"] is not None:
        return [r for r in at if (r["start_min"], r["end_min"]) == (ch["start_min"], ch["end_min"])]
    _named_shift(recs, ch)  # a name: the roster must have it somewhere (else "did you mean")
    return [r for r in at if r["name"].lower() == ch["shift"].lower()]


def _named_shift(recs: list[dict], ch: dict) -> list:
    """The roster lines (anywhere) of a change's named shift, or a :class:`ScenarioError` with "did you mean"."""
    from geo_response.simulation.roster import RosterLine, shift_matches

    try:
        return shift_matches([RosterLine(**r) for r in recs], ch["shift"])
    except ValueError as exc:
        raise ScenarioError(f"change {ch['change']} ({ch['action']} {ch['from']!r}): {exc}") from None


def _take(recs: list[dict], group: list[dict], need: int, **moved: object) -> int:
    """Split ``need`` units off the ``group`` records (in order) into new records with ``moved`` fields."""
    for rec in group:
        take = min(need, rec["units"])
        if take == rec["units"] and "base" not in moved:
            rec.update(moved)  # the whole line moves to the post: no split
        elif take:
            rec["units"] -= take
            recs.append({**rec, "units": take, "line": 0, **moved})
        need -= take
        if need == 0:
            break
    return need


def _take_each_day(recs: list[dict], group: list[dict], ch: dict, **moved: object) -> None:
    """Take the change's ``units`` (None: all) on every day each of the group's shifts runs.

    The group's lines are split into one record per weekday first (merged back by :func:`_merge_days`), so lines
    of one shift with overlapping days (``all`` and ``Mon-Fri``) count together on the days they share.
    """
    from geo_response.simulation.roster import DAYS, RosterLine

    pieces = []
    for rec in group:
        i = next(k for k, r in enumerate(recs) if r is rec)
        split = [{**rec, "days": (d,)} for d in rec["days"]]
        recs[i : i + 1] = split
        pieces += split
    cells: dict[tuple, list[dict]] = {}
    for r in pieces:
        cells.setdefault((r["start_min"], r["end_min"], r["days"][0]), []).append(r)
    taken = 0
    for (_, _, day), same in sorted(cells.items(), key=lambda kv: (kv[0][2], kv[0][0])):
        have = sum(r["units"] for r in same)
        want = have if ch["units"] is None else ch["units"]
        if have < want:
            raise _short(ch, have, f"{RosterLine(**same[0]).label} on {DAYS[day]}")
        _take(recs, same, want, **moved)
        taken += want
    if taken == 0:
        raise _short(ch, 0, ch["shift"])


def _merge_days(recs: list[dict]) -> list[dict]:
    """Records equal but for their days merged into one (days joined), in the order first seen."""
    merged: dict[tuple, dict] = {}
    for r in recs:
        key = tuple((k, v) for k, v in r.items() if k != "days")
        if key in merged:
            merged[key]["days"] = tuple(sorted(set(merged[key]["days"]) | set(r["days"])))
        else:
            merged[key] = dict(r)
    return list(merged.values())


def _short(ch: dict, have: int, label: str | None) -> ScenarioError:
    on = f" on shift {label}" if label else ""
    where = f"change {ch['change']} ({ch['action']} {ch['from']!r})"
    if ch["units"] is None or have == 0:
        return ScenarioError(f"{where}: the roster has no unit at {ch['from']!r}{on}")
    return ScenarioError(f"{where}: the roster has only {have} unit(s) at {ch['from']!r}{on}, not {ch['units']}")


def scenario_roster(
    lines: list,
    changes: list[dict],
    current_names: list[str],
    scenario_names: list[str],
    removed: list[dict] | None = None,
):
    """The roster lines after a scenario's ``move_units`` / ``add_units`` / ``set_post`` changes.

    A change with a ``shift`` (times or name) takes its ``units`` on **every day** that shift runs at the base
    (lines of the shift with different days or times, e.g. a weekday and a weekend night, each give theirs);
    ``move_units`` without a shift takes them from the base's lines in roster order.

    Parameters
    ----------
    lines : list of RosterLine
        The current roster (``*`` lines are expanded to ``current_names``).
    changes : list of dict
        ``attrs['roster_changes']`` of :func:`apply_scenario`, applied in order.
    current_names, scenario_names : list of str
        Base names now and in the scenario; lines of bases not in the scenario are dropped.
    removed : list of dict, optional
        ``attrs['removed']`` of :func:`apply_scenario`: a base's lines are dropped where the scenario removes it,
        so a base added later under its name starts with no units.

    Returns
    -------
    tuple
        (lines, notes): the scenario's roster lines (``post`` set on lines whose units wait at a
        ``set_post`` post) and what was dropped.

    Raises
    ------
    ScenarioError
        When a change asks for more units than the base has on that shift (on some day), names a shift the
        roster does not have (with "did you mean"), or posts units of a base with none on that shift.
    """
    from geo_response.simulation.roster import RosterLine, expand_lines

    recs = [dataclasses.asdict(ln) for ln in expand_lines(lines, current_names)]
    events = sorted(
        [(ch["change"], 1, ch) for ch in changes] + [(r["change"], 0, r) for r in removed or []],
        key=lambda e: (e[0], e[1]),
    )
    dropped: set[str] = set()
    for _, kind, ch in events:
        if kind == 0:  # a removed base: its lines go now
            dropped |= {r["base"] for r in recs if r["base"] == ch["name"] and r["units"] > 0}
            recs = [r for r in recs if r["base"] != ch["name"]]
        elif ch["action"] == "add_units":
            if ch["start_min"] is not None:
                start, end = ch["start_min"], ch["end_min"]
                name = next((r["name"] for r in recs if (r["start_min"], r["end_min"]) == (start, end)), "")
            else:  # a named shift: its first roster line's times
                first = _named_shift(recs, ch)[0]
                start, end, name = first.start_min, first.end_min, first.name
            recs.append(asdict_line(ch["to"], ch["units"], start, end, name))
        elif ch["action"] == "move_units" and ch["shift"] is None:
            left = _take(recs, [r for r in recs if r["base"] == ch["from"]], ch["units"], base=ch["to"], post="")
            if left:
                raise _short(ch, ch["units"] - left, None)
        else:
            group = _shift_lines(recs, ch, ch["from"])
            if not group:
                raise _short(ch, 0, ch["shift"])
            moved = {"base": ch["to"], "post": ""} if ch["action"] == "move_units" else {"post": ch["post"]}
            _take_each_day(recs, group, ch, **moved)
    recs = _merge_days(recs)
    dropped |= {r["base"] for r in recs if r["base"] not in scenario_names and r["units"] > 0}
    notes = [f"roster lines of removed base {b!r} dropped (their units are lost)" for b in sorted(dropped)]
    kept = [RosterLine(**r) for r in recs if r["base"] in scenario_names and r["units"] > 0]
    return kept, notes


def asdict_line(base: str, units: int, start: int, end: int, name: str = "") -> dict:
    """A roster record (the fields of :class:`~geo_response.simulation.roster.RosterLine`) on every day."""
    return {
        "base": base,
        "units": units,
        "start_min": start,
        "end_min": end,
        "days": tuple(range(7)),
        "line": 0,
        "name": name,
        "post": "",
    }


def scenario_posts(changes: list[dict]) -> dict[str, Point]:
    """The patrol posts ``set_post`` changes create: post name -> point (EPSG:4326)."""
    return {ch["post"]: Point(ch["longitude"], ch["latitude"]) for ch in changes if ch["action"] == "set_post"}


def _current_ids(current: gpd.GeoDataFrame) -> pd.Series:
    if "base_id" in current.columns:
        return current["base_id"]
    return pd.Series(np.arange(len(current)), index=current.index)


def _origins(current: gpd.GeoDataFrame, scenario_bases: gpd.GeoDataFrame) -> pd.Series:
    """The current base each scenario base came from (-1: added); by name for bases not made here."""
    if "current_base_id" in scenario_bases.columns:
        return scenario_bases["current_base_id"]
    by_name = dict(zip(current["name"], _current_ids(current), strict=True))
    return scenario_bases["name"].map(by_name).fillna(-1).astype(int)


def removed_bases(current: gpd.GeoDataFrame, scenario_bases: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The current bases the scenario removed (by ``base_id``, so a base removed and another added under
    its name still counts as removed).
    """
    return current[~_current_ids(current).isin(_origins(current, scenario_bases))]


def moved_from(current: gpd.GeoDataFrame, scenario_bases: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The old positions (current bases) of the bases the scenario moved."""
    changes = scenario_bases.get("change", pd.Series("", index=scenario_bases.index))
    moved = changes.astype(str).str.split("+").map(lambda c: "moved" in c).to_numpy(bool)
    return current[_current_ids(current).isin(_origins(current, scenario_bases)[moved])]

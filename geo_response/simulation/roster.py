"""Rosters: how many units each base has on duty, by shift and weekday, turned into on-duty intervals.

A roster is a CSV with columns ``base,units,start,end`` and optional ``days`` and ``shift`` (a name
such as ``night``, used by scenarios), or the same rows as a TOML array of tables ``[[roster]]``. Times
are 24-hour ``HH:MM``; an ``end`` at or before ``start`` means an overnight shift (it ends the next day);
``00:00,24:00`` is all day. ``days`` lists weekdays (``Mon-Fri``, ``Sat,Sun``, ``Mon,Wed-Fri``; empty or
``all``: every day); an overnight shift belongs to the day it starts. Each row becomes ``units`` units,
each on duty for that shift every listed day.

The reader is tolerant: a bad row is skipped and reported with its line number and reason; only a
roster with no usable row, or one naming a base that does not exist, is an error.

Examples
--------
>>> lines, issues = parse_rows([{"base": "Colchester", "units": "2", "start": "22:00", "end": "07:00"}])
>>> lines[0].start_min, lines[0].end_min
(1320, 1860)
"""

from __future__ import annotations

import csv
import difflib
import tomllib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from geo_response.errors import SimulationError

__all__ = [
    "DAYS",
    "Roster",
    "RosterLine",
    "build_units",
    "expand_lines",
    "parse_days",
    "parse_rows",
    "read_roster",
    "shift_matches",
    "uncovered_hours",
]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEK_MIN = 7 * 24 * 60


@dataclass(frozen=True)
class RosterLine:
    """One roster row: ``units`` units at ``base`` from ``start_min`` to ``end_min`` (minutes after
    midnight of a listed day; ``end_min`` may exceed 1440 for an overnight shift).

    ``name`` is the shift's name (``""``: none); ``post`` is the patrol post the units wait at (a row name
    of the travel matrix; ``""``: the base's own row).
    """

    base: str
    units: int
    start_min: int
    end_min: int
    days: tuple[int, ...]
    line: int
    name: str = ""
    post: str = ""

    @property
    def label(self) -> str:
        """The shift as ``HH:MM-HH:MM``."""
        return f"{_fmt(self.start_min)}-{_fmt(self.end_min % 1440 if self.end_min != 1440 else 1440)}"


@dataclass(frozen=True)
class Roster:
    """Units and their on-duty intervals over a run (seconds from its start)."""

    unit_base: np.ndarray
    unit_post: np.ndarray
    unit_shift: np.ndarray
    shift_unit: np.ndarray
    shift_start_s: np.ndarray
    shift_end_s: np.ndarray

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.unit_post)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _time(value: object) -> int:
    text = str(value).strip()
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"time {text!r} is not HH:MM")
    h, m = int(hh), int(mm)
    if not (0 <= m < 60 and (0 <= h < 24 or (h == 24 and m == 0))):
        raise ValueError(f"time {text!r} is outside 00:00-24:00")
    return h * 60 + m


def parse_days(text: object) -> tuple[int, ...]:
    """Weekday numbers (Mon = 0) from ``Mon-Fri``, ``Sat,Sun``, ``all`` or empty (every day)."""
    s = "" if text is None else str(text).strip()
    if s == "" or s.lower() in ("all", "daily", "mon-sun"):
        return tuple(range(7))
    names = [d.lower() for d in DAYS]
    out: list[int] = []
    for part in s.split(","):
        a, _, b = part.strip().partition("-")
        try:
            i, j = names.index(a.strip().lower()[:3]), names.index((b or a).strip().lower()[:3])
        except ValueError:
            raise ValueError(f"days {s!r}: use names like Mon-Fri or Sat,Sun") from None
        out += [(i + k) % 7 for k in range((j - i) % 7 + 1)]
    return tuple(sorted(set(out)))


def _parse_row(row: Mapping[str, object], line: int) -> RosterLine:
    base = str(row.get("base") or "").strip()
    if not base:
        raise ValueError("no base")
    try:
        units = int(str(row.get("units", "")).strip())
    except ValueError:
        raise ValueError(f"units {row.get('units')!r} is not a whole number") from None
    if units < 0:
        raise ValueError(f"units {units} is negative")
    start, end = _time(row.get("start", "")), _time(row.get("end", ""))
    if start == 1440:
        raise ValueError("a shift cannot start at 24:00")
    if end <= start:
        end += 1440  # overnight (00:00,00:00 would be all day too)
    name = str(row.get("shift") or "").strip()
    return RosterLine(base, units, start, end, parse_days(row.get("days")), line, name)


def parse_rows(rows: Iterable[Mapping[str, object]], first_line: int = 1) -> tuple[list[RosterLine], list[dict]]:
    """Roster lines from mappings, and an issue (``line``, ``reason``, ``row``) for every bad one."""
    lines, issues = [], []
    for k, row in enumerate(rows):
        line = int(row.get("_line", first_line + k))  # type: ignore[arg-type]
        try:
            lines.append(_parse_row(row, line))
        except ValueError as exc:
            issues.append({"line": line, "reason": str(exc), "row": dict(row)})
    return lines, issues


def read_roster(path: str | Path) -> tuple[list[RosterLine], list[dict]]:
    """Read a roster CSV or TOML; bad rows are returned as issues (and warned), not raised.

    Raises
    ------
    SimulationError
        If the file is missing, lacks the required columns, or has no usable row.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"roster {p} does not exist"
        raise SimulationError(msg)
    if p.suffix.lower() == ".toml":
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            msg = f"roster {p} is not valid TOML: {exc}"
            raise SimulationError(msg) from exc
        rows = [{**r, "_line": i + 1} for i, r in enumerate(raw.get("roster", []))]
        where = "[[roster]] entry"
    else:
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"base", "units", "start", "end"} - set(reader.fieldnames or [])
            if missing:
                msg = f"roster {p} lacks column(s) {sorted(missing)}; need base,units,start,end[,days]"
                raise SimulationError(msg)
            rows = [{**r, "_line": reader.line_num} for r in reader]
        where = "line"
    lines, issues = parse_rows(rows)
    for it in issues:
        warnings.warn(f"roster {p.name} {where} {it['line']} skipped: {it['reason']}", stacklevel=2)
    if not lines:
        msg = f"roster {p} has no usable row ({len(issues)} bad)"
        raise SimulationError(msg)
    return lines, issues


def uncovered_hours(lines: Sequence[RosterLine]) -> list[str]:
    """Weekly periods with no unit on duty anywhere, as ``Mon 02:00-07:00`` strings."""
    cover = np.zeros(WEEK_MIN, dtype=np.int64)
    for ln in lines:
        if ln.units == 0:
            continue
        for d in ln.days:
            idx = (d * 1440 + np.arange(ln.start_min, ln.end_min)) % WEEK_MIN
            cover[idx] += ln.units
    gaps, m = [], 0
    while m < WEEK_MIN:
        if cover[m] == 0:
            e = m
            while e < WEEK_MIN and cover[e] == 0:
                e += 1
            gaps.append(f"{DAYS[m // 1440]} {_fmt(m % 1440)}-{_fmt((e - 1) % 1440 + 1)}")
            m = e
        else:
            m += 1
    return gaps


def _check_bases(lines: Sequence[RosterLine], base_names: Sequence[str]) -> None:
    known = set(base_names)
    for ln in lines:
        if ln.base not in known:
            near = difflib.get_close_matches(ln.base, list(base_names), n=3, cutoff=0.5)
            hint = f"; nearest names: {', '.join(near)}" if near else f"; bases: {', '.join(sorted(known)[:10])}..."
            msg = f"roster line {ln.line} names unknown base {ln.base!r}{hint}"
            raise SimulationError(msg)


def expand_lines(lines: Iterable[RosterLine], base_names: Sequence[str]) -> list[RosterLine]:
    """The lines with base ``*`` (every base) expanded to one line per base of ``base_names``."""
    return [replace(ln, base=b) for ln in lines for b in (base_names if ln.base == "*" else [ln.base])]


def shift_matches(lines: Iterable[RosterLine], shift: str) -> list[RosterLine]:
    """The roster lines of ``shift``: a label ``HH:MM-HH:MM`` or a shift name (case-insensitive).

    Raises
    ------
    ValueError
        When no line has that label or name, listing the shifts there are (with a "did you mean").

    Examples
    --------
    >>> night = RosterLine("A", 2, 1380, 1860, tuple(range(7)), 2, "night")
    >>> [ln.label for ln in shift_matches([night], "Night")], len(shift_matches([night], "23:00-07:00"))
    (['23:00-07:00'], 1)
    """
    lines = list(lines)
    text = str(shift).strip()
    if ":" in text:
        found = [ln for ln in lines if ln.label == text.replace(" ", "")]
    else:
        found = [ln for ln in lines if ln.name and ln.name.lower() == text.lower()]
    if found:
        return found
    names = sorted({ln.name for ln in lines if ln.name})
    labels = sorted({ln.label for ln in lines})
    close = difflib.get_close_matches(text.lower(), [n.lower() for n in names] + labels, n=3, cutoff=0.5)
    hint = f"; did you mean {close}?" if close else ""
    raise ValueError(f"shift {text!r} is not a shift of the roster{hint} (its shifts: names {names}, times {labels})")


def build_units(
    lines: Sequence[RosterLine],
    base_names: Sequence[str],
    horizon_days: float,
    *,
    start_weekday: int = 0,
    posts: Mapping[str, int] | None = None,
) -> Roster:
    """Units and on-duty intervals for a run of ``horizon_days`` starting at midnight of ``start_weekday``.

    Parameters
    ----------
    lines : sequence of RosterLine
        From :func:`read_roster` or :func:`parse_rows`; base ``*`` means every base.
    base_names : sequence of str
        Names of the bases, in the order of the travel matrix rows (the default post of a base).
    horizon_days : float
        Length of the run; an overnight shift from the day before day 0 is included.
    start_weekday : int
        Weekday of day 0 (Mon = 0).
    posts : mapping, optional
        Base or post name -> row of the travel matrix, when units wait at patrol posts instead of their base
        (a line's ``post``, else its base, is looked up).

    Raises
    ------
    SimulationError
        If a line names an unknown base (with the nearest names).

    Warns
    -----
    UserWarning
        Listing weekly periods with no unit on duty (incidents then queue).
    """
    lines = expand_lines(lines, base_names)
    _check_bases(lines, base_names)
    if gaps := uncovered_hours(lines):
        more = f" and {len(gaps) - 6} more" if len(gaps) > 6 else ""
        warnings.warn(
            f"the roster leaves no unit on duty in {', '.join(gaps[:6])}{more}: incidents then queue", stacklevel=2
        )
    row_of = dict(posts) if posts is not None else {b: i for i, b in enumerate(base_names)}
    unit_base, unit_post, unit_shift, s_unit, s_start, s_end = [], [], [], [], [], []
    days = range(-1, int(np.ceil(horizon_days)))
    for ln in lines:
        starts = [d * 86400 + ln.start_min * 60 for d in days if (start_weekday + d) % 7 in ln.days]
        starts = [s for s in starts if s + (ln.end_min - ln.start_min) * 60 > 0 and s < horizon_days * 86400]
        for _ in range(ln.units):
            u = len(unit_post)
            unit_base.append(ln.base)
            unit_post.append(row_of[ln.post or ln.base])
            unit_shift.append(ln.label)
            s_unit += [u] * len(starts)
            s_start += [max(0, s) for s in starts]
            s_end += [s + (ln.end_min - ln.start_min) * 60 for s in starts]
    return Roster(
        np.asarray(unit_base, dtype=object),
        np.asarray(unit_post, dtype=np.int64),
        np.asarray(unit_shift, dtype=object),
        np.asarray(s_unit, dtype=np.int64),
        np.asarray(s_start, dtype=float),
        np.asarray(s_end, dtype=float),
    )

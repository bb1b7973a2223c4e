"""Speed profiles: UK speed limits parsed from OSM ``maxspeed`` and travel times per edge.

For every edge and every speed profile of the force profile this module sets

- ``limit_kph``: the posted limit (parsed ``maxspeed``; imputed by highway class when missing),
- ``limit_imputed``: True when the limit was imputed,
- ``road_class``: motorway, trunk, primary, secondary, tertiary, unclassified, residential, link or other,
- ``setting``: ``"urban"`` where the limit is at or below ``urban_limit_mph`` (UK built-up roads are 30 or
  40 mph), otherwise ``"rural"``,
- ``speed_kph_<profile>`` = min(limit_kph * factor[setting][road_class] * time-of-day multiplier,
  max_kph[road_class]),
- ``travel_time_<profile>`` = length / speed, in seconds.

``free_flow`` has no factors and no caps, so its travel time is exactly length / limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import networkx as nx
import numpy as np

from geo_response.config import SpeedProfile, Speeds

MPH_TO_KPH = 1.609344
UK_MAX_MPH = 70.0
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_NATIONAL_SINGLE = {"uk:nsl_single", "gb:nsl_single", "nsl_single"}
_NATIONAL_DUAL = {"uk:nsl_dual", "gb:nsl_dual", "nsl_dual"}
_MOTORWAY = {"uk:motorway", "gb:motorway"}
_DUAL_CLASSES = {"motorway", "trunk", "primary"}


def travel_time_field(profile: str) -> str:
    """Name of the edge attribute that holds travel seconds for a speed profile."""
    return f"travel_time_{profile}"


def speed_field(profile: str) -> str:
    """Name of the edge attribute that holds the speed (km/h) for a speed profile."""
    return f"speed_kph_{profile}"


def first_highway(highway: object) -> str:
    """The highway tag of an edge as one string (OSMnx merges tags into lists when simplifying)."""
    if isinstance(highway, list | tuple):
        highway = highway[0] if highway else ""
    return str(highway or "").strip()


def road_class(highway: object) -> str:
    """Group a highway tag into the road classes the speed factors use."""
    h = first_highway(highway)
    if h.endswith("_link"):
        return "link"
    if h in ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential"):
        return h
    return "other"


def _is_yes(value: object) -> bool:
    if isinstance(value, list | tuple):
        return any(_is_yes(v) for v in value)
    return str(value).strip().lower() in ("yes", "true", "1", "-1")


def parse_maxspeed(value: object, highway: object = None, oneway: object = False,
                   speeds: Speeds | None = None) -> float | None:
    """Parse a UK OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : str, number, list or None
        ``'30 mph'``, ``'30mph'``, ``'50'`` (km/h, the OSM default unit), ``'50 km/h'``, ``'national'``,
        ``'UK:nsl_single'``, ``'UK:nsl_dual'``, ``'UK:motorway'``, ``'none'``, or several of these
        (a list, or ``;`` / ``|`` separated) — several give their mean, as OSMnx does.
    highway : str or list, optional
        The edge's highway tag: ``'national'`` means 70 mph on motorways and dual carriageways
        (one-way trunk/primary carriageways), otherwise 60 mph.
    oneway : bool or str
        Whether the edge is one-way (a carriageway of a dual road).
    speeds : Speeds, optional
        National limits from the force profile (default 60 / 70 mph).

    Returns
    -------
    float or None
        The limit in km/h, or None when the value is missing or cannot be read (``'signals'``,
        ``'variable'``, ``'walk'``): the caller imputes it.
    """
    single = speeds.national_single_mph if speeds else 60.0
    dual = speeds.national_dual_mph if speeds else 70.0
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list | tuple):
        parts: Iterable[object] = value
    else:
        parts = re.split(r"[;|]", str(value))
    parsed = []
    for part in parts:
        if isinstance(part, int | float) and not isinstance(part, bool):
            parsed.append(float(part))
            continue
        text = str(part).strip().lower()
        if not text:
            continue
        m = _NUMBER.match(text)
        if m:
            number = float(m.group(1))
            parsed.append(number * MPH_TO_KPH if (m.group(2) or "").lower() == "mph" else number)
        elif text in _NATIONAL_SINGLE:
            parsed.append(single * MPH_TO_KPH)
        elif text in _NATIONAL_DUAL or text in _MOTORWAY:
            parsed.append(dual * MPH_TO_KPH)
        elif text in ("national", "none", "uk:national", "gb:national"):
            # 'none' has no meaning on UK roads: read it as the highest national limit there is.
            h = first_highway(highway)
            is_dual = h == "motorway" or (h in _DUAL_CLASSES and _is_yes(oneway)) or text == "none"
            parsed.append((dual if is_dual else single) * MPH_TO_KPH)
    valid = [p for p in parsed if p > 0]
    return sum(valid) / len(valid) if valid else None


def default_limit_kph(highway: object, speeds: Speeds) -> float:
    """The documented default limit (km/h) for an edge with no usable ``maxspeed``."""
    table = speeds.default_limit_mph
    h = first_highway(highway)
    mph = table.get(h, table.get("other", 30.0))
    return float(mph) * MPH_TO_KPH


def _multiplier(profile_cfg, hour: int | None) -> float:
    if hour is None:
        return 1.0
    for period in profile_cfg.time_of_day:
        if period.contains(hour):
            return period.multiplier
    return 1.0


def add_travel_times(G: nx.MultiDiGraph, speeds: Speeds, profiles: Iterable[str] | None = None,
                     hour: int | None = None) -> nx.MultiDiGraph:
    """Set limits, settings and ``speed_kph_<p>`` / ``travel_time_<p>`` on every edge, in place.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Edges need ``length`` (metres) and ``highway``; ``maxspeed`` and ``oneway`` are optional.
    speeds : Speeds
        ``ForceProfile.speeds``.
    profiles : iterable of str, optional
        Which speed profiles to compute (default: all in ``speeds.profiles``).
    hour : int, optional
        Hour of day (0-23) for profiles with time-of-day multipliers; None means no multiplier.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph, for chaining. ``G.graph["speed_profiles"]`` lists the profiles set.
    """
    names = list(profiles) if profiles is not None else list(speeds.profiles)
    chosen = [speeds.profiles[n] for n in names]
    multipliers = {p.name: _multiplier(p, hour) for p in chosen}
    urban_kph = speeds.urban_limit_mph * MPH_TO_KPH + 1e-6
    parse_cache: dict[tuple, float | None] = {}
    for _, _, data in G.edges(data=True):
        raw = data.get("maxspeed")
        highway = data.get("highway")
        oneway = data.get("oneway", False)
        key = (str(raw), first_highway(highway), _is_yes(oneway))
        if key not in parse_cache:
            parse_cache[key] = parse_maxspeed(raw, highway, oneway, speeds)
        limit = parse_cache[key]
        imputed = limit is None
        if imputed:
            limit = default_limit_kph(highway, speeds)
        cls = road_class(highway)
        setting = "urban" if limit <= urban_kph else "rural"
        length = float(data.get("length", 0.0))
        data["limit_kph"] = limit
        data["limit_imputed"] = imputed
        data["road_class"] = cls
        data["setting"] = setting
        for p in chosen:
            speed = min(limit * p.factor(cls, setting) * multipliers[p.name], p.cap_kph(cls))
            data[speed_field(p.name)] = speed
            data[travel_time_field(p.name)] = length / (speed / 3.6)
    G.graph["speed_profiles"] = names
    G.graph["speed_hour"] = hour
    G.graph["speed_version"] = G.graph.get("speed_version", 0) + 1  # invalidates memoised routing structures
    return G


def edge_speeds_kph(limit_kph: np.ndarray, road_class: np.ndarray, setting: np.ndarray, speed: SpeedProfile,
                    multiplier: float = 1.0) -> np.ndarray:
    """Speed (km/h) of edges under a speed profile, from their limit, road class and setting (vectorised).

    ``min(limit * factor[setting][class] * multiplier, max_kph[class])``: the same rule as
    :func:`add_travel_times`, on arrays.
    """
    limit = np.asarray(limit_kph, dtype=float)
    classes = np.asarray(road_class, dtype=object)
    settings = np.asarray(setting, dtype=object)
    factor = np.ones(len(limit))
    cap = np.full(len(limit), np.inf)
    for cls in np.unique(classes):
        in_class = classes == cls
        cap[in_class] = speed.cap_kph(str(cls))
        for where in ("urban", "rural"):
            factor[in_class & (settings == where)] = speed.factor(str(cls), where)
    return np.minimum(limit * factor * multiplier, cap)


def edge_travel_times(length_m: np.ndarray, limit_kph: np.ndarray, road_class: np.ndarray, setting: np.ndarray,
                      speed: SpeedProfile, hour: int | None = None) -> np.ndarray:
    """Travel seconds of edges under a speed profile at an hour of day (None: no time-of-day multiplier)."""
    kph = edge_speeds_kph(limit_kph, road_class, setting, speed, _multiplier(speed, hour))
    return np.asarray(length_m, dtype=float) / (kph / 3.6)

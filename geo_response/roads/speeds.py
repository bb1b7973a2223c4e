"""Speed profiles: UK speed limits parsed from OSM ``maxspeed`` and travel times per edge.

For every edge and every speed profile of the force profile this module sets

- ``limit_kph``: the posted limit (parsed ``maxspeed``; imputed by highway class when missing),
- ``limit_imputed``: True when the limit was imputed,
- ``road_class``: motorway, trunk, primary, secondary, tertiary, unclassified, residential, link or other,
- ``setting``: ``"urban"`` or ``"rural"``: the ONS Rural-Urban Classification of the LSOA the road piece lies
  in (:func:`add_piece_attributes`, ``setting_source="lsoa"``); outside the LSOA layer, ``"urban"`` where the
  limit is at or below ``urban_limit_mph`` (UK built-up roads are 30 or 40 mph), else ``"rural"``
  (``setting_source="limit"``),
- ``speed_kph_<profile>`` = min(limit_kph * factor[setting][road_class] * time-of-day multiplier,
  max_kph[road_class]),
- ``travel_time_<profile>`` = length / speed, in seconds.

``free_flow`` has no factors and no caps, so its travel time is exactly length / limit. Edges built by
:mod:`geo_response.roads.osm` are homogeneous (one highway, limit, direction and setting each), so length /
speed is the sum of their pieces' times. Time of day: :class:`When` (hour and day type), :func:`parse_when`,
:func:`multiplier`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np

from geo_response.config import DAY_TYPES, SpeedProfile, Speeds
from geo_response.errors import InputFileError, RoutingError

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


def one_value(value: object, what: str = "value") -> object:
    """The one value of an edge attribute; a list (a merged, non-homogeneous edge) must hold one value only.

    Edges from :mod:`geo_response.roads.osm` never hold lists of highway or maxspeed; a graph simplified
    elsewhere (OSMnx's default) may, and then one value cannot be chosen without averaging or guessing.
    """
    if isinstance(value, list | tuple):
        distinct = list(dict.fromkeys(str(v) for v in value))
        if len(distinct) != 1:
            raise RoutingError(
                f"an edge holds several {what} values {distinct}: build the graph with "
                "geo_response.roads.osm (edges homogeneous in highway and maxspeed)"
            )
        return value[0]
    return value


def first_highway(highway: object) -> str:
    """The highway tag of an edge as one string (a list must hold one value, see :func:`one_value`)."""
    return str(one_value(highway, "highway") or "").strip()


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


def parse_maxspeed(
    value: object, highway: object = None, oneway: object = False, speeds: Speeds | None = None
) -> float | None:
    """Parse a UK OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : str, number, list or None
        ``'30 mph'``, ``'30mph'``, ``'50'`` (km/h, the OSM default unit), ``'50 km/h'``, ``'national'``,
        ``'UK:nsl_single'``, ``'UK:nsl_dual'``, ``'UK:motorway'``, ``'none'``, or several of these
        (``;`` / ``|`` separated in one tag: their mean). A list (a merged edge) must hold one value.
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
    value = one_value(value, "maxspeed")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    parts: Iterable[object] = [value] if isinstance(value, int | float) else re.split(r"[;|]", str(value))
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


# ---------------------------------------------------------------------------------------------
# time of day
# ---------------------------------------------------------------------------------------------
_DAY_NAMES = {
    d: i
    for i, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for d in names
}
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


@dataclass(frozen=True)
class When:
    """A time of the week for speeds: ``hour`` (0-23, local clock) and ``day_type`` ('weekday' / 'weekend')."""

    hour: int
    day_type: str = "weekday"

    def __post_init__(self) -> None:
        if not (isinstance(self.hour, int) and 0 <= self.hour <= 23):
            raise InputFileError(f"hour must be a whole number 0-23, got {self.hour!r}")
        if self.day_type not in DAY_TYPES:
            raise InputFileError(f"day type must be one of {', '.join(DAY_TYPES)}, got {self.day_type!r}")

    def __str__(self) -> str:
        return f"{self.hour:02d}:00 {self.day_type}"


def parse_when(text: str | datetime | When | int) -> When:
    """Read a time of the week: ``"08:00"`` (a weekday), ``"8"``, ``"08:00 weekend"``, ``"weekend 08:00"``,
    ``"Sat 08:00"``, ``"Saturday 8:30"`` or an ISO datetime (``"2024-03-02T08:15"``, its weekday decides).

    Minutes are read and dropped (the multipliers are hourly). Raises InputFileError for anything else.
    """
    if isinstance(text, When):
        return text
    if isinstance(text, int) and not isinstance(text, bool):
        return When(text)
    if isinstance(text, datetime):
        return When(text.hour, "weekend" if text.weekday() >= 5 else "weekday")
    raw = str(text).strip()
    try:
        return parse_when(datetime.fromisoformat(raw))
    except ValueError:
        pass
    day_type, hour = "weekday", None
    for word in raw.lower().replace(",", " ").split():
        clock = _CLOCK.match(word)
        if clock and hour is None and int(clock.group(1)) <= 23 and int(clock.group(2) or 0) <= 59:
            hour = int(clock.group(1))
        elif word in DAY_TYPES:
            day_type = word
        elif word in _DAY_NAMES:
            day_type = "weekend" if _DAY_NAMES[word] >= 5 else "weekday"
        else:
            hour = None
            break
    if hour is None:
        raise InputFileError(
            f"cannot read the time {text!r}: give an hour such as '08:00', '08:00 weekend', "
            "'Sat 08:00' or an ISO datetime such as '2024-03-02T08:15'"
        )
    return When(hour, day_type)


def multiplier(speed: SpeedProfile, when: When | str | int | None) -> float:
    """The time-of-day multiplier of a speed profile at a time of the week (1.0 when ``when`` is None or no
    period of the profile covers it; the first matching period wins).
    """
    if when is None:
        return 1.0
    when = parse_when(when)
    for period in speed.time_of_day:
        if period.contains(when.hour, when.day_type):
            return period.multiplier
    return 1.0


# ---------------------------------------------------------------------------------------------
# road pieces: limit, class, setting
# ---------------------------------------------------------------------------------------------
def edge_limit(maxspeed: object, highway: object, oneway: object, speeds: Speeds) -> tuple[float, bool]:
    """The limit of an edge in km/h and whether it was imputed (no usable ``maxspeed``)."""
    limit = parse_maxspeed(maxspeed, highway, oneway, speeds)
    if limit is None:
        return default_limit_kph(highway, speeds), True
    return limit, False


def place_settings(lon: np.ndarray, lat: np.ndarray, places) -> np.ndarray:
    """``urban_rural`` of the polygon each lon/lat point lies in (object array, None outside all of them).

    ``places``: a GeoDataFrame with an ``urban_rural`` column, e.g. ``geography.load_lsoas``. A point on a
    shared border takes the first polygon's value (layer order), so the answer does not depend on the caller.
    """
    import shapely

    out = np.full(len(lon), None, dtype=object)
    if places is None or len(places) == 0 or len(lon) == 0:
        return out
    if places.crs is not None and places.crs.to_epsg() != 4326:
        places = places.to_crs(4326)
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    point_idx, poly_idx = places.sindex.query(points, predicate="intersects")
    order = np.lexsort((poly_idx, point_idx))
    point_idx, poly_idx = point_idx[order], poly_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    values = places["urban_rural"].to_numpy(dtype=object)
    out[point_idx[first]] = values[poly_idx[first]]
    return out


def add_piece_attributes(G: nx.MultiDiGraph, speeds: Speeds, places=None) -> nx.MultiDiGraph:
    """Set ``limit_kph``, ``limit_imputed``, ``road_class``, ``setting`` and ``setting_source`` on every
    edge of an unsimplified graph (one piece per edge), in place.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Normalised, unsimplified (:func:`geo_response.roads.osm.normalise`): nodes ``x``/``y``, edges
        ``highway``, optional ``maxspeed`` and ``oneway``.
    speeds : Speeds
        ``ForceProfile.speeds`` (national limits, imputed defaults, ``urban_limit_mph``).
    places : GeoDataFrame, optional
        Polygons with ``urban_rural`` (the force's LSOAs with their RUC, urban_ruc / rural_ruc of the
        profile). A piece takes the setting of the polygon its midpoint lies in (``setting_source="lsoa"``);
        outside them the limit decides: at or below ``urban_limit_mph`` is urban (``"limit"``).
    """
    edges = list(G.edges(data=True))
    xs, ys = nx.get_node_attributes(G, "x"), nx.get_node_attributes(G, "y")
    lon = np.array([(xs[u] + xs[v]) / 2 for u, v, _ in edges])
    lat = np.array([(ys[u] + ys[v]) / 2 for u, v, _ in edges])
    placed = place_settings(lon, lat, places)
    urban_kph = speeds.urban_limit_mph * MPH_TO_KPH + 1e-6
    cache: dict[tuple, tuple[float, bool]] = {}
    for (_, _, data), place in zip(edges, placed, strict=True):
        key = (data.get("maxspeed"), data.get("highway"), _is_yes(data.get("oneway", False)))
        if key not in cache:
            cache[key] = edge_limit(*key, speeds)
        limit, imputed = cache[key]
        data["limit_kph"] = limit
        data["limit_imputed"] = imputed
        data["road_class"] = road_class(data.get("highway"))
        if place is None:
            data["setting"], data["setting_source"] = ("urban" if limit <= urban_kph else "rural"), "limit"
        else:
            data["setting"], data["setting_source"] = str(place), "lsoa"
    return G


def _edge_pieces(data: dict, speeds: Speeds, cache: dict) -> tuple[float, str, str]:
    """limit, class and setting of an edge: the ones :func:`add_piece_attributes` set, else from its tags."""
    if "limit_kph" in data and "road_class" in data and "setting" in data:
        return data["limit_kph"], data["road_class"], data["setting"]
    raw, highway, oneway = data.get("maxspeed"), data.get("highway"), data.get("oneway", False)
    key = (str(raw), first_highway(highway), _is_yes(oneway))
    if key not in cache:
        cache[key] = edge_limit(raw, highway, oneway, speeds)
    limit, imputed = cache[key]
    setting = "urban" if limit <= speeds.urban_limit_mph * MPH_TO_KPH + 1e-6 else "rural"
    data.update(
        limit_kph=limit, limit_imputed=imputed, road_class=road_class(highway), setting=setting, setting_source="limit"
    )
    return limit, data["road_class"], setting


def add_travel_times(
    G: nx.MultiDiGraph,
    speeds: Speeds,
    profiles: Iterable[str] | None = None,
    hour: int | None = None,
    when: When | str | None = None,
) -> nx.MultiDiGraph:
    """Set ``speed_kph_<p>`` / ``travel_time_<p>`` (and limits and settings if missing) on every edge, in place.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Edges need ``length`` (metres) and either the piece attributes of :func:`add_piece_attributes`
        (graphs from :mod:`geo_response.roads.osm`) or ``highway`` and optional ``maxspeed`` / ``oneway``
        (then the setting comes from the limit).
    speeds : Speeds
        ``ForceProfile.speeds``.
    profiles : iterable of str, optional
        Which speed profiles to compute (default: all in ``speeds.profiles``).
    hour : int, optional
        Hour of day (0-23) on a weekday; kept for callers that have only an hour. ``when`` wins.
    when : When or str, optional
        Time of the week (:func:`parse_when`); None means no time-of-day multiplier.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph, for chaining. ``G.graph["speed_profiles"]`` lists the profiles set,
        ``G.graph["speed_when"]`` the time of the week (or None).
    """
    when = parse_when(when) if when is not None else (When(int(hour)) if hour is not None else None)
    names = list(profiles) if profiles is not None else list(speeds.profiles)
    chosen = [speeds.profiles[n] for n in names]
    multipliers = {p.name: multiplier(p, when) for p in chosen}
    cache: dict[tuple, tuple[float, bool]] = {}
    for _, _, data in G.edges(data=True):
        limit, cls, setting = _edge_pieces(data, speeds, cache)
        length = float(data.get("length", 0.0))
        for p in chosen:
            speed = min(limit * p.factor(cls, setting) * multipliers[p.name], p.cap_kph(cls))
            data[speed_field(p.name)] = speed
            data[travel_time_field(p.name)] = length / (speed / 3.6)
    G.graph["speed_profiles"] = names
    G.graph["speed_hour"] = when.hour if when else None
    G.graph["speed_when"] = str(when) if when else None
    G.graph["speed_version"] = G.graph.get("speed_version", 0) + 1  # invalidates memoised routing structures
    return G


def edge_speeds_kph(
    limit_kph: np.ndarray, road_class: np.ndarray, setting: np.ndarray, speed: SpeedProfile, multiplier: float = 1.0
) -> np.ndarray:
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


def edge_travel_times(
    length_m: np.ndarray,
    limit_kph: np.ndarray,
    road_class: np.ndarray,
    setting: np.ndarray,
    speed: SpeedProfile,
    hour: int | None = None,
    when: When | str | None = None,
) -> np.ndarray:
    """Travel seconds of edges under a speed profile at a time of the week (vectorised).

    ``when`` (a :class:`When` or text for :func:`parse_when`) wins over ``hour`` (a weekday hour); with
    neither, no time-of-day multiplier. Exact for homogeneous edges (one limit, class and setting each).
    """
    if when is None and hour is not None:
        when = When(int(hour))
    kph = edge_speeds_kph(limit_kph, road_class, setting, speed, multiplier(speed, when))
    return np.asarray(length_m, dtype=float) / (kph / 3.6)

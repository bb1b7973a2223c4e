"""Speed limits and per-profile travel times, hand-computed on tests/fixtures/osm/tiny_town.osm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo_response.errors import RoutingError
from geo_response.roads import network, speeds
from tests.conftest import FIXTURES

MPH = 1.609344
R = 6_371_009.0  # OSMnx's mean earth radius (m)


@pytest.mark.parametrize(
    ("value", "highway", "oneway", "expected"),
    [
        ("30 mph", "residential", False, 30 * MPH),
        ("30mph", "residential", False, 30 * MPH),
        ("50", "primary", False, 50.0),
        ("50 km/h", "primary", False, 50.0),
        ("national", "unclassified", False, 60 * MPH),
        ("national", "motorway", False, 70 * MPH),
        ("national", "trunk", "yes", 70 * MPH),  # a one-way trunk carriageway: dual
        ("national", "trunk", False, 60 * MPH),
        ("UK:nsl_single", "primary", False, 60 * MPH),
        ("GB:nsl_single", "primary", False, 60 * MPH),
        ("UK:nsl_dual", "primary", False, 70 * MPH),
        ("UK:motorway", "motorway", False, 70 * MPH),
        ("none", "motorway", False, 70 * MPH),
        (["30 mph", "30 mph"], "primary", False, 30 * MPH),  # a merged edge with one limit
        ("20 mph;30 mph", "residential", False, 25 * MPH),
        (None, "primary", False, None),
        (float("nan"), "primary", False, None),
        ("signals", "primary", False, None),
        ("variable", "motorway", False, None),
    ],
)
def test_parse_maxspeed(value, highway, oneway, expected, profile):
    got = speeds.parse_maxspeed(value, highway, oneway, profile.speeds)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-9)


def test_road_class():
    assert speeds.road_class("trunk_link") == "link"
    assert speeds.road_class(["primary", "primary"]) == "primary"
    with pytest.raises(RoutingError, match="several highway values"):  # never the first of a list
        speeds.road_class(["primary", "secondary"])
    with pytest.raises(RoutingError, match="several maxspeed values"):  # never the mean of a list
        speeds.parse_maxspeed(["30 mph", "60 mph"], "primary")
    assert speeds.road_class("living_street") == "other"
    assert speeds.travel_time_field("blue_light") == "travel_time_blue_light"


@pytest.fixture(scope="module")
def tiny(profile):
    net = network.load_network(FIXTURES / "osm" / "tiny_town.osm", profile=profile, clip=False, use_cache=False)
    return net.to_networkx()


def edge(G, u, v, highway):
    matches = [d for a, b, d in G.edges(data=True) if a == u and b == v and d["highway"] == highway]
    assert len(matches) == 1
    return matches[0]


def test_hand_computed_travel_times(tiny):
    l13 = R * math.radians(0.002)  # 1 -> 3, 222.390 m
    l45 = R * math.radians(0.001)  # 4 -> 5, 111.195 m
    e = edge(tiny, 1, 3, "primary")  # 30 mph, urban
    assert e["length"] == pytest.approx(l13, rel=1e-9)
    assert e["setting"] == "urban" and not e["limit_imputed"]
    assert e["travel_time_free_flow"] == pytest.approx(l13 / (30 * MPH / 3.6))  # exactly length / limit
    assert e["travel_time_free_flow"] == pytest.approx(16.5824, abs=1e-4)
    assert e["travel_time_blue_light"] == pytest.approx(l13 / (30 * MPH * 1.30 / 3.6))  # urban primary x1.30
    assert e["travel_time_blue_light"] == pytest.approx(12.7557, abs=1e-4)
    assert e["travel_time_normal"] == pytest.approx(l13 / (30 * MPH * 0.65 / 3.6))  # urban primary x0.65
    assert e["travel_time_normal"] == pytest.approx(25.5114, abs=1e-4)

    e = edge(tiny, 3, 4, "unclassified")  # national, single carriageway: 60 mph
    assert e["limit_kph"] == pytest.approx(96.56064)
    # by its limit a rural lane, but it lies in LSOA Chelmsford 012 (RUC C1, urban): the place decides
    assert (e["setting"], e["setting_source"]) in {("urban", "lsoa"), ("rural", "limit")}
    assert e["travel_time_free_flow"] == pytest.approx(8.2912, abs=1e-4)
    assert e["travel_time_blue_light"] == pytest.approx(l13 / (80 / 3.6))  # capped at 80 km/h
    assert e["travel_time_normal"] == pytest.approx(l13 / (65 / 3.6))  # capped at 65 km/h
    assert not tiny.has_edge(4, 3) or all(d["highway"] != "unclassified" for d in tiny[4][3].values())  # one-way

    e = edge(tiny, 4, 5, "residential")  # no maxspeed: imputed 30 mph
    assert e["limit_imputed"] and e["limit_kph"] == pytest.approx(30 * MPH)
    assert e["travel_time_blue_light"] == pytest.approx(l45 / (30 * MPH * 1.20 / 3.6))
    assert e["travel_time_normal"] == pytest.approx(l45 / (30 * MPH * 0.80 / 3.6))
    assert e["travel_time_normal"] == pytest.approx(10.3640, abs=1e-4)

    e = edge(tiny, 4, 3, "trunk")  # 50 km/h (no unit = km/h), via 8 and 9: 497.855 m
    assert e["limit_kph"] == 50.0 and e["setting"] == "urban"
    assert e["length"] == pytest.approx(497.8546, abs=1e-3)
    assert e["travel_time_blue_light"] == pytest.approx(27.5735, abs=1e-4)  # 65 km/h
    assert e["travel_time_normal"] == pytest.approx(51.2079, abs=1e-4)  # 35 km/h


def test_time_of_day_multiplier(profile):
    net = network.load_network(FIXTURES / "osm" / "tiny_town.osm", profile=profile, clip=False, use_cache=False)
    G = net.to_networkx()
    speeds.add_travel_times(G, profile.speeds, profiles=["normal"], hour=8)  # weekday am peak x0.90
    e = edge(G, 1, 3, "primary")
    assert e["speed_kph_normal"] == pytest.approx(30 * MPH * 0.65 * 0.90)
    speeds.add_travel_times(G, profile.speeds, profiles=["normal"], when="Sat 08:00")  # weekend: no peak
    assert edge(G, 1, 3, "primary")["speed_kph_normal"] == pytest.approx(30 * MPH * 0.65)
    assert G.graph["speed_when"] == "08:00 weekend"
    speeds.add_travel_times(G, profile.speeds, profiles=["normal"], hour=23)  # night x1.10
    assert edge(G, 1, 3, "primary")["speed_kph_normal"] == pytest.approx(30 * MPH * 0.65 * 1.10)
    speeds.add_travel_times(G, profile.speeds, profiles=["normal"], hour=13)  # no period
    assert edge(G, 1, 3, "primary")["speed_kph_normal"] == pytest.approx(30 * MPH * 0.65)


@pytest.mark.parametrize(
    ("text", "hour", "day_type"),
    [
        ("08:00", 8, "weekday"),
        ("8", 8, "weekday"),
        ("08:00 weekend", 8, "weekend"),
        ("weekend 08:00", 8, "weekend"),
        ("Sat 08:00", 8, "weekend"),
        ("sunday 23:59", 23, "weekend"),
        ("Wed 17:30", 17, "weekday"),
        ("2024-03-02T08:15", 8, "weekend"),  # a Saturday
        ("2024-03-04 08:15:00", 8, "weekday"),  # a Monday
    ],
)
def test_parse_when(text, hour, day_type):
    assert speeds.parse_when(text) == speeds.When(hour, day_type)


@pytest.mark.parametrize("text", ["24:00", "08:61", "soon", "Sat", "8 am tomorrow", ""])
def test_parse_when_refuses(text):
    from geo_response.errors import InputFileError

    with pytest.raises(InputFileError, match="cannot read the time"):
        speeds.parse_when(text)


def test_when_0800_weekday_slows_normal_travel_by_the_documented_multiplier(profile):
    """The profile's am_peak (weekday 07-10, x0.90, DfT trunk road speeds 2003) and nothing else."""
    normal = profile.speeds.profiles["normal"]
    (am,) = [p for p in normal.time_of_day if p.name == "am_peak"]
    assert am.multiplier == 0.90 and am.days == ("weekday",) and "DfT" in am.evidence
    assert speeds.multiplier(normal, "08:00") == 0.90
    assert speeds.multiplier(normal, "08:00 weekend") == 1.0
    assert speeds.multiplier(normal, None) == 1.0
    assert speeds.multiplier(normal, "03:00") == 1.10  # night, an assumption
    assert speeds.multiplier(profile.speeds.profiles["blue_light"], "08:00") == 1.0
    length = np.array([1000.0, 2500.0, 400.0])
    limit = np.array([30, 60, 70]) * MPH
    cls = np.array(["primary", "unclassified", "motorway"], dtype=object)
    setting = np.array(["urban", "rural", "rural"], dtype=object)
    base = speeds.edge_travel_times(length, limit, cls, setting, normal)
    peak = speeds.edge_travel_times(length, limit, cls, setting, normal, when=speeds.parse_when("08:00"))
    assert peak[0] == pytest.approx(base[0] / 0.90, rel=1e-12)  # below its cap: exactly / 0.90
    assert peak[0] == pytest.approx(1000 / (30 * MPH * 0.65 * 0.90 / 3.6), rel=1e-12)
    assert peak[1] == pytest.approx(2500 / (65 / 3.6))  # capped at 65 km/h either way
    assert speeds.edge_travel_times(length, limit, cls, setting, normal, hour=8) == pytest.approx(peak)


def test_time_of_day_days_must_be_a_day_type():
    import tomllib

    from geo_response import config
    from geo_response.errors import ConfigError

    raw = tomllib.loads(config.default_profile_path().read_text())
    raw["speeds"]["profiles"]["normal"]["time_of_day"][0]["days"] = "weekdays"
    with pytest.raises(ConfigError, match=r"time_of_day\[0\].days must be 'all', 'weekday' or 'weekend'"):
        config.parse_profile(raw)
    raw["speeds"]["profiles"]["normal"]["time_of_day"][0]["days"] = "weekend"
    (am, *_) = config.parse_profile(raw).speeds.profiles["normal"].time_of_day
    assert am.days == ("weekend",) and am.contains(8, "weekend") and not am.contains(8, "weekday")

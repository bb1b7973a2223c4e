"""Force profiles: everything force-specific, read from a TOML file into typed objects.

The embedded default is ``data/essex.toml`` (Essex Police). Another force is a new file.

Examples
--------
>>> from geo_response import config
>>> profile = config.load_profile()
>>> profile.policies["essex-2022"].grade("1").target_minutes
15.0
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from geo_response.errors import ConfigError

ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "link",
    "other",
)
SETTINGS = ("urban", "rural", "any")


@dataclass(frozen=True)
class Grade:
    """One grade of a grading policy."""

    code: str
    name: str
    category: str
    setting: str = "any"
    target_minutes: float | None = None
    attended: bool = True
    speed: str | None = None

    @property
    def blue_lights(self) -> bool:
        """True when the grade travels under blue lights."""
        return self.speed == "blue_light"


@dataclass(frozen=True)
class Policy:
    """A grading policy: its grades, in order."""

    name: str
    label: str
    grades: tuple[Grade, ...]

    def grade(self, code: str) -> Grade:
        """Return the grade with this code, or raise ``KeyError``."""
        for g in self.grades:
            if g.code == str(code):
                return g
        raise KeyError(f"policy {self.name!r} has no grade {code!r}; grades: {[g.code for g in self.grades]}")

    @property
    def categories(self) -> tuple[str, ...]:
        """Grade categories in policy order, without repeats."""
        return tuple(dict.fromkeys(g.category for g in self.grades))


@dataclass(frozen=True)
class Kpi:
    """A key performance indicator: share of attended incidents in `categories` meeting target."""

    name: str
    policy: str
    categories: tuple[str, ...]
    threshold: float


@dataclass(frozen=True)
class Corridor:
    """A named road corridor (e.g. the A12 from M25 J28 to Marks Tey)."""

    name: str
    ref: str
    from_junction: str
    to_junction: str
    from_lat: float
    from_lon: float
    to_lat: float
    to_lon: float
    buffer_m: float = 500.0


DAY_TYPES = ("weekday", "weekend")


@dataclass(frozen=True)
class TimeOfDay:
    """A multiplier on a speed profile for hours in [start_hour, end_hour) (may wrap midnight) on some days.

    ``days``: the day types it applies to (``("weekday",)``, ``("weekend",)`` or both, the default). A period
    that wraps midnight is judged by the day type of the hour asked about.
    """

    name: str
    start_hour: int
    end_hour: int
    multiplier: float
    days: tuple[str, ...] = DAY_TYPES
    evidence: str = ""

    def contains(self, hour: int, day_type: str = "weekday") -> bool:
        """True when `hour` (0-23) of a `day_type` ('weekday' / 'weekend') falls in this period."""
        if day_type not in self.days:
            return False
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour


@dataclass(frozen=True)
class SpeedProfile:
    """How fast a unit drives, relative to the limit, by road class and setting."""

    name: str
    description: str = ""
    evidence: str = ""
    urban_factor: dict[str, float] = field(default_factory=dict)
    rural_factor: dict[str, float] = field(default_factory=dict)
    max_kph: dict[str, float] = field(default_factory=dict)
    time_of_day: tuple[TimeOfDay, ...] = ()

    def factor(self, road_class: str, setting: str) -> float:
        """Multiplier on the limit for a road class in an 'urban' or 'rural' setting (1.0 if unset)."""
        table = self.urban_factor if setting == "urban" else self.rural_factor
        return float(table.get(road_class, table.get("other", 1.0)))

    def cap_kph(self, road_class: str) -> float:
        """Highest speed on a road class (infinite if unset)."""
        return float(self.max_kph.get(road_class, self.max_kph.get("other", float("inf"))))


@dataclass(frozen=True)
class Speeds:
    """Speed settings: limit parsing defaults and the speed profiles."""

    urban_limit_mph: float
    national_single_mph: float
    national_dual_mph: float
    default_limit_mph: dict[str, float]
    profiles: dict[str, SpeedProfile]


@dataclass(frozen=True)
class ResponseModel:
    """Parameters of the modelled response time (delays in seconds)."""

    draws: int
    seed: int
    call_answer_median_s: float
    call_answer_p90_s: float
    call_handling_median_s: float
    call_handling_p90_s: float
    dispatch_median_s: float
    dispatch_p90_s: float
    access_speed_kph: float
    snap_limit_m: float
    max_response_minutes: float = 1440.0


@dataclass(frozen=True)
class Source:
    """A real data source that can be downloaded."""

    name: str
    file: str
    url: str
    sha256: str = ""
    licence: str = ""


@dataclass(frozen=True)
class Geography:
    """Where the force's geography layers are, relative to the data directory."""

    boundary: str
    boundary_buffer_m: float
    lsoa: str
    lsoa_code_field: str
    ruc_field: str
    urban_ruc: tuple[str, ...]
    rural_ruc: tuple[str, ...]
    population_field: str
    district_field: str
    districts: str
    towns: str
    srn_links: str


@dataclass(frozen=True)
class Simulation:
    """Defaults of the dispatch simulation (:mod:`geo_response.simulation`); ASSUMPTION-marked in the TOML.

    ``job_minutes`` maps a grade category to the (median, p90) of its lognormal on-scene minutes;
    ``roster`` holds rows like a roster CSV (``base`` may be ``*``: every base).
    """

    seed: int = 0
    warmup_days: float = 7.0
    attended_per_year: float = 176000.0
    attended_evidence: str = ""
    hour_of_day: tuple[float, ...] = (1.0,) * 24
    weekday: tuple[float, ...] = (1.0,) * 7
    grade_shares: tuple[float, ...] = (0.25, 0.35, 0.40)
    job_minutes: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"emergency": (75.0, 240.0), "priority": (60.0, 200.0), "routine": (45.0, 150.0)}
    )
    roster: tuple[dict[str, Any], ...] = ()


#: Grade families a road-collision grade may name (the policy's first three attended categories, as for sampled
#: grades: :func:`geo_response.incidents.grading.mix_categories`).
COLLISION_FAMILIES = ("emergency", "priority", "routine")
COLLISION_KEYS = ("fatal", "serious", "slight", "not_attended")


@dataclass(frozen=True)
class RoadCollisions:
    """How STATS19 road collisions become graded road incidents (the profile's ``[road_collisions]``).

    ``grades`` maps ``fatal``, ``serious``, ``slight`` (DfT severity) and ``not_attended`` (STATS19 says no
    officer attended the scene) to a grade family (``emergency`` / ``priority`` / ``routine``: the policy's
    first three attended categories) or to a category every policy has (``resolution_without_deployment``).
    ``police_force`` is the force's DfT STATS19 code (Essex 42; None: not set, and ``--collisions`` is refused);
    ``evidence`` says where the mapping comes from.
    """

    police_force: int | None = None
    grades: dict[str, str] = field(
        default_factory=lambda: {
            "fatal": "emergency",
            "serious": "emergency",
            "slight": "priority",
            "not_attended": "resolution_without_deployment",
        }
    )
    evidence: str = ""


@dataclass(frozen=True)
class ForceProfile:
    """Everything specific to one police force."""

    name: str
    code: str
    projected_crs: str
    attribution: str
    geography: Geography
    corridors: tuple[Corridor, ...]
    policies: dict[str, Policy]
    kpis: tuple[Kpi, ...]
    reported: dict[str, float]
    speeds: Speeds
    response_model: ResponseModel
    grade_mix_seed: int
    grade_mix_counts: dict[str, tuple[float, ...]]
    sources: dict[str, Source]
    path: str
    sha256: str
    simulation: Simulation = field(default_factory=Simulation)
    road_collisions: RoadCollisions = field(default_factory=RoadCollisions)

    def policy(self, name: str) -> Policy:
        """Return a policy by name, with an error listing the known ones."""
        try:
            return self.policies[name]
        except KeyError:
            raise ConfigError(
                f"unknown policy {name!r}; this profile defines {sorted(self.policies)}. "
                "Pass one of those with --policy, or add it to the force profile TOML."
            ) from None


def default_profile_path() -> Path:
    """Path of the embedded Essex profile (installed package data, or ``data/essex.toml`` in a checkout)."""
    packaged = resources.files("geo_response").joinpath("profiles/essex.toml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "data" / "essex.toml"


def load_profile(path: str | Path | None = None) -> ForceProfile:
    """Read and validate a force profile.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file. Default: the embedded Essex profile.

    Returns
    -------
    ForceProfile

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or holds a bad value. The message names the key.
    """
    p = Path(path) if path is not None else default_profile_path()
    if p.is_dir():
        raise ConfigError(
            f"force profile {p} is a folder, not a TOML file; pass --force-profile with a TOML file "
            "like data/essex.toml"
        )
    if not p.is_file():
        raise ConfigError(
            f"force profile {p} does not exist; pass --force-profile with a TOML file like data/essex.toml"
        )
    raw_bytes = p.read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"force profile {p} is not valid TOML: {exc}") from exc
    return parse_profile(raw, path=str(p), sha256=hashlib.sha256(raw_bytes).hexdigest())


def _known(table: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    """The table itself, after checking it is a table with no key outside ``allowed`` (typos must not be
    silently ignored: a misspelt ``max_kph`` would lift every speed cap).
    """
    if not isinstance(table, dict):
        raise ConfigError(f"force profile: [{where}] must be a table, got {table!r}")
    unknown = [k for k in table if k not in allowed]
    if unknown:
        hints = [
            f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, allowed, n=1)) else repr(k)
            for k in unknown
        ]
        raise ConfigError(
            f"force profile: [{where}] has unknown key(s) {', '.join(hints)}; known keys: {', '.join(allowed)}"
        )
    return table


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"force profile: {where} must be true or false (a TOML boolean), got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigError(f"force profile: {where} must be a number, got {value!r}")
    return float(value)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"force profile: {where} must be a whole number, got {value!r}")
    return value


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"force profile: [{where}] is missing '{key}'")
    return table[key]


def _positive(value: Any, where: str, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"force profile: {where} must be a number, got {value!r}") from None
    if v < 0 or (v == 0 and not allow_zero) or v != v:
        raise ConfigError(f"force profile: {where} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def _share(value: Any, where: str) -> float:
    v = _positive(value, where, allow_zero=True)
    if v > 1:
        raise ConfigError(f"force profile: {where} is a share and must be between 0 and 1, got {value!r}")
    return v


def _class_table(raw: dict[str, Any], where: str) -> dict[str, float]:
    out = {}
    for k, v in raw.items():
        if k not in ROAD_CLASSES:
            raise ConfigError(f"force profile: {where}.{k} is not a road class; use one of {list(ROAD_CLASSES)}")
        out[k] = _positive(v, f"{where}.{k}")
    return out


def _parse_grade(raw: dict[str, Any], where: str) -> Grade:
    _known(raw, ("code", "name", "category", "setting", "target_minutes", "attended", "speed", "profile"), where)
    if "profile" in raw:
        if "speed" in raw:
            raise ConfigError(f"force profile: {where} has both 'speed' and its old name 'profile'; keep 'speed'")
        warnings.warn(
            f"force profile: {where}.profile is the old name of 'speed' (the grade's speed profile); rename it",
            DeprecationWarning,
            stacklevel=3,
        )
    setting = raw.get("setting", "any")
    if setting not in SETTINGS:
        raise ConfigError(f"force profile: {where}.setting must be one of {SETTINGS}, got {setting!r}")
    attended = _bool(raw.get("attended", True), f"{where}.attended")
    target = raw.get("target_minutes")
    if attended and target is None:
        raise ConfigError(f"force profile: {where} is attended but has no target_minutes")
    return Grade(
        code=str(_need(raw, "code", where)),
        name=str(_need(raw, "name", where)),
        category=str(_need(raw, "category", where)),
        setting=setting,
        target_minutes=None if target is None else _positive(target, f"{where}.target_minutes"),
        attended=attended,
        speed=raw.get("speed", raw.get("profile")),
    )


def parse_profile(raw: dict[str, Any], path: str = "<dict>", sha256: str = "") -> ForceProfile:  # noqa: C901 (see docs/DESIGN.md, "Long functions")
    """Validate a parsed TOML mapping and build a :class:`ForceProfile`.

    Raises
    ------
    ConfigError
        Naming the first bad or missing key.
    """
    _known(
        raw,
        (
            "force",
            "geography",
            "corridors",
            "policies",
            "kpis",
            "reported",
            "speeds",
            "response_model",
            "grade_mix",
            "sources",
            "simulation",
            "road_collisions",
        ),
        "top level",
    )
    force = _known(_need(raw, "force", "top level"), ("name", "code", "projected_crs", "attribution"), "force")
    geo = _known(
        _need(raw, "geography", "top level"),
        (
            "boundary",
            "boundary_buffer_m",
            "lsoa",
            "lsoa_code_field",
            "ruc_field",
            "urban_ruc",
            "rural_ruc",
            "population_field",
            "district_field",
            "districts",
            "towns",
            "srn_links",
        ),
        "geography",
    )
    geography = Geography(
        boundary=str(_need(geo, "boundary", "geography")),
        boundary_buffer_m=_positive(geo.get("boundary_buffer_m", 0), "geography.boundary_buffer_m", True),
        lsoa=str(_need(geo, "lsoa", "geography")),
        lsoa_code_field=str(geo.get("lsoa_code_field", "lsoa11cd")),
        ruc_field=str(geo.get("ruc_field", "ruc11cd")),
        urban_ruc=tuple(geo.get("urban_ruc", ["A1", "A2", "B1", "B2", "C1", "C2"])),
        rural_ruc=tuple(geo.get("rural_ruc", ["D1", "D2", "E1", "E2"])),
        population_field=str(geo.get("population_field", "pop_mid2019")),
        district_field=str(geo.get("district_field", "lad_nm")),
        districts=str(geo.get("districts", "")),
        towns=str(geo.get("towns", "")),
        srn_links=str(geo.get("srn_links", "")),
    )
    if set(geography.urban_ruc) & set(geography.rural_ruc):
        raise ConfigError("force profile: geography.urban_ruc and rural_ruc overlap")

    corridors = []
    for i, c in enumerate(raw.get("corridors", [])):
        where = f"corridors[{i}]"
        _known(
            c,
            ("name", "ref", "from_junction", "to_junction", "from_lat", "from_lon", "to_lat", "to_lon", "buffer_m"),
            where,
        )
        corridors.append(
            Corridor(
                name=str(_need(c, "name", where)),
                ref=str(_need(c, "ref", where)),
                from_junction=str(c.get("from_junction", "")),
                to_junction=str(c.get("to_junction", "")),
                **{
                    k: _number(_need(c, k, where), f"{where}.{k}") for k in ("from_lat", "from_lon", "to_lat", "to_lon")
                },
                buffer_m=_positive(c.get("buffer_m", 500), f"{where}.buffer_m"),
            )
        )

    speeds_raw = _known(
        _need(raw, "speeds", "top level"),
        ("urban_limit_mph", "national_single_mph", "national_dual_mph", "default_limit_mph", "profiles"),
        "speeds",
    )
    profiles: dict[str, SpeedProfile] = {}
    for name, p in _need(speeds_raw, "profiles", "speeds").items():
        where = f"speeds.profiles.{name}"
        _known(p, ("description", "evidence", "urban_factor", "rural_factor", "max_kph", "time_of_day"), where)
        tods = []
        for j, t in enumerate(p.get("time_of_day", [])):
            w = f"{where}.time_of_day[{j}]"
            _known(t, ("name", "start_hour", "end_hour", "multiplier", "days", "evidence"), w)
            sh = _integer(_need(t, "start_hour", w), f"{w}.start_hour")
            eh = _integer(_need(t, "end_hour", w), f"{w}.end_hour")
            if not (0 <= sh <= 23 and 0 <= eh <= 24):
                raise ConfigError(f"force profile: {w} hours must be 0-24, got {sh}-{eh}")
            days = str(t.get("days", "all"))
            if days not in ("all", *DAY_TYPES):
                raise ConfigError(f"force profile: {w}.days must be 'all', 'weekday' or 'weekend', got {days!r}")
            tods.append(
                TimeOfDay(
                    str(_need(t, "name", w)),
                    sh,
                    eh,
                    _positive(_need(t, "multiplier", w), w),
                    DAY_TYPES if days == "all" else (days,),
                    str(t.get("evidence", "")),
                )
            )
        profiles[name] = SpeedProfile(
            name=name,
            description=str(p.get("description", "")),
            evidence=str(p.get("evidence", "")),
            urban_factor=_class_table(p.get("urban_factor", {}), f"{where}.urban_factor"),
            rural_factor=_class_table(p.get("rural_factor", {}), f"{where}.rural_factor"),
            max_kph=_class_table(p.get("max_kph", {}), f"{where}.max_kph"),
            time_of_day=tuple(tods),
        )
    if "free_flow" not in profiles:
        raise ConfigError("force profile: [speeds.profiles] must define 'free_flow' (the posted limit)")
    defaults = {
        k: _positive(v, f"speeds.default_limit_mph.{k}")
        for k, v in _need(speeds_raw, "default_limit_mph", "speeds").items()
    }
    speeds = Speeds(
        urban_limit_mph=_positive(speeds_raw.get("urban_limit_mph", 40), "speeds.urban_limit_mph"),
        national_single_mph=_positive(speeds_raw.get("national_single_mph", 60), "speeds.national_single_mph"),
        national_dual_mph=_positive(speeds_raw.get("national_dual_mph", 70), "speeds.national_dual_mph"),
        default_limit_mph=defaults,
        profiles=profiles,
    )

    policies = {}
    for name, pol in _need(raw, "policies", "top level").items():
        _known(pol, ("label", "grades"), f"policies.{name}")
        grades = tuple(_parse_grade(g, f"policies.{name}.grades[{i}]") for i, g in enumerate(pol.get("grades", [])))
        if not grades:
            raise ConfigError(f"force profile: policy {name!r} has no grades")
        codes = [g.code for g in grades]
        if len(set(codes)) != len(codes):
            raise ConfigError(f"force profile: policy {name!r} repeats a grade code: {codes}")
        for g in grades:
            if g.attended and g.speed not in profiles:
                raise ConfigError(
                    f"force profile: policies.{name} grade {g.code} uses speed profile {g.speed!r}, "
                    f"which is not one of {sorted(profiles)}"
                )
        policies[name] = Policy(name=name, label=str(pol.get("label", name)), grades=grades)

    kpis = []
    for i, k in enumerate(raw.get("kpis", [])):
        where = f"kpis[{i}]"
        _known(k, ("name", "policy", "categories", "threshold"), where)
        pol = str(_need(k, "policy", where))
        if pol not in policies:
            raise ConfigError(f"force profile: {where}.policy {pol!r} is not a defined policy {sorted(policies)}")
        cats = tuple(_need(k, "categories", where))
        unknown = set(cats) - set(policies[pol].categories)
        if unknown:
            raise ConfigError(f"force profile: {where}.categories {sorted(unknown)} are not categories of {pol!r}")
        kpis.append(Kpi(str(_need(k, "name", where)), pol, cats, _share(_need(k, "threshold", where), where)))

    rm_keys = (
        "draws",
        "seed",
        "call_answer_median_s",
        "call_answer_p90_s",
        "call_handling_median_s",
        "call_handling_p90_s",
        "dispatch_median_s",
        "dispatch_p90_s",
        "access_speed_kph",
        "snap_limit_m",
        "max_response_minutes",
    )
    rm = _known(_need(raw, "response_model", "top level"), rm_keys, "response_model")
    response_model = ResponseModel(
        draws=int(_positive(_integer(rm.get("draws", 20000), "response_model.draws"), "response_model.draws")),
        seed=_integer(rm.get("seed", 0), "response_model.seed"),
        **{
            k: _positive(_need(rm, k, "response_model"), f"response_model.{k}")
            for k in (
                "call_answer_median_s",
                "call_answer_p90_s",
                "call_handling_median_s",
                "call_handling_p90_s",
                "dispatch_median_s",
                "dispatch_p90_s",
                "access_speed_kph",
                "snap_limit_m",
            )
        },
        max_response_minutes=_positive(rm.get("max_response_minutes", 1440), "response_model.max_response_minutes"),
    )
    for stem in ("call_answer", "call_handling", "dispatch"):
        if getattr(response_model, f"{stem}_p90_s") < getattr(response_model, f"{stem}_median_s"):
            raise ConfigError(f"force profile: response_model.{stem}_p90_s must be >= {stem}_median_s")

    mix = _known(raw.get("grade_mix", {}), ("seed", "counts"), "grade_mix")
    counts = {}
    for k, v in mix.get("counts", {}).items():
        if len(v) != 3:
            raise ConfigError(f"force profile: grade_mix.counts.{k} needs 3 numbers (emergency, priority, routine)")
        counts[k] = tuple(_positive(x, f"grade_mix.counts.{k}", allow_zero=True) for x in v)
        if sum(counts[k]) <= 0:
            raise ConfigError(f"force profile: grade_mix.counts.{k} sums to 0")
    if counts and "default" not in counts:
        raise ConfigError("force profile: grade_mix.counts needs a 'default' entry for other crime types")

    for name, src in raw.get("sources", {}).items():
        _known(src, ("file", "url", "sha256", "licence"), f"sources.{name}")
    sources = {
        name: Source(
            name=name,
            file=str(_need(s, "file", f"sources.{name}")),
            url=str(_need(s, "url", f"sources.{name}")),
            sha256=str(s.get("sha256", "")),
            licence=str(s.get("licence", "")),
        )
        for name, s in raw.get("sources", {}).items()
    }

    return ForceProfile(
        name=str(_need(force, "name", "force")),
        code=str(force.get("code", "")),
        projected_crs=str(force.get("projected_crs", "EPSG:27700")),
        attribution=str(force.get("attribution", "")),
        geography=geography,
        corridors=tuple(corridors),
        policies=policies,
        kpis=tuple(kpis),
        reported={k: _share(v, f"reported.{k}") for k, v in raw.get("reported", {}).items()},
        speeds=speeds,
        response_model=response_model,
        grade_mix_seed=_integer(mix.get("seed", 0), "grade_mix.seed"),
        grade_mix_counts=counts,
        sources=sources,
        path=path,
        sha256=sha256,
        simulation=_parse_simulation(raw.get("simulation", {})),
        road_collisions=_parse_road_collisions(raw.get("road_collisions", {}), policies),
    )


def _parse_road_collisions(raw: Any, policies: dict[str, Policy]) -> RoadCollisions:
    """The optional [road_collisions] table: every grade a family or a category of every policy."""
    table = _known(raw, ("police_force", *COLLISION_KEYS, "evidence"), "road_collisions")
    d = RoadCollisions()
    grades = dict(d.grades)
    for key in COLLISION_KEYS:
        if key not in table:
            continue
        value = table[key]
        everywhere = all(str(value) in pol.categories for pol in policies.values())
        if not isinstance(value, str) or not (value in COLLISION_FAMILIES or everywhere):
            raise ConfigError(
                f"force profile: road_collisions.{key} must be a grade family {list(COLLISION_FAMILIES)} or a "
                f"category every policy has, got {value!r}"
            )
        grades[key] = value
    force = table.get("police_force")
    force = None if force is None else _integer(force, "road_collisions.police_force")
    return RoadCollisions(police_force=force, grades=grades, evidence=str(table.get("evidence", "")))


def _numbers(value: Any, n: int, where: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != n:
        raise ConfigError(f"force profile: {where} must be a list of {n} numbers, got {value!r}")
    return tuple(_positive(v, f"{where}[{i}]", allow_zero=True) for i, v in enumerate(value))


def _parse_simulation(raw: Any) -> Simulation:
    """The optional [simulation] table (missing keys take the :class:`Simulation` defaults)."""
    sim = _known(
        raw,
        (
            "seed",
            "warmup_days",
            "attended_per_year",
            "attended_evidence",
            "hour_of_day",
            "weekday",
            "grade_shares",
            "job_minutes",
            "roster",
        ),
        "simulation",
    )
    d = Simulation()
    jobs = dict(d.job_minutes)
    for cat, v in _known(
        sim.get("job_minutes", {}), ("emergency", "priority", "routine"), "simulation.job_minutes"
    ).items():
        w = f"simulation.job_minutes.{cat}"
        _known(v, ("median", "p90"), w)
        med, p90 = _positive(_need(v, "median", w), f"{w}.median"), _positive(_need(v, "p90", w), f"{w}.p90")
        if p90 < med:
            raise ConfigError(f"force profile: {w}.p90 must be >= median")
        jobs[cat] = (med, p90)
    roster = []
    for i, r in enumerate(sim.get("roster", [])):
        w = f"simulation.roster[{i}]"
        _known(r, ("base", "units", "start", "end", "days", "shift"), w)
        roster.append(
            {k: _need(r, k, w) for k in ("base", "units", "start", "end")}
            | {"days": r.get("days", ""), "shift": r.get("shift", "")}
        )
    shares = _numbers(sim.get("grade_shares", list(d.grade_shares)), 3, "simulation.grade_shares")
    if sum(shares) <= 0:
        raise ConfigError("force profile: simulation.grade_shares sums to 0")
    return Simulation(
        seed=_integer(sim.get("seed", d.seed), "simulation.seed"),
        warmup_days=_positive(sim.get("warmup_days", d.warmup_days), "simulation.warmup_days", allow_zero=True),
        attended_per_year=_positive(sim.get("attended_per_year", d.attended_per_year), "simulation.attended_per_year"),
        attended_evidence=str(sim.get("attended_evidence", "")),
        hour_of_day=_numbers(sim.get("hour_of_day", list(d.hour_of_day)), 24, "simulation.hour_of_day"),
        weekday=_numbers(sim.get("weekday", list(d.weekday)), 7, "simulation.weekday"),
        grade_shares=shares,
        job_minutes=jobs,
        roster=tuple(roster),
    )

"""The study area: one force's profile, geography, road network and bases, loaded one way for every entry point.

Every command, the demo, planning and the notebooks start here, so the sequence force profile -> boundary
-> network -> bases -> nodes is written once (learned from ``osmnx/graph.py``, whose layered entry points
all end in one builder):

- :func:`load_study_area` takes paths and options (what the CLI parses) and returns a :class:`StudyArea`;
- :func:`study_area_from_network` takes a network already in memory (a notebook, a test, an Overpass
  download) and does the same.

A :class:`StudyArea` loads each part on first use and keeps it: observed compliance never loads the road
network, ``travel-times`` never loads the LSOA polygons, and option values (a policy, a speed profile) are
checked against the force profile before anything heavy is read.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from geo_response import bases as bases_module
from geo_response import datadir, geography
from geo_response.config import ForceProfile, Policy, load_profile
from geo_response.errors import ConfigError, InputFileError, RoutingError
from geo_response.roads import network as network_module
from geo_response.roads.roadnet import RoadNetwork

__all__ = ["StudyArea", "load_study_area", "study_area_from_network"]


def _did_you_mean(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(eq=False)
class StudyArea:
    """A force's study area: profile, geography, road network and bases, each loaded on first use.

    Attributes
    ----------
    force : ForceProfile
        The force profile (policies, speeds, geography paths).
    data_dir : Path, optional
        The data folder given (None: the usual search order, see :mod:`geo_response.datadir`).
    osm : Path, optional
        The OSM file of the road network (None: the bundle's stand-in, or a network given in memory).
    bases_csv : Path, optional
        A bases CSV (None: the ``amenity=police`` features of the OSM file).
    use_cache : bool
        Read and write the network cache.
    """

    force: ForceProfile
    data_dir: Path | None = None
    osm: Path | None = None
    bases_csv: Path | None = None
    use_cache: bool = True
    _network: RoadNetwork | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ checks before loading
    def policy(self, name: str) -> Policy:
        """A grading policy of the force profile (an error with the known names and a "did you mean")."""
        if name not in self.force.policies:
            known = sorted(self.force.policies)
            raise ConfigError(
                f"unknown policy {name!r}{_did_you_mean(name, known)}; this force profile defines "
                f"{known}. Pass one of those with --policy, or add it to the force profile TOML."
            )
        return self.force.policies[name]

    def speed(self, name: str) -> str:
        """A speed profile name of the force profile, checked (an error with the known names)."""
        known = list(self.force.speeds.profiles)
        if name not in known:
            raise RoutingError(f"unknown speed profile {name!r}{_did_you_mean(name, known)}; use one of {known}")
        return name

    # ------------------------------------------------------------------ geography
    @cached_property
    def boundary(self) -> BaseGeometry:
        """The force area (EPSG:4326)."""
        return geography.load_boundary(self.force, self.data_dir)

    @cached_property
    def area(self) -> BaseGeometry:
        """The network area: the boundary plus the profile's buffer (EPSG:4326)."""
        return geography.buffer_boundary(
            self.boundary, self.force.geography.boundary_buffer_m, self.force.projected_crs
        )

    @cached_property
    def lsoas(self) -> gpd.GeoDataFrame:
        """LSOA polygons with RUC class, district and population (:func:`geography.load_lsoas`)."""
        return geography.load_lsoas(self.force, self.data_dir)

    @cached_property
    def districts(self) -> gpd.GeoDataFrame:
        """District polygons."""
        return geography.load_districts(self.force, self.data_dir)

    @cached_property
    def towns(self) -> gpd.GeoDataFrame:
        """Built-up areas as points (for naming places)."""
        return geography.load_towns(self.force, self.data_dir)

    @cached_property
    def places(self) -> gpd.GeoDataFrame:
        """Named places to name hotspots by: the OSM file's ``place`` nodes, else the built-up areas."""
        from geo_response.places import named_places

        return named_places(self.osm_path, self.force, self.data_dir)

    # ------------------------------------------------------------------ network and bases
    @property
    def osm_path(self) -> Path | None:
        """The OSM file the network and default bases come from (the stand-in unless one was given)."""
        if self.osm is not None:
            return Path(self.osm)
        if self._network is not None:
            source = str(self._network.graph.get("source", ""))
            return Path(source) if source and Path(source).is_file() else None
        return network_module.essex_standin_path(self.data_dir)

    @property
    def network(self) -> RoadNetwork:
        """The road network (built or read from the cache on first use)."""
        if self._network is None:
            self._network = network_module.load_network(
                self.osm, profile=self.force, data_dir=self.data_dir, use_cache=self.use_cache
            )
        return self._network

    @property
    def network_loaded(self) -> bool:
        """Whether the road network (and so the attached bases) is already in memory."""
        return self._network is not None

    @cached_property
    def unattached_bases(self) -> tuple[gpd.GeoDataFrame, list[dict]]:
        """The bases as read (no network needed) and the problems found in them."""
        osm_path = None if self.bases_csv else self.osm_path
        if self.bases_csv is None and osm_path is None:
            raise InputFileError("no bases: the network did not come from an OSM file; give a bases CSV (--bases)")
        frame, issues = bases_module.load_bases(
            csv_path=self.bases_csv,
            osm_path=osm_path,
            boundary=self.boundary,
            area=self.area,
            projected_crs=self.force.projected_crs,
        )
        if len(frame) == 0:
            raise RoutingError(
                "no bases left to route from (none in the file, or all outside the network area); "
                "give a bases CSV with --bases"
            )
        return frame, issues

    @cached_property
    def _bases(self) -> tuple[gpd.GeoDataFrame, list[dict]]:
        frame, issues = self.unattached_bases
        return bases_module.attach_nodes(frame, self.network, self.force.projected_crs), issues

    @property
    def bases(self) -> gpd.GeoDataFrame:
        """The bases, attached to the network (``base_id, name, type, units, outside_area, node, ...``)."""
        return self._bases[0]

    @property
    def base_issues(self) -> list[dict]:
        """Problems found in the bases (rows dropped or flagged), for the console and summary.json."""
        return self._bases[1]

    @property
    def bases_source(self) -> str:
        """Where the bases came from, for provenance."""
        return str(self.bases_csv) if self.bases_csv else f"amenity=police in {self.osm_path}"

    # ------------------------------------------------------------------ provenance
    def network_summary(self) -> dict:
        """The network's provenance (label, stand-in flag, the file read this run and its sha256, sizes)."""
        net = self.network
        return {
            "label": net.graph.get("network_label"),
            "standin": bool(net.graph.get("standin", False)),
            "source": str(net.graph.get("source")),
            "source_sha256": net.graph.get("source_sha256"),
            "nodes": net.number_of_nodes(),
            "edges": net.number_of_edges(),
            "cache": (net.graph.get("build") or {}).get("cache_path"),
        }

    def sources(self) -> dict:
        """The files this study area reads (force profile with its sha256, boundary, LSOAs)."""
        return {
            "force_profile": f"{self.force.path} (sha256 {self.force.sha256})",
            "boundary": str(datadir.find_file(self.force.geography.boundary, self.data_dir)),
            "lsoas": str(datadir.find_file(self.force.geography.lsoa, self.data_dir)),
        }


def load_study_area(
    osm: str | Path | None = None,
    *,
    bases: str | Path | None = None,
    force: ForceProfile | str | Path | None = None,
    data_dir: str | Path | None = None,
    use_cache: bool = True,
) -> StudyArea:
    """The study area of a force from files: what every command calls first.

    Nothing heavy is read here (see :class:`StudyArea`); only the force profile is parsed and the paths
    are checked, so a wrong path fails at once.

    Parameters
    ----------
    osm : str or Path, optional
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` (default: the bundle's synthetic stand-in).
    bases : str or Path, optional
        Bases CSV (default: ``amenity=police`` in the OSM file).
    force : ForceProfile, str or Path, optional
        A loaded force profile or its TOML (default: the embedded Essex profile).
    data_dir : str or Path, optional
        Data folder (default: ``$GEO_RESPONSE_DATA``, ``../shared/data``, the user cache).
    use_cache : bool
        Read and write the network cache.

    Raises
    ------
    InputFileError
        If the OSM or bases file does not exist.
    """
    prof = force if isinstance(force, ForceProfile) else load_profile(force)
    for label, path in (("OSM file (--osm)", osm), ("bases file (--bases)", bases)):
        if path is not None and not Path(path).is_file():
            raise InputFileError(f"{label} {path} does not exist or is not a file")
    return StudyArea(
        force=prof,
        data_dir=Path(data_dir) if data_dir is not None else None,
        osm=Path(osm) if osm is not None else None,
        bases_csv=Path(bases) if bases is not None else None,
        use_cache=use_cache,
    )


def study_area_from_network(
    net: RoadNetwork,
    *,
    bases: str | Path | gpd.GeoDataFrame | None = None,
    force: ForceProfile | str | Path | None = None,
    data_dir: str | Path | None = None,
) -> StudyArea:
    """The study area around a network already in memory (a notebook, a test, an Overpass download).

    ``bases`` may be a CSV path, a bases GeoDataFrame (attached to the network here) or None (the
    ``amenity=police`` features of the file the network was read from).
    """
    area = load_study_area(
        None, bases=None if isinstance(bases, gpd.GeoDataFrame) else bases, force=force, data_dir=data_dir
    )
    area._network = net
    if isinstance(bases, gpd.GeoDataFrame):
        frame = bases if "node" in bases.columns else bases_module.attach_nodes(bases, net, area.force.projected_crs)
        area.__dict__["_bases"] = (frame, [])
    return area

"""Every exception geo-response raises.

Each is a :class:`GeoResponseError` and, where one fits, a builtin too (``InputFileError`` is a
``ValueError``, ``DataFileNotFoundError`` a ``FileNotFoundError``), so callers can catch either. Every
message says what went wrong and what to do next.
"""

from __future__ import annotations

__all__ = [
    "ClassificationError",
    "ComplianceError",
    "ConfigError",
    "CorridorError",
    "DataFileNotFoundError",
    "DownloadError",
    "GeoResponseError",
    "GradingError",
    "HotspotError",
    "InputFileError",
    "MapError",
    "ModelError",
    "NetworkBuildError",
    "OptimisationError",
    "OutputError",
    "PlanningError",
    "RoutingError",
    "ScenarioError",
    "SimulationError",
]


class GeoResponseError(Exception):
    """Base class for all geo-response errors."""


class ConfigError(GeoResponseError, ValueError):
    """The force profile (TOML) is missing a value or holds a bad one."""


class DataFileNotFoundError(GeoResponseError, FileNotFoundError):
    """A data file is not in any of the places geo-response looks."""


class NetworkBuildError(GeoResponseError, RuntimeError):
    """A road network could not be built from the given source."""


class InputFileError(GeoResponseError, ValueError):
    """An input file (incidents, bases, scenario) or an option value cannot be used at all."""


class ScenarioError(InputFileError):
    """A scenario change cannot be applied (it names the change and what to fix)."""


class OutputError(GeoResponseError, OSError):
    """Outputs cannot be written where asked (an input would be overwritten, a file is not ours, ...)."""


class RoutingError(GeoResponseError, ValueError):
    """Travel times cannot be computed (no bases, missing weights, ...)."""


class DownloadError(GeoResponseError, OSError):
    """A source could not be downloaded (network, HTTP status, checksum or a page instead of a file)."""


class ClassificationError(GeoResponseError, ValueError):
    """Incidents cannot be classified urban / rural (no LSOA layer, missing columns)."""


class GradingError(GeoResponseError, ValueError):
    """Incidents cannot be given grades or targets (no grades and no mix, unknown policy grade...)."""


class ComplianceError(GeoResponseError, ValueError):
    """Compliance cannot be computed (no targets, no outcomes)."""


class ModelError(GeoResponseError, ValueError):
    """The response model cannot be run or calibrated as asked."""


class HotspotError(GeoResponseError, ValueError):
    """Hotspots cannot be computed from the incidents given."""


class CorridorError(GeoResponseError, ValueError):
    """The corridor cannot be found on the network, or the incidents cannot be analysed."""


class MapError(GeoResponseError, ValueError):
    """A map cannot be drawn or saved as asked."""


class OptimisationError(GeoResponseError, ValueError):
    """A siting problem is malformed or cannot be solved."""


class PlanningError(GeoResponseError, ValueError):
    """A planning run cannot be done as asked."""


class SimulationError(GeoResponseError, ValueError):
    """A simulation cannot be run as asked (roster, demand, units)."""

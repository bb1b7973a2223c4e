"""Exceptions raised by geo-response.

Every message says what went wrong and what to do next.
"""

from __future__ import annotations


class GeoResponseError(Exception):
    """Base class for all geo-response errors."""


class ConfigError(GeoResponseError):
    """The force profile (TOML) is missing a value or holds a bad one."""


class DataFileNotFoundError(GeoResponseError, FileNotFoundError):
    """A data file is not in any of the places geo-response looks."""


class NetworkBuildError(GeoResponseError):
    """A road network could not be built from the given source."""


class InputFileError(GeoResponseError):
    """An input file (incidents, bases, scenario) cannot be read at all."""


class RoutingError(GeoResponseError):
    """Travel times cannot be computed (no bases, missing weights, ...)."""


class DownloadError(GeoResponseError):
    """A source could not be downloaded (network, HTTP status, checksum or a page instead of a file)."""

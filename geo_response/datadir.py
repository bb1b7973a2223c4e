"""Where geo-response finds its data.

Order: an explicit ``data_dir`` (the CLI's ``--data-dir``) > the ``GEO_RESPONSE_DATA`` environment
variable > ``../shared/data`` beside the checkout > the user cache directory, which
:mod:`geo_response.download` fills from the real sources.

The working directory is never searched: a folder planted beside wherever a command happens to be run
(``./../shared/data``) must not replace the force's data.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from geo_response.errors import DataFileNotFoundError

ENV_VAR = "GEO_RESPONSE_DATA"
APP_NAME = "geo-response"
POLICE_UK_DIR = "police_uk"
POLICE_UK_URL = "https://data.police.uk/data/archive/"


def user_cache_dir() -> Path:
    """The per-user cache: downloaded data under ``data/``, built networks under ``networks/``."""
    override = os.environ.get("GEO_RESPONSE_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def candidate_dirs(data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """Every place to look for data, in order, each with the reason it is on the list."""
    out: list[tuple[str, Path]] = []
    if data_dir is not None:
        out.append(("--data-dir option", Path(data_dir)))
    env = os.environ.get(ENV_VAR)
    if env:
        out.append((f"${ENV_VAR}", Path(env)))
    bundle = (Path(__file__).resolve().parents[1].parent / "shared" / "data").resolve()
    if all(bundle != p for _, p in out):
        out.append(("../shared/data bundle", bundle))
    out.append(("user cache", user_cache_dir() / "data"))
    return out


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The first data directory that exists (an explicit one must exist).

    Raises
    ------
    DataFileNotFoundError
        If an explicit ``data_dir`` or ``$GEO_RESPONSE_DATA`` names a folder that does not exist.
    """
    for reason, path in candidate_dirs(data_dir):
        if path.is_dir():
            return path
        if reason != "user cache" and reason != "../shared/data bundle":
            raise DataFileNotFoundError(f"data directory {path} (from {reason}) does not exist")
    cache = user_cache_dir() / "data"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def find_file(relative: str | Path, data_dir: str | Path | None = None, url: str | None = None) -> Path:
    """Find a data file by its path relative to a data directory.

    Parameters
    ----------
    relative : str or Path
        For example ``"essex/essex_lsoa11_ruc11.geojson"``. An absolute path is returned if it exists.
    data_dir : str or Path, optional
        An explicit data directory, searched first.
    url : str, optional
        Where the real file can be had, quoted in the error.

    Raises
    ------
    DataFileNotFoundError
        Naming the file, every place searched and how to get it.
    """
    rel = Path(relative)
    if rel.is_absolute():
        if rel.exists():
            return rel
        raise DataFileNotFoundError(f"{rel} does not exist" + (f"; download it from {url}" if url else ""))
    searched = []
    for reason, base in candidate_dirs(data_dir):
        if reason in ("--data-dir option", f"${ENV_VAR}") and not base.is_dir():
            # a typo must not quietly fall back to another copy of the data
            raise DataFileNotFoundError(
                f"data directory {base} (from {reason}) does not exist; fix the path "
                "or leave it out to use the bundle beside the checkout"
            )
        path = base / rel
        if path.exists():
            return path
        searched.append(f"  {path}  ({reason})")
    how = (
        f"Download it from {url} into one of those folders, or run 'geo-response fetch'."
        if url
        else ("Point --data-dir or $GEO_RESPONSE_DATA at a folder that has it.")
    )
    raise DataFileNotFoundError(f"data file {rel} not found. Looked in:\n" + "\n".join(searched) + "\n" + how)


def find_optional(relative: str | Path, data_dir: str | Path | None = None) -> Path | None:
    """:func:`find_file`, or None when the file is not in any data folder (for layers that are optional)."""
    try:
        return find_file(relative, data_dir)
    except DataFileNotFoundError:
        return None


def default_incidents(data_dir: str | Path | None = None) -> Path:
    """The default incidents: the data folder's ``police_uk/`` street-crime files (the bundle: Essex, 2018).

    Raises
    ------
    DataFileNotFoundError
        When no data folder has it (says where to get the archives: ``geo-response fetch police_uk``).
    """
    return find_file(POLICE_UK_DIR, data_dir, url=POLICE_UK_URL)


STATS19_DIR = "stats19"


def default_collisions(data_dir: str | Path | None = None) -> Path | None:
    """The data folder's STATS19 collisions (``stats19/*.csv``; the bundle: a DfT sample, 2005-2014), or None.

    Only the data folder in use (:func:`resolve_data_dir`) is looked in: a folder without ``stats19/`` means no
    collisions, never another folder's. The demo joins them to its incidents by default.
    """
    folder = resolve_data_dir(data_dir) / STATS19_DIR
    if folder.is_dir() and any(f.suffix.lower() == ".csv" for f in folder.iterdir() if f.is_file()):
        return folder
    return None

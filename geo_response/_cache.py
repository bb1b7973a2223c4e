"""Helpers for cache files: a file that fails its check is moved aside and reported, never deleted.

The network cache (:mod:`geo_response.roads.network`) calls :func:`move_aside` when a cached file does not
match its content hash or cannot be read, so the user can inspect what was there.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from geo_response.errors import OutputError

logger = logging.getLogger(__name__)


def move_aside(path: str | Path, reason: str) -> Path:
    """Rename a bad cache file to ``<name>.bad-<UTC timestamp>`` beside it and log a warning.

    Parameters
    ----------
    path : str or Path
        The cache file that failed its check.
    reason : str
        Why, for the message (e.g. ``"content hash does not match"``).

    Returns
    -------
    Path
        The new name. The warning logged is :func:`moved_aside_message` (the CLI can print it too).

    Raises
    ------
    OutputError
        If the file cannot be renamed (it is then left where it is, and must not be used).
    """
    src = Path(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = src.with_name(f"{src.name}.bad-{stamp}")
    try:
        os.replace(src, dest)
    except OSError as exc:
        raise OutputError(
            f"the cache file {src} is bad ({reason}) and cannot be moved aside ({exc.strerror}); delete it by hand"
        ) from exc
    logger.warning(moved_aside_message(src, dest, reason))
    return dest


def moved_aside_message(src: str | Path, dest: str | Path, reason: str) -> str:
    """The one-line report of a cache file moved aside (for the CLI to print)."""
    return f"ignored the cache file {src}: {reason}; moved it to {dest} (inspect or delete it); rebuilding"

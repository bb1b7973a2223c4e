"""Downloads of the real data sources (Geofabrik, ONS, police.uk) with pooch.

The force profile's ``[sources]`` table names each source (``profile.sources``: name -> ``Source(file,
url, sha256, licence)``). :func:`fetch` downloads a source into the user cache's ``data/`` folder under
its ``file`` path, which is the last place :func:`geo_response.datadir.find_file` looks, so a fetched
file is found by every loader without further configuration.

Checksums: a source with a ``sha256`` in the profile is verified (pooch ``known_hash``); a source whose
publisher updates the file in place (Geofabrik's ``-latest`` extracts) has none, and the SHA-256 of what
was actually downloaded is recorded in a JSON manifest (:data:`MANIFEST_NAME`) in the download folder:
trust on first use, which :attr:`Download.status` says in words for the CLI to print. A cached copy is
re-verified against that recorded SHA-256 (not just its size) every time it is reused; one that no longer
matches is moved aside (``<name>.bad-<time>``) and reported, never used.

Only ``https://`` URLs are downloaded; plain ``http://`` only from this machine (``127.0.0.1``,
``localhost``, ``::1``: a local mirror or a test server), since anyone on the path could change the file.

police.uk publishes one zip per month holding the street-level files of every force for the previous
36 months (``https://data.police.uk/data/archive/YYYY-MM.zip``); :func:`fetch_police_uk` downloads the
archives needed for the requested months and extracts only the chosen force's ``street`` files.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import pooch
from tqdm.auto import tqdm

from geo_response._cache import move_aside
from geo_response.config import ForceProfile, Source, load_profile
from geo_response.datadir import user_cache_dir
from geo_response.errors import ConfigError, DownloadError

MANIFEST_NAME = "download_manifest.json"
POLICE_UK_SOURCE = "police_uk_archive"
POLICE_UK_ARCHIVE_URL = "https://data.police.uk/data/archive/"
ARCHIVE_SPAN_MONTHS = 36  # each police.uk monthly archive holds the 36 months up to its own month
DEFAULT_TIMEOUT = 60.0
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Download:
    """One file fetched (or found in the cache) by :func:`fetch` or :func:`fetch_police_uk`."""

    name: str
    path: Path
    url: str
    sha256: str
    verified: bool
    downloaded: bool
    status: str = ""
    """One line for the user: verified against the profile, or trust on first use (with the hash recorded)."""


# ------------------------------------------------------------------------------------------------
# Sources and where they go
# ------------------------------------------------------------------------------------------------
def download_dir(cache_dir: str | Path | None = None) -> Path:
    """The folder downloads go to: ``cache_dir`` or the user cache's ``data/`` folder."""
    return Path(cache_dir) if cache_dir is not None else user_cache_dir() / "data"


def get_source(name: str, profile: ForceProfile | None = None) -> Source:
    """The source called ``name`` in the force profile's ``[sources]`` table.

    Raises
    ------
    DownloadError
        If the profile has no such source (the message lists the ones it has).
    """
    profile = profile or load_profile()
    try:
        return profile.sources[name]
    except KeyError:
        known = ", ".join(sorted(profile.sources)) or "none"
        raise DownloadError(
            f"no source called {name!r} in the force profile {profile.path}; known sources: {known}. "
            "Run 'geo-response fetch' to list them."
        ) from None


def source_kind(source: Source) -> str:
    """How a source is fetched.

    Returns
    -------
    str
        ``"archive"`` for a folder of monthly police.uk files (``file`` ends with ``/``);
        ``"file"`` when the URL names a file with the same extension as ``source.file`` (a direct download);
        ``"page"`` when the URL is a landing page or DOI, from which the file must be fetched by hand.
    """
    if source.file.endswith("/"):
        return "archive"
    url_suffix = PurePosixPath(urlparse(source.url).path).suffix.lower()
    file_suffix = PurePosixPath(source.file).suffix.lower()
    return "file" if url_suffix and url_suffix == file_suffix else "page"


def source_url(source: Source, base_url: str | None = None) -> str:
    """The URL to download ``source`` from.

    Parameters
    ----------
    source : Source
        A source from the force profile.
    base_url : str, optional
        A mirror that serves the files under their original names: the source URL's folder is replaced by
        ``base_url`` (``https://download.geofabrik.de/.../essex-latest.osm.pbf`` with
        ``base_url="http://mirror/osm"`` becomes ``http://mirror/osm/essex-latest.osm.pbf``).
    """
    if base_url is None:
        return source.url
    check_url(base_url)
    name = "" if source.url.endswith("/") else PurePosixPath(urlparse(source.url).path).name
    return base_url.rstrip("/") + "/" + name


def check_url(url: str) -> str:
    """Return ``url`` if it may be downloaded from: ``https://``, or ``http://`` to this machine only.

    Raises
    ------
    DownloadError
        For any other scheme, or plain ``http://`` to another host (say what to use instead).
    """
    parsed = urlparse(str(url))
    host = (parsed.hostname or "").lower()
    if parsed.scheme == "https" and host:
        return url
    if parsed.scheme == "http" and host in LOOPBACK_HOSTS:
        return url
    raise DownloadError(
        f"refusing to download from {url}: use an https:// URL (plain http:// is accepted only for a mirror on "
        f"this machine: {', '.join(LOOPBACK_HOSTS)}), because anyone on the network path could change the file"
    )


def known_hash(source: Source) -> str | None:
    """Pooch's ``known_hash`` for a source: ``"sha256:<hex>"``, or None when the profile gives none.

    Raises
    ------
    ConfigError
        If the profile's ``sha256`` is not 64 hexadecimal characters.
    """
    value = source.sha256.strip().lower()
    if not value:
        return None
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    if not _SHA256.match(value):
        raise ConfigError(
            f"[sources.{source.name}] sha256 = {source.sha256!r} is not a SHA-256 (64 hex characters); "
            "fix it or leave it empty to record the hash of whatever is downloaded"
        )
    return f"sha256:{value}"


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file, computed by pooch."""
    return pooch.file_hash(str(path), alg="sha256")


# ------------------------------------------------------------------------------------------------
# The manifest
# ------------------------------------------------------------------------------------------------
def read_manifest(cache_dir: str | Path | None = None) -> dict[str, dict]:
    """The download manifest: relative path -> ``url, sha256, bytes, verified, licence, downloaded_at``."""
    path = download_dir(cache_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DownloadError(
            f"the download manifest {path} is not valid JSON ({exc}); delete it and fetch again"
        ) from exc


def _record(cache_dir: Path, relative: str, entry: dict) -> None:
    manifest = read_manifest(cache_dir)
    manifest[relative] = entry
    path = cache_dir / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------
# Downloading
# ------------------------------------------------------------------------------------------------
class _Downloader:
    """pooch HTTP downloader that remembers the URLs it fetched and opens its tqdm bar only when used."""

    def __init__(self, label: str, progress: bool, timeout: float):
        self.label = label
        self.progress = progress
        self.timeout = timeout
        self.urls: list[str] = []

    def __call__(self, url: str, output_file, pooch_obj, check_only: bool = False):
        self.urls.append(url)
        bar = False
        if self.progress and not check_only:
            # total > 0 so that pooch sees a truthy bar; pooch sets the real total from Content-Length
            bar = tqdm(total=1, unit="B", unit_scale=True, desc=self.label, disable=None, leave=True)
        downloader = pooch.HTTPDownloader(progressbar=bar, timeout=self.timeout)
        return downloader(url, output_file, pooch_obj, check_only=check_only)


def _by_hand(url: str, dest: Path) -> str:
    return (
        f"To place the file by hand: download {url} in a browser and save it as {dest} "
        "(or under the same relative path in any folder given by --data-dir / $GEO_RESPONSE_DATA)."
    )


def _failure(url: str, dest: Path, exc: Exception, publisher_url: str) -> DownloadError:
    import requests

    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        why = f"the server answered HTTP {exc.response.status_code} {exc.response.reason}"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        why = f"could not connect ({exc.__class__.__name__}: is this machine online?)"
    elif isinstance(exc, requests.exceptions.Timeout):
        why = "the server did not answer in time"
    else:
        why = f"{exc.__class__.__name__}: {exc}"
    return DownloadError(f"download of {url} failed: {why}. Nothing was saved. {_by_hand(publisher_url, dest)}")


def _retrieve(
    url: str,
    dest: Path,
    expected: str | None,
    label: str,
    progress: bool,
    timeout: float,
    processor=None,
    publisher_url: str | None = None,
) -> bool:
    """Download ``url`` to ``dest`` with pooch unless a file matching ``expected`` is already there.

    Returns True when a download happened. pooch streams to a temporary file beside ``dest`` and moves it
    into place only after the checksum passes, so a failed download leaves nothing behind. ``processor``
    (a pooch processor such as ``pooch.Unzip``) runs after the download. ``publisher_url`` (default
    ``url``) is the address quoted in errors for getting the file by hand when ``url`` is a mirror.
    """
    publisher_url = publisher_url or url
    check_url(url)
    import requests

    downloader = _Downloader(label, progress, timeout)
    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    pooch_logger.setLevel(logging.WARNING)  # pooch's INFO lines tell users to edit pooch calls
    try:
        logger.info("downloading %s to %s", url, dest)
        pooch.retrieve(
            url,
            known_hash=expected,
            fname=dest.name,
            path=dest.parent,
            downloader=downloader,
            processor=processor,
            progressbar=False,
        )
    except requests.exceptions.RequestException as exc:
        raise _failure(url, dest, exc, publisher_url) from exc
    except ValueError as exc:  # pooch: checksum mismatch (the temporary file is already deleted)
        raise DownloadError(
            f"download of {url} does not match the checksum {expected} given in the force profile: {exc}. "
            f"The file was not saved. If the publisher has replaced the file, update or clear the sha256 in "
            f"the profile's [sources] table; otherwise try again later. {_by_hand(publisher_url, dest)}"
        ) from exc
    finally:
        pooch_logger.setLevel(level)
    return bool(downloader.urls)


def _reject_html(path: Path, url: str) -> None:
    """A landing page saved under a data file's name is not data: delete it and say so."""
    if path.suffix.lower() in (".html", ".htm"):
        return
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        path.unlink()
        raise DownloadError(
            f"{url} returned a web page, not the data file; it was deleted. The URL in the force profile is "
            f"probably a landing page: {_by_hand(url, path)}"
        )


def fetch(
    name: str,
    profile: ForceProfile | None = None,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download one source of the force profile into the cache (or reuse the cached copy).

    Parameters
    ----------
    name : str
        Source name in the profile's ``[sources]`` table, e.g. ``"geofabrik_essex"``.
    profile : ForceProfile, optional
        Default: the embedded Essex profile.
    cache_dir : str or Path, optional
        Download folder (default: ``user_cache_dir() / "data"``, searched last by ``find_file``).
    base_url : str, optional
        A mirror serving the files under their original names (see :func:`source_url`).
    progress : bool
        Show a tqdm progress bar while downloading (hidden when not a terminal).
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    Path
        ``cache_dir / source.file``. The SHA-256 of the file is in the manifest (:func:`read_manifest`).

    Raises
    ------
    DownloadError
        Unknown source, a landing-page URL, an HTTP or connection failure, or a checksum mismatch; the
        message names the URL, the reason and where to put the file by hand.
    """
    return fetch_source(name, profile, cache_dir, base_url, progress, timeout).path


def fetch_source(
    name: str,
    profile: ForceProfile | None = None,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Download:
    """Like :func:`fetch`, returning a :class:`Download` (path, URL, SHA-256, verified, downloaded)."""
    profile = profile or load_profile()
    source = get_source(name, profile)
    folder = download_dir(cache_dir)
    dest = folder / source.file
    kind = source_kind(source)
    if kind == "archive":
        raise DownloadError(
            f"source {name!r} is a folder of monthly archives ({source.url}); fetch months with "
            f"fetch_police_uk([...]) or 'geo-response fetch {name} --month YYYY-MM'"
        )
    url = source_url(source, base_url)
    if kind == "page":
        if dest.is_file():  # placed by hand: compare with the copy the profile was made with, when it has one
            sha, expected = file_sha256(dest), known_hash(source)
            same = expected is not None and expected == f"sha256:{sha}"
            status = (
                f"placed by hand; sha256 {sha} matches the force profile"
                if same
                else f"placed by hand; sha256 {sha} "
                + (
                    "differs from the force profile's (another extract or version)"
                    if expected
                    else "recorded (no published checksum: trust on first use)"
                )
            )
            return Download(
                name=name, path=dest, url=source.url, sha256=sha, verified=same, downloaded=False, status=status
            )
        raise DownloadError(
            f"source {name!r} ({source.url}) is a web page or DOI, not a file, so it cannot be downloaded "
            f"automatically. Get the data from that page and save it as {dest} (or as {source.file} in any "
            f"folder given by --data-dir / $GEO_RESPONSE_DATA), or put a direct file URL in "
            f"[sources.{name}] url of the force profile."
        )
    expected = known_hash(source)
    manifest = read_manifest(folder)
    if expected is None:
        verify_cached(dest, manifest.get(source.file), name)
    downloaded = _retrieve(url, dest, expected, source.file, progress, timeout, publisher_url=source.url)
    if downloaded:
        _reject_html(dest, url)
    sha = file_sha256(dest)
    entry = manifest.get(source.file)
    known = entry is not None and not downloaded
    if not known:
        entry = {
            "source": name,
            "url": url,
            "sha256": sha,
            "bytes": dest.stat().st_size,
            "verified": expected is not None,
            "licence": source.licence,
            "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds") if downloaded else None,
        }
        _record(folder, source.file, entry)
    return Download(
        name=name,
        path=dest,
        url=url,
        sha256=sha,
        verified=expected is not None,
        downloaded=downloaded,
        status=_status(expected is not None, downloaded, known, sha),
    )


def _status(verified: bool, downloaded: bool, known: bool, sha: str) -> str:
    """The line ``fetch`` prints about a file's checksum."""
    if verified:
        return f"{'downloaded' if downloaded else 'cached copy'}; sha256 {sha} matches the force profile"
    if downloaded:
        return f"downloaded; no published checksum: recorded sha256 {sha} (trust on first use)"
    if known:
        return (
            f"cached copy matches the sha256 recorded at its download, {sha} (no published checksum: "
            "trust on first use)"
        )
    return f"found in the cache with no record; no published checksum: recorded sha256 {sha} (trust on first use)"


def verify_cached(path: Path, entry: dict | None, name: str) -> None:
    """Check a cached file against the SHA-256 recorded when it was downloaded.

    Nothing happens when the file or its record is missing. A file that no longer matches is moved aside
    (:func:`geo_response._cache.move_aside`) and reported.

    Raises
    ------
    DownloadError
        When the cached file does not match its record (it may have been damaged or replaced).
    """
    if entry is None or not path.is_file():
        return
    recorded = str(entry.get("sha256", ""))
    if recorded and file_sha256(path) == recorded:
        return
    moved = move_aside(path, f"does not match the sha256 recorded at its download ({recorded or 'none'})")
    raise DownloadError(
        f"the cached copy of {name} ({path}) does not match the sha256 recorded when it was downloaded, so it "
        f"may have been damaged or replaced; it was moved to {moved}. Run the fetch again for a fresh copy."
    )


# ------------------------------------------------------------------------------------------------
# police.uk monthly archives
# ------------------------------------------------------------------------------------------------
def _check_month(month: str) -> tuple[int, int]:
    m = _MONTH.match(str(month))
    if not m:
        raise DownloadError(f"{month!r} is not a month: write it as YYYY-MM, e.g. 2018-07")
    return int(m.group(1)), int(m.group(2))


def _month_index(month: str) -> int:
    year, mon = _check_month(month)
    return year * 12 + (mon - 1)


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def plan_police_uk_archives(months: Iterable[str], span: int = ARCHIVE_SPAN_MONTHS) -> dict[str, list[str]]:
    """Which monthly archives cover the requested months, using as few archives as possible.

    The archive of month M holds months M-span+1 .. M, so the latest requested month's archive also
    covers every requested month up to ``span - 1`` months earlier.

    Returns
    -------
    dict
        archive month -> the requested months taken from it (both ``YYYY-MM``), latest archive first.
    """
    remaining = sorted({_month_index(m) for m in months}, reverse=True)
    if not remaining:
        raise DownloadError("no months given: name at least one month as YYYY-MM")
    plan: dict[str, list[str]] = {}
    while remaining:
        latest = remaining[0]
        covered = [i for i in remaining if latest - i < span]
        plan[_month_name(latest)] = [_month_name(i) for i in sorted(covered)]
        remaining = [i for i in remaining if latest - i >= span]
    return plan


def _plan_with_kept(months: list[str], archive_dir: Path) -> dict[str, list[str]]:
    """Plan archives, taking months from archives already kept on disk (``keep_archive=True``) first."""
    plan: dict[str, list[str]] = {}
    todo = list(months)
    kept = sorted((p.stem for p in archive_dir.glob("*.zip") if _MONTH.match(p.stem)), reverse=True)
    for archive in kept:
        covered = [m for m in todo if 0 <= _month_index(archive) - _month_index(m) < ARCHIVE_SPAN_MONTHS]
        if covered:
            plan[archive] = covered
            todo = [m for m in todo if m not in covered]
    if todo:
        plan.update(plan_police_uk_archives(todo))
    return plan


def police_uk_member(month: str, force: str) -> str:
    """Path of a force's street file inside a police.uk archive: ``YYYY-MM/YYYY-MM-<force>-street.csv``."""
    _check_month(month)
    return f"{month}/{month}-{force}-street.csv"


class _ForceStreetFiles(pooch.Unzip):
    """pooch.Unzip restricted to the members present; names what the archive lacks."""

    def __init__(self, wanted: list[str], extract_dir: str):
        super().__init__(members=wanted, extract_dir=extract_dir)
        self.wanted = wanted

    def __call__(self, fname, action, pooch_obj):
        names = set(self._all_members(fname))
        missing = [m for m in self.wanted if m not in names]
        if missing:
            forces = sorted(
                {PurePosixPath(n).name[8 : -len("-street.csv")] for n in names if n.endswith("-street.csv")}
            )
            listed = ", ".join(forces[:8]) + (" ..." if len(forces) > 8 else "")
            months = sorted({PurePosixPath(n).parts[0] for n in names if "/" in n})
            span = f"{months[0]} to {months[-1]}" if months else "no monthly folders"
            raise DownloadError(
                f"the police.uk archive {Path(fname).name} has no {', '.join(missing)}; it holds {span} for "
                f"{len(forces)} forces ({listed}). Check the "
                "force name (as in the file names, e.g. 'essex', 'metropolitan') and the months."
            )
        return super().__call__(fname, action, pooch_obj)


def fetch_police_uk(
    months: Iterable[str],
    force: str = "essex",
    profile: ForceProfile | None = None,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
    progress: bool = True,
    keep_archive: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Download police.uk street-level crime files of one force for the given months.

    Parameters
    ----------
    months : iterable of str
        Months as ``YYYY-MM``.
    force : str
        The force's name in police.uk file names (``essex``, ``metropolitan``, ``thames-valley`` ...).
    profile : ForceProfile, optional
        Its ``police_uk_archive`` source gives the archive folder and the destination folder
        (default: the embedded Essex profile; without that source, data.police.uk and ``police_uk/``).
    cache_dir : str or Path, optional
        Download folder (default: ``user_cache_dir() / "data"``).
    base_url : str, optional
        A mirror of https://data.police.uk/data/archive/ serving ``YYYY-MM.zip``.
    progress : bool
        tqdm progress bar while downloading.
    keep_archive : bool
        Keep the downloaded zips (they hold every force: about a gigabyte each) under
        ``<folder>/archive/``, where later calls take months from them without a download; by default
        they are deleted once the force's files are extracted.
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    list of Path
        ``<cache>/police_uk/YYYY-MM-<force>-street.csv`` per month, in month order. Months already in the
        cache are not downloaded again.

    Raises
    ------
    DownloadError
        A bad month, a failed download (naming the URL), or an archive without the force's file.
    """
    profile = profile or load_profile()
    source = profile.sources.get(POLICE_UK_SOURCE)
    archive_url = source.url if source is not None else POLICE_UK_ARCHIVE_URL
    subdir = source.file if source is not None else "police_uk/"
    folder = download_dir(cache_dir)
    target_dir = folder / subdir
    force = force.strip().lower()
    wanted = sorted({str(m) for m in months}, key=_month_index)
    targets = {m: target_dir / f"{m}-{force}-street.csv" for m in wanted}
    manifest = read_manifest(folder)
    for m in wanted:  # months already here are reused only if they still match their recorded sha256
        verify_cached(targets[m], manifest.get(f"{subdir}{targets[m].name}"), f"police.uk {m} ({force})")
    todo = [m for m in wanted if not targets[m].is_file()]
    base = check_url((base_url or archive_url).rstrip("/") + "/").rstrip("/")
    if todo:
        for archive, archive_months in _plan_with_kept(todo, target_dir / "archive").items():
            url = f"{base}/{archive}.zip"
            zip_path = target_dir / "archive" / f"{archive}.zip"
            members = [police_uk_member(m, force) for m in archive_months]
            extract_dir = f"{archive}.{force}.unzip"
            try:
                _retrieve(
                    url,
                    zip_path,
                    None,
                    f"police.uk {archive}.zip",
                    progress,
                    timeout,
                    processor=_ForceStreetFiles(members, extract_dir),
                    publisher_url=f"{archive_url.rstrip('/')}/{archive}.zip",
                )
                unzipped = zip_path.parent / extract_dir
                for month, member in zip(archive_months, members, strict=True):
                    shutil.move(unzipped / member, targets[month])
                    _record(
                        folder,
                        f"{subdir}{targets[month].name}",
                        {
                            "source": POLICE_UK_SOURCE,
                            "url": url,
                            "member": member,
                            "sha256": file_sha256(targets[month]),
                            "bytes": targets[month].stat().st_size,
                            "verified": False,
                            "licence": source.licence if source is not None else "OGL v3",
                            "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        },
                    )
                shutil.rmtree(unzipped, ignore_errors=True)
            finally:
                if not keep_archive:
                    zip_path.unlink(missing_ok=True)
                    shutil.rmtree(zip_path.parent / extract_dir, ignore_errors=True)
        archive_dir = target_dir / "archive"
        if archive_dir.is_dir() and not any(archive_dir.iterdir()):
            archive_dir.rmdir()
    return [targets[m] for m in wanted]

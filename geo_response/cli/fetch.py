"""``geo-response fetch``: list the real data sources and download them into the user cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_response import datadir, download
from geo_response.cli.common import DataDirOption, ForceOption, errors
from geo_response.config import load_profile
from geo_response.errors import GeoResponseError


def _where(relative: str, data_dir: Path | None) -> str:
    """Where a source's file is found now, or 'missing'."""
    try:
        return str(datadir.find_file(relative, data_dir))
    except GeoResponseError:
        return "missing"


def fetch_command(
    names: Annotated[list[str] | None, typer.Argument(help="Sources to download (see the list).")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Download every source that can be.")] = False,
    month: Annotated[
        list[str] | None,
        typer.Option("--month", help="police.uk month YYYY-MM (repeatable) for the police_uk_archive source."),
    ] = None,
    force: Annotated[str, typer.Option(help="Force name in police.uk file names.")] = "essex",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Mirror serving the files under their original names.")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Download folder (default: the user cache's data/ folder).")
    ] = None,
    data_dir: DataDirOption = None,
    profile_path: ForceOption = None,
) -> None:
    """List the force profile's data sources, or download the named ones (with checksums where known).

    Without names: each source's URL, licence, how it is fetched, and where the file goes / is now.
    """
    with errors():
        _fetch(names, all_sources, month, force, base_url, cache_dir, data_dir, profile_path)


def _fetch(names, all_sources, month, force, base_url, cache_dir, data_dir, profile_path) -> None:
    """List or download the sources (the body of :func:`fetch_command`)."""
    profile = load_profile(profile_path)
    target = download.download_dir(cache_dir)
    if not names and not all_sources:
        typer.echo(f"Sources in {profile.path} (downloads go to {target}):")
        for name, source in profile.sources.items():
            kind = download.source_kind(source)
            how = {
                "file": "direct download",
                "page": "by hand (landing page)",
                "archive": "monthly archives (--month YYYY-MM)",
            }[kind]
            typer.echo(
                f"- {name}: {source.url}\n    licence: {source.licence or 'not stated'}; {how}\n"
                f"    goes to: {target / source.file}\n"
                f"    found now: {_where(source.file, data_dir) if kind != 'archive' else '-'}"
            )
        return
    chosen = list(profile.sources) if all_sources else list(names or [])
    for name in chosen:
        source = download.get_source(name, profile)
        kind = download.source_kind(source)
        if kind == "archive":
            if not month:
                if all_sources:
                    typer.echo(f"{name}: skipped (give --month YYYY-MM to download police.uk months)")
                    continue
                raise download.DownloadError(f"{name} needs at least one --month YYYY-MM")
            paths = download.fetch_police_uk(
                month, force=force, profile=profile, cache_dir=cache_dir, base_url=base_url
            )
            manifest = download.read_manifest(cache_dir)
            for path in paths:
                entry = manifest.get(f"{source.file}{path.name}", {})
                typer.echo(f"{name}: {path}  sha256={entry.get('sha256', download.file_sha256(path))}")
            continue
        if kind == "page" and all_sources:
            typer.echo(f"{name}: skipped, download by hand from {source.url} and save it as {target / source.file}")
            continue
        result = download.fetch_source(name, profile, cache_dir=cache_dir, base_url=base_url)
        typer.echo(f"{name}: {result.path}  sha256={result.sha256}  ({result.status})")


def register(app: typer.Typer) -> None:
    """Add ``fetch`` to the app."""
    app.command("fetch")(fetch_command)

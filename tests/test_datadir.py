"""Where data files are found: --data-dir > $GEO_RESPONSE_DATA > ../shared/data > the user cache.

Every level is a real folder under tmp_path. The bundle level is found beside the checkout (the folder
above ``geo_response/``), never beside the working directory (a planted folder must not be picked up);
tests move ``datadir.__file__`` (read at call time) to a fake checkout and the working directory to tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from geo_response import datadir
from geo_response.errors import DataFileNotFoundError, GeoResponseError

REL = "essex/layer.csv"


def put(folder: Path, text: str, rel: str = REL) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Four candidate folders, a fake checkout with (or without) a bundle beside it, an empty env."""
    root = tmp_path / "world"
    checkout = root / "checkout"
    (checkout / "geo_response").mkdir(parents=True)
    monkeypatch.setattr(datadir, "__file__", str(checkout / "geo_response" / "datadir.py"))
    work = root / "elsewhere" / "cwd"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.delenv(datadir.ENV_VAR, raising=False)
    cache = root / "cache"
    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(cache))
    return {
        "explicit": root / "explicit",
        "env": root / "env",
        "bundle": root / "shared" / "data",
        "cwd_bundle": root / "elsewhere" / "shared" / "data",
        "cache": cache / "data",
    }


def test_each_level_of_precedence(world, monkeypatch):
    for level in ("explicit", "env", "bundle", "cache"):
        put(world[level], level)
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))

    assert datadir.find_file(REL, data_dir=world["explicit"]).read_text() == "explicit"
    assert datadir.find_file(REL).read_text() == "env"
    monkeypatch.delenv(datadir.ENV_VAR)
    assert datadir.find_file(REL).read_text() == "bundle"
    (world["bundle"] / REL).unlink()
    assert datadir.find_file(REL) == world["cache"] / REL


def test_a_file_missing_from_an_earlier_folder_is_taken_from_a_later_one(world, monkeypatch):
    world["explicit"].mkdir(parents=True)
    world["env"].mkdir(parents=True)
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))
    cached = put(world["cache"], "downloaded")
    assert datadir.find_file(REL, data_dir=world["explicit"]) == cached


def test_a_bundle_planted_beside_the_working_directory_is_ignored(world):
    """Issue 11 line 10: ./../shared/data relative to the working directory is a planting risk."""
    put(world["cwd_bundle"], "planted")
    cached = put(world["cache"], "downloaded")
    assert datadir.find_file(REL) == cached
    assert [p for _, p in datadir.candidate_dirs()] == [world["bundle"], world["cache"]]


def test_candidate_order_and_reasons(world, monkeypatch):
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))
    got = datadir.candidate_dirs(world["explicit"])
    assert got == [
        ("--data-dir option", world["explicit"]),
        ("$GEO_RESPONSE_DATA", world["env"]),
        ("../shared/data bundle", world["bundle"]),
        ("user cache", world["cache"]),
    ]


def test_env_pointing_at_the_bundle_is_listed_once(world, monkeypatch):
    world["bundle"].mkdir(parents=True)
    monkeypatch.setenv(datadir.ENV_VAR, str(world["bundle"]))
    paths = [p for _, p in datadir.candidate_dirs()]
    assert paths.count(world["bundle"]) == 1


def test_resolve_data_dir(world, monkeypatch):
    # nothing exists: the user cache is created and used
    assert datadir.resolve_data_dir() == world["cache"] and world["cache"].is_dir()
    world["bundle"].mkdir(parents=True)
    assert datadir.resolve_data_dir() == world["bundle"]
    world["env"].mkdir()
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))
    assert datadir.resolve_data_dir() == world["env"]
    world["explicit"].mkdir()
    assert datadir.resolve_data_dir(world["explicit"]) == world["explicit"]


def test_resolve_data_dir_refuses_folders_that_do_not_exist(world, monkeypatch):
    with pytest.raises(DataFileNotFoundError) as info:
        datadir.resolve_data_dir(world["explicit"])
    assert str(world["explicit"]) in str(info.value) and "--data-dir option" in str(info.value)
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))
    with pytest.raises(DataFileNotFoundError, match=r"\$GEO_RESPONSE_DATA"):
        datadir.resolve_data_dir()


def test_a_data_dir_that_does_not_exist_is_an_error_not_a_fallback(world, monkeypatch):
    put(world["bundle"], "bundle")
    with pytest.raises(
        DataFileNotFoundError,
        match=r"data directory .*explicit \(from --data-dir option\) does "
        r"not exist",
    ):
        datadir.find_file(REL, data_dir=world["explicit"])
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))
    with pytest.raises(DataFileNotFoundError, match=r"from \$GEO_RESPONSE_DATA\) does not exist"):
        datadir.find_file(REL)


def test_default_incidents_are_the_police_uk_folder(world):
    put(world["bundle"], "Crime ID,Month\n", "police_uk/2018-01-essex-street.csv")
    assert datadir.default_incidents() == world["bundle"] / "police_uk"
    (world["bundle"] / "police_uk" / "2018-01-essex-street.csv").unlink()
    (world["bundle"] / "police_uk").rmdir()
    with pytest.raises(DataFileNotFoundError, match="data.police.uk/data/archive"):
        datadir.default_incidents()


def test_missing_file_error_names_file_folders_and_url(world, monkeypatch):
    world["explicit"].mkdir(parents=True)
    world["env"].mkdir(parents=True)
    monkeypatch.setenv(datadir.ENV_VAR, str(world["env"]))
    url = "https://www.ons.gov.uk/some/file.csv"
    with pytest.raises(DataFileNotFoundError) as info:
        datadir.find_file(REL, data_dir=world["explicit"], url=url)
    message = str(info.value)
    assert message.startswith(f"data file {REL} not found. Looked in:")
    for reason, folder in [
        ("--data-dir option", world["explicit"]),
        ("$GEO_RESPONSE_DATA", world["env"]),
        ("../shared/data bundle", world["bundle"]),
        ("user cache", world["cache"]),
    ]:
        assert f"  {folder / REL}  ({reason})" in message
    assert f"Download it from {url}" in message and "geo-response fetch" in message
    # the same error is a GeoResponseError (CLI) and a FileNotFoundError (plain Python callers)
    assert isinstance(info.value, GeoResponseError) and isinstance(info.value, FileNotFoundError)


def test_missing_file_without_url_says_where_to_point(world):
    with pytest.raises(DataFileNotFoundError, match=r"Point --data-dir or \$GEO_RESPONSE_DATA"):
        datadir.find_file(REL)


def test_absolute_paths(world, tmp_path):
    path = put(tmp_path, "abs", "x/abs.csv")
    assert datadir.find_file(path) == path
    with pytest.raises(DataFileNotFoundError) as info:
        datadir.find_file(tmp_path / "nope.csv", url="https://example.org/nope.csv")
    assert str(tmp_path / "nope.csv") in str(info.value) and "https://example.org/nope.csv" in str(info.value)


def test_user_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(tmp_path / "c"))
    assert datadir.user_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GEO_RESPONSE_CACHE")
    assert datadir.user_cache_dir() == Path(platformdirs.user_cache_dir("geo-response"))


def test_real_bundle_is_found_beside_the_checkout(monkeypatch):
    """With no option or variable, the shared bundle beside the checkout is used."""
    monkeypatch.delenv(datadir.ENV_VAR, raising=False)
    bundle = Path(datadir.__file__).resolve().parents[2] / "shared" / "data"
    if not (bundle / "essex" / "essex_lsoa11_ruc11.csv").is_file():
        pytest.skip(f"the data bundle is not at {bundle} on this machine")
    assert datadir.find_file("essex/essex_lsoa11_ruc11.csv") == bundle / "essex" / "essex_lsoa11_ruc11.csv"
    assert datadir.resolve_data_dir() == bundle

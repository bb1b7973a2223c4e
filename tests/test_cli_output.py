"""--quiet and --verbose: progress bars and logging from the command line."""

import io

import pytest
from tqdm.auto import tqdm
from typer.testing import CliRunner

from geo_response.cli import common, get_app


@pytest.fixture(autouse=True)
def _reset_output():
    yield
    common.configure_output(quiet=False, verbose=False)


def test_quiet_hides_every_progress_bar():
    common.configure_output(quiet=True)
    sink = io.StringIO()
    for _ in tqdm(range(5), disable=False, file=sink, desc="work"):
        pass
    assert sink.getvalue() == ""
    common.configure_output()
    sink = io.StringIO()
    for _ in tqdm(range(5), disable=False, file=sink, desc="work"):
        pass
    assert "work" in sink.getvalue()


def _network(data_dir, *flags):
    return CliRunner().invoke(get_app(), [*flags, "network", "--data-dir", str(data_dir)])


@pytest.mark.slow
def test_cli_quiet_prints_no_progress_and_verbose_logs_the_cache(data_dir):
    first = _network(data_dir, "--quiet")  # builds (or loads) the cached network
    assert first.exit_code == 0, first.output
    assert "%|" not in first.output and "it/s" not in first.output
    assert "INFO" not in first.output
    verbose = _network(data_dir, "--verbose")
    assert verbose.exit_code == 0, verbose.output
    assert "INFO geo_response.roads.network: loaded network from cache" in verbose.output
    plain = _network(data_dir)
    assert "INFO" not in plain.output

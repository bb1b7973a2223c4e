"""Shared fixtures: the data bundle, the force profile and the Essex stand-in network (built once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_response import config, datadir
from geo_response.errors import DataFileNotFoundError

FIXTURES = Path(__file__).parent / "fixtures"


def bundle_dir() -> Path | None:
    """The shared data bundle, or None when this machine does not have it."""
    try:
        path = datadir.find_file("osm/essex_standin.osm.pbf").parents[1]
    except DataFileNotFoundError:
        return None
    return path


@pytest.fixture(scope="session")
def profile() -> config.ForceProfile:
    """The embedded Essex force profile."""
    return config.load_profile()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data bundle (../shared/data); skips when it is absent."""
    path = bundle_dir()
    if path is None:
        pytest.skip("the data bundle (../shared/data or $GEO_RESPONSE_DATA) is not on this machine")
    return path


@pytest.fixture(scope="session")
def essex_graph(data_dir, profile):
    """The Essex stand-in drive network with travel times (cached in the user cache after the first build)."""
    from geo_response.roads import network

    return network.load_network(profile=profile, data_dir=data_dir)


@pytest.fixture(scope="session")
def essex_bases(essex_graph, data_dir, profile):
    """The 25 amenity=police stations of the stand-in, attached to their nearest nodes."""
    from geo_response import bases, geography
    from geo_response.roads import network

    boundary = geography.load_boundary(profile, data_dir)
    gdf, _ = bases.bases_from_osm(network.essex_standin_path(data_dir), boundary)
    return bases.attach_nodes(gdf, essex_graph)


@pytest.fixture(scope="session")
def lsoas(data_dir, profile):
    """ONS LSOA 2011 polygons with RUC class and population."""
    from geo_response import geography

    return geography.load_lsoas(profile, data_dir)

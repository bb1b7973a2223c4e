"""Named places to label maps and name hotspots: ``place=*`` nodes of the OSM file, else built-up areas.

Real OSM extracts carry thousands of ``place=city/town/village/hamlet`` nodes, so a hotspot is named by
the village it is in rather than the nearest large town ("Uttlesford: near Takeley (1.2 km)", not "near
Harlow (16.6 km)"). The bundled synthetic stand-in has no place nodes; :func:`named_places` then falls
back to the ONS built-up areas table (:func:`geo_response.geography.load_towns`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geo_response.errors import InputFileError

PLACE_KINDS = ("city", "town", "village", "hamlet")
PLACE_COLUMNS = ["name", "place", "population", "source", "geometry"]


def osm_places(osm_path: str | Path, kinds: tuple[str, ...] = PLACE_KINDS) -> gpd.GeoDataFrame:
    """Named ``place=<kind>`` nodes of an OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf``), read with osmium.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, columns ``name, place, population`` (NaN when untagged), ``source`` (``'osm'``), geometry;
        empty when the file has none.
    """
    import osmium

    path = Path(osm_path)
    if not path.exists():
        raise InputFileError(f"OSM file {path} does not exist; pass the extract the network was built from")
    wanted = set(kinds)
    rows: list[tuple] = []

    class _Places(osmium.SimpleHandler):
        def node(self, n) -> None:
            kind = n.tags.get("place")
            name = n.tags.get("name")
            if kind in wanted and name and n.location.valid():
                pop = pd.to_numeric(n.tags.get("population", ""), errors="coerce")
                rows.append((name, kind, pop, n.location.lon, n.location.lat))

    _Places().apply_file(str(path))
    frame = pd.DataFrame(rows, columns=["name", "place", "population", "lon", "lat"])
    return gpd.GeoDataFrame(
        {
            "name": frame["name"].astype(str),
            "place": frame["place"],
            "population": frame["population"].astype(float),
            "source": "osm",
        },
        geometry=[Point(x, y) for x, y in zip(frame["lon"], frame["lat"], strict=True)],
        crs=4326,
    )


def named_places(
    osm_path: str | Path | None = None,
    profile=None,
    data_dir: str | Path | None = None,
    kinds: tuple[str, ...] = PLACE_KINDS,
) -> gpd.GeoDataFrame:
    """Places to name things by: the OSM file's ``place`` nodes when it has any, else built-up areas.

    Parameters
    ----------
    osm_path : path, optional
        The OSM extract (the network's source). Skipped when None.
    profile : ForceProfile, optional
        For the built-up areas fallback (default: the embedded profile).
    data_dir : path, optional
    kinds : tuple of str

    Returns
    -------
    GeoDataFrame
        :data:`PLACE_COLUMNS`; ``source`` says ``'osm'`` or ``'built-up areas'``. Pass it as ``towns`` to
        :func:`geo_response.hotspots.find_hotspots` or :func:`geo_response.hotspots.gi_star_spots`.
    """
    if osm_path is not None:
        places = osm_places(osm_path, kinds)
        if len(places):
            return places[PLACE_COLUMNS]
    from geo_response import config, geography

    towns = geography.load_towns(profile or config.load_profile(), data_dir)
    towns = towns.assign(place="built-up area", source="built-up areas", population=towns["population"].astype(float))
    return gpd.GeoDataFrame(towns[PLACE_COLUMNS], geometry="geometry", crs=4326)

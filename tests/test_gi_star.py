"""Getis-Ord Gi* hot and cold spots on a hand-made H3 grid (the hot cell's z-score by hand), and place names."""

from __future__ import annotations

import warnings

import geopandas as gpd
import h3
import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from geo_response import hotspots, places
from geo_response.errors import HotspotError, InputFileError

CENTRE = h3.latlng_to_cell(51.73, 0.48, 8)  # Chelmsford
COLD = h3.cell_to_center_child(h3.cell_to_parent(CENTRE, 6), 8)


def grid() -> gpd.GeoDataFrame:
    """Every res-8 cell within 6 rings of CENTRE: failure rate 0.9 on CENTRE and its ring, 0.02 on a ring
    around a cell 4 rings away on the other side, 0.3 +- 0.03 elsewhere; 50 attended each."""
    cells = sorted(h3.grid_disk(CENTRE, 6))
    far = [c for c in cells if h3.grid_distance(CENTRE, c) == 5]
    cold_centre = far[len(far) // 2]
    rng = np.random.default_rng(3)
    rate = []
    for c in cells:
        if h3.grid_distance(CENTRE, c) <= 1:
            rate.append(0.9)
        elif h3.grid_distance(cold_centre, c) <= 1:
            rate.append(0.02)
        else:
            rate.append(0.3 + rng.uniform(-0.03, 0.03))
    polys = [Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in cells]
    agg = gpd.GeoDataFrame(
        {
            "cell": cells,
            "attended": 50,
            "failures": 50 * np.array(rate),
            "failure_rate": rate,
            "urban_rural": "urban",
            "district": "Chelmsford",
        },
        geometry=polys,
        crs=4326,
    )
    agg.attrs.update(cell_type="h3", resolution=8)
    return agg, cold_centre


def hand_gi_star(agg: gpd.GeoDataFrame, cell: str) -> float:
    """Getis & Ord (1995) Gi* z-score with binary weights, the cell itself included."""
    x = agg["failure_rate"].to_numpy()
    n = len(x)
    ring = set(h3.grid_disk(cell, 1))
    w = np.array([1.0 if c in ring else 0.0 for c in agg["cell"]])
    xbar = x.mean()
    s = np.sqrt((x**2).mean() - xbar**2)
    return (w @ x - xbar * w.sum()) / (s * np.sqrt((n * (w**2).sum() - w.sum() ** 2) / (n - 1)))


def test_gi_star_hot_and_cold_cells():
    agg, cold_centre = grid()
    towns = gpd.GeoDataFrame(
        {"name": ["Chelmsford", "Faraway"]}, geometry=[Point(0.48, 51.73), Point(1.5, 52.5)], crs=4326
    )
    spots = hotspots.gi_star_spots(agg, towns=towns)
    row = spots.set_index("cell").loc[CENTRE]
    assert row["gi_z"] == pytest.approx(hand_gi_star(agg, CENTRE), rel=1e-9)
    assert row["gi_z"] > 5 and row["gi_bin"] == 3 and row["gi_class"] == "hot"
    assert row["gi_neighbours"] == 6
    assert row["name"].startswith("Chelmsford: near Chelmsford (")
    assert spots.iloc[0]["cell"] == CENTRE  # the hottest first
    cold = spots.set_index("cell").loc[cold_centre]
    assert cold["gi_z"] == pytest.approx(hand_gi_star(agg, cold_centre), rel=1e-9)
    assert cold["gi_class"] == "cold" and cold["gi_bin"] <= -2
    assert (spots["gi_class"] == "hot").sum() >= 1 and spots.attrs["cold"] >= 1
    far_cell = next(
        c for c in agg["cell"] if h3.grid_distance(CENTRE, c) == 6 and h3.grid_distance(cold_centre, c) >= 4
    )
    assert spots.set_index("cell").loc[far_cell, "gi_class"] == "not significant"


def test_gi_star_leaves_out_small_cells_and_checks_input():
    agg, _ = grid()
    agg.loc[agg["cell"] == CENTRE, "attended"] = 2
    spots = hotspots.gi_star_spots(agg, min_count=5)
    assert CENTRE not in set(spots["cell"]) and len(spots) == len(agg) - 1
    with pytest.raises(HotspotError, match="same failure_rate"):
        hotspots.gi_star_spots(agg.assign(failure_rate=0.5))
    with pytest.raises(HotspotError, match="at least 3 cells"):
        hotspots.gi_star_spots(agg.head(2))


def test_gi_star_on_lsoa_contiguity():
    boxes = [
        box(570000 + 1000 * i, 200000 + 1000 * j, 571000 + 1000 * i, 201000 + 1000 * j)
        for i in range(6)
        for j in range(6)
    ]
    rate = [0.9 if (i < 2 and j < 2) else 0.3 + 0.01 * ((i * 7 + j * 3) % 5) for i in range(6) for j in range(6)]
    agg = gpd.GeoDataFrame(
        {"cell": [f"L{k}" for k in range(36)], "attended": 40, "failure_rate": rate, "district": "X"},
        geometry=boxes,
        crs=27700,
    )
    agg.attrs["cell_type"] = "lsoa"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spots = hotspots.gi_star_spots(agg)
    assert spots.set_index("cell").loc["L0", "gi_neighbours"] == 3  # a corner square: queen contiguity
    assert spots.iloc[0]["cell"] in {"L0", "L1", "L6", "L7"} and spots.iloc[0]["gi_class"] == "hot"


def test_osm_places_reads_place_nodes(tmp_path):
    osm = tmp_path / "places.osm"
    osm.write_text("""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
 <node id="1" lat="51.88" lon="0.25" version="1"><tag k="place" v="village"/><tag k="name" v="Takeley"/></node>
 <node id="2" lat="51.73" lon="0.48" version="1"><tag k="place" v="city"/><tag k="name" v="Chelmsford"/>
  <tag k="population" v="110625"/></node>
 <node id="3" lat="51.80" lon="0.30" version="1"><tag k="place" v="locality"/><tag k="name" v="A field"/></node>
 <node id="4" lat="51.81" lon="0.31" version="1"><tag k="place" v="hamlet"/></node>
</osm>
""")
    got = places.named_places(osm)
    assert list(got["name"]) == ["Takeley", "Chelmsford"] and set(got["source"]) == {"osm"}
    assert got.loc[got["name"] == "Chelmsford", "population"].iloc[0] == 110625
    assert got.geometry.iloc[0].x == pytest.approx(0.25)
    with pytest.raises(InputFileError):
        places.osm_places(tmp_path / "missing.osm")


def test_named_places_falls_back_to_built_up_areas(data_dir, profile, tmp_path):
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\"></osm>\n")
    got = places.named_places(empty, profile=profile, data_dir=data_dir)
    assert len(got) > 10 and set(got["source"]) == {"built-up areas"} and "Colchester" in set(got["name"])

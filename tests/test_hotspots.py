"""Hotspots: aggregation on H3 / LSOA, binomial tests with BH correction, ranking and naming.

All expected figures are computed by hand in the test (binomial tails with math.comb, BH by its formula).
"""

from __future__ import annotations

import math

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo_response import hotspots
from geo_response.hotspots import HotspotError

# Cell centres (lat, lon) well apart, all in Essex.
CENTRES = {
    "A": (51.7393, 0.4822),  # Chelmsford
    "B": (51.8924, 0.9040),  # Colchester
    "C": (51.5712, 0.4380),  # Basildon (tiny cell)
    "D": (51.9500, 0.2800),  # rural Uttlesford
    "E": (51.7300, 0.6800),  # rural Maldon
}


def _rows(cell, attended, failures, setting, district, extra_unattended=0, p_met=None):
    lat, lon = CENTRES[cell]
    out = []
    for i in range(attended):
        p = (0.0 if i < failures else 1.0) if p_met is None else p_met
        out.append(
            dict(
                cell_name=cell, p_met=p, attended=True, urban_rural=setting, district=district, geometry=Point(lon, lat)
            )
        )
    for _ in range(extra_unattended):
        out.append(
            dict(
                cell_name=cell,
                p_met=np.nan,
                attended=False,
                urban_rural=setting,
                district=district,
                geometry=Point(lon, lat),
            )
        )
    return out


def _frame(rows):
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=4326)


@pytest.fixture
def incidents():
    rows = (
        _rows("A", 40, 20, "urban", "Chelmsford", extra_unattended=3)
        + _rows("B", 60, 6, "urban", "Colchester")
        + _rows("C", 5, 5, "urban", "Basildon")
        + _rows("D", 30, 18, "rural", "Uttlesford")
        + _rows("E", 25, 5, "rural", "Maldon")
    )
    return _frame(rows)


def upper_tail(k, n, p):
    """P(X >= k), X ~ Binomial(n, p), summed by hand."""
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def bh(pvalues):
    """Benjamini-Hochberg adjusted p-values by the textbook formula."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        q[i] = running
    return q


def test_hex_aggregate_counts(incidents):
    agg = hotspots.hex_aggregate(incidents, resolution=8)
    assert len(agg) == 5
    assert agg.crs.to_epsg() == 4326
    assert agg.attrs == {"cell_type": "h3", "resolution": 8}
    cell_a = h3.latlng_to_cell(*CENTRES["A"], 8)
    row = agg.set_index("cell").loc[cell_a]
    assert row["incidents"] == 43
    assert row["attended"] == 40
    assert row["no_outcome"] == 0
    assert row["met"] == pytest.approx(20.0)
    assert row["failures"] == pytest.approx(20.0)
    assert row["failure_rate"] == pytest.approx(0.5)
    assert row["pct_met"] == pytest.approx(50.0)
    assert row["district"] == "Chelmsford"
    assert row["urban_rural"] == "urban"
    # the polygon is the H3 hexagon and holds the incidents' point
    assert row["geometry"].contains(Point(CENTRES["A"][1], CENTRES["A"][0]))
    assert agg["attended"].sum() == 160
    assert agg["failures"].sum() == pytest.approx(54.0)


def test_hex_resolution_changes_cells(incidents):
    coarse = hotspots.hex_aggregate(incidents, resolution=5)
    assert set(coarse["cell"]) == {h3.latlng_to_cell(lat, lon, 5) for lat, lon in CENTRES.values()}
    assert h3.get_resolution(coarse["cell"].iloc[0]) == 5


def test_majority_district_and_no_outcome():
    rows = (
        _rows("A", 3, 1, "urban", "Chelmsford")
        + _rows("A", 2, 0, "rural", "Braintree")
        + _rows("A", 1, 0, "rural", "Braintree")
    )
    frame = _frame(rows)
    # an attended incident without an outcome (unreachable in the model) is counted, not lost
    frame.loc[len(frame)] = ["A", np.nan, True, "urban", "Maldon", Point(CENTRES["A"][1], CENTRES["A"][0])]
    agg = hotspots.hex_aggregate(frame, resolution=8)
    row = agg.iloc[0]
    assert row["incidents"] == 7
    assert row["attended"] == 6
    assert row["no_outcome"] == 1
    assert row["failures"] == pytest.approx(1.0)
    # Chelmsford 3 vs Braintree 3: a tie, broken alphabetically
    assert row["district"] == "Braintree"
    # urban 4 (incl. the no-outcome row) vs rural 3
    assert row["urban_rural"] == "urban"


def test_failure_tests_match_hand_computation(incidents):
    agg = hotspots.hex_aggregate(incidents)
    tests = hotspots.failure_tests(agg, min_count=20).set_index("cell")
    p0 = 54 / 160
    assert tests["force_failure_rate"].iloc[0] == pytest.approx(p0)
    cells = {name: h3.latlng_to_cell(*CENTRES[name], 8) for name in CENTRES}
    figures = {"A": (20, 40), "B": (6, 60), "D": (18, 30), "E": (5, 25)}
    expected_p = {name: upper_tail(k, n, p0) for name, (k, n) in figures.items()}
    expected_q = dict(zip(expected_p, bh(list(expected_p.values())), strict=True))
    for name in figures:
        row = tests.loc[cells[name]]
        assert bool(row["tested"])
        assert row["p_value"] == pytest.approx(expected_p[name], rel=1e-9)
        assert row["q_value"] == pytest.approx(expected_q[name], rel=1e-9)
        assert row["expected_failures"] == pytest.approx(figures[name][1] * p0)
    # the 5-incident cell (100% failures) is below the minimum: never tested
    tiny = tests.loc[cells["C"]]
    assert not bool(tiny["tested"])
    assert np.isnan(tiny["p_value"]) and np.isnan(tiny["q_value"])


def test_find_hotspots_ranks_urban_and_rural_apart(incidents):
    agg = hotspots.hex_aggregate(incidents)
    towns = gpd.GeoDataFrame(
        {"name": ["Chelmsford", "Saffron Walden", "Colchester"]},
        geometry=[Point(0.4822, 51.7393), Point(0.2420, 52.0230), Point(0.9040, 51.8924)],
        crs=4326,
    )
    hot = hotspots.find_hotspots(agg, min_count=20, alpha=0.05, towns=towns)
    p0 = 54 / 160
    # hand check: A (20/40) and D (18/30) are far above 0.3375; B and E are below it
    p = {
        "A": upper_tail(20, 40, p0),
        "B": upper_tail(6, 60, p0),
        "D": upper_tail(18, 30, p0),
        "E": upper_tail(5, 25, p0),
    }
    q = dict(zip(p, bh(list(p.values())), strict=True))
    assert q["A"] < 0.05 and q["D"] < 0.05
    assert list(hot["urban_rural"]) == ["urban", "rural"]
    assert list(hot["rank"]) == [1, 1]
    a, d = hot.iloc[0], hot.iloc[1]
    assert a["cell"] == h3.latlng_to_cell(*CENTRES["A"], 8)
    assert a["district"] == "Chelmsford" and a["nearest_town"] == "Chelmsford"
    assert a["town_distance_km"] < 0.5  # the town sits inside the hexagon
    assert a["name"].startswith("Chelmsford: near Chelmsford (")
    assert a["excess_failures"] == pytest.approx(20 - 40 * p0)
    assert a["q_value"] == pytest.approx(q["A"])
    assert d["district"] == "Uttlesford" and d["nearest_town"] == "Saffron Walden"
    # distance from the hexagon's centre to Saffron Walden, worked out in British National Grid
    centre = gpd.GeoSeries([Point(0.28, 51.95), Point(0.2420, 52.0230)], crs=4326).to_crs(27700)
    assert d["town_distance_km"] == pytest.approx(centre.iloc[0].distance(centre.iloc[1]) / 1000, abs=0.5)
    assert hot.attrs["cells_tested"] == 4 and hot.attrs["min_count"] == 20
    table = hotspots.hotspots_table(hot)
    assert "geometry" not in table.columns
    assert table["centre_lat"].iloc[0] == pytest.approx(51.7393, abs=0.005)


def test_ranking_within_setting_by_excess_failures():
    rows = (
        _rows("A", 40, 30, "urban", "Chelmsford")
        + _rows("B", 100, 60, "urban", "Colchester")
        + _rows("C", 400, 40, "urban", "Basildon")
    )
    agg = hotspots.hex_aggregate(_frame(rows))
    hot = hotspots.find_hotspots(agg, min_count=20)
    p0 = 130 / 540
    # excess: B 60 - 100 p0 = 35.9; A 30 - 40 p0 = 20.4 -> B ranks first
    assert list(hot["district"]) == ["Colchester", "Chelmsford"]
    assert list(hot["rank"]) == [1, 2]
    assert hot["excess_failures"].iloc[0] == pytest.approx(60 - 100 * p0)
    # no towns given: named by district only
    assert hot["name"].iloc[0] == "Colchester"


def test_min_count_keeps_tiny_cells_out(incidents):
    agg = hotspots.hex_aggregate(incidents)
    hot = hotspots.find_hotspots(agg, min_count=3)
    # with a minimum of 3 the 5/5 cell is tested and is a hotspot
    assert h3.latlng_to_cell(*CENTRES["C"], 8) in set(hot["cell"])
    hot20 = hotspots.find_hotspots(agg, min_count=20)
    assert h3.latlng_to_cell(*CENTRES["C"], 8) not in set(hot20["cell"])


def test_fractional_failures_are_rounded_for_the_test():
    rows = _rows("A", 41, 0, "urban", "Chelmsford", p_met=0.5) + _rows("B", 50, 10, "urban", "Colchester")
    agg = hotspots.hex_aggregate(_frame(rows))
    tests = hotspots.failure_tests(agg, min_count=20).set_index("cell")
    row = tests.loc[h3.latlng_to_cell(*CENTRES["A"], 8)]
    assert row["failures"] == pytest.approx(20.5)
    assert row["test_failures"] == 20  # round half to even
    p0 = 30.5 / 91
    assert row["p_value"] == pytest.approx(upper_tail(20, 41, p0), rel=1e-9)


def test_lsoa_aggregate_joins_codes_and_reports_unmatched():
    lsoas = gpd.GeoDataFrame(
        {
            "lsoa_code": ["E01000001", "E01000002", "E01000003"],
            "lsoa_name": ["Alpha 001A", "Beta 001A", "Gamma 001A"],
            "district": ["Chelmsford", "Chelmsford", "Maldon"],
            "urban_rural": ["urban", "urban", "rural"],
            "population": [1500, 1600, 1400],
        },
        geometry=[box(0.40, 51.70, 0.45, 51.75), box(0.45, 51.70, 0.50, 51.75), box(0.60, 51.70, 0.70, 51.80)],
        crs=4326,
    )
    frame = gpd.GeoDataFrame(
        {
            "lsoa_code": ["E01000001"] * 4 + ["E01000003"] * 2 + ["E09999999"],
            "p_met": [1.0, 0.0, 0.25, np.nan, 1.0, 0.0, 0.0],
            "attended": [True, True, True, False, True, True, True],
            # district / setting on the incidents disagree on purpose: the LSOA's own values are used
            "district": ["X"] * 7,
            "urban_rural": ["rural"] * 7,
        },
        geometry=[Point(0.42, 51.72)] * 4 + [Point(0.65, 51.75)] * 2 + [Point(0.9, 51.9)],
        crs=4326,
    )
    with pytest.warns(UserWarning, match="1 incidents have no LSOA"):
        agg = hotspots.lsoa_aggregate(frame, lsoas)
    assert agg.attrs["unmatched_incidents"] == 1
    assert agg.attrs["cell_type"] == "lsoa"
    agg = agg.set_index("cell")
    assert agg.loc["E01000001", "incidents"] == 4
    assert agg.loc["E01000001", "attended"] == 3
    assert agg.loc["E01000001", "met"] == pytest.approx(1.25)
    assert agg.loc["E01000001", "failures"] == pytest.approx(1.75)
    assert agg.loc["E01000001", "pct_met"] == pytest.approx(100 * 1.25 / 3)
    assert agg.loc["E01000002", "incidents"] == 0
    assert np.isnan(agg.loc["E01000002", "pct_met"])
    assert agg.loc["E01000003", "urban_rural"] == "rural"
    assert agg.loc["E01000003", "district"] == "Maldon"
    assert agg.loc["E01000001", "urban_rural"] == "urban"
    assert agg.loc["E01000003", "population"] == 1400


def test_bad_input_gets_clear_errors(incidents):
    with pytest.raises(HotspotError, match="p_met"):
        hotspots.hex_aggregate(incidents.drop(columns="p_met"))
    bad = incidents.copy()
    bad.loc[0, "p_met"] = 1.5
    with pytest.raises(HotspotError, match="outside"):
        hotspots.hex_aggregate(bad)
    with pytest.raises(HotspotError, match="resolution"):
        hotspots.hex_aggregate(incidents, resolution=16)
    agg = hotspots.hex_aggregate(incidents)
    with pytest.raises(HotspotError, match="min_count"):
        hotspots.find_hotspots(agg, min_count=0)
    with pytest.raises(HotspotError, match="alpha"):
        hotspots.find_hotspots(agg, alpha=1.5)
    unattended = incidents[~incidents["attended"]]
    with pytest.raises(HotspotError, match="no attended"):
        hotspots.find_hotspots(hotspots.hex_aggregate(unattended))


def test_write_hotspots_csv(tmp_path, incidents):
    hot = hotspots.find_hotspots(hotspots.hex_aggregate(incidents))
    path = hotspots.write_hotspots_csv(hot, tmp_path / "out" / "hotspots.csv")
    table = pd.read_csv(path)
    assert list(table.columns[:3]) == ["urban_rural", "rank", "name"]
    assert len(table) == len(hot) == 2
    assert table["attended"].tolist() == [40, 30]

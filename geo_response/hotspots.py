"""Where targets are missed: incidents and target failures on H3 hexagons or LSOAs, and their significance.

Outcomes come from the ``p_met`` column of the incidents frame (see docs/DESIGN.md): 1.0 / 0.0 for
observed outcomes, a Monte Carlo probability for modelled ones, NaN for incidents that are not attended.
For a cell:

* ``attended`` = attended incidents with a known outcome, ``met`` = sum of ``p_met``,
  ``failures`` = ``attended - met`` (expected counts when the outcomes are modelled);
* ``failure_rate`` = ``failures / attended``.

Significance (:func:`failure_tests`)
------------------------------------
Each cell with at least ``min_count`` attended incidents is tested against the force-wide failure rate
``p0`` (all failures / all attended incidents) with an exact one-sided binomial test,
``P(X >= k)`` for ``X ~ Binomial(attended, p0)`` (``scipy.stats.binom.sf``), and the p-values of the
tested cells are adjusted for multiple testing with Benjamini-Hochberg (``scipy.stats.false_discovery_control``).
A cell is a hotspot when its q-value is at most ``alpha`` and its failure rate is above ``p0``.

Modelled outcomes give fractional failures. The test then uses ``k = round(failures)`` (nearest integer,
halves to even): it asks whether the model *expects* more failures in the cell than the force-wide rate
explains, and treats the expected count as if it were observed. It says nothing about the sampling
variability of real outcomes; read modelled hotspots as "where the model puts the failures".
Cells below ``min_count`` are never tested nor ranked, so tiny cells cannot top the list.

Hot and cold spots (:func:`gi_star_spots`)
-------------------------------------------
Getis-Ord Gi* (PySAL ``esda.G_Local`` with ``star=True``, binary weights) asks whether a cell *and its
neighbours* together have a failure rate far from the mean of all cells: neighbours are the H3 ring
(``h3.grid_disk``, ``k`` rings) for hexagons, shared boundary points (queen contiguity, libpysal) for
LSOAs. Cells with fewer than ``min_count`` attended incidents are left out first (their rates are noise).
``gi_z`` is the Gi* z-score, ``gi_p`` its two-sided normal p-value and ``gi_q`` the Benjamini-Hochberg
q-value; ``gi_bin`` is +3 / +2 / +1 for a hot spot at 99 / 95 / 90 % confidence (on ``gi_q`` when
``fdr`` is True, else ``gi_p``), the negative for a cold spot, 0 otherwise, as in ArcGIS Pro's Hot Spot
Analysis. ``gi_class`` is ``hot``, ``cold`` or ``not significant`` at 95 %.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from scipy.stats import binom, false_discovery_control
from shapely.geometry import Polygon

from geo_response.errors import HotspotError

DEFAULT_RESOLUTION = 8
DEFAULT_MIN_COUNT = 20
DEFAULT_ALPHA = 0.05
TEST_METHOD = "exact one-sided binomial test vs the force-wide failure rate, Benjamini-Hochberg FDR"

AGGREGATE_COLUMNS = [
    "cell",
    "incidents",
    "attended",
    "no_outcome",
    "met",
    "failures",
    "pct_met",
    "failure_rate",
    "urban_rural",
    "district",
]

HOTSPOT_COLUMNS = [
    "urban_rural",
    "rank",
    "name",
    "district",
    "nearest_town",
    "town_distance_km",
    "cell",
    "incidents",
    "attended",
    "met",
    "failures",
    "failure_rate",
    "pct_met",
    "force_failure_rate",
    "expected_failures",
    "excess_failures",
    "p_value",
    "q_value",
]


def _check_incidents(incidents: gpd.GeoDataFrame, needed: tuple[str, ...]) -> None:
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise HotspotError("incidents must be a GeoDataFrame (load them with incidents.load_incidents)")
    missing = [c for c in needed if c not in incidents.columns]
    if missing:
        raise HotspotError(
            f"incidents lack columns {missing}; run classification.classify and compliance "
            "(observed) or response_model.model_response (modelled) first"
        )
    p = pd.to_numeric(incidents["p_met"], errors="coerce")
    bad = p.notna() & ((p < 0) | (p > 1))
    if bad.any():
        raise HotspotError(f"{int(bad.sum())} incidents have p_met outside [0, 1]; p_met is a probability")


def outcome_columns(incidents: pd.DataFrame) -> pd.DataFrame:
    """Per-incident ``attended`` (known outcome), ``no_outcome``, ``met`` and ``failed`` as floats.

    ``attended`` is True where the incident is attended (column ``attended`` when present, else where
    ``p_met`` is not NaN) and ``p_met`` is known; attended incidents without ``p_met`` (e.g. unreachable
    in the model) are counted in ``no_outcome`` so they are never silently lost.
    """
    p = pd.to_numeric(incidents["p_met"], errors="coerce").astype(float)
    att = incidents["attended"].fillna(False).astype(bool) if "attended" in incidents.columns else p.notna()
    known = att & p.notna()
    return pd.DataFrame(
        {
            "attended": known.astype(float),
            "no_outcome": (att & p.isna()).astype(float),
            "met": p.where(known, 0.0),
            "failed": (1.0 - p).where(known, 0.0),
        },
        index=incidents.index,
    )


def _majority(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Most frequent non-missing value per key (ties broken alphabetically, so it is deterministic)."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "value": values.astype("string").to_numpy()}).dropna()
    if frame.empty:
        return pd.Series(dtype="object")
    counts = frame.groupby(["key", "value"]).size().rename("n").reset_index()
    counts = counts.sort_values(["key", "n", "value"], ascending=[True, False, True])
    return counts.drop_duplicates("key").set_index("key")["value"].astype(object)


def _aggregate(incidents: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    out = outcome_columns(incidents)
    out["cell"] = keys.to_numpy()
    agg = out.groupby("cell").agg(
        incidents=("attended", "size"),
        attended=("attended", "sum"),
        no_outcome=("no_outcome", "sum"),
        met=("met", "sum"),
        failures=("failed", "sum"),
    )
    agg["attended"] = agg["attended"].astype(int)
    agg["no_outcome"] = agg["no_outcome"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = agg["failures"] / agg["attended"].where(agg["attended"] > 0)
    agg["failure_rate"] = rate
    agg["pct_met"] = 100.0 * (1.0 - rate)
    return agg


def hex_aggregate(incidents: gpd.GeoDataFrame, resolution: int = DEFAULT_RESOLUTION) -> gpd.GeoDataFrame:
    """Incidents and target failures per H3 hexagon.

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents with point geometry and ``p_met`` (and ideally ``attended``, ``urban_rural``, ``district``).
    resolution : int, default 8
        H3 resolution (0-15). Resolution 8 hexagons are about 0.74 km² (edge ~0.46 km); 7 is ~5.2 km².

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per hexagon holding at least one incident, columns ``cell`` (H3 index),
        ``incidents``, ``attended``, ``no_outcome``, ``met``, ``failures``, ``pct_met``, ``failure_rate``,
        ``urban_rural`` and ``district`` (majority of the cell's incidents), ``geometry`` (hexagon).
        ``attrs`` records ``cell_type`` and ``resolution``.
    """
    _check_incidents(incidents, ("p_met",))
    if not 0 <= int(resolution) <= 15:
        raise HotspotError(f"H3 resolution must be 0-15, got {resolution}; 7 or 8 suit a county")
    pts = incidents.geometry.to_crs(4326) if incidents.crs is not None else incidents.geometry
    bad = pts.isna() | pts.is_empty | (pts.geom_type != "Point")
    if bad.any():
        raise HotspotError(f"{int(bad.sum())} incidents have no point geometry; drop or fix them before aggregating")
    cells = pd.Series(
        [
            h3.latlng_to_cell(lat, lon, int(resolution))
            for lon, lat in zip(pts.x.to_numpy().tolist(), pts.y.to_numpy().tolist(), strict=True)
        ],
        index=incidents.index,
    )
    agg = _aggregate(incidents, cells)
    for col in ("urban_rural", "district"):
        agg[col] = _majority(cells, incidents[col]) if col in incidents.columns else None
    polygons = [Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in agg.index]
    out = gpd.GeoDataFrame(agg.reset_index()[AGGREGATE_COLUMNS], geometry=polygons, crs=4326)
    out.attrs.update(cell_type="h3", resolution=int(resolution))
    return out


def lsoa_aggregate(incidents: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Incidents and target failures per LSOA.

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents after :func:`geo_response.incidents.classification.classify` (column ``lsoa_code``) with ``p_met``.
    lsoas : GeoDataFrame
        From :func:`geo_response.geography.load_lsoas` (``lsoa_code``, ``lsoa_name``, ``district``,
        ``urban_rural``, ``population``, geometry).

    Returns
    -------
    GeoDataFrame
        One row per LSOA of ``lsoas`` (zero counts where no incident fell), with the columns of
        :func:`hex_aggregate` (``cell`` is the LSOA code; ``urban_rural`` and ``district`` are the LSOA's)
        plus ``lsoa_code``, ``lsoa_name``, ``population``. Incidents whose ``lsoa_code`` is missing or
        not in ``lsoas`` are counted in ``attrs["unmatched_incidents"]`` and reported with a warning.
    """
    _check_incidents(incidents, ("p_met", "lsoa_code"))
    missing = [c for c in ("lsoa_code", "district", "urban_rural") if c not in lsoas.columns]
    if missing:
        raise HotspotError(f"lsoas lack columns {missing}; load them with geography.load_lsoas")
    codes = incidents["lsoa_code"].astype("string")
    known = codes.isin(set(lsoas["lsoa_code"].astype(str)))
    unmatched = int((~known).sum())
    if unmatched:
        warnings.warn(
            f"{unmatched} incidents have no LSOA of the given layer and are left out of the LSOA "
            "aggregates (they still count in hexagon aggregates and force-wide rates)",
            stacklevel=2,
        )
    agg = _aggregate(incidents[known.to_numpy()], codes[known])
    base = lsoas.set_index(lsoas["lsoa_code"].astype(str))
    agg = agg.reindex(base.index)
    for col in ("incidents", "attended", "no_outcome"):
        agg[col] = agg[col].fillna(0).astype(int)
    for col in ("met", "failures"):
        agg[col] = agg[col].fillna(0.0)
    agg["urban_rural"] = base["urban_rural"].astype(str)
    agg["district"] = base["district"].astype(str)
    table = agg.rename_axis("cell").reset_index()[AGGREGATE_COLUMNS]
    table["lsoa_code"] = table["cell"]
    table["lsoa_name"] = base["lsoa_name"].astype(str).to_numpy() if "lsoa_name" in base else table["cell"]
    table["population"] = base["population"].to_numpy() if "population" in base else np.nan
    out = gpd.GeoDataFrame(table, geometry=base.geometry.to_crs(4326).to_numpy(), crs=4326)
    out.attrs.update(cell_type="lsoa", unmatched_incidents=unmatched)
    return out


def force_failure_rate(agg: pd.DataFrame) -> float:
    """Force-wide failure rate of an aggregate table: all failures / all attended incidents."""
    attended = float(agg["attended"].sum())
    if attended <= 0:
        raise HotspotError("no attended incident with an outcome: nothing to test. Check grades and p_met")
    return float(agg["failures"].sum()) / attended


def failure_tests(
    agg: pd.DataFrame, min_count: int = DEFAULT_MIN_COUNT, force_rate: float | None = None
) -> pd.DataFrame:
    """Test every cell with at least `min_count` attended incidents against the force-wide failure rate.

    Parameters
    ----------
    agg : DataFrame
        From :func:`hex_aggregate` or :func:`lsoa_aggregate`.
    min_count : int, default 20
        Cells with fewer attended incidents are not tested (``tested`` False, p and q NaN).
    force_rate : float, optional
        The reference failure rate; default :func:`force_failure_rate` of `agg`.

    Returns
    -------
    DataFrame
        A copy of `agg` with ``force_failure_rate``, ``expected_failures`` (attended x rate),
        ``excess_failures``, ``test_failures`` (rounded failures used by the test), ``tested``,
        ``p_value`` (one-sided exact binomial) and ``q_value`` (Benjamini-Hochberg over tested cells).
    """
    if min_count < 1:
        raise HotspotError(f"min_count must be at least 1, got {min_count}")
    p0 = force_failure_rate(agg) if force_rate is None else float(force_rate)
    if not 0.0 <= p0 <= 1.0:
        raise HotspotError(f"force failure rate must be in [0, 1], got {p0}")
    out = agg.copy()
    n = out["attended"].to_numpy(dtype=int)
    k = np.clip(np.rint(out["failures"].to_numpy(dtype=float)), 0, n).astype(int)
    tested = n >= int(min_count)
    p_values = np.full(len(out), np.nan)
    p_values[tested] = binom.sf(k[tested] - 1, n[tested], p0)
    q_values = np.full(len(out), np.nan)
    if tested.any():
        q_values[tested] = false_discovery_control(p_values[tested], method="bh")
    out["force_failure_rate"] = p0
    out["expected_failures"] = n * p0
    out["excess_failures"] = out["failures"] - out["expected_failures"]
    out["test_failures"] = k
    out["tested"] = tested
    out["p_value"] = p_values
    out["q_value"] = q_values
    out.attrs.update(agg.attrs)
    out.attrs.update(method=TEST_METHOD, min_count=int(min_count), force_failure_rate=p0)
    return out


def nearest_towns(
    geometries: gpd.GeoSeries, towns: gpd.GeoDataFrame, projected_crs: str = "EPSG:27700"
) -> pd.DataFrame:
    """Nearest town (by centroid, distance in the projected CRS) of each geometry.

    Returns
    -------
    DataFrame
        ``nearest_town`` and ``town_distance_km``, index aligned with `geometries`.
    """
    if towns is None or len(towns) == 0:
        return pd.DataFrame(
            {"nearest_town": pd.Series(pd.NA, index=geometries.index, dtype="object"), "town_distance_km": np.nan},
            index=geometries.index,
        )
    centroids = gpd.GeoDataFrame(geometry=geometries.to_crs(projected_crs).centroid)
    places = towns[["name", "geometry"]].to_crs(projected_crs)
    joined = gpd.sjoin_nearest(centroids, places, how="left", distance_col="distance_m")
    joined = joined[~joined.index.duplicated(keep="first")]
    return pd.DataFrame(
        {"nearest_town": joined["name"].astype(object), "town_distance_km": joined["distance_m"] / 1000.0},
        index=geometries.index,
    )


def find_hotspots(
    agg: gpd.GeoDataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    alpha: float = DEFAULT_ALPHA,
    towns: gpd.GeoDataFrame | None = None,
    force_rate: float | None = None,
    projected_crs: str = "EPSG:27700",
) -> gpd.GeoDataFrame:
    """Cells whose failure rate is significantly above the force-wide rate, ranked urban and rural apart.

    Parameters
    ----------
    agg : GeoDataFrame
        From :func:`hex_aggregate` or :func:`lsoa_aggregate`.
    min_count : int, default 20
        Minimum attended incidents for a cell to be tested and ranked.
    alpha : float, default 0.05
        False discovery rate (Benjamini-Hochberg q-value threshold).
    towns : GeoDataFrame, optional
        Towns (``name``, point geometry; :func:`geo_response.geography.load_towns`) to name hotspots by.
    force_rate : float, optional
        Reference failure rate (default: over all cells of `agg`).
    projected_crs : str
        CRS for distances to towns.

    Returns
    -------
    GeoDataFrame
        One row per hotspot: ``urban_rural``, ``rank`` (1 = most excess failures, within its setting),
        ``name`` ("<district>: near <town> (<km> km)"), ``district``, ``nearest_town``,
        ``town_distance_km``, ``cell``, the counts, ``force_failure_rate``, ``expected_failures``,
        ``excess_failures``, ``p_value``, ``q_value`` and geometry. Urban hotspots come first.
        ``attrs`` records the method and parameters.
    """
    if not 0 < alpha < 1:
        raise HotspotError(f"alpha must be between 0 and 1, got {alpha}")
    tests = failure_tests(agg, min_count=min_count, force_rate=force_rate)
    hot = tests[
        tests["tested"] & (tests["q_value"] <= alpha) & (tests["failure_rate"] > tests["force_failure_rate"])
    ].copy()
    hot["urban_rural"] = hot["urban_rural"].fillna("unknown").astype(str)
    hot = hot.sort_values(["urban_rural", "excess_failures", "q_value", "cell"], ascending=[False, False, True, True])
    hot["rank"] = hot.groupby("urban_rural").cumcount() + 1
    named = (
        nearest_towns(hot.geometry, towns, projected_crs)
        if len(hot)
        else pd.DataFrame(columns=["nearest_town", "town_distance_km"], index=hot.index)
    )
    hot["nearest_town"] = named["nearest_town"]
    hot["town_distance_km"] = named["town_distance_km"].astype(float)
    hot["name"] = [
        _hotspot_name(d, t, km)
        for d, t, km in zip(hot["district"], hot["nearest_town"], hot["town_distance_km"], strict=True)
    ]
    out = gpd.GeoDataFrame(hot[HOTSPOT_COLUMNS], geometry=hot.geometry.to_numpy(), crs=agg.crs)
    out = out.reset_index(drop=True)
    out.attrs.update(tests.attrs)
    out.attrs.update(alpha=float(alpha), cells=len(agg), cells_tested=int(tests["tested"].sum()), hotspots=len(out))
    return out


def _h3_weights(cells: list[str], k: int):
    from libpysal.weights import W

    present = set(cells)
    neighbours = {c: [n for n in h3.grid_disk(c, int(k)) if n != c and n in present] for c in cells}
    return W(neighbours, id_order=cells, silence_warnings=True)


def _lsoa_weights(agg: gpd.GeoDataFrame):
    from libpysal.weights import Queen

    return Queen.from_dataframe(agg.reset_index(drop=True), use_index=False, silence_warnings=True)


GI_COLUMNS = ["gi_z", "gi_p", "gi_q", "gi_bin", "gi_class", "gi_neighbours"]


def gi_star_spots(
    agg: gpd.GeoDataFrame,
    value: str = "failure_rate",
    min_count: int = 5,
    k: int = 1,
    fdr: bool = True,
    towns: gpd.GeoDataFrame | None = None,
    projected_crs: str = "EPSG:27700",
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots of `value` over neighbouring cells (see the module notes).

    Parameters
    ----------
    agg : GeoDataFrame
        From :func:`hex_aggregate` (H3 neighbours) or :func:`lsoa_aggregate` (queen contiguity).
    value : str, default ``'failure_rate'``
        The cell figure tested.
    min_count : int, default 5
        Cells with fewer attended incidents are left out.
    k : int, default 1
        H3 rings counted as neighbours (hexagons only).
    fdr : bool, default True
        Classify on Benjamini-Hochberg q-values (else on raw p-values, as ArcGIS does by default).
    towns : GeoDataFrame, optional
        Named places (``name``, points) to name cells by (see :mod:`geo_response.places`).
    projected_crs : str

    Returns
    -------
    GeoDataFrame
        The tested cells of `agg` with :data:`GI_COLUMNS`, ``nearest_town``, ``town_distance_km`` and
        ``name``; hot spots first (highest z), then cold spots (lowest z), then the rest.
    """
    import esda

    if value not in agg.columns:
        raise HotspotError(f"cells lack column {value!r}; use hex_aggregate or lsoa_aggregate output")
    cells = agg[(agg["attended"] >= int(min_count)) & agg[value].notna()].reset_index(drop=True)
    if len(cells) < 3:
        raise HotspotError(
            f"Gi* needs at least 3 cells with {min_count}+ attended incidents, got {len(cells)}; "
            "lower min_count or use a coarser H3 resolution"
        )
    w = _lsoa_weights(cells) if agg.attrs.get("cell_type") == "lsoa" else _h3_weights(list(cells["cell"]), k)
    y = cells[value].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise HotspotError(f"every cell has the same {value}: there is no spatial pattern to test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gi = esda.G_Local(y, w, transform="B", permutations=0, star=True, n_jobs=1)
    z = np.asarray(gi.Zs, dtype=float)
    from scipy.stats import norm

    out = cells.copy()
    out["gi_z"] = z
    out["gi_p"] = 2 * norm.sf(np.abs(z))
    out["gi_q"] = false_discovery_control(out["gi_p"].to_numpy(), method="bh")
    p = out["gi_q" if fdr else "gi_p"].to_numpy()
    level = np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0)
    out["gi_bin"] = (np.sign(z) * level).astype(int)
    out["gi_class"] = np.select([out["gi_bin"] >= 2, out["gi_bin"] <= -2], ["hot", "cold"], "not significant")
    out["gi_neighbours"] = [len(w.neighbors[i]) for i in w.id_order]
    named = nearest_towns(out.geometry, towns, projected_crs)
    out["nearest_town"], out["town_distance_km"] = named["nearest_town"], named["town_distance_km"].astype(float)
    out["name"] = [
        _hotspot_name(d, t, km)
        for d, t, km in zip(
            out.get("district", pd.Series(None, index=out.index)),
            out["nearest_town"],
            out["town_distance_km"],
            strict=True,
        )
    ]
    order = np.select([out["gi_class"] == "hot", out["gi_class"] == "cold"], [0, 1], 2)
    out = out.assign(_o=order, _z=np.where(order == 1, z, -z)).sort_values(["_o", "_z", "cell"])
    out = out.drop(columns=["_o", "_z"]).reset_index(drop=True)
    out.attrs.update(agg.attrs)
    out.attrs.update(
        method="Getis-Ord Gi* (esda.G_Local, star=True, binary weights)",
        value=value,
        k=int(k),
        min_count=int(min_count),
        fdr=bool(fdr),
        hot=int((out["gi_class"] == "hot").sum()),
        cold=int((out["gi_class"] == "cold").sum()),
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=agg.crs)


def _hotspot_name(district: object, town: object, km: float) -> str:
    where = str(district) if isinstance(district, str) and district else "unknown district"
    if isinstance(town, str) and town:
        return f"{where}: near {town} ({km:.1f} km)"
    return where


def hotspots_table(hotspots: gpd.GeoDataFrame, decimals: int = 4, projected_crs: str = "EPSG:27700") -> pd.DataFrame:
    """The hotspots as a plain table for ``hotspots.csv``: no geometry, cell centre lon/lat, rounded figures."""
    table = pd.DataFrame(hotspots.drop(columns="geometry"))
    if len(hotspots):
        centre = hotspots.geometry.to_crs(projected_crs).centroid.to_crs(4326)
        table["centre_lon"] = centre.x.round(5).to_numpy()
        table["centre_lat"] = centre.y.round(5).to_numpy()
    else:
        table["centre_lon"] = pd.Series(dtype=float)
        table["centre_lat"] = pd.Series(dtype=float)
    for col in (
        "met",
        "failures",
        "failure_rate",
        "pct_met",
        "force_failure_rate",
        "expected_failures",
        "excess_failures",
        "town_distance_km",
    ):
        table[col] = table[col].astype(float).round(decimals)
    return table


def write_hotspots_csv(hotspots: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write :func:`hotspots_table` to `path` (``hotspots.csv``; cells neutralised, atomic) and return the path."""
    from geo_response.outputs import write_csv

    return write_csv(hotspots_table(hotspots), path)

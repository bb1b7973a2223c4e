"""Urban / rural class and district of each incident, from the LSOA it falls in.

The class is the ONS Rural-Urban Classification of the incident's LSOA, found by point in polygon
(A1-C2 urban, D1-E2 rural for the 2011 RUC). The classification layer is whatever
:func:`geo_response.geography.load_lsoas` returns for the force profile: the polygons file, the code,
RUC and district fields and the urban / rural RUC code lists all live in the profile's ``[geography]``
table, so the 2021 RUC replaces the 2011 one by editing the profile (or by passing any polygons
GeoDataFrame with ``lsoa_code, ruc, urban_rural, district`` columns to :func:`classify`).

Points that fall in no polygon (the LSOA polygons are generalised, so a point on the coast or the
border can miss them) take the nearest LSOA within ``max_gap_m`` (``lsoa_match = 'nearest'``).
Rows located from their ``lsoa_code`` (no coordinates) keep that code (``lsoa_match = 'lsoa_code'``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response.errors import ClassificationError
from geo_response.ledger import ledger_rows

CLASS_COLUMNS = ["lsoa_code", "ruc", "urban_rural", "district"]


def classify(
    incidents: gpd.GeoDataFrame,
    lsoas: gpd.GeoDataFrame,
    max_gap_m: float = 500.0,
    projected_crs: str = "EPSG:27700",
) -> gpd.GeoDataFrame:
    """Attach ``lsoa_code, ruc, urban_rural ('urban'/'rural'), district, lsoa_match`` to incidents.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points in any CRS. A ``location_source`` column equal to ``'lsoa_centroid'`` with
        ``lsoa_code_input`` marks rows classified by their given LSOA code instead of by location.
    lsoas : GeoDataFrame
        Polygons with ``lsoa_code, ruc, urban_rural, district`` (:func:`geo_response.geography.load_lsoas`).
    max_gap_m : float
        How far a point outside every polygon may be from the nearest one and still take its class.
    projected_crs : str
        CRS for the nearest-polygon distance.

    Returns
    -------
    GeoDataFrame
        A copy, same index and rows, with the new columns; rows matched to no LSOA have NA and
        ``lsoa_match = 'none'``.

    Examples
    --------
    >>> out = classify(incidents, geography.load_lsoas(profile))              # doctest: +SKIP
    >>> out["urban_rural"].value_counts()                                    # doctest: +SKIP
    """
    missing = [c for c in CLASS_COLUMNS if c not in lsoas.columns]
    if missing:
        raise ClassificationError(
            f"classification layer lacks columns {missing}; build it with "
            "geography.load_lsoas or give lsoa_code, ruc, urban_rural and district"
        )
    bad = set(lsoas["urban_rural"].dropna().unique()) - {"urban", "rural"}
    if bad:
        raise ClassificationError(
            f"classification layer has urban_rural values {sorted(bad)}; only 'urban' and "
            "'rural' are allowed (check urban_ruc / rural_ruc in the force profile)"
        )
    out = incidents.copy()
    for col in CLASS_COLUMNS:
        out[col] = pd.Series(pd.NA, index=out.index, dtype="object")
    out["lsoa_match"] = "none"
    if out.empty:
        return out
    polys = (
        lsoas[CLASS_COLUMNS + ["geometry"]].to_crs(out.crs)
        if lsoas.crs != out.crs
        else lsoas[CLASS_COLUMNS + ["geometry"]]
    )
    polys = polys.reset_index(drop=True)
    by_code = polys.set_index("lsoa_code")

    pos = np.arange(len(out))
    use_code = np.zeros(len(out), dtype=bool)
    if "location_source" in out.columns and "lsoa_code_input" in out.columns:
        use_code = ((out["location_source"] == "lsoa_centroid") & out["lsoa_code_input"].isin(by_code.index)).to_numpy()
    has_point = ~out.geometry.isna().to_numpy() & ~out.geometry.is_empty.to_numpy() & ~use_code

    pts = gpd.GeoDataFrame({"_pos": pos[has_point]}, geometry=out.geometry.to_numpy()[has_point], crs=out.crs)
    hit = gpd.sjoin(pts, polys, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]  # a point on a shared edge: first polygon
    matched = hit["index_right"].notna().to_numpy()
    lsoa_row = np.full(len(out), -1, dtype=np.int64)
    lsoa_row[hit["_pos"].to_numpy()[matched]] = hit["index_right"].to_numpy()[matched].astype(np.int64)
    match = np.full(len(out), "none", dtype=object)
    match[hit["_pos"].to_numpy()[matched]] = "within"

    miss = hit.loc[~matched, ["_pos", "geometry"]]
    if len(miss):
        miss = gpd.GeoDataFrame(miss, geometry="geometry", crs=out.crs).to_crs(projected_crs)
        near = gpd.sjoin_nearest(miss, polys.to_crs(projected_crs), how="inner", max_distance=max_gap_m)
        near = near[~near.index.duplicated(keep="first")]
        lsoa_row[near["_pos"].to_numpy()] = near["index_right"].to_numpy().astype(np.int64)
        match[near["_pos"].to_numpy()] = "nearest"

    for col in CLASS_COLUMNS:
        values = polys[col].to_numpy()[np.maximum(lsoa_row, 0)].astype(object)
        values[lsoa_row < 0] = pd.NA
        out[col] = values
    if use_code.any():
        codes = out.loc[use_code, "lsoa_code_input"].to_numpy()
        for col in CLASS_COLUMNS[1:]:
            out.loc[use_code, col] = by_code.loc[codes, col].to_numpy()
        out.loc[use_code, "lsoa_code"] = codes
        match[use_code] = "lsoa_code"
    out["lsoa_match"] = match
    return out


def unclassified_warnings(incidents: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows (status 'warning') for incidents matched to no LSOA, and for nearest-LSOA matches."""
    none = incidents[incidents["lsoa_match"] == "none"]
    near = incidents[incidents["lsoa_match"] == "nearest"]
    return pd.concat(
        [
            ledger_rows(none, "no_lsoa", "in no LSOA polygon and none within the gap allowed; no urban/rural class"),
            ledger_rows(
                near,
                "nearest_lsoa",
                "in no LSOA polygon (generalised edges); took the class of the nearest, "
                + near["lsoa_code"].astype(str),
            ),
        ],
        ignore_index=True,
    )

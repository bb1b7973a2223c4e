"""The map's "Cause of failure" layer: simulated misses per LSOA, coloured by their dominant cause.

The simulation's ``incidents.csv`` carries no coordinates by design, only each incident's LSOA (``lsoa_code``),
so the layer is an aggregate per LSOA polygon: never a point. LSOAs with fewer than ``min_count`` judged
incidents (those with a target) are left out altogether (privacy, noise), as the compliance choropleth does.
Colours are the Okabe-Ito cause colours of the report charts (:data:`geo_response.reporting.palette.CAUSE_COLOURS`),
told apart with red-green colour vision deficiency; the tooltip gives the count per cause, so colour is never
the only cue.
"""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo_response.errors import MapError
from geo_response.map_elements import _feature_collection, _layer, escape, prepare_geometries
from geo_response.reporting.palette import CAUSE_COLOURS, CAUSE_ORDER

__all__ = ["NO_MISS_COLOUR", "add_cause_layer", "cause_cells", "cause_legend_html", "read_simulation_incidents"]

NO_MISS_COLOUR = "#f0f0f0"
NEEDED = ("lsoa_code", "met", "cause")


def read_simulation_incidents(folder: str | Path) -> pd.DataFrame:
    """``incidents.csv`` of a ``geo-response simulate`` output folder (``lsoa_code``, ``met``, ``cause``).

    Raises
    ------
    MapError
        The folder has no ``incidents.csv`` or the file lacks the columns the layer needs.
    """
    path = Path(folder) / "incidents.csv"
    if not path.is_file():
        raise MapError(f"--simulation {folder}: no incidents.csv there (give a geo-response simulate output folder)")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in NEEDED if c not in table.columns]
    if missing:
        raise MapError(f"{path}: lacks columns {missing}; write it again with geo-response simulate")
    return table


def _judged(met: pd.Series) -> np.ndarray:
    """True where the incident had a target (``met`` True / False; blank or None when it had none)."""
    text = met.astype("string").fillna("").str.strip().str.lower()
    return text.isin(["true", "false", "1", "0", "1.0", "0.0"]).to_numpy()


def cause_cells(incidents: pd.DataFrame, lsoas: gpd.GeoDataFrame, min_count: int = 5) -> gpd.GeoDataFrame:
    """Misses per LSOA by cause and the dominant cause, for LSOAs with at least `min_count` judged incidents.

    Parameters
    ----------
    incidents : DataFrame
        Per-incident simulation results (``SimulationRun.tables["incidents"]`` or its ``incidents.csv``):
        ``lsoa_code``, ``met`` (blank when the grade has no target) and ``cause`` (blank when met).
    lsoas : GeoDataFrame
        :func:`geo_response.geography.load_lsoas` (``lsoa_code``, ``district``, optional ``lsoa_name``).
    min_count : int, default 5
        LSOAs with fewer judged incidents are left out (``attrs["suppressed"]`` counts them).

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per LSOA kept: ``lsoa_code, lsoa_name, district, judged, misses``, one column per
        cause (``travel, queue, distance, delay``), ``dominant`` (the cause with most misses, ties in that
        order; ``none`` without a miss) and ``dominant_share`` (its share of the misses, NaN without one).
    """
    missing = [c for c in NEEDED if c not in incidents.columns]
    if missing:
        raise MapError(f"simulated incidents lack columns {missing}")
    if min_count < 1:
        raise MapError(f"min_count must be at least 1, got {min_count}")
    frame = pd.DataFrame(
        {
            "lsoa_code": incidents["lsoa_code"].astype("string").fillna("").to_numpy(),
            "judged": _judged(incidents["met"]).astype(int),
            "cause": incidents["cause"].astype("string").fillna("").str.strip().to_numpy(),
        }
    )
    for cause in CAUSE_ORDER:
        frame[cause] = (frame["cause"] == cause).astype(int)
    counts = frame.groupby("lsoa_code")[["judged", *CAUSE_ORDER]].sum()
    counts["misses"] = counts[list(CAUSE_ORDER)].sum(axis=1)
    base = lsoas.set_index(lsoas["lsoa_code"].astype(str))
    counts = counts[counts.index.isin(base.index)]
    keep = counts["judged"] >= int(min_count)
    kept = counts[keep].copy()
    values = kept[list(CAUSE_ORDER)].to_numpy()
    idx = values.argmax(axis=1) if len(kept) else np.array([], int)
    kept["dominant"] = np.where(kept["misses"] > 0, np.asarray(CAUSE_ORDER, dtype=object)[idx], "none")
    with np.errstate(invalid="ignore", divide="ignore"):
        top = values.max(axis=1) if len(kept) else np.array([])
        kept["dominant_share"] = np.where(kept["misses"] > 0, top / kept["misses"].clip(lower=1), np.nan)
    rows = base.loc[kept.index]
    out = gpd.GeoDataFrame(
        {
            "lsoa_code": kept.index.astype(str),
            "lsoa_name": (rows["lsoa_name"] if "lsoa_name" in rows else rows["lsoa_code"]).astype(str).to_numpy(),
            "district": rows["district"].astype(str).to_numpy(),
            "judged": kept["judged"].to_numpy(),
            "misses": kept["misses"].to_numpy(),
            **{c: kept[c].to_numpy() for c in CAUSE_ORDER},
            "dominant": kept["dominant"].to_numpy(),
            "dominant_share": kept["dominant_share"].to_numpy(),
        },
        geometry=rows.geometry.to_crs(4326).to_numpy(),
        crs=4326,
    )
    out.attrs.update(min_count=int(min_count), suppressed=int((~keep).sum()))
    return out


def add_cause_layer(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    simplify_m: float = 30.0,
    projected_crs: str = "EPSG:27700",
    show: bool = False,
) -> None:
    """Draw :func:`cause_cells` as the toggleable "Cause of failure" layer (escaped tooltips, no points)."""
    geo = prepare_geometries(cells, simplify_m, projected_crs)

    def share(d: str, s: float) -> str:
        return "no miss" if d == "none" else f"{escape(d)} ({100 * s:.0f}% of misses)"

    props = pd.DataFrame(
        {
            "lsoa": [escape(v) for v in geo["lsoa_name"]],
            "district": [escape(v) for v in geo["district"]],
            "judged": geo["judged"].map(lambda v: f"{int(v):,}"),
            "misses": geo["misses"].map(lambda v: f"{int(v):,}"),
            "dominant": [share(d, s) for d, s in zip(geo["dominant"], geo["dominant_share"], strict=True)],
            **{c: geo[c].map(lambda v: f"{int(v):,}") for c in CAUSE_ORDER},
            "fill": [CAUSE_COLOURS.get(d, NO_MISS_COLOUR) for d in geo["dominant"]],
        },
        index=geo.index,
    )

    def style(feature: dict) -> dict:
        return {"fillColor": feature["properties"]["fill"], "color": "#555555", "weight": 0.4, "fillOpacity": 0.75}

    fields = {
        "lsoa": "LSOA",
        "district": "District",
        "judged": "Simulated incidents with a target",
        "misses": "Misses",
        "dominant": "Main cause",
        **{c: f"{c} misses" for c in CAUSE_ORDER},
    }
    _layer(_feature_collection(geo, props), "Cause of failure (simulated)", style, fields, show=show).add_to(m)


def cause_legend_html(min_count: int) -> str:
    """Legend rows of the cause layer (a swatch and the word for each cause, on one line to keep the panel short)."""
    swatches = [(CAUSE_COLOURS[c], c) for c in CAUSE_ORDER] + [(NO_MISS_COLOUR, "no miss")]
    rows = [
        '<div class="gr-note"><b>Cause of failure (simulated, one replication), by LSOA</b></div>',
        "<div>"
        + "".join(
            f'<span style="white-space:nowrap;margin-right:6px"><span class="gr-sw" style="background:{colour}">'
            f"</span>{escape(label)}</span>"
            for colour, label in swatches
        )
        + "</div>",
    ]
    rows.append(
        f'<div class="gr-note">LSOAs with fewer than {int(min_count)} simulated incidents with a target '
        "are not drawn (privacy).</div>"
    )
    return "".join(rows)

"""Every output for people in one call: ``report.html``, ``board_pack.xlsx`` with its CSVs, and the GeoPackage.

What the workflows call after a compliance run (see :func:`write_reports`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo_response.reporting import board_pack, gis, html_report


def write_reports(
    out_dir: str | Path,
    long: pd.DataFrame,
    summary: dict,
    *,
    kpis: Iterable | None = None,
    incidents: pd.DataFrame | None = None,
    corridor: pd.DataFrame | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    gi: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    gis_layers: dict[str, gpd.GeoDataFrame | None] | None = None,
    appendix: Sequence[str] | None = None,
    projected_crs: str = "EPSG:27700",
    simulation: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Path]:
    """Write ``report.html``, ``board_pack.xlsx``, ``board_pack/*.csv`` and (when layers are given)
    ``geo_response.gpkg`` to `out_dir`.

    Parameters
    ----------
    out_dir : str or Path
    long, summary
        ``ComplianceRun.long`` and ``ComplianceRun.summary``.
    kpis : iterable, optional
        ``profile.kpis`` (default: the embedded profile's).
    incidents : DataFrame, optional
        ``ComplianceRun.incidents`` (attendance / travel-time distribution).
    corridor : DataFrame, optional
        ``CorridorAnalysis.table``.
    hotspots, gi : GeoDataFrame, optional
        :func:`geo_response.hotspots.find_hotspots` and :func:`geo_response.hotspots.gi_star_spots` output.
    roads, places : GeoDataFrame, optional
        Main roads (:func:`geo_response.map_layers.main_roads`) and named places
        (:func:`geo_response.places.named_places`) for the hotspot maps.
    gis_layers : dict, optional
        Layer name -> GeoDataFrame for :func:`geo_response.reporting.gis.write_gis` (None values skipped).
    appendix : sequence of str, optional
        Escaped HTML fragments appended to the page (e.g. ``compliance.report.html_fragments(blocks)``).
    projected_crs : str
    simulation : dict, optional
        ``SimulationRun.tables``: the hour-of-day and cause-of-failure charts in the page, two more board-pack
        sheets (:func:`geo_response.reporting.board_pack.simulation_tables`).

    Returns
    -------
    dict
        ``report_html``, ``board_pack`` (the workbook), each board-pack CSV by table name, and ``gis``.
    """
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    paths["report_html"] = html_report.write_report_html(
        out / "report.html",
        long,
        summary,
        kpis=kpis,
        incidents=incidents,
        corridor=corridor,
        hotspots=hotspots,
        roads=roads,
        places=places,
        gi=gi,
        appendix=appendix,
        projected_crs=projected_crs,
        simulation=simulation,
    )
    table = None
    if hotspots is not None:
        from geo_response import hotspots as hotspots_mod

        table = hotspots_mod.hotspots_table(hotspots)
    paths.update(
        board_pack.write_board_pack(
            out / "board_pack",
            long,
            summary,
            kpis=kpis,
            corridor=corridor,
            hotspots=table,
            xlsx_path=out / "board_pack.xlsx",
            simulation=simulation,
        )
    )
    layers = {k: v for k, v in (gis_layers or {}).items() if v is not None}
    if layers:
        paths["gis"] = gis.write_gis(out / "geo_response.gpkg", layers)
    return paths

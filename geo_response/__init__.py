"""geo-response: police response times on real road networks.

Data flow (one subpackage or module per step; see docs/DESIGN.md)::

    config -> study_area (geography, roads.network, bases) -> roads.routing / roads.isochrones
    incidents (load, classification, grading) -> compliance (tables, model, report) -> hotspots, corridor, maps
    planning (scenarios, optimise, compare, report);  workflows: what each command runs

The names below are the public face: ``import geo_response as gr; area = gr.load_study_area()``. They are
imported on first use, so ``import geo_response`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    # force profile and study area
    "ForceProfile": "geo_response.config",
    "load_profile": "geo_response.config",
    "StudyArea": "geo_response.study_area",
    "load_study_area": "geo_response.study_area",
    "study_area_from_network": "geo_response.study_area",
    # road network and routing
    "RoadNetwork": "geo_response.roads.roadnet",
    "load_network": "geo_response.roads.network",
    "network_from_place": "geo_response.roads.network",
    "network_from_polygon": "geo_response.roads.network",
    "travel_times_to_points": "geo_response.roads.routing",
    "travel_matrix": "geo_response.roads.routing",
    "snap_points": "geo_response.roads.snapping",
    "isochrones": "geo_response.roads.isochrones",
    # incidents and compliance
    "load_incidents": "geo_response.incidents.load",
    "headline": "geo_response.compliance.tables",
    "compliance_long": "geo_response.compliance.tables",
    "wide_table": "geo_response.compliance.tables",
    "prepare_incidents": "geo_response.workflows.compliance",
    "run_compliance": "geo_response.workflows.compliance",
    # hotspots, corridor, maps
    "hex_aggregate": "geo_response.hotspots",
    "lsoa_aggregate": "geo_response.hotspots",
    "find_hotspots": "geo_response.hotspots",
    "hotspots_table": "geo_response.hotspots",
    "gi_star_spots": "geo_response.hotspots",
    "corridor_analysis": "geo_response.corridor",
    "corridor_geometry": "geo_response.corridor",
    "compliance_map": "geo_response.maps",
    "save_map": "geo_response.maps",
    "build_map": "geo_response.workflows.maps",
    "inline_map": "geo_response.maps",
    "main_roads": "geo_response.map_layers",
    "named_places": "geo_response.places",
    # planning
    "scenario_table": "geo_response.planning.scenarios",
    "read_scenario": "geo_response.planning.scenarios",
    "apply_scenario": "geo_response.planning.scenarios",
    "compare": "geo_response.planning.compare",
    "optimise": "geo_response.planning.siting",
    "comparison_markdown": "geo_response.planning.report",
    "siting_markdown": "geo_response.planning.report",
    "run_compare": "geo_response.workflows.plan",
    "run_optimise": "geo_response.workflows.plan",
    "find_file": "geo_response.datadir",
    # simulation and staffing
    "run_simulation": "geo_response.workflows.simulate",
    "scenario_roster": "geo_response.planning.scenarios",
    "simulate_scenario": "geo_response.workflows.plan_units",
    "staffing_vs_base": "geo_response.workflows.plan_units",
    # the whole job
    "run_demo": "geo_response.workflows.demo",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'geo_response' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

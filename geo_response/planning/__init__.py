"""Deployment planning: what-if scenarios, new sites (maximal covering) and closures.

Modules: :mod:`~geo_response.planning.demand` (delay, targets, demand points, candidates),
:mod:`~geo_response.planning.scenarios` (scenario files applied to bases),
:mod:`~geo_response.planning.compare` (a scenario against the current bases),
:mod:`~geo_response.planning.optimise` (covering models on arrays: spopt MCLP, greedy, exhaustive),
:mod:`~geo_response.planning.siting` (new sites and closures on the network) and
:mod:`~geo_response.planning.report` (Markdown, CSV and maps of the results).
"""

from geo_response.planning.compare import (
    Comparison,
    compare,
    incident_measures,
    lsoa_coverage,
    measured_categories,
    nearest_travel,
    population_measures,
)
from geo_response.planning.demand import (
    category_targets,
    demand_points,
    district_of,
    emergency_targets,
    lsoa_candidates,
    planning_delay_seconds,
    read_candidates_csv,
)
from geo_response.planning.siting import SitingRun

# ``optimise`` names the covering-model module; the network-level siting run is ``siting.optimise``
__all__ = [
    "Comparison",
    "SitingRun",
    "category_targets",
    "compare",
    "demand_points",
    "district_of",
    "emergency_targets",
    "incident_measures",
    "lsoa_candidates",
    "lsoa_coverage",
    "measured_categories",
    "nearest_travel",
    "planning_delay_seconds",
    "population_measures",
    "read_candidates_csv",
]

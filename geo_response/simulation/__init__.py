"""Units, not just stations: dispatch simulation and analytic queueing models on plain arrays.

Modules
-------
queueing      Erlang C (M/M/c); Larson's hypercube model, exact (2**N states) and approximate (1975)
engine        the discrete-event simulation (a heap of events): ``SimInputs`` -> ``simulate`` -> ``SimResult``
simpy_model   the same model in plain SimPy (cross-check and benchmark baseline)
roster        roster CSV / TOML -> units and on-duty intervals
demand        hour-of-week demand, volume scaling, job times, and ``Scenario`` (draws ``SimInputs``)
replications  replications in-process or through Dask, confidence intervals
calibration   fit a job-time scale to a reported % met

No networkx and no file reading in the engine: callers build the travel matrix (posts x atoms, per
speed) with :func:`geo_response.planning.compare.travel_matrix` and pass arrays.
"""

from geo_response.simulation import calibration, demand, engine, queueing, replications, roster

__all__ = ["calibration", "demand", "engine", "queueing", "replications", "roster"]

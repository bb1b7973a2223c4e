"""The dispatch model of :mod:`geo_response.simulation.engine`, written plainly in SimPy.

It exists as a cross-check (the tests compare both on small deterministic cases) and as the benchmark
baseline for events per second. Processes: one feeds incidents in ready order, one applies shift
changes, one per job (travel, on scene, return). The dispatcher state (free units, the priority queue)
is shared, as in the heap engine. Ties at the same instant are resolved in SimPy's scheduling order,
which may differ from the heap engine's (job completions, then shift changes, then incidents), so
compare the two only on inputs without simultaneous events.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Generator

import numpy as np
import simpy

from geo_response.simulation.engine import SimInputs, SimResult, _classify, _collect, _shift_stream, validate_inputs

__all__ = ["simulate_simpy"]


class _Dispatcher:
    """Unit states and the waiting calls, shared by the SimPy processes."""

    def __init__(self, env: simpy.Environment, inp: SimInputs, return_to_post: bool) -> None:
        self.env, self.inp = env, inp
        n, u = inp.n_incidents, inp.n_units
        self.ready = np.asarray(inp.arrival_s, float) + np.asarray(inp.delay_s, float)
        self.unit_travel = np.asarray(inp.travel_s, float)[:, np.asarray(inp.unit_post, int), :]
        self.pref = [np.argsort(self.unit_travel[s].T, axis=1, kind="stable") for s in range(2)]
        self.return_to_post = return_to_post
        self.free, self.on_duty, self.busy, self.leave = (np.zeros(u, bool) for _ in range(4))
        self.off_at, self.busy_s, self.overtime_s = np.zeros(u), np.zeros(u), np.zeros(u)
        self.queue_s, self.travel_s = np.full(n, np.inf), np.full(n, np.inf)
        self.unit_id = np.full(n, -1)
        self.waiting: list[tuple[int, float, int]] = []
        self.events = 0

    def dispatch(self, u: int, i: int) -> None:
        env, inp = self.env, self.inp
        a, s = int(inp.atom[i]), int(inp.speed[i])
        leg = self.unit_travel[s, u, a]
        busy_for = leg + float(inp.job_s[i]) + (self.unit_travel[1, u, a] if self.return_to_post else 0.0)
        self.queue_s[i], self.travel_s[i], self.unit_id[i] = env.now - self.ready[i], leg, u
        self.busy[u], self.free[u] = True, False
        end = env.now + busy_for
        self.busy_s[u] += max(0.0, min(end, inp.horizon_s) - max(env.now, inp.warmup_s))
        env.process(self.job(u, busy_for))

    def job(self, u: int, busy_for: float) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(busy_for)
        self.events += 1
        self.busy[u] = False
        if self.leave[u]:
            self.leave[u], self.on_duty[u] = False, False
            self.overtime_s[u] += max(0.0, self.env.now - max(self.off_at[u], self.inp.warmup_s))
        elif self.waiting:
            self.dispatch(u, heapq.heappop(self.waiting)[2])
        else:
            self.free[u] = True

    def incidents(self) -> Generator[simpy.Event, None, None]:
        for i in np.argsort(self.ready, kind="stable"):
            yield self.env.timeout(self.ready[i] - self.env.now)
            self.events += 1
            order = self.pref[int(self.inp.speed[i])][int(self.inp.atom[i])]
            candidates = order[self.free[order]]
            if len(candidates):
                self.dispatch(int(candidates[0]), int(i))
            else:
                heapq.heappush(self.waiting, (int(self.inp.priority[i]), self.env.now, int(i)))

    def shifts(self) -> Generator[simpy.Event, None, None]:
        for t, kind, u in _shift_stream(self.inp):
            yield self.env.timeout(t - self.env.now)
            self.events += 1
            if kind == 1:
                if self.leave[u]:
                    self.overtime_s[u] += max(0.0, self.env.now - max(self.off_at[u], self.inp.warmup_s))
                self.on_duty[u], self.leave[u] = True, False
                if not self.busy[u]:
                    self.free[u] = True
                    if self.waiting:
                        self.dispatch(u, heapq.heappop(self.waiting)[2])
            elif self.busy[u]:
                self.leave[u], self.off_at[u] = True, self.env.now
            else:
                self.on_duty[u], self.free[u] = False, False


def simulate_simpy(inp: SimInputs, *, return_to_post: bool = True) -> SimResult:
    """Run the dispatch model in SimPy; same inputs, outputs and meaning as :func:`engine.simulate`."""
    validate_inputs(inp)
    t0 = time.perf_counter()
    env = simpy.Environment()
    d = _Dispatcher(env, inp, return_to_post)
    env.process(d.incidents())
    env.process(d.shifts())
    env.run(until=inp.horizon_s)
    for _, _, i in d.waiting:
        d.queue_s[i] = inp.horizon_s - d.ready[i]
    late = d.leave
    d.overtime_s[late] += np.maximum(0.0, inp.horizon_s - np.maximum(d.off_at[late], inp.warmup_s))
    res = _collect(
        inp,
        d.ready,
        d.queue_s.tolist(),
        d.travel_s.tolist(),
        d.unit_id.tolist(),
        d.busy_s.tolist(),
        d.overtime_s.tolist(),
        d.events,
    )
    res.seconds = time.perf_counter() - t0
    _classify(inp, res)
    return res

"""One colour-blind-safe palette for charts and maps.

Sequential values (% met, failure rates, isochrone bands) use matplotlib's ``cividis`` colour map, which was
designed to read the same for people with red-green colour vision deficiency (about 1 in 12 men) and in
greyscale. Series that must be told apart (grades, settings) take well separated cividis stops and also
differ in marker and line style, so colour is never the only cue. RAG badges use the Okabe-Ito colours and
always carry their word (``GREEN`` / ``AMBER`` / ``RED``). Planning maps colour coverage gained / lost with
:data:`CHANGE_COLOURS` (blue / vermillion, never green / red) and name them in the legend.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

SEQUENTIAL = "cividis"
#: % met bands shared by the map choropleth and the chart colour bars (lower edges).
PCT_BINS = (0.0, 50.0, 70.0, 80.0, 90.0, 95.0)
#: Okabe-Ito: vermillion, orange, bluish green.
RAG_COLOURS = {"red": "#D55E00", "amber": "#E69F00", "green": "#009E73", "n/a": "#999999"}
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)))
#: Coverage change on the planning maps: Okabe-Ito blue (gained) and vermillion (lost), told apart with any
#: colour vision and in greyscale (dark vs mid), never red against green; the legend says the words too.
CHANGE_COLOURS = {"gained": "#0072B2", "lost": "#D55E00", "never": "#999999"}
KPI_COLOUR = "#000000"
GRID_COLOUR = "#dddddd"


def sequential_colours(n: int, low: float = 0.0, high: float = 0.92) -> list[str]:
    """`n` hex colours evenly spaced along the sequential palette (dark to light).

    Examples
    --------
    >>> sequential_colours(2)
    ['#00224e', '#ead34c']
    """
    if n <= 0:
        return []
    cmap = colormaps[SEQUENTIAL]
    stops = np.linspace(low, high, n) if n > 1 else np.array([low])
    return [to_hex(cmap(float(s))) for s in stops]


def series_style(i: int) -> dict:
    """Colour, marker and line style of the `i`-th series (up to six distinct, then cycling)."""
    colours = sequential_colours(3, 0.0, 0.8)
    return {"color": colours[i % 3], "marker": MARKERS[i % len(MARKERS)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def pct_colour(pct_met: float, bins: tuple[float, ...] = PCT_BINS) -> str:
    """Colour of a % met value: the band it falls in, dark (low) to light (high) along cividis.

    NaN gives mid grey.
    """
    if pct_met is None or not np.isfinite(pct_met):
        return "#bdbdbd"
    colours = sequential_colours(len(bins))
    idx = int(np.searchsorted(np.asarray(bins), float(pct_met), side="right")) - 1
    return colours[max(0, min(idx, len(colours) - 1))]


#: Causes of a simulated miss (``simulation.engine.CAUSES``), Okabe-Ito colours (told apart by people with
#: red-green colour vision deficiency), used by the report charts and the map's "Cause of failure" layer.
CAUSE_ORDER = ("travel", "queue", "distance", "delay")
CAUSE_COLOURS = {"travel": "#0072B2", "queue": "#E69F00", "distance": "#009E73", "delay": "#CC79A7"}
#: Hatches for the stacked cause bars, so colour is never the only cue.
CAUSE_HATCHES = {"travel": "", "queue": "//", "distance": "..", "delay": "xx"}

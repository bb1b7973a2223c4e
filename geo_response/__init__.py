"""geo-response: police response times on real road networks.

Data flow: network -> speeds -> routing -> isochrones / incidents -> classification -> compliance
-> hotspots -> maps / planning. See docs/DESIGN.md.
"""

__version__ = "0.1.0"

"""Self-contained map pages: Leaflet inlined from XStatic-Leaflet, no CDN; notebook display; size summary.

Re-exported by :mod:`geo_response.maps` (``maps.save_map``, ``maps.inline``, ...).
"""

from __future__ import annotations

import base64
import html
import importlib
import re
from pathlib import Path

import folium

from geo_response.errors import MapError

LEAFLET_LICENCE = """Leaflet 1.9.x, https://leafletjs.com, from the PyPI package XStatic-Leaflet.
BSD 2-Clause License. Copyright (c) 2010-2023, Volodymyr Agafonkin. Copyright (c) 2010-2011, CloudMade.
Redistribution and use in source and binary forms, with or without modification, are permitted provided
that the following conditions are met: 1. Redistributions of source code must retain the above copyright
notice, this list of conditions and the following disclaimer. 2. Redistributions in binary form must
reproduce the above copyright notice, this list of conditions and the following disclaimer in the
documentation and/or other materials provided with the distribution. THIS SOFTWARE IS PROVIDED BY THE
COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT,
INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND
ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR
OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF
SUCH DAMAGE."""

_EXTERNAL_RESOURCE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//[^>]*>""", re.IGNORECASE
)


def leaflet_resources() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS (images inlined as data URIs) from the PyPI package XStatic-Leaflet.

    Raises
    ------
    MapError
        When the package is not installed.
    """
    try:
        pkg = importlib.import_module("xstatic.pkg.leaflet")
    except ModuleNotFoundError:
        raise MapError(
            "offline maps inline Leaflet from the PyPI package XStatic-Leaflet, which is not "
            "installed: run `pip install xstatic-leaflet`, or save with offline=False "
            "(the map then loads Leaflet from a CDN)"
        ) from None
    base = Path(pkg.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.MULTILINE)
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        image = base / match.group(1)
        if not image.is_file():
            return match.group(0)
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    if "</script" in js.lower() or "</style" in css.lower():
        raise MapError("the Leaflet resources contain a closing tag and cannot be inlined safely")
    return js, css


def make_offline(m: folium.Map) -> folium.Map:
    """Drop folium's CDN resources and inline Leaflet's JS and CSS (in place; returns the map)."""
    js, css = leaflet_resources()
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(folium.Element(f"<!--\n{LEAFLET_LICENCE}\n-->"), name="leaflet_licence")
    header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    header.add_child(folium.Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    return m


def external_resources(page: str) -> list[str]:
    """Tags of an HTML page that load a script, stylesheet, image or frame from the network."""
    return [match.group(0) for match in _EXTERNAL_RESOURCE.finditer(page)]


def save_map(m: folium.Map, path: str | Path, offline: bool = True) -> Path:
    """Write a map to an HTML file.

    Parameters
    ----------
    m : folium.Map
    path : str or Path
    offline : bool, default True
        Inline Leaflet (from XStatic-Leaflet) and drop every CDN resource, so the file is self-contained;
        the saved page is checked and :class:`MapError` raised if it still loads anything from the network.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if offline:
        make_offline(m)
    page = m.get_root().render()
    if offline:
        found = external_resources(page)
        if found:
            raise MapError(
                f"the offline map still loads {len(found)} resources from the network, e.g. "
                f"{found[0][:120]}; remove the layer or plugin that adds them"
            )
    from geo_response.outputs import write_text

    return write_text(page, path)


class InlineMap:
    """A saved-offline map shown inside a notebook: an ``<iframe srcdoc>`` holding the whole page.

    Leaflet is inlined (no CDN), so the map renders without a network and without "Trust this notebook";
    the frame is sandboxed (scripts only, no same-origin access to the notebook).
    """

    def __init__(self, m: folium.Map, height: int = 620):
        make_offline(m)
        page = m.get_root().render()
        found = external_resources(page)
        if found:
            raise MapError(f"the inline map still loads {len(found)} resources from the network: {found[0][:120]}")
        self.page = page
        self.height = int(height)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.page, quote=True)}" sandbox="allow-scripts" '
            f'style="width:100%;height:{self.height}px;border:1px solid #ccc" '
            'title="geo-response map (offline)"></iframe>'
        )


def inline(m: folium.Map, height: int = 620) -> InlineMap:
    """Show a map in a notebook offline: ``maps.inline(m)`` as a cell's last line (see :class:`InlineMap`)."""
    return InlineMap(m, height)


def map_summary(path: str | Path) -> dict:
    """Size of a saved map and the number of network resources it loads, for provenance."""
    page = Path(path).read_text(encoding="utf-8")
    return {"path": str(path), "bytes": len(page.encode("utf-8")), "external_resources": len(external_resources(page))}


#: The public name of :func:`inline` (``geo_response.inline_map``).
inline_map = inline

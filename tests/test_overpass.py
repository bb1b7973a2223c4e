"""OSMnx's real Overpass and Nominatim code paths, answered by a local HTTP server on 127.0.0.1.

OSMnx sends its real requests (Nominatim ``search`` GET, Overpass ``status`` GET and ``interpreter``
POST); the server answers with the hand-written fixtures in ``tests/fixtures/overpass`` (see its
README for the street layout and the expected graph). Nothing in OSMnx or geo-response is mocked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import osmnx as ox
import pytest
from shapely.geometry import Polygon, box

from geo_response.config import load_profile
from geo_response.roads import network, speeds

FIXTURES = Path(__file__).parent / "fixtures" / "overpass"
PLACE_BOX = box(0.465, 51.722, 0.490, 51.738)  # the polygon Nominatim returns for "Testham"
# Overpass /status: line 5 starting with a number = slots free, no pause
STATUS = (
    "Connected as: 2130706433\nCurrent time: 2024-01-01T00:00:00Z\nAnnounced endpoint: none\n"
    "Rate limit: 2\n2 slots available now.\nCurrently running queries (pid, space limit, time limit, "
    "start time):\n"
)

COORDS = {
    node["id"]: (node["lon"], node["lat"])
    for node in json.loads((FIXTURES / "interpreter.json").read_text())["elements"]
    if node["type"] == "node"
}
OSMNX_NODES = {1, 2, 3, 4, 6, 7, 8}
OSMNX_EDGES = {(1, 2), (2, 1), (2, 3), (3, 2), (3, 7), (7, 3), (3, 4), (4, 3), (2, 6), (6, 2), (2, 4), (3, 8)}


def great_circle_m(a: int, b: int) -> float:
    """Haversine distance between two fixture nodes, with OSMnx's earth radius (6,371,009 m)."""
    (lon1, lat1), (lon2, lat2) = COORDS[a], COORDS[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_009 * math.asin(math.sqrt(h))


class _FakeApiHandler(BaseHTTPRequestHandler):
    """Answers like Overpass (/api/status, /api/interpreter) and Nominatim (/nominatim/search)."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        self.server.log.append(("GET", url.path, parse_qs(url.query)))
        if url.path == "/api/status":
            self._send(200, STATUS.encode(), "text/plain")
        elif url.path == "/nominatim/search":
            self._send(200, (FIXTURES / "nominatim_search.json").read_bytes(), "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        url = urlparse(self.path)
        self.server.log.append(("POST", url.path, parse_qs(body)))
        if url.path == "/api/interpreter":
            body = self.server.interpreter or (FIXTURES / "interpreter.json").read_bytes()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def log_message(self, format, *args):  # noqa: A002
        pass


@dataclasses.dataclass
class FakeApi:
    url: str
    log: list


@contextlib.contextmanager
def serve(monkeypatch: pytest.MonkeyPatch, interpreter: bytes | None = None) -> Iterator[FakeApi]:
    """Run the local Overpass + Nominatim and point OSMnx at it (settings restored by ``monkeypatch``).

    ``interpreter``: the Overpass JSON every interpreter query gets (default: ``interpreter.json``).
    """
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApiHandler)
    httpd.log = []
    httpd.interpreter = interpreter
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setattr(ox.settings, "overpass_url", f"{base}/api")
    monkeypatch.setattr(ox.settings, "nominatim_url", f"{base}/nominatim/")
    monkeypatch.setattr(ox.settings, "use_cache", False)
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "requests_timeout", 20)
    # OSMnx pins the Overpass host's address by replacing socket.getaddrinfo: put the original back after
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    try:
        yield FakeApi(base, httpd.log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def overpass_json(path: Path) -> bytes:
    """An OSM file (any format osmium reads) as the Overpass JSON answer of a query for all of it."""
    import osmium

    elements = []
    for obj in osmium.FileProcessor(str(path)):
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            elements.append(
                {
                    "type": "node",
                    "id": obj.id,
                    "lat": obj.location.lat,
                    "lon": obj.location.lon,
                    **({"tags": tags} if tags else {}),
                }
            )
        elif obj.is_way():
            elements.append({"type": "way", "id": obj.id, "nodes": [n.ref for n in obj.nodes], "tags": tags})
    return json.dumps({"version": 0.6, "generator": "geo-response test", "elements": elements}).encode()


@pytest.fixture
def api(monkeypatch, tmp_path):
    """Local Overpass + Nominatim; OSMnx settings pointed at it (restored afterwards); a private project cache."""
    monkeypatch.setenv("GEO_RESPONSE_CACHE", str(tmp_path / "cache"))
    with serve(monkeypatch) as fake:
        yield fake


def overpass_queries(log: list) -> list[str]:
    return [form["data"][0] for method, path, form in log if method == "POST" and path == "/api/interpreter"]


def query_polygon(query: str) -> Polygon:
    """The (poly:'lat lon ...') polygon of an Overpass query, as lon/lat."""
    numbers = [float(v) for v in re.search(r"poly:'([^']+)'", query).group(1).split()]
    return Polygon(list(zip(numbers[1::2], numbers[0::2], strict=True)))


def edge_set(G) -> set[tuple[int, int]]:
    return {(u, v) for u, v, _ in G.edges(keys=True)}


def check_osmnx_graph(G) -> None:
    assert set(G.nodes) == OSMNX_NODES  # 5 simplified away, 91/92 outside the polygon
    assert edge_set(G) == OSMNX_EDGES
    assert G.number_of_edges() == 12
    for node in OSMNX_NODES:
        assert (G.nodes[node]["x"], G.nodes[node]["y"]) == pytest.approx(COORDS[node])
    high_street = G.edges[1, 2, 0]
    assert high_street["highway"] == "primary" and high_street["maxspeed"] == "30 mph"
    assert high_street["ref"] == "A1060" and high_street["oneway"] is False
    assert high_street["length"] == pytest.approx(great_circle_m(1, 2), rel=1e-6)
    mill_lane = G.edges[2, 4, 0]  # one-way, through node 5
    assert mill_lane["oneway"] is True and mill_lane["maxspeed"] == "20 mph"
    assert not G.has_edge(4, 2)
    assert mill_lane["length"] == pytest.approx(great_circle_m(2, 5) + great_circle_m(5, 4), rel=1e-6)
    assert np.asarray(mill_lane["geometry"].coords) == pytest.approx(np.array([COORDS[2], COORDS[5], COORDS[4]]))
    assert "maxspeed" not in G.edges[2, 6, 0]  # Church Lane has no limit tag


def test_graph_from_polygon_via_overpass(api):
    G = ox.graph_from_polygon(PLACE_BOX, network_type="drive", simplify=True, retain_all=True, truncate_by_edge=True)
    check_osmnx_graph(G)
    (query,) = overpass_queries(api.log)
    assert query.startswith('[out:json][timeout:20];(way["highway"]["area"!~"yes"]')
    assert re.search(r'\["highway"!~"[^"]*\bfootway\b[^"]*\bservice\b', query)  # drive filter
    assert query.endswith(";>;);out;")
    sent = query_polygon(query)  # OSMnx asks for the polygon plus a 500 m buffer
    assert sent.contains(PLACE_BOX)
    assert sent.area < box(0.455, 51.715, 0.500, 51.745).area
    assert [entry[1] for entry in api.log] == ["/api/interpreter"]  # no Nominatim, no status


def test_graph_from_place_geocodes_with_nominatim_then_queries_overpass(api, monkeypatch):
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", True)  # also exercise the /status check
    G = ox.graph_from_place(
        "Testham, Essex", network_type="drive", simplify=True, retain_all=True, truncate_by_edge=True
    )
    check_osmnx_graph(G)
    assert [(m, p) for m, p, _ in api.log] == [
        ("GET", "/nominatim/search"),
        ("GET", "/api/status"),
        ("POST", "/api/interpreter"),
    ]
    params = api.log[0][2]
    assert params["q"] == ["Testham, Essex"] and params["format"] == ["json"]
    assert params["polygon_geojson"] == ["1"]
    # the polygon result (not the point) was used for the query
    assert query_polygon(overpass_queries(api.log)[0]).contains(PLACE_BOX)


def test_geo_response_graph_from_place_finishes_the_graph(api):
    profile = load_profile()
    G = network.network_from_place("Testham, Essex", profile=profile).to_networkx()
    # node 8 can be reached (3 -> 8) but not left: the largest strongly connected component drops it
    assert set(G.nodes) == OSMNX_NODES - {8}
    assert edge_set(G) == OSMNX_EDGES - {(3, 8)}
    assert G.graph["build"]["nodes_dropped_scc"] == 1
    assert G.graph["source"] == "overpass:place:Testham, Essex"
    assert G.graph["standin"] is False and G.graph["crs"] == "epsg:4326"
    assert "OpenStreetMap" in G.graph["network_label"]
    mph30 = 30 * 1.609344
    assert G.edges[1, 2, 0]["limit_kph"] == pytest.approx(mph30)
    for name in profile.speeds.profiles:
        field = speeds.travel_time_field(name)
        for u, v, data in G.edges(data=True):
            assert data[field] == pytest.approx(data["length"] / (data[f"speed_kph_{name}"] / 3.6), rel=1e-9), (
                u,
                v,
                name,
            )


def test_geo_response_graph_from_polygon(api):
    G = network.network_from_polygon(PLACE_BOX).to_networkx()
    assert set(G.nodes) == OSMNX_NODES - {8}
    assert G.edges[2, 4, 0]["limit_kph"] == pytest.approx(20 * 1.609344)
    assert G.graph["source"].startswith("overpass:polygon:POLYGON")
    assert [entry[1] for entry in api.log] == ["/api/interpreter"]


def test_an_empty_overpass_answer_is_an_error(api, monkeypatch):
    """A place with no roads: OSMnx raises, it does not return an empty graph."""
    monkeypatch.setattr(_FakeApiHandler, "do_POST", _empty_post)
    with pytest.raises(ox._errors.InsufficientResponseError):
        ox.graph_from_polygon(PLACE_BOX, network_type="drive")


def _empty_post(self):
    body = json.dumps({"version": 0.6, "elements": []}).encode()
    self.server.log.append(("POST", urlparse(self.path).path, {}))
    self._send(200, body, "application/json")


def test_geo_response_wraps_an_empty_answer_with_advice(api, monkeypatch):
    """Through geo_response the same failure is a NetworkBuildError that names the server and the way out."""
    from geo_response.errors import NetworkBuildError

    monkeypatch.setattr(_FakeApiHandler, "do_POST", _empty_post)
    with pytest.raises(NetworkBuildError, match=r"127\.0\.0\.1.*--osm"):
        network.network_from_polygon(PLACE_BOX)


def test_overpass_answers_are_cached_in_the_project_cache(api):
    """The first download stores OSMnx's JSON answer under user_cache_dir()/overpass/<day>/; the second call
    sends no request; refresh=True sends one and replaces the stored answer; OSMnx's settings are restored."""
    from geo_response.datadir import user_cache_dir
    from geo_response.roads import osm

    first = osm.overpass_graph_from_polygon(PLACE_BOX)
    assert len(overpass_queries(api.log)) == 1
    folder = osm.overpass_cache_dir()
    assert folder.parent == user_cache_dir() / "overpass" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name)
    (stored,) = folder.glob("*.json")
    assert {e["id"] for e in json.loads(stored.read_text())["elements"] if e["type"] == "way"} >= {10, 11, 12}
    second = osm.overpass_graph_from_polygon(PLACE_BOX)
    assert len(overpass_queries(api.log)) == 1  # from the cache: no request
    assert edge_set(second) == edge_set(first)
    third = osm.overpass_graph_from_polygon(PLACE_BOX, refresh=True)
    assert len(overpass_queries(api.log)) == 2  # refresh: one request
    assert edge_set(third) == edge_set(first) and list(folder.glob("*.json")) == [stored]
    assert ox.settings.use_cache is False  # the test's setting, restored
    assert osm.overpass_cache_dir(day="2020-01-01") == user_cache_dir() / "overpass" / "2020-01-01"


def test_place_geocoding_is_cached_too(api):
    from geo_response.roads import osm

    osm.overpass_graph_from_place("Testham, Essex")
    osm.overpass_graph_from_place("Testham, Essex")
    assert [p for _, p, _ in api.log] == ["/nominatim/search", "/api/interpreter"]

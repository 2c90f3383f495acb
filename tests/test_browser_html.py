"""The HTML report in real headless Chromium, driven over the DevTools protocol.

A tiny stdlib WebSocket client speaks CDP to ``chromium --headless --remote-debugging-port=0``.
Checks: the SVG graph and the ranked table render (non-zero boxes), no request leaves the file,
no console error or exception (a CSP violation would be one), hostile repository content stays
text, and the page still shows every finding with JavaScript disabled.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_scoring_data import HOSTILE_MESSAGE, HOSTILE_NODE, HOSTILE_URL, shop_result

from qualscan.config import Config
from qualscan.model import ScanResult
from qualscan.reporters import html
from qualscan.scoring import rank

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


def _chromium() -> str:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env,
                       capture_output=True, timeout=900)
        found = shutil.which("chromium")
        if found:
            return found
    pytest.skip("chromium is not installed and could not be installed with apt-get (needs root and Debian)")


# --- a minimal WebSocket client (RFC 6455, client side, text frames) -------------------------------


class WebSocket:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        status, _, rest = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake failed: {status[:200]!r}")
        self.buf = rest

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            b1, b2 = self._read(2)
            fin, opcode = b1 & 0x80, b1 & 0x0F
            n = b2 & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", self._read(8))
            mask = self._read(4) if b2 & 0x80 else b""
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x8:
                raise ConnectionError("websocket closed by peer")
            if opcode == 0x9:  # ping -> pong
                self.sock.sendall(bytes([0x8A, 0x80 | len(data)]) + b"\0\0\0\0" + data)
                continue
            if opcode in (0x1, 0x2, 0x0):
                parts.append(data)
                if fin:
                    return b"".join(parts).decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class CDP:
    """Commands and the events received while waiting for their answers."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for ev in self.events:
            if ev["method"] == method:
                return ev
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"evaluate failed: {res['exceptionDetails']}")
        return res["result"].get("value")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless Chromium; yields the http://127.0.0.1:PORT of its DevTools endpoint."""
    exe = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None:
                pytest.fail(f"chromium exited early with code {proc.returncode}")
            if time.monotonic() > deadline:
                pytest.fail("chromium did not open its DevTools port within 60 s")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclasses.dataclass
class PageRun:
    cdp: CDP
    requests: list[str]
    console_errors: list[str]


def _open(browser: str, path: Path, *, javascript: bool = True) -> PageRun:
    try:  # Chromium >= 111 wants PUT for /json/new; older ones answer GET
        req = urllib.request.Request(f"{browser}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            target = json.loads(resp.read())
    except urllib.error.HTTPError:
        with urllib.request.urlopen(f"{browser}/json/new?about:blank", timeout=10) as resp:  # noqa: S310
            target = json.loads(resp.read())
    ws = WebSocket(target["webSocketDebuggerUrl"])
    cdp = CDP(ws)
    for domain in ("Page", "Network", "Runtime", "Log"):
        cdp.call(f"{domain}.enable")
    if not javascript:
        cdp.call("Emulation.setScriptExecutionDisabled", value=True)
    cdp.events.clear()
    cdp.call("Page.navigate", url=path.as_uri())
    cdp.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # let late console messages arrive
    cdp.call("Runtime.evaluate", expression="1")  # drains the events queued before its answer
    requests = [e["params"]["request"]["url"] for e in cdp.events if e["method"] == "Network.requestWillBeSent"]
    errors = []
    for e in cdp.events:
        p = e["params"]
        if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(json.dumps(p.get("args")))
        elif e["method"] == "Runtime.exceptionThrown":
            errors.append(json.dumps(p.get("exceptionDetails")))
        elif e["method"] == "Log.entryAdded" and p["entry"].get("level") == "error":
            errors.append(p["entry"].get("text", ""))
    return PageRun(cdp, requests, errors)


def _ranked(result: ScanResult) -> ScanResult:
    return dataclasses.replace(result, weak_points=rank(result, Config()))


@pytest.fixture(scope="module")
def hostile_page(browser: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageRun]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    out.write_text(html.render(_ranked(shop_result(hostile=True)), compare=shop_result()), encoding="utf-8")
    run = _open(browser, out)
    yield run
    run.cdp.ws.close()


def test_no_request_leaves_the_file(hostile_page: PageRun, tmp_path: Path) -> None:
    assert hostile_page.requests, "the navigation itself must be seen"
    assert all(u.startswith("file://") and u.endswith("/report.html") for u in hostile_page.requests), (
        hostile_page.requests
    )


def test_no_console_errors(hostile_page: PageRun) -> None:
    assert hostile_page.console_errors == []


def test_svg_graph_renders_with_every_service(hostile_page: PageRun) -> None:
    info = hostile_page.cdp.evaluate(
        """(() => { const s = document.querySelector('svg#dependency-graph'); if (!s) return null;
        const b = s.getBoundingClientRect();
        return {w: b.width, h: b.height,
                nodes: Array.from(s.querySelectorAll('g.node')).map(g => g.querySelector('title').textContent.split(' · ')[0]),
                risky: s.querySelectorAll('path.edge.risky').length, edges: s.querySelectorAll('path.edge').length,
                spof: Array.from(s.querySelectorAll('g.node.spof')).map(g => g.querySelector('text').textContent)}; })()"""
    )
    assert info is not None
    assert info["w"] > 600 and info["h"] > 150
    assert sorted(info["nodes"]) == sorted(s.name for s in shop_result(hostile=True).services)
    assert info["edges"] == 12
    assert info["risky"] == 4  # checkout->payment, checkout->recommendation, catalog->recommendation, ->evil
    assert sorted(info["spof"]) == ["checkout", "gateway", "postgres"]


def test_ranked_table_renders_in_rank_order(hostile_page: PageRun) -> None:
    rows = hostile_page.cdp.evaluate(
        """Array.from(document.querySelectorAll('#weak-points > tbody > tr')).map(r => ({
            rank: r.cells[0].textContent.trim(), target: r.cells[1].querySelector('code').textContent,
            h: r.getBoundingClientRect().height}))"""
    )
    expected = _ranked(shop_result(hostile=True)).weak_points[:10]
    assert [r["rank"] for r in rows] == [str(wp.rank) for wp in expected]
    assert [r["target"] for r in rows] == [wp.target for wp in expected]
    assert rows[0]["target"] == "postgres" and all(r["h"] > 10 for r in rows)


def test_hostile_content_stays_text(hostile_page: PageRun) -> None:
    cdp = hostile_page.cdp
    assert cdp.evaluate("typeof window.__pwned") == "undefined"
    assert cdp.evaluate("document.scripts.length") == 1
    assert cdp.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert cdp.evaluate(
        "Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
        ".some(a => a.name.startsWith('on'))).length"
    ) == 0
    body = cdp.evaluate("document.body.textContent")
    assert HOSTILE_MESSAGE in body
    assert HOSTILE_URL in body
    assert HOSTILE_NODE in body
    msgs = cdp.evaluate("Array.from(document.querySelectorAll('#findings-table td.msg')).map(t => t.textContent)")
    assert HOSTILE_MESSAGE in msgs


def test_filter_and_sort_work(hostile_page: PageRun) -> None:
    cdp = hostile_page.cdp
    assert cdp.evaluate("document.getElementById('findings-filters').hidden") is False
    total = cdp.evaluate("document.querySelectorAll('#findings-table tbody tr').length")
    assert total == len(shop_result(hostile=True).findings)
    visible = cdp.evaluate(
        """(() => { const t = document.getElementById('filter-text'); t.value = 'pricing.py';
        t.dispatchEvent(new Event('input'));
        return Array.from(document.querySelectorAll('#findings-table tbody tr')).filter(r => !r.hidden)
          .map(r => r.cells[3].textContent); })()"""
    )
    assert visible == ["services/cart/app/pricing.py:1"]
    order = cdp.evaluate(
        """(() => { const t = document.getElementById('filter-text'); t.value = '';
        t.dispatchEvent(new Event('input'));
        const th = document.querySelectorAll('#findings-table th')[3]; th.click();
        return Array.from(document.querySelectorAll('#findings-table tbody tr')).map(r => r.cells[3].textContent); })()"""
    )
    assert order == sorted(order)
    assert order[0] == "k8s/payment.yaml:7"


def test_works_without_javascript(browser: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text(html.render(_ranked(shop_result())), encoding="utf-8")
    run = _open(browser, out, javascript=False)
    try:
        n = run.cdp.evaluate("document.querySelectorAll('#findings-table tbody tr:not([hidden])').length")
        assert n == len(shop_result().findings)
        assert run.cdp.evaluate("document.getElementById('findings-filters').hidden") is True
        assert run.cdp.evaluate("document.querySelector('svg#dependency-graph').getBoundingClientRect().width") > 600
        assert run.console_errors == []
    finally:
        run.cdp.ws.close()


def test_fifty_services_graph_is_readable(browser: str, tmp_path: Path) -> None:
    """60 services: labels must not overlap (every node box is disjoint from the others)."""
    from qualscan.model import Edge, Service

    services = [Service(f"svc-{i:02d}", f"services/svc-{i:02d}", attrs={"tier": "application"}) for i in range(52)]
    services += [Service("gw", None, attrs={"tier": "gateway"})]
    services += [Service(f"db-{i}", None, attrs={"tier": "data"}) for i in range(7)]
    edges = [Edge("gw", f"svc-{i:02d}") for i in range(0, 52, 3)]
    edges += [Edge(f"svc-{i:02d}", f"db-{i % 7}", "sql") for i in range(52)]
    result = ScanResult(root="big", tool_version="0.1.0", services=tuple(services), edges=tuple(edges))
    out = tmp_path / "big.html"
    out.write_text(html.render(result), encoding="utf-8")
    run = _open(browser, out)
    try:
        boxes = run.cdp.evaluate(
            """Array.from(document.querySelectorAll('svg#dependency-graph g.node rect')).map(r => {
                const b = r.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })"""
        )
        assert len(boxes) == 60
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        assert run.console_errors == []
    finally:
        run.cdp.ws.close()


def test_hostile_fixture_through_the_pipeline(browser: str, tmp_path: Path) -> None:
    """fixtures/hostile scanned for real: its <script>/onerror payloads stay text in the browser."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
    if not fixture.is_dir():
        pytest.skip("fixtures/hostile not present")
    from qualscan.config import load_config
    from qualscan.engine.pipeline import scan_path

    result = scan_path(fixture, load_config(fixture), use_cache=False)
    assert any("<script>" in f.message for f in result.findings), "the fixture's payload must reach a finding"
    out = tmp_path / "report.html"
    out.write_text(html.render(result), encoding="utf-8")
    run = _open(browser, out)
    try:
        cdp = run.cdp
        assert run.console_errors == []
        assert run.requests == [out.as_uri()]
        assert cdp.evaluate("document.scripts.length") == 1
        assert cdp.evaluate(
            "Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
            ".some(a => a.name.startsWith('on'))).length"
        ) == 0
        assert cdp.evaluate("document.querySelectorAll('img, iframe').length") == 0
        msgs = cdp.evaluate("Array.from(document.querySelectorAll('#findings-table td.msg')).map(t => t.textContent)")
        assert sorted(msgs) == sorted(f.message for f in result.findings)
    finally:
        run.cdp.ws.close()


def test_prints_cleanly(hostile_page: PageRun) -> None:
    """Print media: navigation and filters hidden, collapsed details shown; printToPDF makes a PDF."""
    cdp = hostile_page.cdp
    cdp.call("Emulation.setEmulatedMedia", media="print")
    try:
        state = cdp.evaluate(
            """({toc: getComputedStyle(document.querySelector('nav.toc')).display,
                filters: getComputedStyle(document.getElementById('findings-filters')).display,
                breakdown: document.querySelector('#weak-points table.breakdown').getBoundingClientRect().height})"""
        )
        assert state["toc"] == "none" and state["filters"] == "none"
        assert state["breakdown"] > 0
    finally:
        cdp.call("Emulation.setEmulatedMedia", media="")
    pdf = base64.b64decode(cdp.call("Page.printToPDF", printBackground=True)["data"])
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    assert hostile_page.console_errors == []

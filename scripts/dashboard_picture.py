"""Render docs/dashboard.png: the Grafana dashboard's panels (docs/grafana-dashboard.json)
from a real run. `make dashboard-picture`.

It starts `privlink serve` (the demo project, its three brokers) and a Prometheus server
(Debian's `prometheus`) scraping it every 2 s, plays the inbound flow with traffic through
the endpoint and a webhook receiver for a few minutes, then asks Prometheus for every
panel's expressions over the run (query_range, the dashboard's own PromQL) and draws them
as the dashboard lays them out; Chromium takes the picture. Loopback only.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
PICTURE = ROOT / "docs" / "dashboard.png"
RUN_SECONDS = float(os.environ.get("PICTURE_SECONDS", "240"))
COLORS = ["#3274d9", "#e0752d", "#56a64b", "#a352cc", "#e02f44", "#8ab8ff", "#f2cc0c", "#777"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(check: Any, limit: float = 120) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise SystemExit("picture: a condition was not met in time")


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that refuses every third delivery (so retries show)."""

    def __init__(self) -> None:
        count = [0]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                count[0] += 1
                self.send_response(500 if count[0] % 3 == 0 else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="privlink-picture-"))
    port, prom_port, dns_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PRIVLINK_DATA_DIR": str(work / "state"),
        "PRIVLINK_PORT": str(port),
        "PRIVLINK_DATAPLANE": "userspace",
        "PRIVLINK_METRICS_PUBLIC": "1",
        "PRIVLINK_WEBHOOK_ALLOW_PRIVATE": "1",
        "PRIVLINK_HEALTH_CHECK_INTERVAL": "1",
        "PRIVLINK_DNS_LISTEN": f"127.0.0.1:{dns_port}",
        "PRIVLINK_LOG_LEVEL": "warning",
    }
    env.pop("PRIVLINK_DATABASE_URL", None)
    serve = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "privlink"), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 2s, evaluation_interval: 2s}\n"
        "scrape_configs:\n"
        f"  - job_name: privlink\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    prometheus = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        until(lambda: _ok(f"{url}/readyz"))
        token = (work / "state" / "demo-token").read_text().strip()
        started = time.time()
        with httpx.Client(
            base_url=url, headers={"Authorization": f"aivenv1 {token}"}, timeout=30
        ) as api:
            address, listen, more = flow(api, Receiver())
            print(f"traffic for {RUN_SECONDS:.0f} s", file=sys.stderr)
            steps = [(RUN_SECONDS / 3, more[0]), (2 * RUN_SECONDS / 3, more[1])]
            while time.time() - started < RUN_SECONDS:
                if steps and time.time() - started > steps[0][0]:
                    steps.pop(0)[1]()  # a second customer endpoint comes, then goes
                with socket.create_connection((address, listen), timeout=10) as sock:
                    sock.recv(64)
                    sock.sendall(b"x" * 20000)
                    got = 0
                    while got < 20000:
                        got += len(sock.recv(65536))
                api.get("/v1/project/demo/service")
                time.sleep(0.1)
        time.sleep(4)  # two more scrapes
        series = query(f"http://127.0.0.1:{prom_port}", started, time.time())
        render(series, started)
    finally:
        for process in (prometheus, serve):
            process.terminate()
            process.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def flow(api: httpx.Client, receiver: Receiver) -> tuple[str, int, list[Any]]:
    """The README's inbound flow on demo-kafka: the endpoint's address, Kafka's port, and
    two later moves (a second endpoint made, then deleted)."""

    def call(method: str, path: str, **kw: Any) -> Any:
        response = api.request(method, path, **kw)
        assert response.status_code < 300, response.text
        return response.json()

    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    call("POST", "/v1/project/demo/webhooks", json={"url": hook})
    vpc = call(
        "POST", "/v1/project/demo/vpcs",
        json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
    )["project_vpc_id"]  # fmt: skip
    until(lambda: call("GET", f"/v1/project/demo/vpcs/{vpc}")["state"] == "ACTIVE")
    call("PUT", "/v1/project/demo/service/demo-kafka", json={"project_vpc_id": vpc})
    principal = call("POST", "/v1/cloud/accounts", json={"name": "acme"})["principal"]
    cloud = "/v1/cloud/acme/eu-west-1"
    cvpc = call("POST", f"{cloud}/vpcs", json={"cidr": "10.9.0.0/16"})["id"]
    subnets = [
        call("POST", f"{cloud}/subnets", json={"vpc_id": cvpc, "az_id": az})["id"]
        for az in ("euw1-az1", "euw1-az2")
    ]
    group = call("POST", f"{cloud}/security-groups", json={"vpc_id": cvpc, "name": "c"})["id"]
    call(
        "POST", f"{cloud}/security-groups/{group}/ingress",
        json={"cidr": "127.0.0.0/8", "from_port": 10000, "to_port": 31000},
    )  # fmt: skip
    base = "/v1/project/demo/service/demo-kafka/privatelink/aws"
    call("POST", base, json={"principals": [principal]})
    until(lambda: call("GET", base)["state"] == "active")
    endpoint = call(
        "POST", f"{cloud}/endpoints",
        json={"vpc_id": cvpc, "service_name": call("GET", base)["aws_service_name"],
              "subnet_ids": subnets, "security_group_ids": [group]},
    )  # fmt: skip
    call(
        "PUT", "/v1/project/demo/service/demo-kafka",
        json={"user_config": {"privatelink_access": {"kafka": True}}},
    )  # fmt: skip
    status = call("GET", base + "/status")
    listen = next(p["port"] for p in status["ports"] if p["node"] is None)
    until(lambda: all(p["healthy"] for p in call("GET", base + "/status")["ports"]))
    second: list[str] = []

    def connect() -> None:
        body = {"vpc_id": cvpc, "service_name": call("GET", base)["aws_service_name"],
                "subnet_ids": subnets[:1], "security_group_ids": [group]}  # fmt: skip
        second.append(call("POST", f"{cloud}/endpoints", json=body)["id"])

    def disconnect() -> None:
        call("DELETE", f"{cloud}/endpoints/{second[0]}")

    return endpoint["addresses"][0]["address"], listen, [connect, disconnect]


def query(prometheus: str, start: float, end: float) -> list[dict[str, Any]]:
    """Every panel's targets over the run, from Prometheus."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    drawn = []
    for panel in panels:
        lines = []
        for target in panel["targets"]:
            answer = httpx.get(
                f"{prometheus}/api/v1/query_range",
                params={"query": target["expr"], "start": start, "end": end, "step": 2},
                timeout=30,
            ).json()
            for result in answer["data"]["result"]:
                label = target["legendFormat"]
                for key, value in result["metric"].items():
                    label = label.replace("{{" + key + "}}", value)
                points = [
                    (float(t), float(v)) for t, v in result["values"] if v not in ("NaN", "+Inf")
                ]
                if points:
                    lines.append((label, points))
        drawn.append(
            {
                "title": panel["title"],
                "unit": panel["fieldConfig"]["defaults"]["unit"],
                "lines": lines,
            }
        )
    return drawn


def render(panels: list[dict[str, Any]], start: float) -> None:
    cards = []
    for panel in panels:
        cards.append(_card(panel, start))
    page = (
        "<html><body style='margin:0;background:#111217;font:13px sans-serif;color:#ccccdc'>"
        "<div style='padding:12px 16px;font-size:18px'>privlink — docs/grafana-dashboard.json, "
        "from a real run (Prometheus scraping privlink serve every 2 s)</div>"
        "<div style='display:grid;grid-template-columns:1fr 1fr;gap:8px;padding:0 8px 8px'>"
        + "".join(cards)
        + "</div></body></html>"
    )
    path = Path(tempfile.mkdtemp()) / "dashboard.html"
    path.write_text(page)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        view = browser.new_page(viewport={"width": 1400, "height": 900})
        view.goto(path.as_uri())
        view.screenshot(path=str(PICTURE), full_page=True)
        browser.close()
    print(f"wrote {PICTURE}", file=sys.stderr)


def _card(panel: dict[str, Any], start: float) -> str:
    width, height, pad = 660, 190, 36
    points = [p for _label, line in panel["lines"] for p in line]
    top = max((v for _t, v in points), default=1.0) or 1.0
    end = max((t for t, _v in points), default=start + 1)
    svg = [f"<svg width='{width}' height='{height + 20}'>"]
    for i in range(5):
        y = pad / 2 + (height - pad) * i / 4
        svg.append(f"<line x1='{pad}' x2='{width}' y1='{y}' y2='{y}' stroke='#2c2f36'/>")
        svg.append(
            f"<text x='0' y='{y + 4}' fill='#8e8e9a' font-size='10'>"
            f"{_short(top * (4 - i) / 4, panel['unit'])}</text>"
        )
    for n, (_label, line) in enumerate(panel["lines"][:8]):
        color = COLORS[n % len(COLORS)]
        coords = " ".join(
            f"{pad + (width - pad) * (t - start) / max(end - start, 1):.1f},"
            f"{pad / 2 + (height - pad) * (1 - v / top):.1f}"
            for t, v in line
        )
        svg.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.6' points='{coords}'/>")
    minutes = (end - start) / 60
    svg.append(f"<text x='{pad}' y='{height + 12}' fill='#8e8e9a' font-size='10'>0</text>")
    svg.append(
        f"<text x='{width - 40}' y='{height + 12}' fill='#8e8e9a' font-size='10'>"
        f"{minutes:.0f} min</text>"
    )
    svg.append("</svg>")
    legend = (
        " ".join(
            f"<span style='color:{COLORS[n % len(COLORS)]}'>&#9632;</span> {html.escape(label)}"
            for n, (label, _line) in enumerate(panel["lines"][:8])
        )
        or "<span style='color:#8e8e9a'>no data</span>"
    )
    return (
        "<div style='background:#181b1f;border:1px solid #2c2f36;border-radius:3px;padding:8px'>"
        f"<div style='font-weight:600;margin-bottom:4px'>{html.escape(panel['title'])}</div>"
        + "".join(svg)
        + f"<div style='font-size:11px;margin-top:2px'>{legend}</div></div>"
    )


def _short(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
    if unit == "Bps":
        return f"{value / 1e6:.1f} MB/s" if value >= 1e6 else f"{value / 1e3:.0f} kB/s"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


if __name__ == "__main__":
    main()

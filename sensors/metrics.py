"""Prometheus /metrics and a /health probe for one sensor, on a small HTTP server of its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class NodeMetrics:
    """The sensor's figures; the node sets them after every dwell and the HTTP server reads them."""

    def __init__(self, site: str, sensor_id: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"site": site, "sensor": sensor_id}

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, list(labels), registry=self.registry).labels(**labels)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, list(labels), registry=self.registry).labels(**labels)

        self.samples_in = counter("cellward_sensor_samples_in", "IQ samples received from the source")
        self.samples_dropped = counter("cellward_sensor_samples_dropped", "IQ samples lost (overruns)")
        self.usb_errors = counter("cellward_sensor_usb_errors", "read/tune errors reported by the source")
        self.source_faults = counter("cellward_sensor_source_faults", "times the source failed and was reopened")
        self.dwells = counter("cellward_sensor_dwells", "dwells searched")
        self.bursts = counter("cellward_sensor_bursts", "phone bursts detected")
        self.reports = counter("cellward_sensor_reports", "activity reports produced")
        self.spool_depth = gauge("cellward_sensor_spool_depth", "messages waiting in the on-disk spool")
        self.spool_dropped = gauge("cellward_sensor_spool_dropped_total", "messages dropped by the spool bound")
        self.spool_held = gauge(
            "cellward_sensor_spool_held", "messages the broker took that the controller has not yet acknowledged"
        )
        self.spool_dropped_unconfirmed = gauge(
            "cellward_sensor_spool_dropped_unconfirmed_total",
            "held messages (the broker had them, the controller had not confirmed) dropped by the spool bound",
        )
        self.resent = counter("cellward_sensor_resent", "held messages sent again (controller ack: missing or late)")
        self.acks_rejected = counter("cellward_sensor_acks_rejected", "controller acks refused (signature, target)")
        self.scan_focus_rejected = counter(
            "cellward_sensor_scan_focus_rejected", "scan-focus messages refused (signature, site, malformed)"
        )
        self.scan_focus_channels = gauge(
            "cellward_sensor_scan_focus_channels", "channels in the site's scan focus obeyed now (0: none or expired)"
        )
        self.cpu_percent = gauge("cellward_sensor_cpu_percent", "process CPU, percent of one core")
        self.rss_mb = gauge("cellward_sensor_rss_mb", "resident memory, MiB")
        self.temperature_c = gauge("cellward_sensor_temperature_c", "SoC temperature (NaN when unreadable)")
        self.clock_offset_s = gauge(
            "cellward_sensor_clock_offset_s", "clock offset from the time daemon (NaN if unknown)"
        )
        self.clock_synced = gauge("cellward_sensor_clock_synced", "1 synced, 0 unsynced, -1 unknown")
        self.mqtt_connected = gauge("cellward_sensor_mqtt_connected", "1 while connected to the broker")
        self.gain_db = Gauge(
            "cellward_sensor_gain_db", "tuner gain per band", [*labels, "band"], registry=self.registry
        )
        self.ppm = gauge("cellward_sensor_ppm", "frequency correction applied")
        self._labels = labels
        self._counted: dict[str, float] = {}

    def count(self, name: str, total: float) -> None:
        """Bring counter `name` up to the node's running `total` (counters only ever increase)."""
        delta = total - self._counted.get(name, 0)
        if delta > 0:
            getattr(self, name).inc(delta)
            self._counted[name] = total

    def set_gain(self, band: str, gain_db: float) -> None:
        self.gain_db.labels(**self._labels, band=band).set(gain_db)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class HealthServer:
    """GET /metrics (Prometheus text) and GET /health (JSON; 200 when healthy, 503 otherwise)."""

    def __init__(self, metrics: NodeMetrics, health: Callable[[], tuple[bool, dict]], host: str, port: int) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, outer.metrics.exposition())
                elif self.path == "/health":
                    ok, body = outer.health()
                    self._reply(200 if ok else 503, "application/json", json.dumps(body).encode())
                else:
                    self._reply(404, "text/plain", b"try /metrics or /health\n")

            def _reply(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every 15 s would drown the journal

        self.metrics = metrics
        self.health = health
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="sensor-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

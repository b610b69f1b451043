"""Prometheus metrics of the controller (one registry per controller, so tests can run several)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from controller.pipeline import Locating

REJECTION_REASONS = (
    "bad_json",
    "bad_topic",
    "invalid",
    "unsigned",
    "bad_signature",
    "unknown_sender",
    "sender_mismatch",
    "replayed",
    "stale",
    "snippet_unsolicited",
    "snippet_oversize",
    "snippet_corrupt",
    "snippet_disabled",
)


class ControllerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_received = Counter(
            "cellward_controller_messages_received", "MQTT messages received, by message kind", ["kind"], registry=r
        )
        self.messages_accepted = Counter(
            "cellward_controller_messages_accepted", "Messages that passed every check, by kind", ["kind"], registry=r
        )
        self.messages_rejected = Counter(
            "cellward_controller_messages_rejected", "Messages rejected, by reason", ["reason"], registry=r
        )
        for reason in REJECTION_REASONS:
            self.messages_rejected.labels(reason=reason)  # export zeros so dashboards see every reason
        self.duplicates = Counter(
            "cellward_controller_messages_duplicate", "Redelivered messages ignored (same sender, seq)", registry=r
        )
        self.reports_stored = Counter("cellward_controller_reports_stored", "Activity reports stored", registry=r)
        self.seq_lost = Gauge(
            "cellward_controller_sensor_messages_lost",
            "Messages missing by seq gap, per sensor",
            ["sensor"],
            registry=r,
        )
        self.sightings = Counter("cellward_controller_sightings", "Located emissions handed to incidents", registry=r)
        self.incidents_opened = Counter(
            "cellward_controller_incidents_opened", "Incidents opened", ["suppressed"], registry=r
        )
        self.alerts_raised = Counter("cellward_controller_alerts_raised", "Alerts raised", ["rule"], registry=r)
        self.batch_seconds = Histogram(
            "cellward_controller_ingest_batch_seconds", "Time to process one ingest batch", registry=r
        )
        self.ingest_backlog = Gauge(
            "cellward_controller_ingest_backlog", "Messages received and waiting for the ingest worker", registry=r
        )
        self.ingest_lag_seconds = Gauge(
            "cellward_controller_ingest_lag_seconds",
            "Age of the oldest message of the last batch when it was taken (how far ingest runs behind)",
            registry=r,
        )
        self.correlation_wait_seconds = Gauge(
            "cellward_controller_correlation_wait_seconds",
            "How long the locator waits for the rest of a window's reports (grows with their arrival spread)",
            registry=r,
        )
        self.report_to_incident_seconds = Histogram(
            "cellward_controller_report_to_incident_seconds",
            "From a report's arrival to the incident change it caused",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.pruned = Counter("cellward_controller_pruned_rows", "Raw rows removed by retention", ["table"], registry=r)

    def watch_locating(self, locating: Locating) -> None:
        """Export what the locator learns, drops and keeps, read when scraped (nothing to update per batch)."""
        self.registry.register(_Locating(locating))


class _Locating(Collector):
    def __init__(self, locating: Locating) -> None:
        self.locating = locating

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        family = GaugeMetricFamily(
            "cellward_controller_sensor_clock_offset_seconds",
            "Sensor clock minus the site's consensus, learnt from the bursts several sensors heard",
            labels=["sensor"],
        )
        for sensor_id, offset_s in sorted(self.locating.clock_offsets().items()):
            family.add_metric([sensor_id], offset_s)
        yield family
        yield CounterMetricFamily(
            "cellward_controller_straggling_bursts",
            "Bursts whose report arrived after their emission was located: stored, not located again",
            value=self.locating.stragglers,
        )
        yield GaugeMetricFamily(
            "cellward_controller_locator_cache_bytes",
            "Bytes the locator's per-room tables hold (bounded by their budgets, whatever the site's size)",
            value=self.locating.cache_bytes,
        )

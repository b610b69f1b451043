"""Prometheus figures of one blocker node, served by the sensors' HealthServer (/metrics, /health)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from cellward.messages import REFUSAL_REASONS, BlockerMode

MODES: tuple[str, ...] = BlockerMode.__args__  # type: ignore[attr-defined]


class BlockerMetrics:
    def __init__(self, site: str, blocker_id: str, bands: list[str]) -> None:
        self.registry = CollectorRegistry()
        labels = {"site": site, "blocker": blocker_id}

        def metric(kind: type[Counter] | type[Gauge], name: str, doc: str, extra: str | None = None):
            return kind(name, doc, [*labels, *([extra] if extra else [])], registry=self.registry)

        self.applied = metric(Counter, "cellward_blocker_commands_applied", "commands carried out").labels(**labels)
        refused = metric(Counter, "cellward_blocker_commands_refused", "refused (never actuated) or failed", "reason")
        self.refused = {reason: refused.labels(**labels, reason=reason) for reason in REFUSAL_REASONS}
        band_on = metric(Gauge, "cellward_blocker_band_on", "1 while the band radiates", "band")
        self.band_on = {band: band_on.labels(**labels, band=band) for band in bands}
        mode = metric(Gauge, "cellward_blocker_mode", "1 for the node's current mode", "mode")
        self.mode = {name: mode.labels(**labels, mode=name) for name in MODES}
        self.controller_silence_s = metric(
            Gauge, "cellward_blocker_controller_silence_s", "seconds since the last valid command or keepalive"
        ).labels(**labels)
        self.stale_keepalives = metric(
            Counter, "cellward_blocker_stale_keepalives", "expired keepalives dropped (queued during an absence)"
        ).labels(**labels)
        self.mqtt_connected = metric(Gauge, "cellward_blocker_mqtt_connected", "1 while connected").labels(**labels)
        self.spool_depth = metric(Gauge, "cellward_blocker_spool_depth", "messages in the spool").labels(**labels)

    def set_state(self, mode: str, bands_on: list[str]) -> None:
        for name, gauge in self.mode.items():
            gauge.set(1 if name == mode else 0)
        for band, gauge in self.band_on.items():
            gauge.set(1 if band in bands_on else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

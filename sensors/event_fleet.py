"""Sensor nodes in the simulator's event mode, live: what each would detect, published as the node does.

For sites with more sensors than a 2-core machine can run in IQ mode: one process stands in for many
sensor nodes, each with its own broker account and Ed25519 key (from `cellward provision`) and a real
node's publisher and on-disk spool (per-stream `seq`, `online`/`offline` availability, messages held
until the controller acknowledges them), a retained status, and one signed detections batch per sensor
per window, published when the window has ended on the wall
clock (the scenario's `start_utc` fixes where simulation time sits on it). Bursts go into reports exactly
as on an IQ-mode node (sensors.activity.ReportWindows): a channel's new activity is published at the end
of the dwell that first heard it, the rest of its window when the window ends.

A node hears only what its tuner is on: the fleet follows the nodes' site-synchronised scan plan
(sensors.scan_plan, RTL-SDR range, 2.4 MS/s, the scan settings and scan group of each node's provisioned
config, revisits following the controller's site scan focus, or else the tunings any node of the group
heard), so a burst is reported only when it starts inside a dwell of its node's group whose span covers
it — the same duty cycle, and the same report rate, as IQ-mode nodes.

    python -m sensors.event_fleet --scenario S.yaml --site-id ID --provisioned DIR --port N --sensors A0-1,A0-2
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import yaml

from cellward.messages import (
    MAX_BURSTS_PER_REPORT,
    REPORT_CHANNEL_HZ,
    ActivityReport,
    BandCoverage,
    BurstRecord,
    CalibrationState,
    ClockState,
    DetectionBatch,
    SensorStatus,
    SourceInfo,
)
from cellward.signing import Keyring, NodeKey
from dsp.band_plan import BandPlan
from sensors.activity import Dwell, Piece, ReportWindows, novelty_group
from sensors.config import ReportConfig
from sensors.publisher import MqttConfig, Publisher
from sensors.scan_focus import FocusReceiver
from sensors.scan_plan import ScanConfig, ScanPlan, ScanSchedule, Tuning
from sensors.sources.rtlsdr import RTLSDR_RANGE_HZ
from sensors.spool import Spool
from sim.events import SensorObservation, observations
from sim.world import World

SAMPLE_RATE_HZ = 2.4e6

GAIN_DB = 28.0
CLOCK = ClockState(state="synced", source="simulator", offset_s=0.0)
log = logging.getLogger("cellward.sensor.event_fleet")


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


class FleetScan:
    """The tuning each scan group of the site is on in each slot, and which observations fall in its dwell."""

    def __init__(
        self,
        plan: BandPlan,
        report_unknown: frozenset[str] = frozenset(),
        focus: FocusReceiver | None = None,
        config: ScanConfig | None = None,
        groups: Mapping[str, int] | None = None,
    ) -> None:
        """`report_unknown`: nodes that also report unclassified energy in uplink bands (`report_unknown`
        in a node's config; perimeter sensors, whose readings of blocker leakage feed the interlock).
        `focus`: the site's scan focus from the controller, which the nodes' revisit slots follow.
        `config`: the nodes' scan settings (default ScanConfig()); `groups`: each node's scan group (absent: 0)."""
        self.config = config or ScanConfig()
        self.report_unknown = report_unknown
        self.focus = focus
        self.group_of = dict(groups or {})
        self.plan = ScanPlan.build(plan, self.config, *RTLSDR_RANGE_HZ, SAMPLE_RATE_HZ)
        self.schedules = [ScanSchedule(self.plan, self.config, g) for g in range(self.config.groups)]

    def heard(self, world: World, start_s: float, end_s: float, sensor_ids: list[str]) -> list[SensorObservation]:
        """Phone bursts of [start_s, end_s) (simulation time) that start inside a dwell covering their frequency."""
        plan = self.plan
        epoch0_s = world.epoch_s(0.0)
        kept: list[SensorObservation] = []
        for slot in range(plan.slot_at(epoch0_s + start_s), plan.slot_at(epoch0_s + end_s - 1e-9) + 1):
            for _dwell, _members, heard in self.heard_in_slot(world, slot, sensor_ids, start_s, end_s):
                kept += heard
        return kept

    def heard_in_slot(
        self, world: World, slot: int, sensor_ids: list[str], start_s: float = -math.inf, end_s: float = math.inf
    ) -> list[tuple[Dwell, list[str], list[SensorObservation]]]:
        """Per tuning the groups are on in scan slot `slot` (UTC epoch times): its dwell, the nodes on it and the
        bursts they heard in it (within [start_s, end_s) of simulation time, when given).

        Only the dwells are simulated (one tuning's span for `dwell_s` per slot and group), which is also what
        keeps event mode cheap enough to run live beside the IQ-mode nodes."""
        cfg, plan = self.config, self.plan
        epoch0_s = world.epoch_s(0.0)
        site_focus = self.focus.at(plan.slot_start_s(slot)) if self.focus is not None else None
        by_group: dict[int, list[str]] = defaultdict(list)
        for sensor_id in sensor_ids:
            by_group[self.group_of.get(sensor_id, 0)].append(sensor_id)
        by_tuning: dict[Tuning, list[int]] = defaultdict(list)
        for group in sorted(by_group):
            by_tuning[self.schedules[group].tuning_for(slot, plan.slot_start_s(slot), site_focus)[0]].append(group)
        dwell_epoch_s = plan.slot_start_s(slot) + cfg.settle_s
        begin, stop = max(start_s, dwell_epoch_s - epoch0_s), min(end_s, dwell_epoch_s - epoch0_s + cfg.dwell_s)
        heard_per_tuning = []
        for tuning, groups in by_tuning.items():
            members = [sensor_id for group in groups for sensor_id in by_group[group]]
            dwell = Dwell(
                tuning.centre_hz, tuning.low_hz, tuning.high_hz, dwell_epoch_s, cfg.dwell_s, GAIN_DB, 0.0, 0.0
            )
            heard = []
            if stop > begin:
                heard = [
                    o
                    for o in observations(
                        world,
                        begin,
                        stop,
                        sensor_ids=members,
                        freq_range_hz=(tuning.low_hz, tuning.high_hz),
                        window_s=stop - begin,
                    )
                    if o.technology != "unknown" or o.sensor_id in self.report_unknown
                ]
            if heard:
                for group in groups:
                    self.schedules[group].note_activity(tuning, plan.slot_start_s(slot))
            heard_per_tuning.append((dwell, members, heard))
        return heard_per_tuning


def provisioned_scan(provisioned: Path, sensor_ids: list[str]) -> tuple[ScanConfig, dict[str, int]]:
    """The scan settings of the nodes' configs written by `cellward provision` (`sensors/<id>.yaml`; a node
    without one scans with the defaults) and each node's scan group: event-mode nodes scan as the IQ-mode
    nodes with those configs do. They share one scan, so their settings other than the group must agree."""
    configs: dict[str, ScanConfig] = {}
    for sensor_id in sensor_ids:
        path = provisioned / "sensors" / f"{sensor_id}.yaml"
        raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
        configs[sensor_id] = ScanConfig.model_validate(raw.get("scan") or {})
    shared = {config.model_copy(update={"group": 0}).model_dump_json() for config in configs.values()}
    if len(shared) > 1:
        raise ValueError(f"the event-mode nodes' scan settings differ beyond their group ({provisioned / 'sensors'})")
    common = next(iter(configs.values())).model_copy(update={"group": 0}) if configs else ScanConfig()
    return common, {sensor_id: own.group for sensor_id, own in configs.items()}


def channel_key(obs: SensorObservation) -> tuple[float, str]:
    """What one event-mode report covers: a raster channel and one technology."""
    return round(obs.freq_hz / REPORT_CHANNEL_HZ) * REPORT_CHANNEL_HZ, obs.technology


def activity_report(piece: Piece[SensorObservation], plan: BandPlan) -> ActivityReport:
    """One sensor's observations of one channel and technology in one window (or part of one) as a report."""
    channel_hz, technology = piece.key  # type: ignore[misc]
    bursts = piece.heard
    band = plan.uplink_band(channel_hz)
    half = REPORT_CHANNEL_HZ / 2
    listed = [
        BurstRecord(
            start=_utc(o.epoch_s),
            duration_s=o.duration_s,
            freq_hz=o.freq_hz,
            bandwidth_hz=o.bandwidth_hz,
            power_dbm=o.power_dbm,
            snr_db=o.snr_db,
            technology=o.technology,
        )
        for o in bursts[:MAX_BURSTS_PER_REPORT]
    ]
    listen_s = sum(d.listen_s for d in piece.dwells if d.low_hz <= channel_hz <= d.high_hz) or piece.dwells[-1].listen_s
    mean_mw = sum(10 ** (o.power_dbm / 10) for o in bursts) / len(bursts)
    return ActivityReport(
        freq_hz=channel_hz,
        bandwidth_hz=REPORT_CHANNEL_HZ,
        band=band.name if band else None,
        operators=list(plan.operators(channel_hz - half, channel_hz + half)) if band else [],
        technology=technology,
        window_start=_utc(piece.start_s),
        window_s=piece.end_s - piece.start_s,
        listen_s=round(listen_s, 6),
        burst_count=len(bursts),
        duty_cycle=min(1.0, sum(o.duration_s for o in bursts) / listen_s),
        mean_power_dbm=round(10 * math.log10(mean_mw), 2),
        peak_power_dbm=max(o.power_dbm for o in bursts),
        snr_db=max(o.snr_db for o in bursts),
        noise_floor_dbm=None,
        first_burst=listed[0].start,
        last_burst=_utc(bursts[-1].epoch_s + bursts[-1].duration_s),
        gain_db=GAIN_DB,
        calibration_db=0.0,
        clipped_fraction=0.0,
        bursts=listed,
        bursts_truncated=len(bursts) > MAX_BURSTS_PER_REPORT,
        cut_early=piece.cut_early,
    )


class FleetReports:
    """Every node's reports as the scan goes on: each dwell's observations folded per node by ReportWindows,
    exactly as an IQ-mode node folds its bursts (new activity cut at its dwell's end, the rest by window)."""

    def __init__(self, scan: FleetScan, sensor_ids: list[str], plan: BandPlan, reporting: ReportConfig) -> None:
        self.scan = scan
        self.plan = plan
        self.windows: dict[str, ReportWindows[SensorObservation]] = {
            s: ReportWindows(reporting.window_s, reporting.prompt_first, reporting.prompt_quiet_s, self._novelty)
            for s in sensor_ids
        }

    def _novelty(self, key: Hashable, _obs: SensorObservation) -> Hashable:
        channel_hz, technology = key  # type: ignore[misc]
        return novelty_group(self.plan, channel_hz, REPORT_CHANNEL_HZ, technology)

    def dwell(self, world: World, slot: int) -> int:
        """Hear scan slot `slot` (within the scenario); returns the bursts heard by all nodes."""
        heard_total = 0
        for dwell, members, heard in self.scan.heard_in_slot(
            world, slot, list(self.windows), 0.0, world.scenario.duration_s
        ):
            per_sensor: dict[str, list[SensorObservation]] = defaultdict(list)
            for obs in heard:
                per_sensor[obs.sensor_id].append(obs)
            for sensor_id in members:
                heard_by_node = per_sensor.get(sensor_id, [])
                self.windows[sensor_id].add(dwell, [(channel_key(o), o.epoch_s, o) for o in heard_by_node])
            heard_total += len(heard)
        return heard_total

    def close(self, now_s: float) -> dict[str, list[ActivityReport]]:
        """Per node, the reports due by `now_s` (UTC epoch): early cuts and windows that have ended."""
        due = {s: [activity_report(p, self.plan) for p in windows.close(now_s)] for s, windows in self.windows.items()}
        return {s: reports for s, reports in due.items() if reports}


class EventSensor:
    """One simulated sensor node on the broker, publishing through the sensor's own spool and publisher.

    Its account, key, durable session, per-stream `seq`, `online`/`offline` availability and on-disk spool
    are a real node's (sensors.publisher, sensors.spool), so it holds what it sends until the controller's
    ack says it is stored, exactly as an IQ-mode node does."""

    def __init__(
        self,
        site_id: str,
        sensor_id: str,
        provisioned: Path,
        port: int,
        state_dir: Path,
        controller_keyring: Keyring | None,
        on_scan_focus: Callable[[bytes], object] | None = None,
    ) -> None:
        self.site_id = site_id
        self.sensor_id = sensor_id
        self.spool = Spool(state_dir / sensor_id / "spool.sqlite")
        config = MqttConfig(
            host="127.0.0.1",
            port=port,
            username=sensor_id,
            password_file=provisioned / "secrets" / f"{sensor_id}.mqtt",
            keepalive_s=10,
            inflight_max=100,
        )
        self.publisher = Publisher(
            config,
            site_id,
            sensor_id,
            NodeKey.load(provisioned / "keys" / f"{sensor_id}.pem", sensor_id),
            self.spool,
            lambda topic, payload: None,  # event-mode nodes obey no commands
            time.time,
            controller_keyring=controller_keyring,
            on_scan_focus=on_scan_focus,
        )
        self.publisher.start()

    def _head(self) -> dict:
        return {"site": self.site_id, "sender": self.sensor_id, "ts": datetime.now(UTC), "seq": 1}

    def announce(self, started: datetime) -> None:
        status = SensorStatus(
            **self._head(),
            state="scanning",
            fault=None,
            started_at=started,
            software_version="cellward-sim-events",
            source=SourceInfo(
                kind="sim",
                description="simulator event mode",
                sample_rate_hz=2.4e6,
                freq_min_hz=24e6,
                freq_max_hz=1766e6,
            ),
            bands=BandCoverage(scanned=["B28", "B20", "B8", "B3"], unreachable=[]),
            gains_db={},
            calibration=CalibrationState(ppm=0.0, method="none", measured_at=None, reference_hz=None),
            clock=CLOCK,
        )
        self.publisher.send(status, "status", retain=True)

    def publish_reports(self, reports: list[ActivityReport]) -> None:
        self.publisher.send(DetectionBatch(**self._head(), clock=CLOCK, reports=reports), "detections")

    @property
    def unconfirmed(self) -> int:
        """Messages not yet stored by the controller as far as this node knows (queued or held)."""
        return self.spool.depth

    def stop(self) -> None:
        self.publisher.stop()
        log.info(
            "event=sensor_stopped site=%s sensor=%s detections_seq=%d undelivered=%d unacknowledged=%d resent=%d",
            self.site_id,
            self.sensor_id,
            self.spool.counter("seq:cellward.detections/1"),
            self.spool.queued,
            self.spool.held,
            self.publisher.acks.resent if self.publisher.acks else 0,
        )
        self.spool.close()


def run(
    world: World,
    site_id: str,
    sensor_ids: list[str],
    provisioned: Path,
    port: int,
    stop: threading.Event,
    state_dir: Path | None = None,
    confirm_s: float = 60.0,
) -> int:
    """Follow the scan slot by slot on the wall clock, publishing each node's reports as ReportWindows
    releases them (new activity at the end of its dwell, the rest when its window ends), until the scenario
    ends or `stop` is set."""
    plan = BandPlan.load()
    # Warm the simulator's path-loss and shadowing caches (seconds for 76 sensors) before the first window
    # is due, with a scan of its own so the live scan's revisit memory starts empty.
    config, groups = provisioned_scan(provisioned, sensor_ids)
    FleetScan(plan, config=config, groups=groups).heard(world, 0.0, min(30.0, world.scenario.duration_s), sensor_ids)
    keyring_file = provisioned / "controller-keyring.json"
    keyring = Keyring.load(keyring_file) if keyring_file.exists() else None
    focus = FocusReceiver(site_id, sensor_ids[0], keyring, time.time) if keyring is not None else None
    perimeter = frozenset(s.id for s in world.site.sensors if s.role == "perimeter")
    scan = FleetScan(plan, perimeter, focus, config, groups)
    slots, cfg = scan.plan, scan.config
    state_dir = state_dir or provisioned / "state"
    # one node's subscription feeds the focus to the whole fleet: they share one scan
    nodes = {
        s: EventSensor(site_id, s, provisioned, port, state_dir, keyring, focus.receive if focus and i == 0 else None)
        for i, s in enumerate(sensor_ids)
    }
    reporting = ReportConfig()
    fleet = FleetReports(scan, sensor_ids, plan, reporting)
    started = datetime.now(UTC)
    for node in nodes.values():
        node.announce(started)
    epoch0_s, end_s = world.epoch_s(0.0), world.scenario.duration_s
    published = 0

    def publish(now_s: float) -> None:
        nonlocal published
        for sensor_id, reports in fleet.close(now_s).items():
            nodes[sensor_id].publish_reports(reports)
            published += len(reports)

    slot = slots.slot_at(max(time.time(), epoch0_s))
    window = math.floor(slots.slot_start_s(slot) / reporting.window_s + 1e-9)
    while slots.slot_start_s(slot) - epoch0_s < end_s and not stop.is_set():
        slot_start_s = slots.slot_start_s(slot)
        if math.floor(slot_start_s / reporting.window_s + 1e-9) > window:
            if stop.wait(max(0.0, slot_start_s - time.time())):
                break
            publish(slot_start_s)  # the windows that ended by now
            t_s = window * reporting.window_s - epoch0_s
            log.info("event=window site=%s t_s=%.0f reports_total=%d", site_id, t_s, published)
            window = math.floor(slot_start_s / reporting.window_s + 1e-9)
        dwell_end_s = slot_start_s + cfg.settle_s + cfg.dwell_s
        if stop.wait(max(0.0, dwell_end_s - time.time())):
            break
        fleet.dwell(world, slot)
        publish(dwell_end_s)  # new activity, cut at this dwell's end
        slot += 1
    publish(math.inf)
    # before stopping, wait (bounded) until the controller has acknowledged everything the nodes made
    deadline = time.monotonic() + confirm_s
    while time.monotonic() < deadline and any(n.unconfirmed for n in nodes.values()):
        time.sleep(0.2)
    for node in nodes.values():
        node.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    from sim.commands import load_world

    parser = argparse.ArgumentParser(
        description="Sensor nodes in the simulator's event mode, publishing live over MQTT"
    )
    parser.add_argument("--scenario", type=Path, required=True)
    parser.add_argument("--site", default=None, help="site file or 'small'/'reference' (default: the scenario's)")
    parser.add_argument("--site-id", required=True, help="site id (MQTT topic level)")
    parser.add_argument("--provisioned", type=Path, required=True, help="directory written by `cellward provision`")
    parser.add_argument("--port", type=int, required=True, help="broker port on 127.0.0.1")
    parser.add_argument("--sensors", required=True, help="comma-separated sensor ids")
    parser.add_argument("--state-dir", type=Path, default=None, help="spools (default: PROVISIONED/state)")
    parser.add_argument(
        "--confirm-s", type=float, default=60.0, help="on stop, wait this long for the controller to confirm all"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    world = load_world(args.site, args.scenario)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sensor_ids = [s for s in args.sensors.split(",") if s]
    return run(world, args.site_id, sensor_ids, args.provisioned, args.port, stop, args.state_dir, args.confirm_s)


if __name__ == "__main__":
    raise SystemExit(main())

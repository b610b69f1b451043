"""The blocker node: obey authentic, in-policy controller commands; fall back to the fail-safe state alone.

One thread (this loop) owns the unit: it takes commands queued by the MQTT thread, checks each through
the command gate (schema, target, signature, sender, replay, expiry) and the unit's own policy, and
only then actuates. Between commands it watches for the controller's silence (no valid command or
keepalive within the fail-safe timeout, counted at the earliest from when its MQTT session came up, so a
slow start-up is not taken for a silent controller) and for the loss of the broker (or no broker within
the timeout of start-up), either of which puts the unit in its fail-safe state (every band off, or held)
without waiting for anyone, and it sends heartbeats.
Everything it publishes goes through the sensors' spool and publisher, signed and numbered.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

import cellward
from cellward.messages import (
    BlockerAck,
    BlockerCommand,
    BlockerFault,
    BlockerHeartbeat,
    BlockerState,
    FailsafeSetting,
    RefusalReason,
)
from cellward.messages.blocker import AllOffParams, SetBlockingParams, SetFailsafeParams, SetPowerParams
from cellward.signing import Keyring, NodeKey
from sensors.blocker.actuators import Actuator, ActuatorFault, build_actuator
from sensors.blocker.config import BlockerNodeConfig
from sensors.blocker.metrics import BlockerMetrics
from sensors.blocker.policy import refusal
from sensors.blocker.unit import Unit
from sensors.clock_sync import ClockMonitor
from sensors.commands import CommandGate, Rejection
from sensors.metrics import HealthServer
from sensors.publisher import Publisher
from sensors.spool import Spool
from sensors.structured_log import node_logger
from sensors.watchdog import sd_notify

TICK_S = 0.05
ACTUATOR_RETRY_S = 5.0


class BlockerNode:
    def __init__(
        self,
        config: BlockerNodeConfig,
        actuator: Actuator | None = None,
        clock: Callable[[], float] = time.time,
        clock_monitor: ClockMonitor | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.log = node_logger("cellward.blocker", site=config.site, blocker=config.blocker_id)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.spool = Spool(
            config.state_dir / "spool.sqlite", int(config.spool.max_mb * (1 << 20)), config.spool.max_messages
        )
        key = NodeKey.load(config.signing_key, config.blocker_id)
        keyring = Keyring.load(config.controller_keyring) if config.controller_keyring else None
        self.gate = CommandGate(config.site, config.blocker_id, keyring, self.spool, clock, kind="blocker")
        self.commands: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.publisher = Publisher(
            config.mqtt,
            config.site,
            config.blocker_id,
            key,
            self.spool,
            lambda topic, payload: self.commands.put((topic, payload)),
            clock,
            kind="blocker",
        )
        self.actuator = actuator if actuator is not None else build_actuator(config, clock)
        self.unit = Unit(config, self.actuator)
        self.metrics = BlockerMetrics(config.site, config.blocker_id, list(config.bands))
        self.clock_monitor = clock_monitor or ClockMonitor()
        self.http: HealthServer | None = None
        self.failsafe = FailsafeSetting(state=config.failsafe.state, timeout_s=config.failsafe.timeout_s)
        self.started_at = clock()
        self.fault: str | None = None  # actuator fault
        self.lost: tuple[str, str] | None = None  # (fault kind, detail) while in fail-safe
        self.stopping = False
        self.applied = 0
        self.refusals: Counter[str] = Counter()
        self.controller_heard: float | None = None
        self.state_seq = 0
        self._started_mono = time.monotonic()
        # The controller's silence counts from when it was last heard or, if later, when this node's MQTT
        # session last came up: before that the controller could not have reached it (a slow start-up or a
        # broker reached late is not a silent controller). None until the first session.
        self._heard_mono: float | None = None
        self._session_mono: float | None = None
        self._was_connected = False
        self._seen_reconnects = 0
        self._next_heartbeat = time.monotonic()
        self._next_actuator_retry = 0.0
        self._last_loop = time.monotonic()
        self._stop = threading.Event()

    # -- derived state -------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        if self.fault is not None:  # even at exit: `stopped` promises every band off
            return "fault"
        if self.stopping:
            return "stopped"
        return "failsafe" if self.lost is not None else "normal"

    def _detail(self) -> str | None:
        if self.fault is not None:
            return f"actuator fault: {self.fault}"
        if self.stopping:
            return "the node stopped: every band off"
        return self.lost[1] if self.lost is not None else None

    # -- lifecycle -----------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        if self.config.http is not None:
            self.http = HealthServer(self.metrics, self.health, self.config.http.host, self.config.http.port)  # type: ignore[arg-type]
            self.http.start()
        self._open_actuator()
        self.publisher.start()
        self._publish_state()
        self.log.info("started", actuator=self.actuator.description, version=cellward.__version__)
        sd_notify("READY=1")
        try:
            while not self._stop.is_set():
                self._last_loop = time.monotonic()
                sd_notify("WATCHDOG=1")
                try:
                    command: tuple[str, bytes] | None = self.commands.get(timeout=TICK_S)
                except queue.Empty:
                    command = None
                # the broker first: a reconnect that delivered this command must not undo what it clears
                self._watch_broker()
                if command is not None:
                    self._handle(*command)
                self._watch_controller()
                self._retry_actuator()
                self._maybe_heartbeat()
                self._update_metrics()
        finally:
            self._shutdown()
        return 0

    def _shutdown(self) -> None:
        try:
            self.unit.all_off()
        except ActuatorFault as exc:
            if self.fault is None:
                self.log.error("all_off_failed_at_stop", detail=str(exc))
        self.stopping = True
        self._publish_state()
        self.publisher.stop()
        self.actuator.close()
        if self.http is not None:
            self.http.stop()
        self.spool.close()
        self.log.info("stopped")

    # -- actuator ------------------------------------------------------------------------------------
    def _open_actuator(self) -> bool:
        """Claim the outputs and switch every band off; on failure the node is in fault."""
        try:
            self.actuator.open()
        except ActuatorFault as exc:
            self._set_fault(str(exc), claimed=False)
            return False
        try:
            self.unit.all_off()
        except ActuatorFault as exc:
            self._set_fault(str(exc))
            return False
        return True

    def _set_fault(self, detail: str, claimed: bool = True) -> None:
        """Enter (or update) the actuator fault: every band off where the outputs are claimed."""
        if self.fault == detail:
            return
        action, bands = "none", []
        try:
            bands = self.unit.all_off() if claimed else []
            action = "bands_off" if bands else "none"
        except ActuatorFault as exc:  # the outputs cannot be trusted; say what was tried
            detail = f"{detail}; switching every band off also failed: {exc}"
            bands = self.unit.bands_on()
        first = self.fault is None
        self.fault = detail[:500]
        self.log.error("actuator_fault", detail=self.fault)
        if first:
            self._publish_fault("raised", "actuator", self.fault, action, bands)
        self._publish_state()
        self._next_actuator_retry = time.monotonic() + ACTUATOR_RETRY_S

    def _retry_actuator(self) -> None:
        if self.fault is None or time.monotonic() < self._next_actuator_retry:
            return
        self._next_actuator_retry = time.monotonic() + ACTUATOR_RETRY_S
        self.actuator.close()
        try:
            self.actuator.open()
            self.unit.all_off()
        except ActuatorFault as exc:  # no new fault message: the raised one still stands
            self.log.warning("actuator_still_faulty", detail=str(exc))
            return
        self.log.info("actuator_recovered")
        self._publish_fault("cleared", "actuator", f"recovered from: {self.fault}", "none", [])
        self.fault = None
        self._publish_state()

    # -- fail-safe -----------------------------------------------------------------------------------
    def _watch_broker(self) -> None:
        connected = self.publisher.connected.is_set()
        reconnects = self.publisher.reconnects
        dropped = (self._was_connected and not connected) or reconnects > self._seen_reconnects
        if connected and (dropped or not self._was_connected):
            self._session_mono = time.monotonic()  # a new session: the controller's silence counts from here
        self._was_connected = connected or (self._was_connected and not dropped)
        self._seen_reconnects = reconnects
        if dropped:
            self._enter_failsafe("broker_lost", "lost the connection to the broker")

    def _silence_s(self) -> float | None:
        """Seconds the controller has had to reach this node and has not; None before the first session."""
        since = max((t for t in (self._heard_mono, self._session_mono) if t is not None), default=None)
        return None if since is None else time.monotonic() - since

    def _watch_controller(self) -> None:
        silence_s = self._silence_s()
        if silence_s is None:
            waited_s = time.monotonic() - self._started_mono
            if waited_s > self.failsafe.timeout_s:  # the outputs are off since start-up; say why
                self._enter_failsafe("broker_lost", f"no connection to the broker since start-up ({waited_s:.1f} s)")
        elif silence_s > self.failsafe.timeout_s:
            self._enter_failsafe(
                "controller_silent", f"no valid command or keepalive from the controller for {silence_s:.1f} s"
            )

    def _enter_failsafe(self, kind: str, why: str) -> None:
        if self.lost is not None:
            return
        if self.failsafe.state == "off":
            try:
                bands = self.unit.all_off()
                action = "bands_off" if bands else "none"
            except ActuatorFault as exc:
                self.lost = (kind, f"{why}: every band off")
                self._set_fault(f"fail-safe could not switch every band off: {exc}")
                return
            what = "every band off"
        else:
            bands, action, what = self.unit.bands_on(), "held", "bands held as they were"
        self.lost = (kind, f"{why}: {what}"[:500])
        self.log.warning("failsafe", kind=kind, detail=self.lost[1], bands=",".join(bands) or "none")
        self._publish_fault("raised", kind, why, action, bands)
        self._publish_state()

    def _heard_controller(self) -> None:
        self.controller_heard = self.clock()
        self._heard_mono = time.monotonic()
        if self.lost is not None:
            kind, detail = self.lost
            self.lost = None
            self.log.info("controller_back", after=kind)
            self._publish_fault("cleared", kind, f"the controller is heard again (was: {detail})", "none", [])
            self._publish_state()

    # -- commands ------------------------------------------------------------------------------------
    def _handle(self, topic: str, payload: bytes) -> None:
        checked = self.gate.check(topic, payload)
        if isinstance(checked, Rejection) and (checked.command, checked.reason) == ("keepalive", "expired"):
            self.metrics.stale_keepalives.inc()  # queued for us while we were away: not an attempt at anything
            return
        if isinstance(checked, Rejection):
            self._refuse(checked.command, checked.id, checked.reason, checked.detail)
            return
        command: BlockerCommand = checked  # type: ignore[assignment]
        self._heard_controller()
        if command.command == "keepalive":
            return
        refused = refusal(command, self.config, self.fault is not None, self.actuator.sets_power)
        if refused is not None:
            self._refuse(command.command, command.id, *refused)
            return
        self._ack(command.command, command.id, "accepted", None, "checks passed")
        try:
            detail = self._execute(command)
        except ActuatorFault as exc:
            self.refusals["actuator"] += 1
            self.metrics.refused["actuator"].inc()
            self._ack(command.command, command.id, "failed", "actuator", str(exc))
            self._set_fault(str(exc))
            return
        self.applied += 1
        self.metrics.applied.inc()
        self.log.info("applied", command=command.command, id=command.id, detail=detail)
        self._ack(command.command, command.id, "applied", None, detail)
        self._publish_state()

    def _execute(self, command: BlockerCommand) -> str:
        params = command.params
        if isinstance(params, SetBlockingParams):
            self.unit.set_blocking(params.zone, params.bands, params.on)
            return f"{', '.join(params.bands)} {'on' if params.on else 'off'} for {params.zone}"
        if isinstance(params, SetPowerParams):
            self.unit.set_power(params.band, params.power_dbm)
            return f"{params.band} at {params.power_dbm} dBm"
        if isinstance(params, SetFailsafeParams):
            self.failsafe = FailsafeSetting(state=params.state, timeout_s=params.timeout_s)
            return f"fail-safe {params.state} after {params.timeout_s} s of silence"
        assert isinstance(params, AllOffParams)
        was_on = self.unit.all_off()
        self.log.warning("all_off", reason=params.reason, bands=",".join(was_on) or "none")
        return f"every band off ({params.reason})"

    def _refuse(self, name: str, command_id: str | None, reason: RefusalReason, detail: str) -> None:
        self.refusals[reason] += 1
        self.metrics.refused[reason].inc()
        self.log.warning("refused", command=name, id=command_id, reason=reason, detail=detail)
        self._ack(name, command_id, "refused", reason, detail)

    # -- messages ------------------------------------------------------------------------------------
    def _head(self) -> dict:
        return {"site": self.config.site, "sender": self.config.blocker_id, "ts": self.clock(), "seq": 1}

    def _ack(self, name: str, command_id: str | None, result: str, reason: str | None, detail: str) -> None:
        ack = BlockerAck(
            **self._head(),
            command=name[:64],
            id=command_id,
            result=result,
            reason=reason,
            detail=detail[:1000],
            bands_on=self.unit.bands_on(),
        )
        self.publisher.send(ack, f"cmd/{name[:64]}/state")

    def state_message(self) -> BlockerState:
        return BlockerState(
            **self._head(),
            mode=self.mode,
            detail=self._detail(),
            bands=self.unit.snapshot(),
            zones=self.config.zones,
            failsafe=self.failsafe,
            actuator=self.actuator.description,
            started_at=self.started_at,
            software_version=cellward.__version__,
        )

    def _publish_state(self) -> None:
        self.state_seq = self.publisher.send(self.state_message(), "state", retain=True)
        self.metrics.set_state(self.mode, self.unit.bands_on())

    def _publish_fault(self, event: str, kind: str, detail: str, action: str, bands: list[str]) -> None:
        fault = BlockerFault(**self._head(), event=event, kind=kind, detail=detail[:500], action=action, bands=bands)
        self.publisher.send(fault, "faults")

    def _maybe_heartbeat(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self.config.heartbeat_interval_s
        heartbeat = BlockerHeartbeat(
            **self._head(),
            interval_s=self.config.heartbeat_interval_s,
            uptime_s=max(0.0, self.clock() - self.started_at),
            mode=self.mode,
            bands_on=self.unit.bands_on(),
            state_seq=self.state_seq,
            controller_heard=self.controller_heard,
            commands_applied=self.applied,
            refusals=dict(self.refusals),
            mqtt_reconnects=self.publisher.reconnects,
            spool_depth=self.spool.depth,
            clock=self.clock_monitor.state(),
        )
        self.publisher.send(heartbeat, "heartbeat")

    def _update_metrics(self) -> None:
        self.metrics.controller_silence_s.set(self._silence_s() or 0.0)
        self.metrics.mqtt_connected.set(1 if self.publisher.connected.is_set() else 0)
        self.metrics.spool_depth.set(self.spool.depth)

    def health(self) -> tuple[bool, dict]:
        """Healthy when the loop turned recently and the actuator is not in fault."""
        loop_age_s = time.monotonic() - self._last_loop
        return self.fault is None and loop_age_s < 10.0, {
            "mode": self.mode,
            "detail": self._detail(),
            "bands_on": self.unit.bands_on(),
            "loop_age_s": round(loop_age_s, 3),
            "mqtt_connected": self.publisher.connected.is_set(),
            "spool_depth": self.spool.depth,
        }

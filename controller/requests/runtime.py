"""The requests part of a running controller: workflow, outbox delivery, order polling, expiry and retention."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cellward.signing import NodeKey
from controller.audit.checkpoint import write_checkpoint
from controller.events import LifecycleEvent
from controller.evidence.build import EvidenceSources
from controller.operators.adapter import DeliveryError
from controller.operators.outbox import OutboxDispatcher, outgoing
from controller.operators.outbox_model import OutboxMessage
from controller.operators.registry import build_adapters
from controller.requests.config import RequestsConfig, WebhookRoute
from controller.requests.errors import WorkflowError
from controller.requests.lifecycle import OPEN_ORDER
from controller.requests.models import DisconnectionRequest
from controller.requests.retention import purge_detection_data
from controller.requests.workflow import RequestWorkflow

log = logging.getLogger("cellward.controller.requests")
EXPIRY_EVERY_S = 60.0
RETENTION_EVERY_S = 3600.0
CHECKPOINT_EVERY_S = 3600.0


def load_or_create_key(path: Path, sender: str) -> NodeKey:
    """The signing key at `path`, created (mode 0600) on first use; its public key is logged to publish."""
    if Path(path).is_file():
        return NodeKey.load(path, sender)
    key = NodeKey.generate(sender)
    key.save(path)
    log.warning("event=signing_key_created sender=%s path=%s public_key=%s", sender, path, key.public_b64)
    return key


class RequestsRuntime:
    """Owns the workflow and one background thread that runs the periodic jobs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: RequestsConfig,
        sources: EvidenceSources,
        tz: ZoneInfo,
        signer: NodeKey | None = None,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[LifecycleEvent], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        if signer is None:
            if config.signing_key_file is None:
                raise ValueError("requests.signing_key_file is not set and no signer was given")
            signer = load_or_create_key(config.signing_key_file, config.signer_id or "controller")
        self.workflow = RequestWorkflow(sessions, config, sources, signer, tz, clock, on_change)
        self.adapters = build_adapters(config.operators)
        self.dispatcher = OutboxDispatcher(
            sessions,
            self.adapters,
            config.outbox,
            self.workflow.on_delivered,
            self.workflow.pack_path_of,
            self.workflow.should_send,
            clock,
        )
        polled = [r.poll_interval_s for r in config.operators.values() if isinstance(r, WebhookRoute)]
        self.poll_every_s = min(polled, default=60.0)
        self._last = {"poll": 0.0, "expiry": 0.0, "retention": 0.0, "checkpoint": 0.0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_controller(cls, controller) -> RequestsRuntime:
        """Built from a running controller's config, site and sessions (controller.runtime.Controller)."""
        from dsp.band_plan import BandPlan

        config = controller.config
        sources = EvidenceSources(
            site=controller.site,
            band_plan=BandPlan.load(),
            register=config.authorised_devices,
            clock_tolerance_s=config.alerts.clock_drift.max_offset_s,
            site_id=config.site_id,
        )
        requests = config.requests
        key_file = requests.signing_key_file or config.signing_key_file  # one published key for MQTT and packs
        signer = load_or_create_key(key_file, requests.signer_id or config.controller_id)
        return cls(
            controller.sessions, requests, sources, config.tz, signer, controller.clock, controller.publish_lifecycle
        )

    def poll_orders(self) -> int:
        """Ask operators whose channel allows it about open orders; record any change of status."""
        changed = 0
        with self.sessions() as db:
            rows = db.execute(
                select(DisconnectionRequest, OutboxMessage)
                .join(OutboxMessage, OutboxMessage.request_id == DisconnectionRequest.id)
                .where(DisconnectionRequest.status.in_(OPEN_ORDER), OutboxMessage.kind == "issue")
            ).all()
        for request, message in rows:
            adapter = self.adapters.get(request.operator)
            if adapter is None:
                continue
            try:
                result = adapter.poll(outgoing(message, request.pack_path), request.operator_reference)
            except DeliveryError as exc:
                log.warning("event=poll_failed request=%s operator=%s error=%s", request.id, request.operator, exc)
                continue
            if result is None or result.status in ("submitted", request.status):
                continue
            try:
                self.workflow.record_operator_status(
                    f"operator:{request.operator}", request.id, result.status, result.reference, result.reason
                )
                changed += 1
            except WorkflowError as exc:
                log.warning(
                    "event=poll_status_refused request=%s error=%s detail=%s",
                    request.id,
                    exc,
                    json.dumps(result.detail),
                )
        return changed

    def purge(self) -> dict:
        with self.sessions() as db:
            counts = purge_detection_data(db, self.clock(), self.config.retention_days, self.config.snippet_dir)
            db.commit()
            return counts

    def checkpoint(self) -> None:
        """Sign the audit chain's head with the pack signing key (hourly)."""
        with self.sessions() as db:
            write_checkpoint(db, self.workflow.signer, self.clock())
            db.commit()

    def tick(self) -> None:
        """One round of the periodic jobs; each due one runs, failures are logged and retried next round."""
        now = self.clock()
        self.dispatcher.run_once()
        for job, every, run in (
            ("poll", self.poll_every_s, self.poll_orders),
            ("expiry", EXPIRY_EVERY_S, self.workflow.expire_due),
            ("retention", RETENTION_EVERY_S, self.purge),
            ("checkpoint", CHECKPOINT_EVERY_S, self.checkpoint),
        ):
            if now - self._last[job] >= every:
                self._last[job] = now
                run()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="requests-runtime", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database or network hiccup must not end delivery; state stays in the DB
                log.exception("event=requests_tick_failed")
            self._stop.wait(self.config.outbox.poll_s)

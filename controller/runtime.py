"""The running controller: config, database, site, accounts, incidents, alerts, ingest and periodic jobs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import text

from cellward.site.neighbours import neighbouring_cells
from controller.accounts import Accounts
from controller.alerts import AlertEngine
from controller.audit import hooks as audit_hooks
from controller.audit.config_change import record_config
from controller.blocking.control import BlockingControl
from controller.captures import resolve_in_flight
from controller.config import ControllerConfig
from controller.db.base import make_engine, make_session_factory
from controller.db.checkpoint import WalCheckpointer
from controller.db.migrate import upgrade_database
from controller.events import EventBus, LifecycleEvent
from controller.incidents import IncidentEngine
from controller.metrics import ControllerMetrics
from controller.snippet_receiver import SnippetReceiver
from controller.spectrum_relay import SpectrumRelay
from controller.suppression import Suppressor

if TYPE_CHECKING:
    from cellward.site import Site
    from controller.ingest import Ingest
    from controller.requests.runtime import RequestsRuntime

log = logging.getLogger("cellward.controller")


class Controller:
    """Everything the API and ingest share; `start()` migrates the database and starts ingest."""

    def __init__(self, config: ControllerConfig, site: Site, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.site = site
        self.clock = clock
        self.engine = make_engine(config.database.url, checkpoint_on_commit=False)
        sqlite = self.engine.dialect.name == "sqlite"
        self.checkpointer = WalCheckpointer(self.engine) if sqlite else None  # started with the controller
        self.sessions = make_session_factory(self.engine)
        audit_hooks.install(self.sessions)  # logins, user admin, incident transitions/notes, alert acks
        self.metrics = ControllerMetrics()
        self.bus = EventBus()
        self.accounts = Accounts(self.sessions, config.auth)
        self.alerts = AlertEngine(config.alerts, clock)
        self.suppressor = Suppressor(
            config.tz,
            config.authorised_zones,
            config.authorised_devices,
            always_authorised_zones=[zone.id for zone in site.zones if zone.phones_authorised],
        )
        self.incidents = IncidentEngine(
            self.sessions,
            config.incidents,
            self.alerts,
            self.suppressor,
            config.lockup_hours,
            config.tz,
            self.bus,
            clock,
            neighbouring_cells(site),
        )
        self.ingest: Ingest | None = None
        self.requests: RequestsRuntime | None = None  # disconnection requests, when configured
        self.blocking = BlockingControl(self)
        self.spectra = SpectrumRelay(clock)  # live sensor spectra for the web view (never stored)
        self.snippets = SnippetReceiver(self)  # IQ snippets delivered for incidents
        self.started_at = clock()

    @classmethod
    def from_config(cls, config: ControllerConfig, clock: Callable[[], float] = time.time) -> Controller:
        from cellward.site import load_site

        return cls(config, load_site(config.site_file), clock)

    def start(self, with_ingest: bool = True) -> None:
        upgrade_database(self.engine)
        if self.checkpointer is not None:
            self.checkpointer.start()
        record_config(self.sessions, self.config, self.config.site_id)
        self.accounts.bootstrap()
        self.incidents.load_open()
        waiting, expired = resolve_in_flight(self)
        if waiting or expired:
            log.info("event=captures_in_flight site=%s waiting=%d expired=%d", self.config.site_id, waiting, expired)
        if with_ingest:
            from controller.ingest import Ingest

            self.ingest = Ingest(self)
            self.ingest.start()
        if self.config.requests is not None:
            from controller.requests.runtime import RequestsRuntime

            self.requests = RequestsRuntime.for_controller(self)
            self.requests.start()
        log.info("event=controller_started site=%s ingest=%s", self.config.site_id, with_ingest)

    def stop(self) -> None:
        if self.requests is not None:
            self.requests.stop()
            self.requests = None
        if self.ingest is not None:
            self.ingest.stop()
            self.ingest = None
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
        log.info("event=controller_stopped site=%s", self.config.site_id)

    def publish_lifecycle(self, event: LifecycleEvent) -> None:
        """On MQTT only (not the live stream, which every reader sees): request changes for the estate."""
        if self.ingest is not None:
            self.ingest.publisher.lifecycle(event)

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # readiness reports it; the reason is logged
            log.exception("event=database_unreachable site=%s", self.config.site_id)
            return False

    @property
    def mqtt_connected(self) -> bool:
        return self.ingest is not None and self.ingest.connected

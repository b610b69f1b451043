"""The site's scan focus as this node obeys it (cellward.scan_focus/1, firmware-interface/data-format.md).

Only a focus that parses, names this site and is signed by the controller keyring is taken, and only when
its `seq` is above the held one's or the held one has expired (a controller whose database was replaced
counts from 1 again); anything else is refused and counted and changes nothing. An expired focus is
ignored by the scan schedule, which then revisits what the node heard itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cellward.messages import ScanFocus, epoch_s
from cellward.signing import Keyring
from sensors.controller_messages import checked_from_controller
from sensors.scan_plan import SiteFocus
from sensors.structured_log import node_logger


class FocusReceiver:
    def __init__(self, site: str, node_id: str, keyring: Keyring, clock: Callable[[], float]) -> None:
        self.site = site
        self.keyring = keyring
        self.clock = clock
        self.log = node_logger("cellward.sensor.scan_focus", site=site, sensor=node_id)
        self.rejected = 0
        self._lock = threading.Lock()
        self._latest: SiteFocus | None = None

    @property
    def latest(self) -> SiteFocus | None:
        with self._lock:
            return self._latest

    def receive(self, payload: bytes) -> bool:
        """Take one focus message; False when it is refused (counted) or not newer than the one held."""
        try:
            focus = checked_from_controller(payload, ScanFocus, self.site, self.keyring)
        except ValueError as exc:
            self.rejected += 1
            self.log.warning("scan_focus_rejected", detail=str(exc)[:300])
            return False
        with self._lock:
            held = self._latest
            if held is not None and focus.seq <= held.seq and self.clock() < held.expires_s:
                return False  # a retained copy or a replay of one already taken
            self._latest = SiteFocus(tuple(focus.channels_hz), epoch_s(focus.ts) + focus.valid_s, focus.seq)
        return True

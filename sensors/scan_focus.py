"""The site's scan focus as this node obeys it (cellward.scan_focus/1, firmware-interface/data-format.md).

Only a focus that parses, names this site and is signed by the controller keyring is taken, and only when
its `seq` is above the held one's or the held one has expired (a controller whose database was replaced
counts from 1 again); anything else is refused and counted and changes nothing. A focus is obeyed from its
`ts` plus FOCUS_APPLIES_AFTER_S, so that every sensor changes at the same slot. An expired focus is ignored
by the scan schedule, which then revisits what the node heard itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cellward.messages import ScanFocus, epoch_s
from cellward.signing import Keyring
from sensors.controller_messages import checked_from_controller
from sensors.scan_plan import FocusHistory, SiteFocus
from sensors.structured_log import node_logger


class FocusReceiver:
    def __init__(self, site: str, node_id: str, keyring: Keyring, clock: Callable[[], float]) -> None:
        self.site = site
        self.keyring = keyring
        self.clock = clock
        self.log = node_logger("cellward.sensor.scan_focus", site=site, sensor=node_id)
        self.rejected = 0
        self._lock = threading.Lock()
        self._taken = FocusHistory()

    def at(self, epoch_s: float) -> SiteFocus | None:
        """The focus in force at `epoch_s` (a slot's start): the newest taken whose time had come by then."""
        with self._lock:
            return self._taken.at(epoch_s)

    def receive(self, payload: bytes) -> bool:
        """Take one focus message; False when it is refused (counted) or not newer than the one held."""
        try:
            focus = checked_from_controller(payload, ScanFocus, self.site, self.keyring)
        except ValueError as exc:
            self.rejected += 1
            self.log.warning("scan_focus_rejected", detail=str(exc)[:300])
            return False
        written_s = epoch_s(focus.ts)
        with self._lock:
            held = self._taken.newest
            if held is not None and focus.seq <= held.seq and self.clock() < held.expires_s:
                return False  # a retained copy or a replay of one already taken
            self._taken.add(SiteFocus.written(focus, written_s))
        return True

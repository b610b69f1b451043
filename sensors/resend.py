"""The controller's acks applied to the spool: forget what it stored, send again what it is missing.

An ack (cellward.ack/1, on cellward/<site>/controller/ack/<sensor>) is obeyed only if it parses, names
this sensor and site, and carries a valid signature from the controller keyring; anything else is
counted in `rejected` and changes nothing. Acks are idempotent, so a replayed or older one can only
release messages the controller had stored and ask again for some it already has (which it then drops
as duplicates by `seq`).
"""

from __future__ import annotations

import threading

from cellward.messages import ControllerAck, epoch_s
from cellward.messages.ack import MAX_MISSING_LISTED
from cellward.signing import Keyring
from sensors.controller_messages import checked_from_controller
from sensors.spool import Spool
from sensors.structured_log import node_logger


class AckReceiver:
    def __init__(
        self,
        site: str,
        sensor_id: str,
        keyring: Keyring,
        spool: Spool,
        resend_after_s: float,
        wake: threading.Event,
    ) -> None:
        self.site = site
        self.sensor_id = sensor_id
        self.keyring = keyring
        self.spool = spool
        self.resend_after_s = resend_after_s
        self.wake = wake  # the sender's: requeued messages go out at once
        self.log = node_logger("cellward.sensor.acks", site=site, sensor=sensor_id)
        self.accepted = 0
        self.rejected = 0
        self.released = 0
        self.resent = 0
        self._highest: dict[str, int] = {}  # per stream, the controller's highest seq in the previous ack

    def receive(self, payload: bytes) -> bool:
        """Apply one ack; False (and counted) when it is refused."""
        try:
            ack = self._check(payload)
        except ValueError as exc:
            self.rejected += 1
            self.log.warning("ack_rejected", detail=str(exc)[:300])
            return False
        # only what the broker took well before the controller wrote the ack can be judged lost by it: a
        # message sent later (or still queued behind a backlog at the controller) is on its way, not missing;
        # each resend of a message doubles the wait, so a controller far behind is not flooded with copies
        judged_at = epoch_s(ack.ts)
        released = resent = 0
        why = []
        for stream in ack.streams:
            # everything received is stored, gaps aside; a full `missing` list says nothing beyond its last seq
            complete = len(stream.missing) < MAX_MISSING_LISTED
            received_to = stream.highest_seq if complete else max(stream.missing)
            released += self.spool.release(
                stream.name, max(stream.through_seq, received_to), stream.missing, from_seq=max(1, stream.first_seq)
            )
            # a held message above what the controller has seen was lost by the broker only if the controller
            # has stopped advancing on this stream (while it still catches up on a backlog, it is on its way)
            stalled = self._highest.get(stream.name) == stream.highest_seq
            self._highest[stream.name] = stream.highest_seq
            again = self.spool.requeue(
                stream.name,
                stream.missing,
                above_seq=stream.highest_seq if stalled else None,
                below_seq=stream.first_seq,  # never received: published before the controller first listened
                judged_at=judged_at,
                wait_s=self.resend_after_s,
            )
            if again:
                why.append(f"{stream.name}:{again}:missing={len(stream.missing)}:highest={stream.highest_seq}")
            resent += again
        self.accepted += 1
        self.released += released
        self.resent += resent
        if resent:
            self.log.warning("ack_resend", messages=resent, held=self.spool.held, ack_seq=ack.seq, why=",".join(why))
            self.wake.set()
        return True

    def _check(self, payload: bytes) -> ControllerAck:
        ack = checked_from_controller(payload, ControllerAck, self.site, self.keyring)
        if ack.target != self.sensor_id:
            raise ValueError(f"ack addressed to {ack.site}/{ack.target}, not to this sensor")
        return ack

"""One bridged lifecycle message checked and applied to the estate database.

A message counts only if its topic is cellward/<site>/controller/{incidents,alerts,requests} of a configured site,
it is signed by that site's controller key, it parses, and its `site` is the topic's. Rows keep the
latest state by the message's `seq`, so redeliveries and out-of-order arrivals change nothing; gaps in a
site's seq are kept as `missing` (a late arrival fills them), so loss over the bridge is measured.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session

from cellward.messages.wire_time import WIRE_CONTEXT
from cellward.signing import Keyring, SignatureError, verify_message
from controller.central.tables import CentralAlert, CentralIncident, CentralRequest, CentralStream
from controller.wire import (
    ALERT_SCHEMA,
    INCIDENT_SCHEMA,
    REQUEST_SCHEMA,
    AlertLifecycle,
    IncidentLifecycle,
    RequestLifecycle,
)

LEAVES = {
    "incidents": (INCIDENT_SCHEMA, IncidentLifecycle),
    "alerts": (ALERT_SCHEMA, AlertLifecycle),
    "requests": (REQUEST_SCHEMA, RequestLifecycle),
}
Lifecycle = IncidentLifecycle | AlertLifecycle | RequestLifecycle
TABLES = {IncidentLifecycle: CentralIncident, AlertLifecycle: CentralAlert, RequestLifecycle: CentralRequest}


class Rejected(ValueError):  # noqa: N818 - carries the counted reason, as the pipeline's does
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class CentralStore:
    def __init__(self, sites: dict[str, Path]) -> None:
        self.keyrings = {site: Keyring.load(path) for site, path in sites.items()}
        self.counts: Counter[str] = Counter()  # accepted, duplicate, and each rejection reason

    def check(self, topic: str, payload: bytes) -> Lifecycle:
        parts = topic.split("/")
        if len(parts) != 4 or parts[0] != "cellward" or parts[2] != "controller" or parts[3] not in LEAVES:
            raise Rejected("bad_topic", f"not a site controller's lifecycle topic: {topic}")
        site, leaf = parts[1], parts[3]
        keyring = self.keyrings.get(site)
        if keyring is None:
            raise Rejected("unknown_site", f"site {site!r} is not in central.yaml")
        try:
            wire = json.loads(payload)
            verify_message(wire, keyring)
            message = LEAVES[leaf][1].model_validate(wire, context=WIRE_CONTEXT)
        except (ValueError, UnicodeDecodeError, TypeError, AttributeError) as exc:
            reason = "invalid" if isinstance(exc, ValidationError) else "bad_json"
            raise Rejected(reason, str(exc)[:300]) from None
        except SignatureError as exc:
            raise Rejected("bad_signature", str(exc)) from None
        if message.site != site:
            raise Rejected("site_mismatch", f"a message of site {message.site} on {topic}")
        return message

    def apply(self, db: Session, message: Lifecycle) -> bool:
        """Record the seq and upsert the row; False for a message already applied (or an older state)."""
        if not self._sequence(db, message.site, message.schema_name, message.seq):
            self.counts["duplicate"] += 1
            return False
        after = message.after.model_dump(mode="json", by_alias=True)
        model = TABLES[type(message)]
        row = db.get(model, (message.site, message.id))
        if row is not None and row.seq > message.seq:
            self.counts["older_state"] += 1
            return False
        if row is None:
            row = model(site_id=message.site, id=message.id)
            db.add(row)
        row.seq, row.lifecycle, row.state, row.received_at = message.seq, message.type, after, time.time()
        if isinstance(message, IncidentLifecycle):
            row.status, row.cell_id, row.wing = after["status"], after["cell_id"], after["wing"]
            row.landing = after["landing"]
            row.technology, row.freq_hz, row.suppressed = after["technology"], after["freq_hz"], after["suppressed"]
            row.first_seen, row.last_seen = after["first_seen"], after["last_seen"]
        elif isinstance(message, AlertLifecycle):
            row.rule, row.severity, row.active = after["rule"], after["severity"], after["active"]
            row.incident_id = after["incident_id"]
        else:
            row.status, row.operator, row.case_id = after["status"], after["operator"], after["case_id"]
            row.incident_ids, row.changed_by, row.updated_at = (
                after["incident_ids"],
                after["changed_by"],
                after["updated_at"],
            )
        db.flush()  # the same batch may carry this row's next message: let get() find it
        self.counts["accepted"] += 1
        return True

    @staticmethod
    def _sequence(db: Session, site: str, name: str, seq: int) -> bool:
        stream = db.get(CentralStream, (site, name))
        if stream is None:
            db.add(
                CentralStream(site_id=site, message_name=name, highest_seq=seq, received=1, duplicates=0, missing=[])
            )
            db.flush()
            return True
        if seq > stream.highest_seq:
            stream.missing = [*stream.missing, *range(stream.highest_seq + 1, seq)][-10_000:]
            stream.highest_seq, stream.received = seq, stream.received + 1
            return True
        if seq in stream.missing:
            stream.missing = [m for m in stream.missing if m != seq]
            stream.received += 1
            return True
        stream.duplicates += 1
        return False

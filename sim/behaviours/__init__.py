"""Phone behaviours, one module per family, and the registry scenario files name them by."""

from __future__ import annotations

from sim.behaviours import gsm_call, gsm_signalling, lte_data, lte_idle, nr_data
from sim.behaviours.behaviour import Behaviour

BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        gsm_call.BEHAVIOUR,
        gsm_signalling.SMS,
        gsm_signalling.LOCATION_UPDATE,
        lte_data.BEHAVIOUR,
        lte_idle.BEHAVIOUR,
        nr_data.BEHAVIOUR,
    )
}

"""Decides whether a sighting is allowed: authorised zones, authorised devices, the site's own blockers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from controller.config import AuthorisedDevice, AuthorisedZone
from controller.sighting import Sighting

# A hook returns a reason when the sighting is one of the site's own emissions (the blocking part
# registers one that knows which blocker is radiating on which channel right now), else None.
EmissionHook = Callable[[Sighting], str | None]
OWN_EMISSION = "own emission: "  # how such a reason begins


class Suppressor:
    """First matching rule wins; returns the reason shown on the suppressed incident, or None."""

    def __init__(
        self,
        tz: ZoneInfo,
        authorised_zones: Iterable[AuthorisedZone] = (),
        authorised_devices: Iterable[AuthorisedDevice] = (),
        always_authorised_zones: Iterable[str] = (),
    ) -> None:
        self.tz = tz
        self.zones = list(authorised_zones)
        self.devices = list(authorised_devices)
        self.always_authorised = set(always_authorised_zones)
        self.emission_hooks: list[EmissionHook] = []

    def add_emission_hook(self, hook: EmissionHook) -> None:
        """Used by the blocking part to mark the site's own blocker emissions."""
        self.emission_hooks.append(hook)

    def own_emission(self, sighting: Sighting) -> str | None:
        """Why the sighting may be the site's own emission (a blocker on over its place), or None."""
        for hook in self.emission_hooks:
            why = hook(sighting)
            if why:
                return OWN_EMISSION + why
        return None

    def reason(self, sighting: Sighting, own_emissions: bool = True) -> str | None:
        """`own_emissions`: False to judge only the place and the device (an incident that moved)."""
        why = self.own_emission(sighting) if own_emissions else None
        if why:
            return why
        local = datetime.fromtimestamp(sighting.start_s, self.tz)
        if sighting.zone is not None and sighting.zone in self.always_authorised:
            return f"phones authorised in zone {sighting.zone}"
        for zone in self.zones:
            if zone.zone == sighting.zone and zone.schedule.active(local):
                return f"{zone.reason} ({zone.zone})"
        for device in self.devices:
            if _device_matches(device, sighting) and device.schedule.active(local):
                return f"authorised device {device.id}" + (f": {device.description}" if device.description else "")
        return None


def _device_matches(device: AuthorisedDevice, sighting: Sighting) -> bool:
    if device.rooms and sighting.cell_id not in device.rooms:
        return False
    if device.zones and sighting.zone not in device.zones:
        return False
    if device.freq_min_hz is not None and sighting.freq_hz < device.freq_min_hz:
        return False
    if device.freq_max_hz is not None and sighting.freq_hz > device.freq_max_hz:
        return False
    return not device.technologies or sighting.technology in device.technologies

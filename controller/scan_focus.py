"""The site's scan focus (cellward.scan_focus/1): the channels any sensor reported phone uplink on lately, and
the GSM control carriers' uplinks the config lists.

Published retained and signed, so every sensor spends its revisit slots on the same tunings and several of
them hear each burst there too, as in the regular hop (firmware-interface/data-format.md, "Site scan focus").
A sensor on its own revisits only what it heard itself, so in revisit slots it would listen alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cellward.messages import (
    SCAN_FOCUS_SCHEMA,
    DetectionBatch,
    ReportColumns,
    ScanFocus,
    epoch_s,
    parse_utc,
    scan_focus_topic,
    utc_text,
)
from controller.config import ScanFocusConfig
from controller.locating import PHONE_TECHNOLOGIES
from controller.publisher import Publisher
from sensors.scan_plan import FocusHistory, SiteFocus

log = logging.getLogger("cellward.controller.scan_focus")


class RecentPhoneChannels:
    """Channels with phone uplink heard within `active_s`, by the end of their last burst."""

    def __init__(self, config: ScanFocusConfig) -> None:
        self.config = config
        self.last_heard_s: dict[int, float] = {}  # channel centre (Hz) -> end of the last phone burst on it

    def note(self, batch: DetectionBatch, columns: ReportColumns | None = None) -> None:
        """Take the phone channels of one stored detections batch (`columns`: its reports as columns, if made)."""
        table = ReportColumns.of(batch.reports) if columns is None else columns
        for technology, freq_hz, heard in zip(table.technology, table.freq_hz, table.last_burst_s, strict=True):
            if technology in PHONE_TECHNOLOGIES:
                channel = round(freq_hz)
                if heard > self.last_heard_s.get(channel, -float("inf")):
                    self.last_heard_s[channel] = heard

    def current(self, now_s: float) -> list[int]:
        """The channels heard within `active_s`, the most recent `max_channels`, ascending."""
        config = self.config
        self.last_heard_s = {ch: t for ch, t in self.last_heard_s.items() if now_s - t <= config.active_s}
        recent = sorted(self.last_heard_s, key=self.last_heard_s.__getitem__, reverse=True)[: config.max_channels]
        return sorted(recent)


class ScanFocusPublisher:
    def __init__(self, publisher: Publisher, config: ScanFocusConfig, clock: Callable[[], float] = time.time) -> None:
        self.publisher = publisher
        self.config = config
        self.clock = clock
        self.recent = RecentPhoneChannels(config)
        self.published = 0
        self._sent: list[int] | None = None
        self._sent_at = -float("inf")
        self._due = True
        self._history = FocusHistory()

    def site_focus(self, epoch_s: float) -> SiteFocus | None:
        """The focus the sensors obeyed at `epoch_s`, as published (None before the first was in force)."""
        return self._history.at(epoch_s)

    def refresh(self) -> None:
        """Publish at the next tick even if nothing changed (after a reconnect the broker may have lost it)."""
        self._due = True

    def tick(self, connected: bool) -> bool:
        """Publish the focus if it changed, was asked for, or would expire soon; True when published."""
        now = self.clock()
        if not connected or now - self._sent_at < self.config.interval_s:
            return False
        channels = self.recent.current(now)
        if not (self._due or channels != self._sent or now - self._sent_at >= self.config.valid_s / 2):
            return False
        publisher = self.publisher
        written = parse_utc(utc_text(now))  # the time as the sensors read it (ms on the wire): the same instants
        focus = ScanFocus(
            site=publisher.site,
            sender=publisher.sender,
            ts=written,
            seq=publisher.next_seq(SCAN_FOCUS_SCHEMA),
            channels_hz=[float(ch) for ch in channels],
            control_channels_hz=sorted(self.config.control_channels_hz),
            valid_s=self.config.valid_s,
        )
        publisher.publish_signed(scan_focus_topic(publisher.site), focus, retain=True)
        if channels != self._sent:
            log.info("event=scan_focus site=%s channels=%d", publisher.site, len(channels))
        self._sent, self._sent_at, self._due = channels, now, False
        self.published += 1
        self._history.add(SiteFocus.written(focus, epoch_s(written)))
        return True

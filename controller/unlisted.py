"""What sensors heard but did not list: a report lists its window's first bursts only (the sensor caps the
list, and the controller correlates the first `bursts_per_report` of it), so from its last listed burst to
the end of its window a sensor that heard more may have heard any burst there. For a burst in such a span the
sensor is neither a hearer nor a sensor that listened in vain; counted as a miss, it would push the burst's
location away from where the phone is (a sensor beside a phone in a call lists a window's first bursts, and
a burst later in the window heard by two far sensors whose windows started later looked like a phone
beside them)."""

from __future__ import annotations

from collections import defaultdict

SPANS_KEPT_S = 30.0  # data time a span is kept past its end: longer than any wait for a window's reports


class UnlistedSpans:
    def __init__(self) -> None:
        # channel (index on the report raster) -> sensor -> spans (start, end), UTC epoch s
        self._spans: defaultdict[int, defaultdict[str, list[tuple[float, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def add(self, channel: int, sensor_id: str, start_s: float, end_s: float) -> None:
        if end_s > start_s:
            self._spans[channel][sensor_id].append((start_s, end_s))

    def covering(self, channel: int, at_s: float) -> set[str]:
        """The sensors that may have heard something at `at_s` on `channel` without listing it."""
        by_sensor = self._spans.get(channel)
        if not by_sensor:
            return set()
        return {sensor for sensor, spans in by_sensor.items() if any(a <= at_s < b for a, b in spans)}

    def forget_before(self, horizon_s: float) -> None:
        """Drop spans that ended SPANS_KEPT_S before `horizon_s` (data time): nothing that old is located."""
        cutoff = horizon_s - SPANS_KEPT_S
        for channel in list(self._spans):
            by_sensor = self._spans[channel]
            for sensor in list(by_sensor):
                kept = [span for span in by_sensor[sensor] if span[1] >= cutoff]
                if kept:
                    by_sensor[sensor] = kept
                else:
                    del by_sensor[sensor]
            if not by_sensor:
                del self._spans[channel]

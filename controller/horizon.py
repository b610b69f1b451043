"""When a window's reports are all in: the correlation horizon, waiting as long as reports lately straggled.

Sensors report a window after it closes, at about the same moment, but not at one instant: a Pi on a busy
network, a loaded broker, or many simulated sensors publishing one after another spread the reports of one
window over tenths of a second. Locating a window before its last reports arrive splits one phone's
emission into a part heard by the early sensors and parts heard by each late one, each placed on its own:
the demo's staff phone in an office, heard by 40 sensors, came out as one emission of 20 sensors in wing C
and twenty single-sensor ones.

So the horizon (the latest window end among reports that arrived at least `wait_s` ago) waits for the
spread seen lately: per window end, the first and the last arrival; `wait_s` is the largest spread over the
windows of the last SPREAD_MEMORY_S of data time plus a margin, never below `min_wait_s` and never above
`max_wait_s`. A report more than RESEND_AFTER_S after its window's first one (a resend after an outage, a
sensor whose clock jumped) does not count towards the spread; it is still correlated, with whatever is left.
"""

from __future__ import annotations

from collections import deque

SPREAD_MEMORY_S = 30.0  # the wait follows the spread of this much recent data time
SPREAD_MARGIN_S = 0.05  # beyond the largest spread seen: scheduling jitter of the next window
RESEND_AFTER_S = 5.0  # a report this long after its window's first is a resend, not a straggler


class ArrivalHorizon:
    """The latest window end among reports that arrived at least `wait_s` ago, with `wait_s` adapted to how
    far apart the reports of one window arrived lately."""

    def __init__(self, min_wait_s: float, max_wait_s: float) -> None:
        if not 0.0 <= min_wait_s <= max_wait_s:
            raise ValueError(f"need 0 <= min_wait_s <= max_wait_s, got {min_wait_s}, {max_wait_s}")
        self.min_wait_s = min_wait_s
        self.max_wait_s = max_wait_s
        self.horizon_s = float("-inf")
        self._arrivals: deque[tuple[float, float]] = deque()  # (arrived at, latest window end in it)
        self._windows: dict[float, list[float]] = {}  # window end -> [first arrival, last arrival counted]
        self._latest_end_s = float("-inf")
        self._wait_s = min_wait_s

    @property
    def wait_s(self) -> float:
        return self._wait_s

    def arrived(self, received_at: float, window_ends_s: list[float]) -> None:
        """A report batch covering windows ending at `window_ends_s` arrived at `received_at`."""
        if not window_ends_s:
            return
        for end_s in set(window_ends_s):
            seen = self._windows.get(end_s)
            if seen is None:
                self._windows[end_s] = [received_at, received_at]
            elif received_at - seen[0] <= RESEND_AFTER_S:
                seen[1] = max(seen[1], received_at)
                self._wait_s = max(self._wait_s, self._clamped(seen[1] - seen[0]))
        latest = max(window_ends_s)
        self._arrivals.append((received_at, latest))
        if latest > self._latest_end_s:
            self._latest_end_s = latest
            self._forget_old_windows()

    def advance(self, now_s: float) -> float:
        """The horizon counting every arrival at least `wait_s` before `now_s`."""
        settled_s = now_s - self._wait_s
        while self._arrivals and self._arrivals[0][0] <= settled_s:
            self.horizon_s = max(self.horizon_s, self._arrivals.popleft()[1])
        return self.horizon_s

    def next_due_s(self) -> float | None:
        """When `advance` will next move the horizon (the first waiting arrival that carries a later window end,
        plus the wait), None while nothing would move it."""
        for arrived_at, end_s in self._arrivals:
            if end_s > self.horizon_s:
                return arrived_at + self._wait_s
        return None

    def _forget_old_windows(self) -> None:
        oldest_s = self._latest_end_s - SPREAD_MEMORY_S
        for end_s in [end for end in self._windows if end < oldest_s]:
            del self._windows[end_s]
        self._wait_s = self._clamped(max(last - first for first, last in self._windows.values()))

    def _clamped(self, spread_s: float) -> float:
        return min(self.max_wait_s, max(self.min_wait_s, spread_s + SPREAD_MARGIN_S))

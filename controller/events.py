"""Lifecycle events (new/update/end of incidents and alerts) fanned out to MQTT and the live stream."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

log = logging.getLogger("cellward.controller.events")
EventType = Literal["new", "update", "end"]


@dataclass(frozen=True)
class LifecycleEvent:
    """`kind` is "incident" or "alert", or for the live view "blocking" or "sensors" (always an update of
    the whole state); `before` is None for new, `after` the current state."""

    kind: str
    type: EventType
    id: str
    before: dict[str, Any] | None
    after: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "before": self.before, "after": self.after}


class BusEvent(Protocol):
    """What a bus carries: a kind and id (the SSE event name and id) and a JSON-able payload."""

    kind: str
    id: str

    def payload(self) -> dict[str, Any]: ...


class EventBus:
    """Thread-safe fan-out: ingest (a thread) emits, MQTT and SSE subscribers (asyncio queues) receive.

    The controller has two: lifecycle events (incidents, alerts) and live sensor spectra."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._sinks: list[Callable[[Any], None]] = []
        self._queues: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = []
        self.queue_size = queue_size

    def add_sink(self, sink: Callable[[Any], None]) -> None:
        with self._lock:
            self._sinks.append(sink)

    def subscribe(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue(self.queue_size)
        with self._lock:
            self._queues.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None:
        with self._lock:
            self._queues = [(loop, q) for loop, q in self._queues if q is not queue]

    def emit(self, event: BusEvent) -> None:
        with self._lock:
            sinks = list(self._sinks)
            queues = list(self._queues)
        for sink in sinks:
            try:
                sink(event)
            except Exception:  # a broken sink must not stop ingest
                log.exception("event=sink_failed kind=%s id=%s", event.kind, event.id)
        for loop, queue in queues:
            try:
                loop.call_soon_threadsafe(_offer, queue, event)
            except RuntimeError:  # that subscriber's loop has closed
                self.unsubscribe(queue)


def _offer(queue: asyncio.Queue[Any], event: BusEvent) -> None:
    # A slow browser loses events rather than growing memory; it reloads state on reconnect.
    if not queue.full():
        queue.put_nowait(event)

"""Publishes a `sensors` event on the controller's bus when a sensor's health changes, for the live map.

Health is judged from what ingest stored and from the clock (a sensor falls silent without any message
arriving), so it is polled rather than pushed: every CHECK_INTERVAL_S, and only while someone listens on
the event stream. The event's `after` is every sensor's health; a change is a sensor becoming healthy or
unhealthy, its availability, or its number of problems (not the seconds a silence has lasted).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from controller.api.sensors import sensor_views
from controller.events import LifecycleEvent
from controller.runtime import Controller

CHECK_INTERVAL_S = 0.25  # well inside the web view's 1 s for a change to show


class SensorWatch:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._health: dict[str, dict[str, Any]] | None = None
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None

    def _current(self) -> dict[str, dict[str, Any]]:
        return {
            view.id: {"healthy": view.healthy, "availability": view.availability, "problems": view.problems}
            for view in sensor_views(self.controller)
        }

    def check(self) -> LifecycleEvent | None:
        """Compare with the health last seen; the event to publish when it changed (none the first time)."""
        before, after = self._health, self._current()
        self._health = after
        if before is None or _essence(before) == _essence(after):
            return None
        return LifecycleEvent("sensors", "update", "sensors", before, after)

    async def baseline(self) -> None:
        """The health to compare with, taken once before the first stream answers: a change made after a
        client saw the stream open is then never taken for the starting state."""
        if self._health is None:
            await run_in_threadpool(self.check)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Keeps the watch running while at least one stream is open."""
        self._listeners += 1
        try:
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._run())
            yield
        finally:
            self._listeners -= 1

    async def _run(self) -> None:
        while self._listeners:
            await asyncio.sleep(CHECK_INTERVAL_S)
            event = await run_in_threadpool(self.check)
            if event is not None:
                self.controller.bus.emit(event)


def _essence(health: dict[str, dict[str, Any]]) -> dict[str, tuple[bool, str, int]]:
    return {sensor_id: (h["healthy"], h["availability"], len(h["problems"])) for sensor_id, h in health.items()}


def sensor_watch(app: FastAPI) -> SensorWatch:
    """The app's one watch (made on first use: every stream of the app shares it)."""
    watch = getattr(app.state, "sensor_watch", None)
    if watch is None:
        watch = app.state.sensor_watch = SensorWatch(app.state.controller)
    return watch

"""The `cellward sim ...` commands: load a world from files, run one output mode, report user errors plainly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from cellward.site import load_site, reference_site_path, small_site_path

from cellward.config import ConfigError
from sim.scenario import load_scenario
from sim.world import World

log = logging.getLogger(__name__)


def site_path(name_or_path: str) -> Path:
    """`small` and `reference` name the shipped sites; anything else is a path to a site file."""
    shipped = {"small": small_site_path, "reference": reference_site_path}
    return Path(shipped[name_or_path]()) if name_or_path in shipped else Path(name_or_path)


def load_world(site: str | None, scenario: Path) -> World:
    """The world of a scenario file on `site`, or on the site the scenario names."""
    plan = load_scenario(scenario)
    chosen = site or plan.site
    if chosen is None:
        raise ValueError(f"{scenario}: the scenario names no site; give --site")
    path = site_path(chosen)
    if site is None and not path.is_absolute() and chosen not in ("small", "reference"):
        path = Path(scenario).parent / path
    return World(load_site(path), plan)


def _user_errors(run: Callable[[], int]) -> int:
    """Run a command; a bad file, an unknown sensor or room becomes one message on stderr and exit 2."""
    try:
        return run()
    except (ConfigError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"cellward sim: {message}", file=sys.stderr)
        return 2


def _sensor_ids(world: World, sensors: str | None) -> list[str]:
    if not sensors:
        return [s.id for s in world.sensors]
    wanted = [s.strip() for s in sensors.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in world.sensor_index]
    if unknown:
        raise KeyError(
            f"no sensor {', '.join(unknown)} in site {world.site.name}; it has {', '.join(world.sensor_index)}"
        )
    return wanted


def _default_centre_hz(world: World) -> float:
    phones = [e for e in world.emitters if e.kind == "phone"]
    if not phones:
        raise ValueError("the scenario has no phones; give --center-freq")
    return phones[0].carrier_hz


def run_record(
    site: str | None,
    scenario: Path,
    out: Path,
    sensors: str | None,
    center_freq_hz: float | None,
    sample_rate_hz: float,
    start_s: float,
    seconds: float | None,
) -> int:
    from rich.progress import Progress

    from sim.record import record

    def go() -> int:
        world = load_world(site, scenario)
        ids = _sensor_ids(world, sensors)
        centre = center_freq_hz or _default_centre_hz(world)
        span = seconds if seconds is not None else world.scenario.duration_s - start_s
        if span <= 0:
            raise ValueError(f"nothing to record: start {start_s} s is past the scenario's end")
        with Progress(transient=True) as progress:
            task = progress.add_task(f"recording {len(ids)} sensor(s)", total=len(ids) * round(span * sample_rate_hz))
            paths = record(world, out, ids, centre, sample_rate_hz, start_s, span, lambda n: progress.advance(task, n))
        for path in paths:
            print(path)
        return 0

    return _user_errors(go)


def run_events(site: str | None, scenario: Path, sensors: str | None, start_s: float, seconds: float | None) -> int:
    from sim.events import observations

    def go() -> int:
        world = load_world(site, scenario)
        ids = _sensor_ids(world, sensors)
        end = None if seconds is None else start_s + seconds
        for obs in observations(world, start_s, end, ids):
            sys.stdout.write(json.dumps(dataclasses.asdict(obs)) + "\n")
        return 0

    return _user_errors(go)


def run_truth(site: str | None, scenario: Path, start_s: float, seconds: float | None) -> int:
    def go() -> int:
        world = load_world(site, scenario)
        end = None if seconds is None else start_s + seconds
        for item in world.truth(start_s, end):
            sys.stdout.write(json.dumps(item) + "\n")
        return 0

    return _user_errors(go)


def run_serve(site: str | None, scenario: Path, base_port: int, sensors: str | None) -> int:
    from sim.rtl_tcp_server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    def go() -> int:
        world = load_world(site, scenario)
        ids = _sensor_ids(world, sensors)

        async def main() -> None:
            servers = await serve(world, base_port, ids)
            for server in servers:
                print(f"sensor {server.sensor_id}: rtl_tcp on 127.0.0.1:{server.port}", flush=True)
            await asyncio.Event().wait()  # until Ctrl-C

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            raise ValueError(f"cannot listen from port {base_port}: {exc.strerror}") from None
        return 0

    return _user_errors(go)

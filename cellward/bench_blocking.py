"""`cellward bench blocking`: the reactive loop and the leakage interlock, end to end, in simulation.

Everything is real except the radio: Mosquitto with the accounts and ACLs of `cellward provision`, the
controller (in this process, SQLite), one `cellward blocker run` node per unit of the reference site
(simulator actuator: its switches go to a log the simulated world follows), and every sensor of the
site in the simulator's event mode, publishing signed detections on the site's synchronised scan.

Reactive loop: phones start calls or data sessions in cells of the reactive wings (A, B, D), one per
wing every `ROUND_S`; each is detected, located, raises an incident, the controller switches its wing's
unit on over MQTT, and the phone, under the unit's noise, falls silent after its radio-link failure
delay. Figure: first uplink burst -> silent (sim.blocking.BlockingField.silent_from), split into
burst -> unit on (scan, ingest, location, incident, command, node) and unit on -> silent (the phone).
Leakage: BLK-C has a failed output filter (its noise leaks 5 dB below its output into the uplink);
cells-C is switched on by hand every `LEAK_ROUND_S`; a perimeter sensor hears the leakage and the
controller switches the unit off. Figure: the reading's own time -> the unit off (the node's switch).
Both are in simulation time, which runs on the wall clock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

SITE_ID = "hmp-bench"
REACTIVE = ("cells-A", "cells-B", "cells-D")
LEAKY_UNIT, LEAKY_ZONE = "BLK-C", "cells-C"
ROUND_S = 40.0  # one phone per reactive wing per round: hold 15 s + cooldown 5 s fit in it
WING_OFFSET_S = 12.0  # wings start their phones this far apart within a round
ACTIVITY_S = 12.0
HOLD_S, COOLDOWN_S = 15.0, 5.0
LEAK_ROUND_S = 20.0
LEAD_S = 45.0  # the event fleet's start (imports, world, 76 sensors' shadowing maps) before t = 0
TARGET_LOOP_S = 5.0
TARGET_LEAK_S = 2.0
KINDS = (  # (activity, band): the technologies a contraband phone uses, rotating
    ("gsm_call", "B8"),
    ("lte_data", "B20"),
    ("nr_data", "B28"),
    ("lte_data", "B8"),
)


@dataclass(frozen=True)
class Trial:
    phone: str
    zone: str
    technology: str
    first_s: float
    on_s: float | None  # a unit jamming it switched on
    silent_s: float | None


def trial_scenario(
    rooms: dict[str, str], rounds: int, leak_trials: int, seed: int, switch_log: Path, start_epoch_s: float
) -> dict:
    """One phone per reactive wing per round, in `rooms[phone id]`, technologies rotating."""
    phones = []
    for r in range(rounds):
        for w, zone in enumerate(REACTIVE):
            kind, band = KINDS[(r * len(REACTIVE) + w) % len(KINDS)]
            start = r * ROUND_S + w * WING_OFFSET_S + 2.0
            phone = f"p{r}-{zone}"
            phones.append(
                {
                    "id": phone,
                    "band": band,
                    "place": {"at": rooms[phone]},
                    "activities": [{"kind": kind, "start_s": start, "duration_s": ACTIVITY_S, "load": 0.5}],
                }
            )
    return {
        "name": "bench-blocking",
        "site": "reference",
        "seed": seed,
        "duration_s": rounds * ROUND_S + (leak_trials + 1) * LEAK_ROUND_S,
        "start_utc": datetime.fromtimestamp(start_epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "live_blocking": {"switch_log": str(switch_log), "unit_leakage_dbc": {LEAKY_UNIT: -5.0}},
        "phones": phones,
    }


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout_s: float) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s:.0f} s")


class Bench:
    def __init__(self, workdir: Path, rounds: int, leaks: int, seed: int) -> None:
        from cellward.provision import provision
        from cellward.site import load_site, reference_site_path

        self.workdir = workdir
        self.rounds, self.leaks, self.seed = rounds, leaks, seed
        self.port = _free_port()
        self.prov = provision(reference_site_path(), SITE_ID, workdir / "site", broker_port=self.port)
        self.site = load_site(reference_site_path())
        self.switch_log = workdir / "switches.jsonl"
        self.scenario_path = workdir / "scenario.yaml"
        self.world = None
        self.drawn = self.out_of_reach = 0
        self.processes: list[subprocess.Popen] = []
        self.stop = threading.Event()

    def build_world(self) -> None:
        """The trial world starting LEAD_S from now, phones in cells their wing's unit reaches (rooms out of
        reach are drawn again and counted: the unit's coverage is part of the result)."""
        from sim.scenario import Scenario
        from sim.world import World

        rng = np.random.default_rng(self.seed)
        cells = {zone: sorted(r.id for r in self.site.cells if r.zone == zone) for zone in REACTIVE}
        rooms = {f"p{r}-{z}": str(rng.choice(cells[z])) for r in range(self.rounds) for z in REACTIVE}
        self.drawn = len(rooms)
        for _ in range(8):
            start = time.time() + LEAD_S
            scenario = trial_scenario(rooms, self.rounds, self.leaks, self.seed, self.switch_log, start)
            self.scenario_path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
            world = World(self.site, Scenario.model_validate(scenario))
            assert world.blocking is not None
            unit_of = {zone: [b.id for b in self.site.blockers if zone in b.zones] for zone in REACTIVE}
            missed = [p for p in rooms if not set(world.blocking.jammed_by(p)) & set(unit_of[p.split("-", 1)[1]])]
            self.out_of_reach += len(missed)
            self.world = world
            if not missed:
                return
            for phone in missed:
                rooms[phone] = str(rng.choice(cells[phone.split("-", 1)[1]]))
            self.drawn += len(missed)
        print(f"  still out of reach after 8 draws: {', '.join(missed)}", file=sys.stderr)

    def wait_for_units(self, controller, timeout_s: float = 120.0) -> None:
        """Until the controller has heard every unit (their nodes start slowly on a busy machine)."""
        records = controller.blocking.units.records
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(r.last_heard_s is None for r in records.values()):
            time.sleep(0.5)
        silent = [u for u, r in records.items() if r.last_heard_s is None]
        if silent:
            raise RuntimeError(f"no heartbeat from {', '.join(silent)} in {timeout_s:.0f} s; see {self.workdir}")

    # --- the parts --------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.processes.append(process)

    def start_broker(self) -> None:
        self._spawn("mosquitto", [shutil.which("mosquitto") or "mosquitto", "-c", str(self.prov.mosquitto_conf)])
        _wait_port(self.port, 10)

    def start_controller(self):
        from controller.config import load_controller_config
        from controller.runtime import Controller

        path = self.prov.controller_config
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["database"] = {"url": f"sqlite:///{self.workdir / 'controller.db'}"}
        config["ingest"] = {"batch_wait_s": 0.02, "correlation_delay_s": 0.3}
        config["blocking"] = {
            "reactive_zones": list(REACTIVE),
            "reactive_hold_s": HOLD_S,
            "reactive_cooldown_s": COOLDOWN_S,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        os.environ["CELLWARD_MQTT_PASSWORD"] = self.prov.passwords["controller"]
        controller = Controller.from_config(load_controller_config(path))
        controller.start()
        assert controller.ingest is not None and controller.ingest.wait_subscribed(30), "controller not subscribed"
        return controller

    def start_blocker_nodes(self) -> None:
        for unit, path in sorted(self.prov.blocker_configs.items()):
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
            config["actuator"] = {"kind": "sim", "site": "reference", "switch_log": str(self.switch_log)}
            path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            argv = [sys.executable, "-m", "cellward.cli", "blocker", "run", "--config", str(path)]
            self._spawn(f"blocker-{unit}", argv)

    def start_fleet(self) -> None:
        """Every sensor of the site in event mode, in its own process (as in `cellward demo`), reading the
        same scenario file and following the same switch log as this process's copy of the world."""
        sensors = ",".join(s.id for s in self.site.sensors)
        argv = [sys.executable, "-m", "sensors.event_fleet", "--scenario", str(self.scenario_path)]
        argv += ["--site-id", SITE_ID, "--provisioned", str(self.prov.out), "--port", str(self.port)]
        self._spawn("event-fleet", [*argv, "--sensors", sensors])

    def leak_trials(self, controller) -> None:
        """Every LEAK_ROUND_S: put the leaky unit back in service if tripped, switch its wing on by hand."""
        blocking = controller.blocking
        policy = blocking.policy
        t = self.rounds * ROUND_S + 5.0  # after the reactive rounds: no other unit on to share the blame
        while not self.stop.is_set() and t < self.world.scenario.duration_s - LEAK_ROUND_S:
            self.stop.wait(max(0.0, self.world.epoch_s(t) - time.time()))
            if LEAKY_UNIT in policy.tripped_units:
                blocking.reset_unit("bench", LEAKY_UNIT)
            try:
                blocking.act("bench", "on", LEAKY_ZONE, lambda now: policy.request_on(LEAKY_ZONE, "bench", now))
            except Exception as exc:  # a refusal is reported, the bench carries on
                print(f"  leak trial at {t:.0f} s refused: {exc}", file=sys.stderr)
            t += LEAK_ROUND_S

    def stop_all(self, controller) -> None:
        self.stop.set()
        for process in reversed(self.processes[1:]):
            process.terminate()
        for process in self.processes[1:]:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if controller is not None:
            controller.stop()
        self.processes[0].terminate()
        self.processes[0].wait(10)

    # --- figures ----------------------------------------------------------------------------------
    def trials(self) -> tuple[list[Trial], list[str]]:
        world, field = self.world, self.world.blocking
        assert field is not None
        b = world.bursts
        done, holes = [], []
        for index, emitter in enumerate(world.emitters):
            if emitter.kind != "phone":
                continue
            mine = (b.emitter == index) & ~np.char.endswith(b.channel.astype(str), "-retry")
            first = float(b.start_s[mine].min())
            jammers = field.jammed_by(emitter.id)
            if not jammers:
                holes.append(emitter.id)
                continue
            ons = [a for unit in jammers for a, _ in field.intervals(unit, emitter.band) if a >= first - 1.0]
            zone = emitter.id.split("-", 1)[1]
            silent = field.silent_from(emitter.id, first)
            trial = Trial(emitter.id, zone, emitter.technology, first, min(ons) if ons else None, silent)
            done.append(trial)
        return done, holes

    def leak_figures(self, controller) -> list[float]:
        """Reading -> unit off, per leakage trip of the leaky unit (simulation seconds)."""
        field = self.world.blocking
        offs = sorted({z for band in self.site_unit_bands(LEAKY_UNIT) for _, z in field.intervals(LEAKY_UNIT, band)})
        delays = []
        for alarm in controller.blocking.interlocks.alarms:
            if alarm.kind != "leakage" or alarm.unit_id != LEAKY_UNIT:
                continue
            read = alarm.at_s - self.world.epoch_s(0.0)
            after = [z for z in offs if z >= read and np.isfinite(z)]
            if after:
                delays.append(after[0] - read)
        return delays

    def site_unit_bands(self, unit: str) -> list[str]:
        return next(list(b.bands) for b in self.site.blockers if b.id == unit)


def run_bench(rounds: int, leaks: int, seed: int, keep: Path | None) -> int:
    if shutil.which("mosquitto") is None:
        print("cellward bench blocking needs Mosquitto (`bash .ci/setup` installs it)", file=sys.stderr)
        return 2
    workdir = Path(keep or tempfile.mkdtemp(prefix="cellward-bench-blocking-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(workdir, rounds, leaks, seed)
    controller = None
    try:
        bench.start_broker()
        controller = bench.start_controller()
        bench.start_blocker_nodes()
        bench.wait_for_units(controller)
        bench.build_world()
        bench.start_fleet()
        threading.Thread(target=bench.leak_trials, args=(controller,), daemon=True).start()
        end = bench.world.epoch_s(bench.world.scenario.duration_s) + 2.0
        print(f"running {bench.world.scenario.duration_s:.0f} s of simulation on the wall clock (files in {workdir})")
        while time.time() < end and bench.processes[-1].poll() is None:
            time.sleep(1.0)
        trials, holes = bench.trials()
        leak = bench.leak_figures(controller)
    finally:
        bench.stop_all(controller)
    report(trials, holes, leak, rounds)
    print(f"  phone rooms drawn {bench.drawn}, out of their wing unit's reach {bench.out_of_reach} (redrawn)")
    if keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def report(trials: list[Trial], holes: list[str], leak: list[float], rounds: int) -> None:
    print(f"machine: {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {rounds} rounds")
    print("Reactive loop, first uplink burst -> phone silent (simulation seconds, wall-clock paced):")
    for technology in ("gsm", "lte", "nr", None):
        chosen = [t for t in trials if technology is None or t.technology == technology]
        silenced = [t for t in chosen if t.silent_s is not None]
        loop = [t.silent_s - t.first_s for t in silenced]
        to_on = [t.on_s - t.first_s for t in silenced if t.on_s is not None]
        phone = [t.silent_s - t.on_s for t in silenced if t.on_s is not None]
        label = technology or "all"
        print(
            f"  {label:4s}: {len(silenced)}/{len(chosen)} silenced; loop p50 {_percentile(loop, 50):5.1f} s, "
            f"p95 {_percentile(loop, 95):5.1f} s, max {max(loop, default=float('nan')):5.1f} s "
            f"(burst->unit on p50 {_percentile(to_on, 50):4.1f} s p95 {_percentile(to_on, 95):4.1f} s; "
            f"unit on->silent p50 {_percentile(phone, 50):4.1f} s)"
        )
    every = [t.silent_s - t.first_s for t in trials if t.silent_s is not None]
    verdict = "met" if every and _percentile(every, 95) <= TARGET_LOOP_S else "NOT met"
    print(f"  target p95 <= {TARGET_LOOP_S:.0f} s: {verdict}")
    if holes:
        print(f"  out of every unit's reach (not counted): {', '.join(holes)}")
    missed = [t.phone for t in trials if t.silent_s is None]
    if missed:
        print(f"  never silenced: {', '.join(missed)}")
    print(f"Leakage interlock, perimeter reading -> leaking unit off ({len(leak)} trips):")
    if leak:
        worst = max(leak)
        verdict = "met" if worst <= TARGET_LEAK_S else "NOT met"
        print(
            f"  p50 {_percentile(leak, 50):.2f} s, p95 {_percentile(leak, 95):.2f} s, max {worst:.2f} s; "
            f"target every trip <= {TARGET_LEAK_S:.0f} s: {verdict}"
        )

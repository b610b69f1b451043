"""`cellward demo`: the whole system on one machine — broker, simulated prison, sensors, controller, web view.

Every part runs as its own process, exactly as on a site, wired with credentials from `cellward provision`:
Mosquitto (ACLs, one account per node), the reference site in the simulator, a few sensor nodes in IQ mode
(the sensors of one landing: a 2-core machine cannot run 76 of them in real time), the other sensors in the
simulator's event mode (signed detection batches straight from the propagation model), and the controller
(SQLite, API and web view), and one blocker node (`cellward blocker run`, simulator actuator) for BLK-D over
wing D, a reactive zone: a phone found there switches BLK-D on through the real MQTT path, and the
simulated world, following the node's switch log, takes the phone out of service. The scripted scenario
(sim/scenarios/demo.yaml) is re-timed to start now.
Ctrl-C (or SIGTERM, or --seconds) stops the sensors first, then the controller, then the broker.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from cellward.ports import free_port
from cellward.provision import Provisioned, provision

REPO = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = REPO / "sim" / "scenarios" / "demo.yaml"
SITE_ID = "hmp-demo"
# Landing A-1's two middle sensors: measured on 2 shared cores, two IQ sensors (simulator + detector,
# about 0.45 core each) leave room for the controller and the event-mode process (docs/scaling.md).
DEFAULT_IQ_SENSORS = "A1-2,A1-4"
IQ_SAMPLE_RATE_HZ = 2.4e6
ROLES = ("viewer", "officer", "authoriser", "admin", "auditor")
# one simulated unit, switched by the reactive policy; the scenario's burner-d109 calls under it
BLOCKER, REACTIVE_ZONE = "BLK-D", "cells-D"
# from the controller listening to the scenario's start: the event-mode fleet builds its world (10-20 s on a
# loaded 2-core box) and the IQ-mode nodes warm their detectors before the first burst
START_LEAD_S = 20.0
STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children get SIGTERM if the demo itself dies (even by SIGKILL): no orphans on any exit."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Part:
    name: str
    process: subprocess.Popen
    log_path: Path


@dataclass
class Demo:
    workdir: Path
    provisioned: Provisioned
    api_port: int
    scenario: Path
    iq_sensors: list[str]
    event_sensors: list[str]
    passwords: dict[str, str] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Part:
        log_path = self.workdir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # the terminal's Ctrl-C reaches only the demo, which stops parts in order
                preexec_fn=_die_with_parent,
            )
        part = Part(name, process, log_path)
        self.parts.append(part)
        return part

    def stop_all(self) -> None:
        for part in reversed(self.parts):  # sensors, then controller, then broker
            if part.process.poll() is None:
                part.process.terminate()
                try:
                    part.process.wait(STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    part.process.kill()
                    part.process.wait()
        self.parts.clear()

    def failed(self) -> Part | None:
        return next((p for p in self.parts if p.process.poll() is not None), None)


def retimed_scenario(workdir: Path, start_epoch_s: float, scenario: dict | None = None) -> Path:
    """The demo scenario (or `scenario`) starting at `start_epoch_s`, written to WORKDIR/scenario.yaml."""
    scenario = scenario or yaml.safe_load(DEMO_SCENARIO.read_text(encoding="utf-8"))
    scenario["start_utc"] = datetime.fromtimestamp(start_epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    path = workdir / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def wait_port(port: int, timeout_s: float, part: Part) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if part.process.poll() is not None:
            raise RuntimeError(f"{part.name} exited with {part.process.returncode}; see {part.log_path}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{part.name} did not listen on port {port} within {timeout_s:.0f} s; see {part.log_path}")


def prepare(workdir: Path, iq_sensors: str, api_port: int | None) -> Demo:
    """Provision the site, re-time the scenario to start now, and write the controller and sensor configs."""
    from cellward.site import load_site, reference_site_path
    from dsp.band_plan import BandPlan
    from sim.feed import simulated_dongle_calibration
    from sim.world import gsm_control_channels_hz

    site = load_site(reference_site_path())

    broker_port = free_port()
    api_port = api_port or free_port()
    prov = provision(reference_site_path(), SITE_ID, workdir / "site", broker_port=broker_port, api_port=api_port)
    script = yaml.safe_load(DEMO_SCENARIO.read_text(encoding="utf-8"))
    script["live_blocking"] = {"switch_log": str(workdir / "switches.jsonl"), "units": [BLOCKER]}
    scenario = retimed_scenario(workdir, time.time() + START_LEAD_S, script)
    sensors = sorted(prov.sensor_configs)
    iq = [s for s in iq_sensors.split(",") if s]
    unknown = [s for s in iq if s not in prov.sensor_configs]
    if unknown:
        raise ValueError(f"--iq-sensors: {', '.join(unknown)} not in the reference site (e.g. A1-2)")
    demo = Demo(workdir, prov, api_port, scenario, iq, [s for s in sensors if s not in iq])

    controller = yaml.safe_load(prov.controller_config.read_text(encoding="utf-8"))
    controller["auth"] = {
        "users": [{"username": r, "roles": [r], "password_env": f"CELLWARD_DEMO_{r.upper()}"} for r in ROLES]
    }
    # the reference site's staff offices and the road are authorised zones: activity there raises no incident
    controller["ingest"] = {"batch_wait_s": 0.02}
    controller["blocking"] = {"reactive_zones": [REACTIVE_ZONE], "reactive_hold_s": 60.0}
    # what a downlink survey of the site finds: the networks' GSM control carriers, revisited for SMS and the like
    controller["scan_focus"] = {"control_channels_hz": gsm_control_channels_hz(BandPlan.load(), script["seed"])}
    prov.controller_config.write_text(yaml.safe_dump(controller, sort_keys=False), encoding="utf-8")
    demo.passwords = {r: secrets.token_urlsafe(9) for r in ROLES}
    blocker = prov.blocker_configs[BLOCKER]
    config = yaml.safe_load(blocker.read_text(encoding="utf-8"))
    config["actuator"] = {"kind": "sim", "site": "reference", "switch_log": str(workdir / "switches.jsonl")}
    blocker.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    for sensor_id in iq:
        path = prov.sensor_configs[sensor_id]
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["source"] = {
            "kind": "sim",
            "scenario": str(scenario),
            "sensor": sensor_id,
            "sample_rate_hz": IQ_SAMPLE_RATE_HZ,
            "wall_clock": True,
        }
        # as a site measures each unit with a signal generator: the simulated dongle's dBFS -> dBm
        calibration_db = simulated_dongle_calibration(site, script["seed"], sensor_id, IQ_SAMPLE_RATE_HZ)
        config["power_calibration"] = {"dbfs_to_dbm_at_0db": round(calibration_db, 2)}
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return demo


def broker_command() -> list[str]:
    """Mosquitto when installed, else the embedded Python broker, which reads the same provisioned files."""
    mosquitto = shutil.which("mosquitto")
    return [mosquitto] if mosquitto else [sys.executable, "-m", "cellward.embedded_broker"]


def launch(demo: Demo, confirm_s: float = STOP_GRACE_S - 2) -> None:
    """Start the broker, the controller, then the sensors; raise with the log's path when a part fails.

    `confirm_s`: on stop, how long the event-mode nodes wait for the controller to confirm what they sent."""
    prov = demo.provisioned
    broker = demo.start("broker", [*broker_command(), "-c", str(prov.mosquitto_conf)])
    wait_port(prov.broker_port, 10, broker)
    env = {"CELLWARD_MQTT_PASSWORD": prov.passwords["controller"]}
    env |= {f"CELLWARD_DEMO_{r.upper()}": p for r, p in demo.passwords.items()}
    cellward = [sys.executable, "-m", "cellward.cli"]
    controller = demo.start(
        "controller", [*cellward, "controller", "run", "--config", str(prov.controller_config)], env
    )
    wait_port(demo.api_port, 60, controller)
    # timed from here, not from prepare(): the controller's start (seconds of locator tables) is not known ahead
    retimed_scenario(demo.workdir, time.time() + START_LEAD_S, yaml.safe_load(demo.scenario.read_text("utf-8")))
    config = str(prov.blocker_configs[BLOCKER])
    demo.start(f"blocker-{BLOCKER}", [*cellward, "blocker", "run", "--config", config])
    demo.start(
        "sensors-event-mode",
        [
            sys.executable,
            "-m",
            "sensors.event_fleet",
            "--scenario",
            str(demo.scenario),
            "--site-id",
            SITE_ID,
            "--provisioned",
            str(prov.out),
            "--port",
            str(prov.broker_port),
            "--sensors",
            ",".join(demo.event_sensors),
            "--confirm-s",
            str(confirm_s),
        ],
    )
    for sensor_id in demo.iq_sensors:
        demo.start(f"sensor-{sensor_id}", [*cellward, "sensor", "run", "--config", str(prov.sensor_configs[sensor_id])])


def broker_name() -> str:
    return "Mosquitto" if shutil.which("mosquitto") else "embedded Python broker (Mosquitto is not installed)"


def banner(demo: Demo) -> str:
    url = f"http://127.0.0.1:{demo.api_port}/"
    lines = [
        "cellward demo: the reference site (480 cells, 76 sensors) is live.",
        f"  web view    {url}",
        "  log in as (user / password):",
        *(f"    {role:<11} {role} / {password}" for role, password in demo.passwords.items()),
        f"  broker      {broker_name()} on 127.0.0.1:{demo.provisioned.broker_port} (per-node accounts and ACLs)",
        f"  sensors     {len(demo.iq_sensors)} in IQ mode ({', '.join(demo.iq_sensors)}: simulated dongle, real "
        f"detector), {len(demo.event_sensors)} in the simulator's event mode (no IQ; 2 cores cannot run 76 in IQ)",
        f"  scenario    from {_start_utc(demo.scenario)}: calls in A-1-14 and B-2-07, NR upload in C-0-22, SMS burst",
        "              in D-1-30, a staff phone in OFFICE-2 (authorised: no incident) and a call on the road",
        "              outside the wall (no incident)",
        f"  blocking    {BLOCKER} (simulated unit, its own node) over wing D, reactive: the call in D-1-09 "
        "switches it on and loses service",
        f"  files       {demo.workdir} (logs in logs/, configs and keys in site/)",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _start_utc(scenario: Path) -> str:
    """The scenario's start as HH:MM:SS UTC."""
    return str(yaml.safe_load(scenario.read_text(encoding="utf-8"))["start_utc"])[11:19] + " UTC"


def run_demo(seconds: float | None, workdir: Path | None, iq_sensors: str, api_port: int | None) -> int:
    keep = workdir is not None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="cellward-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    demo: Demo | None = None
    code = 0
    try:
        demo = prepare(workdir, iq_sensors, api_port)
        launch(demo)
        print(banner(demo), flush=True)
        deadline = None if seconds is None else time.monotonic() + seconds
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            failed = demo.failed()
            if failed is not None:
                print(
                    f"{failed.name} stopped (exit {failed.process.returncode}); see {failed.log_path}", file=sys.stderr
                )
                code = 1
                break
            stop.wait(0.5)
    except (RuntimeError, ValueError) as exc:
        print(f"cellward demo: {exc}", file=sys.stderr)
        code = 1
    finally:
        if demo is not None:
            demo.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not keep and code == 0:
            shutil.rmtree(workdir, ignore_errors=True)
    print("cellward demo: stopped (sensors, controller, broker).", flush=True)
    return code

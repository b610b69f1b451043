"""`cellward bench controller`: sustained reports/s through a real Mosquitto into the controller, and p95
latency from a phone's first report being published to its incident arriving on MQTT.

Load: phones in random cells of the reference site, each on its own channel, active for a few seconds,
starting at staggered times. Every window (1 s) each sensor that hears an active phone (level from the
site's propagation model plus fixed shadowing and measurement noise, above a -100 dBm sensitivity)
reports it with a few listed bursts at shared burst times; a sensor publishes one signed batch per window.
Payloads are built and signed before the clock starts, in a separate process that then publishes at the
offered rate, so the controller process (ingest thread, GIL: one core) is what is measured.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cellward.messages import ActivityReport, BurstRecord, ClockState, DetectionBatch, sensor_topic
from cellward.ports import free_port
from cellward.signing import Keyring, NodeKey, sign_message, signed_payload
from controller.config import ControllerConfig, DatabaseConfig, IngestConfig, MqttConfig
from controller.db.incidents import IncidentRecord
from controller.gc_tuning import tune_for_ingest
from controller.ingest import Ingest
from controller.pipeline import RawMessage
from controller.runtime import Controller

SITE_ID = "bench"
WINDOW_S = 1.0
SENSITIVITY_DBM = -100.0
BURSTS_LISTED = 4
PHONE_ACTIVE_S = 4.0
TX_DBM = 5.0
BATCH_MAX = 500  # messages per ingest transaction
HOPPING_CHANNELS = 4  # a GSM phone hops over a few channels of its operator's block; each is reported
# GSM operator blocks (uplink, Hz) in B8 and B3 below the RTL-SDR's 1766 MHz (SYSTEM.md 3.1).
BLOCKS = [
    ("B8", "Vodafone", 880.2e6, 885.0e6),
    ("B8", "O2", 885.2e6, 890.0e6),
    ("B8", "Vodafone", 890.2e6, 902.4e6),
    ("B8", "O2", 902.6e6, 914.8e6),
    ("B3", "O2", 1710.2e6, 1715.8e6),
    ("B3", "Vodafone", 1716.0e6, 1721.6e6),
    ("B3", "Three", 1721.8e6, 1736.6e6),
    ("B3", "EE", 1736.8e6, 1765.8e6),
]


@dataclass(frozen=True)
class Phone:
    index: int
    cell_id: str
    position: tuple[float, float, float]
    band: str
    operator: str
    channels_hz: tuple[float, ...]
    start_window: int
    windows: int


def _start_broker(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    # Queue without limit for the controller's session: the bench must measure the controller, not drops.
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
        "max_inflight_messages 0\nmessage_size_limit 0\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def _bench_site(n_sensors: int):
    """The reference site, with sensors added (copies of the existing ones, moved along the wings) up to n."""
    from cellward.site import load_site, reference_site_path

    site = load_site(reference_site_path())
    if n_sensors == len(site.sensors):
        return site
    sensors = list(site.sensors)
    base = list(sensors)
    rng = np.random.default_rng(7)
    while len(sensors) < n_sensors:
        template = base[len(sensors) % len(base)]
        x, y, z = template.position
        position = (float(x + rng.uniform(-4, 4)), float(y + rng.uniform(-4, 4)), float(z))
        sensors.append(template.model_copy(update={"id": f"{template.id}-x{len(sensors)}", "position": position}))
    return (
        site.model_copy(update={"sensors": sensors[:n_sensors]})
        if n_sensors < len(base) or n_sensors > len(base)
        else site
    )


def _plan(site, n_phones: int, seconds: float, rng) -> list[Phone]:
    cells = site.cells
    windows_total = int(seconds / WINDOW_S)
    active = int(PHONE_ACTIVE_S / WINDOW_S)
    phones = []
    for i in range(n_phones):
        cell = cells[int(rng.integers(len(cells)))]
        start = int(rng.integers(0, max(1, windows_total - active)))
        band, operator, low, high = BLOCKS[int(rng.integers(len(BLOCKS)))]
        raster = np.arange(low, high + 1, 200e3)
        channels = tuple(float(f) for f in rng.choice(raster, HOPPING_CHANNELS, replace=False))
        phones.append(Phone(i, cell.id, tuple(cell.centroid), band, operator, channels, start, active))
    return phones


def _levels(site, phones: list[Phone], rng) -> np.ndarray:
    """Received level of every phone at every sensor: one path-loss table per band at the band's centre (within
    0.4 dB of each channel's own level), plus fixed shadowing per phone-sensor pair."""
    from cellward.site.propagation import PropagationModel, PropagationParams

    model = PropagationModel(site, PropagationParams())
    gains = np.array([model.sensor_gain_db(sensor) for sensor in site.sensors])
    levels = np.empty((len(phones), len(site.sensors)))
    for band in {phone.band for phone in phones}:
        rows = [i for i, phone in enumerate(phones) if phone.band == band]
        edges = [(low, high) for name, _, low, high in BLOCKS if name == band]
        centre_hz = 0.5 * (min(low for low, _ in edges) + max(high for _, high in edges))
        points = np.array([phones[i].position for i in rows])
        levels[rows] = TX_DBM + gains[None, :] - model.path_loss_table_db(points, centre_hz, site.sensors)
    return levels + rng.normal(0, 4.0, levels.shape)


def _report(phone: Phone, freq_hz: float, power: float, window_start, burst_t, rng) -> ActivityReport:
    # Levels carry two decimals, as sensors/activity.py writes them (full-precision floats would make the
    # JSON a third longer than what sensors send).
    bursts = [
        BurstRecord(
            start=t,
            duration_s=0.000546,
            freq_hz=freq_hz,
            bandwidth_hz=200e3,
            power_dbm=round(power + float(rng.normal(0, 1.0)), 2),
            snr_db=round(power + 110, 2),
            technology="gsm",
        )
        for t in burst_t
    ]
    return ActivityReport(
        freq_hz=freq_hz,
        bandwidth_hz=200e3,
        band=phone.band,
        operators=[phone.operator],
        technology="gsm",
        window_start=window_start,
        window_s=WINDOW_S,
        listen_s=0.2,
        burst_count=40,
        duty_cycle=0.1,
        mean_power_dbm=round(power, 2),
        peak_power_dbm=round(power + 1, 2),
        snr_db=round(power + 110, 2),
        noise_floor_dbm=-110.0,
        first_burst=burst_t[0],
        last_burst=burst_t[-1] + timedelta(seconds=0.000546),
        gain_db=28.0,
        calibration_db=-32.5,
        clipped_fraction=0.0,
        bursts=bursts,
        bursts_truncated=True,
    )


def _payloads(site, phones, levels, keys, t0: float, windows: int, rng) -> list[list[tuple[str, bytes, list[int]]]]:
    """Per window: (topic, signed payload, indices of phones whose FIRST window this is) per sensor."""
    clock = ClockState(state="synced", source="sim", offset_s=0.0)
    seq = dict.fromkeys(keys, 0)
    out = []
    for w in range(windows):
        window_start = datetime.fromtimestamp(t0 + w * WINDOW_S, UTC)
        active = [p for p in phones if p.start_window <= w < p.start_window + p.windows]
        per_sensor: dict[int, list[ActivityReport]] = {}
        firsts: dict[int, list[int]] = {}
        for phone in active:
            for c, freq_hz in enumerate(phone.channels_hz):
                # Successive TDMA frames land on successive hopping channels.
                burst_t = [
                    window_start
                    + timedelta(seconds=0.1 + phone.index % 50 * 0.0123 + (k * HOPPING_CHANNELS + c) * 0.004615)
                    for k in range(BURSTS_LISTED)
                ]
                for j in np.flatnonzero(levels[phone.index] > SENSITIVITY_DBM):
                    power = float(levels[phone.index, j])
                    per_sensor.setdefault(int(j), []).append(_report(phone, freq_hz, power, window_start, burst_t, rng))
                if w == phone.start_window:
                    firsts.setdefault(int(j), []).append(phone.index)
        window = []
        for j, reports in per_sensor.items():
            sensor = site.sensors[j]
            for chunk_start in range(0, len(reports), 1000):
                seq[sensor.id] += 1
                batch = DetectionBatch(
                    site=SITE_ID,
                    sender=sensor.id,
                    ts=window_start + timedelta(seconds=WINDOW_S),
                    seq=seq[sensor.id],
                    clock=clock,
                    reports=reports[chunk_start : chunk_start + 1000],
                )
                wire = sign_message(batch.to_wire(), keys[sensor.id])
                window.append(
                    (
                        sensor_topic(SITE_ID, sensor.id, "detections"),
                        signed_payload(wire),
                        firsts.get(j, []) if chunk_start == 0 else [],
                    )
                )
        out.append(window)
    return out


def _publisher(port, windows_payloads, results) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sensors")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    first_publish: dict[int, float] = {}
    published = 0
    t0 = time.time()
    for w, window in enumerate(windows_payloads):
        # Reports of window w are published when it closes, as sensors do.
        delay = t0 + (w + 1) * WINDOW_S - time.time()
        if delay > 0:
            time.sleep(delay)
        for topic, payload, firsts in window:
            now = time.time()
            client.publish(topic, payload, qos=1)
            published += 1
            for phone in firsts:
                first_publish.setdefault(phone, now)
    client.loop_stop()
    client.disconnect()
    results.put((first_publish, published))


@dataclass
class Load:
    site: object
    phones: list[Phone]
    keyring_path: Path
    t0: float
    windows: int
    payloads: list[list[tuple[str, bytes, list[int]]]]
    offered: int
    messages: int


def _build_load(n_sensors: int, seconds: float, rate: float, workdir: Path) -> Load:
    rng = np.random.default_rng(1)
    print(f"building site and load: {n_sensors} sensors ...", flush=True)
    site = _bench_site(n_sensors)
    probe = _plan(site, 200, seconds, rng)
    hearers = float((_levels(site, probe, rng) > SENSITIVITY_DBM).sum(axis=1).mean())
    concurrent = max(1, int(rate / (hearers * HOPPING_CHANNELS)))
    n_phones = int(concurrent * seconds / PHONE_ACTIVE_S)
    phones = _plan(site, n_phones, seconds, rng)
    levels = _levels(site, phones, rng)
    keys = {s.id: NodeKey.generate(s.id) for s in site.sensors}
    keyring = Keyring()
    for key in keys.values():
        keyring.add(key.sender, key.public_b64)
    keyring.save(workdir / "keyring.json")
    t0 = time.time()  # data time of the first window; publishing is paced from its own start
    windows = int(seconds / WINDOW_S)
    print(f"  {len(phones)} phones, ~{concurrent} active at once, each heard by {hearers:.1f} sensors on average")
    payloads = _payloads(site, phones, levels, keys, t0, windows, rng)
    offered = sum(len(json.loads(p)["reports"]) for window in payloads for _, p, _ in window)
    messages = sum(len(window) for window in payloads)
    print(f"  {offered} reports in {messages} signed batches over {windows} s ({offered / windows:.0f} reports/s)")
    print(
        f"  a report: one sensor, one channel, one {WINDOW_S:.0f} s window, {BURSTS_LISTED} bursts listed; "
        f"{offered / max(messages, 1):.0f} reports per signed batch"
    )
    return Load(site, phones, workdir / "keyring.json", t0, windows, payloads, offered, messages)


def _config(load: Load, workdir: Path, database: str, port: int) -> ControllerConfig:
    url = f"sqlite:///{workdir / 'bench.db'}" if database == "sqlite" else database
    return ControllerConfig(
        site_id=SITE_ID,
        site_file=workdir / "unused.yaml",
        sensor_keyring=load.keyring_path,
        signing_key_file=workdir / "controller-key.pem",
        database=DatabaseConfig(url=url),
        mqtt=MqttConfig(port=port),
        ingest=IngestConfig(batch_max=BATCH_MAX, batch_wait_s=0.02, correlation_delay_s=0.1),
    )


def _phone_keys(phones: list[Phone]) -> tuple[list[tuple], set[tuple]]:
    """Each phone's (cell, operators), and those no other phone shares: phones sharing a cell and an operator
    make one incident (by design), so only the unambiguous ones are timed and checked for their cell."""
    keys = [(phone.cell_id, (phone.operator,)) for phone in phones]
    return keys, {key for key in keys if keys.count(key) == 1}


def run_in_process(n_sensors: int, seconds: float, rate: float, database: str) -> int:
    """The same load through the ingest pipeline in this process, without MQTT: every window's messages as
    the ingest worker would take them (batches of at most `BATCH_MAX`), arriving when the window closes,
    on a data clock. Prints CPU time, the steadiest figure on a shared machine."""
    workdir = Path(tempfile.mkdtemp(prefix="cellward-bench-"))
    try:
        load = _build_load(n_sensors, seconds, rate, workdir)
        now = [load.t0]
        controller = Controller(_config(load, workdir, database, free_port()), load.site, clock=lambda: now[0])
        controller.start(with_ingest=False)
        ingest = Ingest(controller)
        ingest.locating.warm_up()
        ingest.pipeline.load_state()
        print(f"  warming the locator: {_warm_locator(load, ingest.locating):.0f} s of CPU, not counted", flush=True)
        tune_for_ingest()  # as `cellward controller run` does once started
        locate_cpu = _time_calls(ingest.locating.locator, "locate")
        window_cpu = []
        incidents = 0
        opened: set[tuple] = set()
        for w, window in enumerate(load.payloads):
            arrived = load.t0 + (w + 1) * WINDOW_S
            now[0] = arrived + 2 * controller.config.ingest.correlation_delay_s
            started = time.process_time()
            for first in range(0, len(window), BATCH_MAX):
                chunk = window[first : first + BATCH_MAX]
                events = ingest.pipeline.process([RawMessage(topic, payload, arrived) for topic, payload, _ in chunk])
                for event in events:
                    if event.kind == "incident" and event.type == "new":
                        incidents += 1
                        opened.add((event.after["cell_id"], tuple(event.after["operators"])))
            window_cpu.append(time.process_time() - started)
        registry = controller.metrics.registry
        done = registry.get_sample_value("cellward_controller_reports_stored_total") or 0
        cpu_s = sum(window_cpu)
        print()
        print(f"controller bench in-process ({database}, {n_sensors} sensors, no MQTT)")
        print(f"  reports processed        {done:.0f} of {load.offered}")
        print(f"  CPU time                 {cpu_s:.2f} s: {done / cpu_s:.0f} reports per CPU-second (target >= 20000)")
        print(
            f"  of which locating        {locate_cpu[0]:.2f} s (the locator's own tables and likelihoods); without it "
            f"{done / (cpu_s - locate_cpu[0]):.0f} reports per CPU-second"
        )
        print(
            f"  CPU per window           median {np.median(window_cpu) * 1e3:.0f} ms, "
            f"max {max(window_cpu) * 1e3:.0f} ms for {load.offered / load.windows:.0f} reports"
        )
        print(f"  incidents opened         {incidents} for {len(load.phones)} phones")
        _, unique = _phone_keys(load.phones)
        placed = sum(1 for key in unique if key in opened)
        print(f"  in the phone's own cell  {placed} of {len(unique)} phones alone in their cell+operator")
        with controller.sessions() as db:
            now_in = {(r.cell_id, tuple(r.operators)) for r in db.scalars(select(IncidentRecord))}
        print(f"  ... at the end           {sum(1 for key in unique if key in now_in)} (a later location may move one)")
        controller.stop()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _warm_locator(load: Load, locating) -> float:
    """Run the load once through a separate correlation sharing `locating`'s locator, untimed: a running
    controller has long built the level tables of the rooms its phones are in (seconds each on first use),
    which would otherwise dominate a short run. Returns the CPU seconds it took."""
    from cellward.messages import parse_message
    from controller.locating import SiteLocating

    started = time.process_time()
    warm = SiteLocating(load.site, locating.delay_s, locator=locating.locator)
    for w, window in enumerate(load.payloads):
        arrived = load.t0 + (w + 1) * WINDOW_S
        for _, payload, _ in window:
            batch = parse_message(json.loads(payload))
            warm.add_reports(batch.sender, batch, arrived)
        warm.ready(arrived + 2 * locating.delay_s)
    warm.ready(float("inf"))
    return time.process_time() - started


def _time_calls(owner: object, name: str) -> list[float]:
    """Wrap `owner.name` so that the CPU seconds spent in it add up in the returned one-element list."""
    spent = [0.0]
    method = getattr(owner, name)

    def timed(*args, **kwargs):
        started = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - started

    setattr(owner, name, timed)
    return spent


def run_bench(n_sensors: int, seconds: float, rate: float, database: str) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="cellward-bench-"))
    broker, port = _start_broker(workdir)
    try:
        load = _build_load(n_sensors, seconds, rate, workdir)
        site, phones, payloads, offered, windows = load.site, load.phones, load.payloads, load.offered, load.windows
        controller = Controller(_config(load, workdir, database, port), site)
        new_incidents: dict[tuple, float] = {}
        listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-listener")

        def on_message(_c, _u, message) -> None:
            body = json.loads(message.payload)
            if body["type"] == "new":
                key = (body["after"]["cell_id"], tuple(body["after"]["operators"]))
                new_incidents.setdefault(key, time.time())

        listener.on_message = on_message
        listener.connect("127.0.0.1", port)
        listener.subscribe(f"cellward/{SITE_ID}/controller/incidents", qos=1)
        listener.loop_start()
        controller.start(with_ingest=True)
        if not controller.ingest.wait_subscribed(300):
            raise RuntimeError("the controller did not subscribe")
        # nothing is published yet, so the ingest worker is idle while the locator is shared
        print(f"  warming the locator: {_warm_locator(load, controller.ingest.locating):.0f} s of CPU", flush=True)
        load.payloads = []
        tune_for_ingest()
        results: mp.Queue = mp.get_context("fork").Queue()
        publisher = mp.get_context("fork").Process(target=_publisher, args=(port, payloads, results))
        del payloads
        publisher.start()
        registry = controller.metrics.registry
        samples: list[tuple[float, float]] = []
        deadline = time.time() + seconds + 120
        while time.time() < deadline:
            samples.append((time.time(), registry.get_sample_value("cellward_controller_reports_stored_total") or 0))
            if samples[-1][1] >= offered:
                break
            time.sleep(0.2)
        first_publish, _ = results.get(timeout=60)
        publisher.join()
        time.sleep(1.0)
        done = samples[-1][1]
        start_t = next((t for t, n in samples if n > 0), samples[-1][0])
        end_t = next((t for t, n in samples if n >= offered), samples[-1][0])
        sustained = done / max(end_t - (start_t - 0.2), 1e-9)
        keys, unique = _phone_keys(phones)
        latencies = []
        for phone, key in zip(phones, keys, strict=True):
            seen = new_incidents.get(key)
            if key in unique and seen is not None and phone.index in first_publish:
                latencies.append(seen - first_publish[phone.index])
        located_right = sum(1 for key in unique if key in new_incidents)
        lat = np.array(latencies) if latencies else np.array([np.nan])
        print()
        print(
            f"controller bench ({database}, {n_sensors} sensors, {HOPPING_CHANNELS} channels per phone, "
            f"{BURSTS_LISTED} bursts listed per report)"
        )
        print(f"  reports processed        {done:.0f} of {offered}")
        print(
            f"  sustained throughput     {sustained:.0f} reports/s (offered {offered / windows:.0f}/s; target >= 20000)"
        )
        print(f"  incidents opened         {len(new_incidents)} for {len(phones)} phones")
        print(f"  in the phone's own cell  {located_right} of {len(unique)} phones alone in their cell+operator")
        print(f"  publish->incident p50    {np.nanpercentile(lat, 50) * 1e3:.0f} ms")
        print(f"  publish->incident p95    {np.nanpercentile(lat, 95) * 1e3:.0f} ms (target <= 250 ms)")
        registry = controller.metrics.registry
        batches = registry.get_sample_value("cellward_controller_ingest_batch_seconds_count") or 0
        batch_s = registry.get_sample_value("cellward_controller_ingest_batch_seconds_sum") or 0
        print(f"  ingest batches           {batches:.0f}, mean {batch_s / max(batches, 1) * 1e3:.1f} ms")
        listener.loop_stop()
        try:
            controller.stop()
        except Exception as exc:  # a saturated run stops in the middle of a batch; the figures above stand
            print(f"  controller stopped mid-batch ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        return 0
    finally:
        broker.terminate()
        broker.wait()
        shutil.rmtree(workdir, ignore_errors=True)

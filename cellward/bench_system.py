"""`cellward bench system`: several hundred event-mode sensor nodes through a real Mosquitto into the
controller, on SQLite and on PostgreSQL; prints sustained reports/s, latency from first burst to incident,
and the controller's resident memory sampled over the run.

The reference site is enlarged by placing `copies` nodes at each of its 76 sensor positions (heights a
little apart, ids `<id>` and `<id>x<n>`), each with its own account, key and spool from `cellward provision`;
the demo's scenario is repeated every `REPEAT_S` so the load holds for a long run. The nodes run in
`fleets` processes (sensors/event_fleet.py), the controller as `cellward controller run`, all as separate
processes on loopback, exactly as `cellward demo` wires them.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from cellward.demo import DEMO_SCENARIO, Demo, free_port, retimed_scenario, wait_port
from cellward.latency import burst_starts, on_air_latencies, percentile
from cellward.provision import provision

SITE_ID = "hmp-bench"
SMALL_SCENARIO = DEMO_SCENARIO.parent / "small-evening.yaml"
REPEAT_S = 210.0  # longer than any activity of the demo scenario, so a phone never overlaps itself
HEIGHT_STEP_M = 0.2
SAMPLE_S = 5.0
TAIL_BYTES = 256 << 10  # more than a fleet logs between two samples
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Sample:
    t_s: float
    rss_mb: float
    reports: int
    incidents: int
    offered: int  # reports the fleets had made by then: offered - reports is the backlog


@dataclass
class Result:
    database: str
    sensors: int
    samples: list[Sample] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    offered_reports: int = 0


def enlarged_site(workdir: Path, copies: int, site: str = "reference") -> Path:
    """The site (`reference` or `small`) with `copies` sensor nodes at each sensor position."""
    from cellward.site import reference_site_path, small_site_path

    path = reference_site_path() if site == "reference" else small_site_path()
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    sensors = []
    for sensor in document["sensors"]:
        for n in range(copies):
            x, y, z = sensor["position"]
            sensors.append(
                sensor | {"id": sensor["id"] + (f"x{n}" if n else ""), "position": [x, y, z - HEIGHT_STEP_M * n]}
            )
    document["sensors"] = sensors
    path = workdir / "site.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def repeated_scenario(duration_s: float, site: str = "reference") -> dict:
    """The site's scenario (the demo's; on the small site its evening) with every phone's activities
    repeated every REPEAT_S (the small evening's: every 90 s) up to `duration_s`."""
    scenario = yaml.safe_load((DEMO_SCENARIO if site == "reference" else SMALL_SCENARIO).read_text(encoding="utf-8"))
    repeat_s = REPEAT_S if site == "reference" else 90.0
    repeats = int(duration_s // repeat_s) + 1
    for phone in scenario["phones"]:
        phone["activities"] = [
            activity | {"start_s": activity["start_s"] + k * repeat_s}
            for k in range(repeats)
            for activity in phone["activities"]
            if activity["start_s"] + k * repeat_s < duration_s
        ]
    scenario["duration_s"] = duration_s
    return scenario


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _postgres_database() -> tuple[str, str]:
    name = f"cellward_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def _drop_postgres(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _counts(engine) -> tuple[int, int]:
    try:
        with engine.connect() as conn:
            reports = conn.execute(text("select count(*) from reports")).scalar_one()
            incidents = conn.execute(text("select count(*) from incidents")).scalar_one()
    except Exception:  # tables not created yet
        return 0, 0
    return int(reports), int(incidents)


def run_one(
    database: str, copies: int, seconds: float, fleets: int, lead_s: float, workdir: Path, site: str = "reference"
) -> Result:
    workdir.mkdir(parents=True, exist_ok=True)
    site_file = enlarged_site(workdir, copies, site)
    pg_name = None
    if database == "postgresql":
        pg_name, url = _postgres_database()
    else:
        url = f"sqlite:///{workdir / 'site' / 'controller.db'}"
    broker_port, api_port = free_port(), free_port()
    prov = provision(site_file, SITE_ID, workdir / "site", broker_port=broker_port, api_port=api_port, database_url=url)
    sensors = sorted(prov.sensor_configs)
    result = Result(database, len(sensors))
    scenario_start = time.time() + lead_s
    scenario = retimed_scenario(workdir, scenario_start, repeated_scenario(seconds + lead_s, site))
    demo = Demo(workdir, prov, api_port, scenario, [], sensors)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        broker = demo.start("mosquitto", [shutil.which("mosquitto") or "mosquitto", "-c", str(prov.mosquitto_conf)])
        wait_port(broker_port, 10, broker)
        controller = demo.start(
            "controller",
            [sys.executable, "-m", "cellward.cli", "controller", "run", "--config", str(prov.controller_config)],
            {"CELLWARD_MQTT_PASSWORD": prov.passwords["controller"]},
        )
        wait_port(api_port, 120, controller)
        for k in range(fleets):
            part = sensors[k::fleets]
            demo.start(
                f"fleet-{k}",
                [
                    *(
                        sys.executable,
                        "-m",
                        "sensors.event_fleet",
                        "--scenario",
                        str(scenario),
                        "--site",
                        str(site_file),
                    ),
                    *("--site-id", SITE_ID, "--provisioned", str(prov.out), "--port", str(broker_port)),
                    *("--sensors", ",".join(part)),
                ],
            )
        time.sleep(max(0.0, scenario_start - time.time()))
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            failed = demo.failed()
            if failed is not None:
                raise RuntimeError(f"{failed.name} stopped; see {failed.log_path}")
            reports, incidents = _counts(engine)
            rss_mb, offered = _rss_mb(controller.process.pid), offered_reports(workdir, fleets)
            sample = Sample(time.monotonic() - started, rss_mb, reports, incidents, offered)
            result.samples.append(sample)
            print(
                f"  {database:<10} t={sample.t_s:6.0f} s  controller RSS {sample.rss_mb:6.1f} MB"
                f"  reports {sample.reports:8d}  behind {max(0, offered - reports):7d}"
                f"  incidents {sample.incidents:5d}",
                flush=True,
            )
            time.sleep(SAMPLE_S)
        with engine.connect() as conn:
            incidents = conn.execute(
                text("select created_at, first_seen, freq_hz, technology from incidents where method = 'rss'")
            ).all()
            raw = conn.execute(text("select raw from messages where schema = 'cellward.detections/1'")).scalars()
            result.latencies_s = on_air_latencies([tuple(r) for r in incidents], burst_starts(raw))
    finally:
        demo.stop_all()
        engine.dispose()
        if pg_name is not None:
            _drop_postgres(pg_name)
    result.offered_reports = offered_reports(workdir, fleets)
    return result


def offered_reports(workdir: Path, fleets: int) -> int:
    """Reports the fleets have made so far, from the last `reports_total` each logged (read from the end of
    each log: it is asked every few seconds of a run that may last hours)."""
    total = 0
    for k in range(fleets):
        path = workdir / "logs" / f"fleet-{k}.log"
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - TAIL_BYTES))
            lines = log.read().decode(errors="replace").splitlines()
        totals = [int(line.split("reports_total=")[1].split()[0]) for line in lines if "reports_total=" in line]
        total += totals[-1] if totals else 0
    return total


def summary(result: Result) -> str:
    samples = [s for s in result.samples if s.reports > 0]
    if len(samples) < 2:
        return f"{result.database}: no reports stored (see the logs)"
    first, last = samples[0], samples[-1]
    rate = (last.reports - first.reports) / max(1e-9, last.t_s - first.t_s)
    half = len(samples) // 2
    early = statistics.median(s.rss_mb for s in samples[:half] or samples)
    late = statistics.median(s.rss_mb for s in samples[half:])
    return (
        f"{result.database}: {result.sensors} sensors, {rate:,.0f} reports/s stored sustained "
        f"({last.reports:,} stored, {result.offered_reports:,} offered); first burst on air -> incident "
        f"p50 {percentile(result.latencies_s, 50):.2f} s, p95 {percentile(result.latencies_s, 95):.2f} s "
        f"({len(result.latencies_s)} located incidents); controller RSS median {early:.0f} MB (first half) -> "
        f"{late:.0f} MB (second half), max {max(s.rss_mb for s in samples):.0f} MB"
    )


def run_bench(
    copies: int, seconds: float, databases: list[str], fleets: int, lead_s: float, site: str = "reference"
) -> int:
    if shutil.which("mosquitto") is None:
        print("cellward bench system needs Mosquitto (apt-get install mosquitto)", file=sys.stderr)
        return 2
    unknown = [d for d in databases if d not in ("sqlite", "postgresql")]
    if unknown:
        print(f"--database: {', '.join(unknown)} unknown (sqlite, postgresql)", file=sys.stderr)
        return 2
    if site not in ("reference", "small"):
        print(f"--site: {site} unknown (reference, small)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="cellward-bench-system-"))
    print(f"the {site} site x{copies}, {seconds:.0f} s per database, {fleets} fleet process(es); files in {root}")
    results = []
    try:
        for database in databases:
            results.append(run_one(database, copies, seconds, fleets, lead_s, root / database, site))
    except RuntimeError as exc:
        print(f"cellward bench system: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(summary(result))
        print(f"  latencies, s: {' '.join(f'{v:.2f}' for v in result.latencies_s)}")
    shutil.rmtree(root, ignore_errors=True)
    return 0

"""The `cellward` command: one entry point, subcommands dispatched lazily to the parts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="cellward",
    help="RF detection and phone-blocking control for prisons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that print figures (run on demand, never in the test suite).")
app.add_typer(bench_app, name="bench")
sensor_app = typer.Typer(help="The sensor node: scan, detect and report over MQTT.", no_args_is_help=True)
app.add_typer(sensor_app, name="sensor")
controller_app = typer.Typer(help="The controller: ingest, incidents, alerts and the API.", no_args_is_help=True)
app.add_typer(controller_app, name="controller")
audit_app = typer.Typer(help="The controller's hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
evidence_app = typer.Typer(help="Signed evidence packs of disconnection requests.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
sim_app = typer.Typer(help="The site simulator: SigMF recordings, rtl_tcp sensors and detection events.")
app.add_typer(sim_app, name="sim")
blocker_app = typer.Typer(help="The blocker node: switch one blocker unit on signed commands.", no_args_is_help=True)
app.add_typer(blocker_app, name="blocker")

SiteOption = Annotated[
    str | None, typer.Option(help="Site file, or 'small' / 'reference' (default: the site the scenario names)")
]
ScenarioOption = Annotated[Path, typer.Option(help="Scenario file (YAML), e.g. sim/scenarios/evening.yaml")]
SensorsOption = Annotated[str | None, typer.Option(help="Comma-separated sensor ids (default: every sensor)")]


@app.command()
def detect(
    recording: Annotated[Path, typer.Argument(help="SigMF recording (.sigmf-meta, .sigmf-data or base name)")],
    block_samples: Annotated[int, typer.Option(help="Samples read per block")] = 1 << 18,
    dwell_s: Annotated[
        float,
        typer.Option(
            help="Hear it as a sensor node does: the detector restarted every DWELL_S seconds (0: one stream)"
        ),
    ] = 0.0,
    fft_library: Annotated[
        str,
        typer.Option(help="The detector's FFT: pocketfft, or fftw (GPL; needs cellward[fftw]), about a tenth faster"),
    ] = "pocketfft",
) -> None:
    """Find phone uplink bursts in a SigMF recording; print one JSON object per burst, in time order."""
    from cellward.detect import run_detect

    raise typer.Exit(run_detect(recording, block_samples, dwell_s, fft_library))


@app.command()
def demo(
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C)")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep configs, keys, database and logs here (default: temporary)")
    ] = None,
    iq_sensors: Annotated[str, typer.Option(help="Sensors run in IQ mode (the rest in event mode)")] = "A1-2,A1-4",
    port: Annotated[int | None, typer.Option(help="Web view port (default: a free one)")] = None,
) -> None:
    """The whole system live: broker, simulated reference prison, sensors, controller and web view; Ctrl-C stops it."""
    from cellward.demo import run_demo

    raise typer.Exit(run_demo(seconds, workdir, iq_sensors, port))


@app.command("provision")
def provision_command(
    site: Annotated[str, typer.Option(help="Site file, or 'small' / 'reference'")],
    out: Annotated[Path, typer.Option(help="Directory to write credentials, keys, ACL and configs into")],
    site_id: Annotated[str, typer.Option(help="Site id (the <site> level of MQTT topics)")] = "site",
    broker_port: Annotated[int, typer.Option(help="Port the site broker listens on (127.0.0.1)")] = 1883,
    bridge: Annotated[str | None, typer.Option(help="Central broker HOST:PORT: also write a bridge config")] = None,
    scan_groups: Annotated[
        int | None, typer.Option(min=1, help="Scan groups of the site's sensors (default: the scan's default)")
    ] = None,
) -> None:
    """Per-node broker accounts and Ed25519 keys, the broker's password file, ACL and config, node configs."""
    from cellward.config import ConfigError
    from cellward.provision import provision
    from cellward.site import reference_site_path, small_site_path

    path = {"small": small_site_path(), "reference": reference_site_path()}.get(site, Path(site))
    try:
        groups = {} if scan_groups is None else {"scan_groups": scan_groups}
        result = provision(path, site_id, out, broker_port=broker_port, bridge=bridge, **groups)
    except (ConfigError, ValueError, OSError) as exc:
        typer.echo(f"cellward provision: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {len(result.sensor_configs)} sensor configs, keys, broker config and ACL to {result.out}")


@bench_app.command("dsp")
def bench_dsp(
    seconds: Annotated[float, typer.Option(help="Seconds of 2.4 MS/s signal to process per run")] = 4.0,
    repeats: Annotated[int, typer.Option(help="Runs of each contender; the best is reported")] = 10,
) -> None:
    """Detector throughput on one core next to bare numpy and FFTW FFT+|X|^2 floors, same samples."""
    from cellward.bench_dsp import run_bench

    raise typer.Exit(run_bench(seconds, repeats))


@bench_app.command("false-alarms")
def bench_false_alarms(
    minutes: Annotated[float, typer.Option(help="Simulated minutes, half on each scene (60: a sensor-hour)")] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the receiver, the confusers and the noise")] = 7,
    scene: Annotated[
        list[str] | None, typer.Option(help="srd-band or b20-uplink (repeatable; default both, sharing the time)")
    ] = None,
) -> None:
    """Phone-labelled bursts per sensor-hour with only SRD-band confusers, a spur and impulses on the air."""
    from cellward.bench_false_alarms import SCENES, run_bench

    try:
        raise typer.Exit(run_bench(minutes, seed, tuple(scene or SCENES)))
    except ValueError as exc:
        typer.echo(f"cellward bench false-alarms: {exc}", err=True)
        raise typer.Exit(2) from None


@bench_app.command("blocking")
def bench_blocking(
    rounds: Annotated[int, typer.Option(help="Rounds of one phone per reactive wing (40 s each)")] = 8,
    leaks: Annotated[int, typer.Option(help="Switch-ons of the leaking unit (20 s each)")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the phones' rooms and the world")] = 1,
    keep: Annotated[Path | None, typer.Option(help="Keep configs, logs and the database here")] = None,
    scan_groups: Annotated[
        int | None, typer.Option(min=1, help="Scan groups of the sensors (default: the scan's default)")
    ] = None,
) -> None:
    """Reactive blocking loop (first burst -> phone silent) and leakage interlock (reading -> unit off)."""
    from cellward.bench_blocking import run_bench

    groups = {} if scan_groups is None else {"scan_groups": scan_groups}
    raise typer.Exit(run_bench(rounds, leaks, seed, keep, **groups))


@bench_app.command("sensitivity")
def bench_sensitivity(
    output: Annotated[Path, typer.Option(help="Where to save the Pd-against-SNR plot (PNG)")] = Path(
        "docs/pd_vs_snr.png"
    ),
) -> None:
    """Detection probability against SNR per technology, beside the ideal energy detector."""
    from cellward.bench_sensitivity import run_sensitivity

    raise typer.Exit(run_sensitivity(output))


@bench_app.command("roc")
def bench_roc(
    output: Annotated[Path, typer.Option(help="Where to save the ROC plot (PNG)")] = Path("docs/roc.png"),
    noise_seconds: Annotated[
        int, typer.Option(min=1, help="Seconds of receiver noise per tuning (three tunings) per setting")
    ] = 20,
) -> None:
    """Pd against the CFAR's false-alarm probability per technology beside the ideal, and detections on noise."""
    from cellward.bench_roc import run_roc

    raise typer.Exit(run_roc(output, noise_seconds))


@bench_app.command("system")
def bench_system(
    copies: Annotated[int, typer.Option(help="Event-mode nodes at each of the reference site's 76 positions")] = 4,
    seconds: Annotated[float, typer.Option(help="Seconds measured per database")] = 300.0,
    database: Annotated[str, typer.Option(help="sqlite, postgresql (127.0.0.1:5432) or both, comma-separated")] = (
        "sqlite,postgresql"
    ),
    fleets: Annotated[int, typer.Option(help="Processes the event-mode nodes are shared among")] = 2,
    lead: Annotated[float, typer.Option(help="Seconds for start-up before the scenario begins")] = 90.0,
    site: Annotated[
        str, typer.Option(help="reference (the demo's scenario) or small (5 sensors, its evening: latency unqueued)")
    ] = "reference",
) -> None:
    """Event-mode sensor nodes through a real Mosquitto into the controller: reports/s, latency, controller RSS."""
    from cellward.bench_system import run_bench

    raise typer.Exit(run_bench(copies, seconds, database.split(","), fleets, lead, site))


@sensor_app.command("run")
def sensor_run(
    config: Annotated[Path, typer.Option(help="The sensor's YAML config (sensor.yaml)")],
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run one sensor node until stopped (SIGTERM/SIGINT); systemd's watchdog is fed when configured."""
    from sensors.cli import run_sensor

    raise typer.Exit(run_sensor(config, log_level))


@blocker_app.command("run")
def blocker_run(
    config: Annotated[Path, typer.Option(help="The blocker node's YAML config (blocker.yaml)")],
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run one blocker node until stopped (SIGTERM/SIGINT); every band goes off when it stops."""
    from sensors.blocker.cli import run_blocker

    raise typer.Exit(run_blocker(config, log_level))


@sensor_app.command("survey")
def sensor_survey(
    config: Annotated[Path, typer.Option(help="The sensor's YAML config (sensor.yaml)")],
) -> None:
    """One look at every reachable FDD downlink: the carriers on the air and the uplinks their phones use."""
    from sensors.cli import survey

    raise typer.Exit(survey(config))


@sensor_app.command("keygen")
def sensor_keygen(
    sensor_id: Annotated[str, typer.Option(help="The id the key signs as (sensor id or controller id)")],
    out: Annotated[Path, typer.Option(help="Where to write the private key (PEM, mode 0600)")],
) -> None:
    """Make an Ed25519 signing key; prints the public key for the controller's keyring."""
    from sensors.cli import keygen

    raise typer.Exit(keygen(sensor_id, out))


@bench_app.command("sensor")
def bench_sensor(
    seconds: Annotated[float, typer.Option(help="Seconds of real-time scanning to measure")] = 30.0,
    fft_library: Annotated[str, typer.Option(help="The node's fft_library: pocketfft or fftw")] = "pocketfft",
) -> None:
    """CPU share of one core and peak RSS of one sensor scanning continuously at 2.4 MS/s."""
    from sensors.bench import run_bench

    raise typer.Exit(run_bench(seconds, fft_library=fft_library))


@controller_app.command("run")
def controller_run(
    config: Annotated[Path, typer.Option("--config", help="Controller config YAML")],
    host: Annotated[str | None, typer.Option(help="Listen address (default: api.host in the config)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: api.port in the config)")] = None,
) -> None:
    """Run the controller (API + MQTT ingest) until SIGTERM/Ctrl-C; a bad config starts SAFE MODE."""
    from controller.serve import run_controller

    raise typer.Exit(run_controller(config, host, port))


@controller_app.command("central")
def controller_central(config: Annotated[Path, typer.Option("--config", help="central.yaml")]) -> None:
    """The estate's central store: every site's bridged incidents and alerts into one database, until SIGTERM."""
    from cellward.config import ConfigError
    from controller.central.config import load_central_config
    from controller.central.run import run_central

    try:
        loaded = load_central_config(config)
    except ConfigError as exc:
        typer.echo(f"cellward controller central: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(run_central(loaded))


@controller_app.command("hash-password")
def controller_hash_password() -> None:
    """Read a password (hidden) and print its argon2 hash for auth.users[].password_hash."""
    from controller.accounts import hash_password

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password(password))


@bench_app.command("controller")
def bench_controller(
    sensors: Annotated[int, typer.Option(help="Simulated sensors publishing")] = 200,
    seconds: Annotated[float, typer.Option(help="Seconds of sustained publishing")] = 20.0,
    rate: Annotated[float, typer.Option(help="Offered reports per second (all sensors together)")] = 25000.0,
    database: Annotated[str, typer.Option(help="sqlite or a PostgreSQL URL")] = "sqlite",
    in_process: Annotated[
        bool, typer.Option(help="Feed the ingest pipeline directly (no MQTT) and print reports per CPU-second")
    ] = False,
) -> None:
    """Reports/s through a real Mosquitto into the controller on one core, and p95 publish-to-incident latency."""
    from controller.bench import run_bench, run_in_process

    raise typer.Exit((run_in_process if in_process else run_bench)(sensors, seconds, rate, database))


@audit_app.command("verify")
def audit_verify(
    config: Annotated[Path | None, typer.Option("--config", help="Controller config YAML (its database)")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL instead of --config")] = None,
    expect_head: Annotated[
        str | None, typer.Option(help="SEQ:HASH head noted from an earlier verify; must still be in the chain")
    ] = None,
) -> None:
    """Check the whole audit chain; name the first edited, deleted or reordered entry (exit 1 if any)."""
    from controller.audit.cli import run_verify

    raise typer.Exit(run_verify(config, db, expect_head))


@evidence_app.command("verify")
def evidence_verify(
    pack: Annotated[Path, typer.Argument(help="Evidence pack: a directory or a .zip")],
    public_key: Annotated[
        str | None, typer.Option(help="Expected signer public key (base64); default: the one in the pack")
    ] = None,
) -> None:
    """Check an evidence pack's signature and every file's hash; say exactly which file or field fails."""
    from controller.evidence.cli import run_verify

    raise typer.Exit(run_verify(pack, public_key))


@sim_app.command("record")
def sim_record(
    scenario: ScenarioOption,
    out: Annotated[Path, typer.Option(help="Directory for the recordings and their truth")],
    site: SiteOption = None,
    sensors: SensorsOption = None,
    center_freq: Annotated[float | None, typer.Option(help="Tuner centre, Hz (default: first phone's carrier)")] = None,
    sample_rate: Annotated[float, typer.Option(help="Sample rate, S/s")] = 2.4e6,
    start: Annotated[float, typer.Option(help="Scenario time of the first sample, s")] = 0.0,
    seconds: Annotated[float | None, typer.Option(help="Length, s (default: to the scenario's end)")] = None,
) -> None:
    """Per-sensor SigMF recordings (cu8) with the ground truth in <sensor>.truth.sigmf-meta and truth.jsonl."""
    from sim.commands import run_record

    raise typer.Exit(run_record(site, scenario, out, sensors, center_freq, sample_rate, start, seconds))


@sim_app.command("serve")
def sim_serve(
    scenario: ScenarioOption,
    site: SiteOption = None,
    base_port: Annotated[int, typer.Option(help="Port of the first sensor; the others follow (0: any free)")] = 1234,
    sensors: SensorsOption = None,
) -> None:
    """Each simulated sensor as an rtl_tcp server on 127.0.0.1, streaming in real time until Ctrl-C."""
    from sim.commands import run_serve

    raise typer.Exit(run_serve(site, scenario, base_port, sensors))


@sim_app.command("events")
def sim_events(
    scenario: ScenarioOption,
    site: SiteOption = None,
    sensors: SensorsOption = None,
    start: Annotated[float, typer.Option(help="Scenario time to start from, s")] = 0.0,
    seconds: Annotated[float | None, typer.Option(help="Length, s (default: to the scenario's end)")] = None,
) -> None:
    """Detection-level observations per sensor (no IQ), one JSON object per line, in time order."""
    from sim.commands import run_events

    raise typer.Exit(run_events(site, scenario, sensors, start, seconds))


@sim_app.command("truth")
def sim_truth(
    scenario: ScenarioOption,
    site: SiteOption = None,
    start: Annotated[float, typer.Option(help="Scenario time to start from, s")] = 0.0,
    seconds: Annotated[float | None, typer.Option(help="Length, s (default: to the scenario's end)")] = None,
) -> None:
    """Ground truth of every burst (time, frequency, power, position, room, power at each sensor) as JSON Lines."""
    from sim.commands import run_truth

    raise typer.Exit(run_truth(site, scenario, start, seconds))


@bench_app.command("sim")
def bench_sim(
    seconds: Annotated[float, typer.Option(help="Simulated seconds per site")] = 5.0,
) -> None:
    """Real-time factor of one simulated sensor's IQ at 2.4 MS/s on the small and reference sites."""
    from sim.bench import run_bench

    raise typer.Exit(run_bench(seconds))


@bench_app.command("location")
def bench_location(
    trials_per_cell: Annotated[int, typer.Option(help="Phones placed in every cell per case")] = 1,
    seeds: Annotated[int, typer.Option(help="Simulated buildings (shadowing fields) per case")] = 2,
    layout: Annotated[list[str] | None, typer.Option(help="Only this sensor layout (repeatable); default all")] = None,
    truth: Annotated[list[str] | None, typer.Option(help="Only this simulated truth (repeatable); default all")] = None,
    survey: Annotated[bool, typer.Option(help="Also run every case after a calibration survey")] = True,
    gaussian_baseline: Annotated[
        bool, typer.Option(help="Also run every case with the plain Gaussian likelihood (the locator before)")
    ] = False,
    scan_groups: Annotated[
        int, typer.Option(min=1, help="Also run every case heard by one of this many scan groups (a regular slot)")
    ] = 1,
) -> None:
    """Location accuracy (wing, landing, cell) and calibration per sensor density and model mismatch, beside the CRB."""
    from controller.location_bench import run_location_bench

    raise typer.Exit(
        run_location_bench(trials_per_cell, seeds, layout or (), truth or (), survey, gaussian_baseline, scan_groups)
    )


if __name__ == "__main__":  # pragma: no cover
    app()

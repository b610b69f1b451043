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


@app.command()
def detect(
    recording: Annotated[Path, typer.Argument(help="SigMF recording (.sigmf-meta, .sigmf-data or base name)")],
    block_samples: Annotated[int, typer.Option(help="Samples read per block")] = 1 << 18,
) -> None:
    """Find phone uplink bursts in a SigMF recording; print one JSON object per burst, in time order."""
    from cellward.detect import run_detect

    raise typer.Exit(run_detect(recording, block_samples))


@app.command()
def demo(
    output_dir: Annotated[Path, typer.Option(help="Where to write the generated recording")] = Path("demo-output"),
    seed: Annotated[int, typer.Option(help="Scenario seed")] = 1,
) -> None:
    """Generate a recording of simulated phones and confusers, then run the detector on it."""
    from cellward.demo import run_demo

    raise typer.Exit(run_demo(output_dir, seed))


@bench_app.command("dsp")
def bench_dsp(
    seconds: Annotated[float, typer.Option(help="Seconds of 2.4 MS/s signal to process per run")] = 4.0,
    repeats: Annotated[int, typer.Option(help="Runs of each contender; the best is reported")] = 3,
) -> None:
    """Detector throughput on one core next to bare numpy and FFTW FFT+|X|^2 floors, same samples."""
    from cellward.bench_dsp import run_bench

    raise typer.Exit(run_bench(seconds, repeats))


@bench_app.command("sensitivity")
def bench_sensitivity(
    output: Annotated[Path, typer.Option(help="Where to save the Pd-against-SNR plot (PNG)")] = Path(
        "docs/pd_vs_snr.png"
    ),
) -> None:
    """Detection probability against SNR per technology, beside the ideal energy detector."""
    from cellward.bench_sensitivity import run_sensitivity

    raise typer.Exit(run_sensitivity(output))


@sensor_app.command("run")
def sensor_run(
    config: Annotated[Path, typer.Option(help="The sensor's YAML config (sensor.yaml)")],
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run one sensor node until stopped (SIGTERM/SIGINT); systemd's watchdog is fed when configured."""
    from sensors.cli import run_sensor

    raise typer.Exit(run_sensor(config, log_level))


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
) -> None:
    """CPU share of one core and peak RSS of one sensor scanning continuously at 2.4 MS/s."""
    from sensors.bench import run_bench

    raise typer.Exit(run_bench(seconds))


@bench_app.command("location")
def bench_location(
    trials_per_cell: Annotated[int, typer.Option(help="Phones placed in every cell per case")] = 1,
    seeds: Annotated[int, typer.Option(help="Simulated buildings (shadowing fields) per case")] = 2,
) -> None:
    """Location accuracy (wing, landing, cell) per sensor density and model mismatch, beside the CRB."""
    from controller.location_bench import run_location_bench

    raise typer.Exit(run_location_bench(trials_per_cell, seeds))


if __name__ == "__main__":  # pragma: no cover
    app()

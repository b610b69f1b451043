"""What `cellward sensor ...` runs: config and key errors become one readable line, never a traceback."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from cellward.config import ConfigError
from cellward.signing import KeyFileError, NodeKey


def run_sensor(config_path: Path, log_level: str = "info") -> int:
    # memory: LLVM (under numba) first, handed back before the rest of the imports pile on (sensors/memory.py)
    import llvmlite.binding  # noqa: F401 - loads LLVM's library so that its start-up pages can go back

    from sensors.memory import release_library_pages, warm_up_kernels

    release_library_pages("libllvmlite")
    warm_up_kernels()
    release_library_pages()
    from sensors.config import load_sensor_config
    from sensors.node import SensorNode
    from sensors.sources import SourceError

    release_library_pages()

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    try:
        config = load_sensor_config(config_path)
        node = SensorNode(config, config_path)
    except (ConfigError, KeyFileError, SourceError) as exc:
        print(f"cellward sensor: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # e.g. a scan plan with no reachable band
        print(f"cellward sensor: {config_path}: {exc}", file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: node.stop())
    return node.run()


def survey(config_path: Path) -> int:
    """Print, as JSON Lines, the downlink carriers the sensor's front end hears and their uplinks."""
    import json

    from dsp.band_plan import BandPlan
    from sensors.config import load_sensor_config
    from sensors.downlink_survey import survey_downlinks
    from sensors.sources import SourceError, build_source

    try:
        config = load_sensor_config(config_path)
        source = build_source(config.source)
        source.open()
        try:
            carriers = survey_downlinks(source, BandPlan.load(), config.scan.bands)
        finally:
            source.close()
    except (ConfigError, SourceError) as exc:
        print(f"cellward sensor survey: {exc}", file=sys.stderr)
        return 2
    for carrier in carriers:
        print(json.dumps(carrier.to_record()))
    return 0


def keygen(sender: str, out: Path) -> int:
    if out.exists():
        print(f"cellward sensor keygen: {out} exists; refusing to overwrite a key", file=sys.stderr)
        return 2
    key = NodeKey.generate(sender)
    key.save(out)
    print(f'{{"{sender}": "{key.public_b64}"}}')
    return 0

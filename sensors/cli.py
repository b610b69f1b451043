"""What `cellward sensor ...` runs: config and key errors become one readable line, never a traceback."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from cellward.config import ConfigError
from cellward.signing import KeyFileError, NodeKey


def run_sensor(config_path: Path, log_level: str = "info") -> int:
    from sensors.config import load_sensor_config
    from sensors.node import SensorNode
    from sensors.sources import SourceError

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


def keygen(sender: str, out: Path) -> int:
    if out.exists():
        print(f"cellward sensor keygen: {out} exists; refusing to overwrite a key", file=sys.stderr)
        return 2
    key = NodeKey.generate(sender)
    key.save(out)
    print(f'{{"{sender}": "{key.public_b64}"}}')
    return 0

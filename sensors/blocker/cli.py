"""What `cellward blocker run` runs: config and key errors become one readable line, never a traceback."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from cellward.config import ConfigError
from cellward.signing import KeyFileError


def run_blocker(config_path: Path, log_level: str = "info") -> int:
    from sensors.blocker.config import load_blocker_config
    from sensors.blocker.node import BlockerNode

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    try:
        node = BlockerNode(load_blocker_config(config_path))
    except (ConfigError, KeyFileError) as exc:
        print(f"cellward blocker: {exc}", file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: node.stop())
    return node.run()

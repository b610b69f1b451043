"""A real MQTT broker on a free loopback port, started and stopped by the test that needs it.

Mosquitto when it is installed; otherwise (or with CELLWARD_TEST_BROKER=embedded) cellward's embedded
Python broker (cellward/embedded_broker.py), which reads the same mosquitto.conf, password file and ACL.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cellward.ports import free_port

MOSQUITTO_PATHS = ("mosquitto", "/usr/sbin/mosquitto")


def _mosquitto_binary() -> str | None:
    for candidate in MOSQUITTO_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _use_embedded() -> bool:
    return os.environ.get("CELLWARD_TEST_BROKER") == "embedded" or _mosquitto_binary() is None


@dataclass
class MosquittoBroker:
    """One broker process; `stop()` and `start()` simulate an outage on the same port and store."""

    workdir: Path
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    process: subprocess.Popen[bytes] | None = None
    embedded: bool = field(default_factory=_use_embedded)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def config_text(self) -> str:
        persistence = self.workdir / "store"
        persistence.mkdir(exist_ok=True)
        base = (
            f"listener {self.port} 127.0.0.1\npersistence true\npersistence_location {persistence}/\nlog_dest stderr\n"
        )
        if "allow_anonymous" not in self.extra_config:
            base += "allow_anonymous true\n"
        if os.geteuid() == 0:
            # started as root, Mosquitto drops to the `mosquitto` user, which can neither read password
            # files nor save its persistence database under pytest's tmp (mode 0700): a restart would
            # then forget durable sessions and the messages queued for them
            base += "user root\n"
        return base + self.extra_config

    def start(self, timeout_s: float = 10.0) -> None:
        config = self.workdir / "mosquitto.conf"
        config.write_text(self.config_text())
        log = (self.workdir / "mosquitto.log").open("ab")
        binary = [sys.executable, "-m", "cellward.embedded_broker"] if self.embedded else [_mosquitto_binary()]
        self.process = subprocess.Popen([*binary, "-c", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the broker exited: {(self.workdir / 'mosquitto.log').read_text()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the broker did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """An anonymous-access broker on a free port; tests that need ACLs build their own MosquittoBroker."""
    broker = MosquittoBroker(workdir=tmp_path)
    broker.start()
    yield broker
    broker.stop()

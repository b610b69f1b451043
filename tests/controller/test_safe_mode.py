"""An invalid config must not leave the control room blind: SAFE MODE serves the error on every route."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx2
from fastapi.testclient import TestClient

from controller.serve import build
from tests.controller.conftest import wait_for
from tests.support.mosquitto import free_port


def test_unknown_key_starts_safe_mode_reporting_the_file_line_and_field(tmp_path):
    config = tmp_path / "controller.yaml"
    config.write_text("site_id: hmp-test\nsite_file: site.yaml\nsensor_keyring: k.json\nalert_rules: {}\n")
    controller, app, _ = build(config)
    assert controller is None
    client = TestClient(app)
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["safe_mode"] is True
    assert "line 4" in health["config_error"] and "alert_rules" in health["config_error"]
    response = client.get("/api/incidents")
    assert response.status_code == 503 and "SAFE MODE" in response.json()["detail"]
    assert "alert_rules" in response.json()["detail"], "every route must show the config error"
    assert client.post("/api/auth/login", json={}).status_code == 503
    assert client.get("/ready").status_code == 503


def test_missing_files_are_config_errors_not_tracebacks(tmp_path):
    config = tmp_path / "controller.yaml"
    config.write_text("site_id: hmp-test\nsite_file: nowhere.yaml\nsensor_keyring: k.json\n")
    _, app, _ = build(config)
    error = TestClient(app).get("/health").json()["config_error"]
    assert "site_file" in error and "nowhere.yaml" in error and "does not exist" in error


def test_controller_run_serves_safe_mode_over_http_and_exits_cleanly_on_sigterm(tmp_path):
    config = tmp_path / "controller.yaml"
    config.write_text("site_id: [not, a, string]\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cellward.cli", "controller", "run", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:

        def health():
            try:
                return httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
            except httpx2.HTTPError:
                return None

        body = wait_for(health, timeout_s=30, what="the safe-mode API to come up")
        assert body["safe_mode"] is True and "site_id" in body["config_error"]
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, f"SIGTERM must shut down cleanly, got {process.returncode}: {output[-2000:]}"
    assert "Traceback" not in output

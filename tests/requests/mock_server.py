"""Runs sim.mock_operator under uvicorn on a loopback port with mutual TLS; stop() and start() make real outages."""

from __future__ import annotations

import ssl
import threading
import time

import uvicorn

from cellward.ports import free_port
from sim.mock_operator import MockOperatorState, create_app
from tests.requests.tls import Pki


class MockOperatorServer:
    """The mock operator's state outlives restarts, as a real operator's database would."""

    def __init__(self, pki: Pki, state: MockOperatorState | None = None) -> None:
        self.pki = pki
        self.state = state or MockOperatorState()
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.state),
            host="127.0.0.1",
            port=self.port,
            ssl_certfile=str(self.pki.server_cert),
            ssl_keyfile=str(self.pki.server_key),
            ssl_ca_certs=str(self.pki.ca_file),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=0.2,  # the controller's keep-alive connection must not hold a stop
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mock operator did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            self._thread.join(timeout=10)
            self._server = None

    def orders_for(self, request_id: str) -> list:
        return [order for order in self.state.orders.values() if order.request_id == request_id]

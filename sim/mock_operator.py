"""A mock network operator implementing firmware-interface/operator-webhook.openapi.yaml, for tests and demos.

It acknowledges each order at once, and reports it actioned (or rejected) once `action_after_s` has passed
when the order is next read (the controller polls GET /v1/orders/{reference}). It can be told to be down
(every call answers 503) or to lose the response of the next order after storing it (the sender must retry
with the same Idempotency-Key and get the same order back). Run: python -m sim.mock_operator --help
"""

from __future__ import annotations

import argparse
import hashlib
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class IssueBody(BaseModel):
    """The parts of an order the mock checks; the rest (the pack) is kept as received."""

    model_config = ConfigDict(extra="allow")

    schema_: Literal["cellward.operator-request/1"] = Field(alias="schema")
    request_id: str = Field(min_length=1)
    operator: str = Field(min_length=1)
    identifiers: list[dict[str, str]] = Field(min_length=1)
    pack_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class FollowUpBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_: Literal["cellward.operator-request/1"] = Field(alias="schema")
    request_id: str = Field(min_length=1)


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid")

    down: bool | None = None
    outcome: Literal["actioned", "rejected"] | None = None
    action_after_s: float | None = Field(default=None, ge=0)
    lose_next_response: bool | None = None


@dataclass
class Order:
    reference: str
    request_id: str
    status: str
    received_at: float
    body: dict[str, Any]
    reason: str = ""
    carve_outs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MockOperatorState:
    """Everything the mock knows; kept by the caller so it survives a server stop/start in tests."""

    name: str = "O2"
    outcome: str = "actioned"
    action_after_s: float = 0.0
    down: bool = False
    lose_next_response: bool = False
    orders: dict[str, Order] = field(default_factory=dict)
    replies: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # key -> (body hash, reply)
    received: list[tuple[str, str]] = field(default_factory=list)  # (idempotency key, path) of every POST
    lock: threading.Lock = field(default_factory=threading.Lock)

    def order_view(self, order: Order) -> dict[str, Any]:
        if order.status == "acknowledged" and time.time() - order.received_at >= self.action_after_s:
            order.status = self.outcome
            order.reason = "identifier not active on this network" if self.outcome == "rejected" else ""
        return {"reference": order.reference, "status": order.status, "reason": order.reason}


def create_app(state: MockOperatorState) -> FastAPI:
    app = FastAPI(title=f"mock operator {state.name}", version="1")

    @app.middleware("http")
    async def outage(request: Request, call_next):
        if state.down and not request.url.path.startswith("/_control"):
            return JSONResponse({"detail": "service unavailable (mock operator is down)"}, status_code=503)
        return await call_next(request)

    def once(key: str | None, path: str, body: dict[str, Any], make) -> JSONResponse:
        if not key:
            raise HTTPException(400, "Idempotency-Key header is required")
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with state.lock:
            state.received.append((key, path))
            if key in state.replies:
                seen_digest, reply = state.replies[key]
                if seen_digest != digest:
                    raise HTTPException(409, "Idempotency-Key reused with a different body")
                return JSONResponse(reply, status_code=200)
            reply = make()
            state.replies[key] = (digest, reply)
            if state.lose_next_response:
                state.lose_next_response = False
                return JSONResponse({"detail": "internal error after storing the order"}, status_code=500)
        return JSONResponse(reply, status_code=201)

    @app.post("/v1/orders", status_code=201)
    def create_order(body: IssueBody, idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
        raw = body.model_dump(mode="json", by_alias=True)

        def make() -> dict[str, Any]:
            reference = f"{state.name}-{len(state.orders) + 1:06d}"
            state.orders[reference] = Order(reference, body.request_id, "acknowledged", time.time(), raw)
            return {"reference": reference, "status": "acknowledged", "reason": ""}

        return once(idempotency_key, "/v1/orders", raw, make)

    def _order(reference: str) -> Order:
        order = state.orders.get(reference)
        if order is None:
            raise HTTPException(404, f"no order {reference}")
        return order

    @app.get("/v1/orders/{reference}")
    def get_order(reference: str) -> dict[str, Any]:
        with state.lock:
            return state.order_view(_order(reference))

    @app.post("/v1/orders/{reference}/withdrawal")
    def withdraw(
        reference: str, body: FollowUpBody, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        order = _order(reference)

        def make() -> dict[str, Any]:
            order.status = "withdrawn"
            return {"reference": reference, "status": "withdrawn", "reason": ""}

        return once(idempotency_key, f"/v1/orders/{reference}/withdrawal", body.model_dump(by_alias=True), make)

    @app.post("/v1/orders/{reference}/carve-outs")
    def carve_out(
        reference: str, body: FollowUpBody, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        order = _order(reference)
        raw = body.model_dump(by_alias=True)

        def make() -> dict[str, Any]:
            order.carve_outs.append(raw)
            return {"reference": reference, "status": order.status, "reason": ""}

        return once(idempotency_key, f"/v1/orders/{reference}/carve-outs", raw, make)

    @app.post("/_control")
    def control(change: Control) -> dict[str, Any]:
        with state.lock:
            for name, value in change.model_dump(exclude_none=True).items():
                setattr(state, name, value)
            return {"down": state.down, "outcome": state.outcome, "action_after_s": state.action_after_s}

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description="Mock operator webhook (HTTPS with client certificates)")
    parser.add_argument("--name", default="O2", help="Operator network name")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert", required=True, help="Server certificate (PEM)")
    parser.add_argument("--key", required=True, help="Server private key (PEM)")
    parser.add_argument("--client-ca", required=True, help="CA that signs the controller's client certificate")
    parser.add_argument("--outcome", choices=["actioned", "rejected"], default="actioned")
    parser.add_argument("--action-after-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    state = MockOperatorState(name=args.name, outcome=args.outcome, action_after_s=args.action_after_s)
    uvicorn.run(
        create_app(state),
        host=args.host,
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        ssl_ca_certs=args.client_ca,
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Operator adapter for the HTTPS webhook of firmware-interface/operator-webhook.openapi.yaml (mutual TLS)."""

from __future__ import annotations

import ssl

import httpx2

from controller.operators.adapter import DeliveryError, DeliveryResult, OutgoingMessage
from controller.requests.config import WebhookRoute

# The operator's words for an order's state -> ours.
_STATUS = {"received": "submitted", "acknowledged": "acknowledged", "actioned": "actioned", "rejected": "rejected"}
_RETRYABLE = {408, 425, 429}


class WebhookAdapter:
    """POSTs each message with an Idempotency-Key; 5xx, timeouts and refused connections are retried."""

    def __init__(self, route: WebhookRoute) -> None:
        context = ssl.create_default_context(cafile=str(route.ca_file))
        context.load_cert_chain(str(route.cert_file), str(route.key_file))
        self.client = httpx2.Client(base_url=route.url.rstrip("/"), verify=context, timeout=route.timeout_s)

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        reference = message.body.get("operator_reference")
        if message.kind != "issue" and not reference:
            raise DeliveryError(f"{message.kind} needs the operator's order reference, which is unknown", False)
        path = {
            "issue": "/v1/orders",
            "withdraw": f"/v1/orders/{reference}/withdrawal",
            "carve_out": f"/v1/orders/{reference}/carve-outs",
        }[message.kind]
        return self._result(self._call("POST", path, message.idempotency_key, message.body))

    def poll(self, message: OutgoingMessage, reference: str | None) -> DeliveryResult | None:
        if not reference:
            return None
        return self._result(self._call("GET", f"/v1/orders/{reference}", None, None))

    def _call(self, method: str, path: str, key: str | None, body: dict | None) -> dict:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            response = self.client.request(method, path, json=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise DeliveryError(f"{method} {path}: {exc.__class__.__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code in _RETRYABLE:
            raise DeliveryError(f"{method} {path}: operator answered {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(
                f"{method} {path}: operator refused the message with {response.status_code}: {response.text[:300]}",
                retryable=False,
            )
        try:
            return response.json()
        except ValueError:
            raise DeliveryError(f"{method} {path}: operator answered {response.status_code} without JSON") from None

    @staticmethod
    def _result(document: dict) -> DeliveryResult:
        status = _STATUS.get(str(document.get("status")), "submitted")
        return DeliveryResult(
            status=status,
            reference=document.get("reference"),
            reason=str(document.get("reason") or ""),
            detail=document,
        )

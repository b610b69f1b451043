"""The operator adapters by name (one line each), built from the config's per-operator routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from controller.operators.adapter import OperatorAdapter
from controller.operators.email import EmailAdapter
from controller.operators.export_folder import ExportFolderAdapter
from controller.operators.webhook import WebhookAdapter
from controller.requests.config import OperatorRoute

ADAPTERS: dict[str, Callable[[Any], OperatorAdapter]] = {
    "export_folder": ExportFolderAdapter,
    "webhook": WebhookAdapter,
    "email": EmailAdapter,
}


def build_adapters(routes: Mapping[str, OperatorRoute]) -> dict[str, OperatorAdapter]:
    """One adapter per operator network name; routes sharing a licensee simply repeat the same settings."""
    return {operator: ADAPTERS[route.adapter](route) for operator, route in routes.items()}

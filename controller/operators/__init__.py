"""Delivery of requests to network operators: adapters behind one interface, and the durable outbox."""

from controller.operators.adapter import DeliveryError, DeliveryResult, OperatorAdapter, OutgoingMessage
from controller.operators.outbox import OutboxDispatcher, enqueue
from controller.operators.registry import ADAPTERS, build_adapters

__all__ = [
    "ADAPTERS",
    "DeliveryError",
    "DeliveryResult",
    "OperatorAdapter",
    "OutboxDispatcher",
    "OutgoingMessage",
    "build_adapters",
    "enqueue",
]

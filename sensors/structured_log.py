"""key=value log lines carrying the site and sensor id, so a fleet's logs can be grepped and parsed."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any


def _value(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or "=" in text or not text) else text


class KeyValueLogger(logging.LoggerAdapter):
    """`log.info("event", key=value, ...)` -> "event site=... sensor=... key=value"."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        fields = {**(self.extra or {}), **kwargs.pop("fields", {})}
        for key in [k for k in kwargs if k not in ("exc_info", "stack_info", "stacklevel", "extra")]:
            fields[key] = kwargs.pop(key)
        return f"{msg} " + " ".join(f"{k}={_value(v)}" for k, v in fields.items()), kwargs


def node_logger(name: str, **context: object) -> KeyValueLogger:
    return KeyValueLogger(logging.getLogger(name), dict(context))

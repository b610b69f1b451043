"""Loading YAML config files into pydantic models, with errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that cannot be used; the message is meant for the person who edits the file."""


def _line_of(node: yaml.Node, location: tuple[int | str, ...]) -> int:
    """1-based line of the YAML node at a pydantic error location (the deepest node that exists)."""
    for key in location:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == key), None)
            if child is None:
                child = next((k for k, _ in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        else:
            child = None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _format_errors(path: Path, root: yaml.Node, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} problem(s):"]
    for item in error.errors():
        location = tuple(item["loc"])
        dotted = ".".join(str(part) for part in location) or "(top level)"
        lines.append(f"  line {_line_of(root, location)}: {dotted}: {item['msg']}")
    return "\n".join(lines)


def parse_yaml_model(text: str, model: type[ModelT], source: Path | str = "<string>") -> ModelT:
    """Validate YAML text against `model`; raise ConfigError naming the line of every problem."""
    source = Path(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "unknown line"
        raise ConfigError(f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if root is None:
        raise ConfigError(f"{source}: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, root, exc)) from None


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read and validate a YAML config file; raise ConfigError (never a traceback) when it is unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    return parse_yaml_model(text, model, path)

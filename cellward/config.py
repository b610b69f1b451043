"""Loading YAML config files into pydantic models, with errors that name the file, line and field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: site files run to thousands of lines
Location = tuple[int | str, ...]
# checks that need the whole validated model (cross-references, geometry): (location, message) pairs
# the messages name the item themselves ("room 'A-0-03': unknown zone"), so only the line is added
Checks = Callable[[Any], Sequence[tuple[Location, str]]]


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


def _format_problems(
    path: Path, root: yaml.Node, problems: Sequence[tuple[Location, str]], name_fields: bool = True
) -> str:
    lines = [f"{path}: {len(problems)} problem(s):"]
    for location, message in problems:
        field = (".".join(str(part) for part in location) or "(top level)") + ": " if name_fields else ""
        lines.append(f"  line {_line_of(root, location)}: {field}{message}")
    return "\n".join(lines)


def parse_yaml_model(
    text: str, model: type[ModelT], source: Path | str = "<string>", checks: Checks | None = None
) -> ModelT:
    """Validate YAML text against `model`, then run `checks` on the result; raise ConfigError naming the
    line of every problem."""
    source = Path(source)
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data: Any = _LOADER(text).construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "unknown line"
        raise ConfigError(f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if root is None:
        raise ConfigError(f"{source}: the file is empty")
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        problems = [(tuple(item["loc"]), item["msg"]) for item in exc.errors()]
        raise ConfigError(_format_problems(source, root, problems)) from None
    problems = list(checks(result)) if checks else []
    if problems:
        raise ConfigError(_format_problems(source, root, problems, name_fields=False))
    return result


def load_yaml_model(path: Path, model: type[ModelT], checks: Checks | None = None) -> ModelT:
    """Read and validate a YAML config file; raise ConfigError (never a traceback) when it is unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    return parse_yaml_model(text, model, path, checks)

"""Loads the jurisdiction templates (legal basis, decision maker, deadline, identifiers) from YAML files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cellward.config import ConfigError, load_yaml_model

TEMPLATE_DIR = Path(__file__).resolve().parent
IdentifierKind = str


class JurisdictionError(ConfigError):
    """An unknown jurisdiction id or a template file that does not validate."""


class Jurisdiction(BaseModel):
    """One legal regime under which a disconnection can be requested."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id used in requests (e.g. england-wales-tro)")
    name: str = Field(description="Human-readable name")
    country: str = Field(description="ISO 3166 code or subdivision (GB-EAW, GB-SCT, US)")
    instrument: str = Field(description="What is applied for (order, qualifying request)")
    statute: str = Field(description="The enabling provision")
    regulations: str = Field(description="The procedural instrument")
    decision_maker: str = Field(description="Who decides (county court, sheriff, DCFO)")
    applicant_role: str = Field(description="Who may apply")
    test: str = Field(description="What the decision maker must be satisfied of")
    deadline_working_days: int = Field(ge=0, le=60, description="Working days the operator has to act")
    deadline_note: str = Field(description="How the deadline is counted")
    calendar: str = Field(description="Holiday calendar id in holidays.yaml")
    carve_outs: str = Field(description="How devices later shown outside or authorised are excluded")
    requires_identifier: bool = Field(description="Whether a device identifier must be attached before drafting")
    identifier_kinds: list[str] = Field(min_length=1, description="Identifier kinds the regime recognises")
    sources: list[str] = Field(min_length=1, description="Where the text can be checked")


@cache
def _all() -> dict[str, Jurisdiction]:
    templates = {}
    for path in sorted(TEMPLATE_DIR.glob("*.yaml")):
        if path.name == "holidays.yaml":
            continue
        template = load_yaml_model(path, Jurisdiction)
        templates[template.id] = template
    return templates


def jurisdiction_ids() -> list[str]:
    return sorted(_all())


def jurisdiction(template_id: str) -> Jurisdiction:
    try:
        return _all()[template_id]
    except KeyError:
        raise JurisdictionError(
            f"unknown jurisdiction {template_id!r}; known: {', '.join(jurisdiction_ids())}"
        ) from None

"""The controller's site-wide scan focus: the channels phones were heard on lately, for every sensor's revisits.

Topic cellward/<site>/controller/scan_focus, retained, QoS 1, signed by the controller (scan-focus.v1.json).
Every sensor of the site spends its revisit slots on the tunings that hold these channels, choosing by the
slot number, so on a revisit slot every sensor is on the same frequency and hears the same bursts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cellward.messages.envelope import Envelope

SCAN_FOCUS_SCHEMA = "cellward.scan_focus/1"
MAX_FOCUS_CHANNELS = 64
MAX_CONTROL_CHANNELS = 16
# A focus is obeyed from its `ts` plus this long: every sensor has it by then, so all of them change their
# revisit slots at the same slot instead of each when its copy arrives.
FOCUS_APPLIES_AFTER_S = 1.0


def scan_focus_topic(site: str) -> str:
    """Where the controller publishes the site's scan focus (one retained message per site)."""
    return f"cellward/{site}/controller/scan_focus"


class ScanFocus(Envelope):
    schema_name: Literal["cellward.scan_focus/1"] = Field(default=SCAN_FOCUS_SCHEMA, alias="schema")
    channels_hz: list[float] = Field(
        max_length=MAX_FOCUS_CHANNELS,
        description="report-raster channel centres with phone activity lately, ascending, Hz; empty: none",
    )
    control_channels_hz: list[float] = Field(
        default_factory=list,
        max_length=MAX_CONTROL_CHANNELS,
        description="uplinks of the GSM control carriers (BCCH, C0) serving the site, ascending, Hz: every other "
        "revisit slot goes to them",
    )
    valid_s: float = Field(
        gt=0, le=3600, description="the focus holds until ts + valid_s; after that a sensor uses its own activity"
    )

"""IQ sources behind one interface, chosen by the `kind` of the sensor config's `source` section.

Adding a source is one module (a pydantic config with a `kind` literal and a class with the IQSource
methods) plus one line in SOURCES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, Field

from sensors.sources.base import IQSource, SourceCounters, SourceError, SourceFault, SourceInfo
from sensors.sources.faults import FaultySource
from sensors.sources.rtl_tcp import RtlTcpConfig, RtlTcpSource
from sensors.sources.rtlsdr import RtlSdrConfig, RtlSdrSource
from sensors.sources.scene import SceneConfig, SceneSource
from sensors.sources.sigmf_replay import EndOfRecording, SigmfConfig, SigmfReplaySource
from sensors.sources.sim_feed import SimConfig, SimFeedSource
from sensors.sources.soapy import SoapyConfig, SoapySource

SOURCES: dict[str, Callable[..., IQSource]] = {
    "rtlsdr": RtlSdrSource,
    "rtl_tcp": RtlTcpSource,
    "sigmf": SigmfReplaySource,
    "scene": SceneSource,
    "sim": SimFeedSource,
    "soapy": SoapySource,
}

SourceConfig = Annotated[
    RtlSdrConfig | RtlTcpConfig | SigmfConfig | SceneConfig | SimConfig | SoapyConfig, Field(discriminator="kind")
]


def build_source(config: BaseModel) -> IQSource:
    """The source named by `config.kind`, wrapped with its injected faults when the config lists any."""
    source = SOURCES[config.kind](config)  # type: ignore[attr-defined]
    faults = getattr(config, "faults", None)
    return FaultySource(source, faults) if faults else source


__all__ = [
    "SOURCES",
    "EndOfRecording",
    "IQSource",
    "SourceConfig",
    "SourceCounters",
    "SourceError",
    "SourceFault",
    "SourceInfo",
    "build_source",
]

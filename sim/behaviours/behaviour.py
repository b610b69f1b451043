"""The interface every phone behaviour implements: an activity on a carrier becomes planned bursts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import Activity


@dataclass(frozen=True)
class Behaviour:
    """One phone behaviour: its name in scenario files, its technology and its burst planner."""

    name: str
    technology: str
    plan: Callable[[Activity, Carrier, np.random.Generator], PlannedBursts]

"""The site model: geometry, zones, materials, sensors and blockers of a prison, and its propagation.

The simulator uses it to make signals and the controller to locate them (SYSTEM.md 1).
"""

from cellward.site.model import BlockerUnit, Material, SensorPlacement, SiteFile, Zone
from cellward.site.site import (
    Room,
    Site,
    SiteError,
    WallSegment,
    load_site,
    point_in_polygon,
    reference_site_path,
    small_site_path,
)

__all__ = [
    "BlockerUnit",
    "Material",
    "Room",
    "SensorPlacement",
    "Site",
    "SiteError",
    "SiteFile",
    "WallSegment",
    "Zone",
    "load_site",
    "point_in_polygon",
    "reference_site_path",
    "small_site_path",
]

"""The site model: a prison's geometry, materials, zones, sensors and blockers, and the propagation over it.

Shared by the simulator (to make signals) and the controller (to locate them); imports none of the parts.
"""

from cellward.site.load import SiteError, load_site, parse_site, reference_site_path, small_site_path
from cellward.site.model import BlockerUnit, FloorSlab, Material, Room, SensorPlacement, Wall, Wing, Zone
from cellward.site.site import Site

__all__ = [
    "BlockerUnit",
    "FloorSlab",
    "Material",
    "Room",
    "SensorPlacement",
    "Site",
    "SiteError",
    "Wall",
    "Wing",
    "Zone",
    "load_site",
    "parse_site",
    "reference_site_path",
    "small_site_path",
]

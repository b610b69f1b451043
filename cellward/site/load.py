"""Loading a site file: YAML schema validation, then semantic checks, every problem reported with its line."""

from __future__ import annotations

from pathlib import Path

from cellward.config import ConfigError, parse_yaml_model
from cellward.site.checks import site_problems
from cellward.site.site import Site

_SITES_DIR = Path(__file__).resolve().parent.parent / "sites"


class SiteError(ConfigError):
    """A site file that cannot be used; the message names the file, the line and the problem."""


def reference_site_path() -> Path:
    """The shipped reference site: a four-wing radial prison of three landings (480 cells)."""
    return _SITES_DIR / "reference.yaml"


def small_site_path() -> Path:
    """The shipped small site for fast tests: one wing of two landings (16 cells)."""
    return _SITES_DIR / "small.yaml"


def parse_site(text: str, source: Path | str = "<string>") -> Site:
    """Validate site YAML text; raise SiteError naming the line of every problem."""
    try:
        return parse_yaml_model(text, Site, source, checks=site_problems)
    except ConfigError as exc:
        raise SiteError(str(exc)) from None


def load_site(path: Path | str) -> Site:
    """Read, validate and check a site file; raise SiteError (never a traceback) when it is unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteError(f"{path}: cannot read the site file ({exc.strerror})") from None
    return parse_site(text, path)

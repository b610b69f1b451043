"""`cellward provision`: per-node broker accounts, Ed25519 keys, the broker ACL and config, node configs.

One run writes everything a site needs to start securely (layout in `docs/scaling.md`):

    OUT/mosquitto/{mosquitto.conf, passwd, acl}      broker: no anonymous access, one account per node
    OUT/keys/<node>.pem, OUT/keyring.json            Ed25519 keys; the keyring is what the controller trusts
    OUT/controller-keyring.json                      the controller's public key: what nodes trust (commands, acks)
    OUT/secrets/<node>.mqtt                          each node's broker password (mode 0600)
    OUT/controller.yaml, OUT/sensors/<id>.yaml       configs that point at the files above
    OUT/blockers/<id>.yaml                           blocker node configs (GPIO relay lines to check on site)
    OUT/mosquitto/bridge.conf                        with --bridge: the site broker's bridge to a central one

ACL: a sensor (or blocker) may write only under its own id and read only its own command topic (a sensor
also its acks and the site's scan focus); the controller reads the whole site and writes commands and its
own `controller/` topics. The password file uses Mosquitto's PBKDF2-SHA512 format (`$7$`), which
`mosquitto_passwd` writes, so no external tool is needed.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cellward.messages import ack_topic, scan_focus_topic
from cellward.messages.topics import NODE_LEAVES
from cellward.signing import Keyring, NodeKey
from cellward.site import BlockerUnit
from sensors.scan_plan import DEFAULT_SCAN_GROUPS

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default
CONTROLLER_USER = "controller"
# What the controller publishes that the estate sees (its acks to the site's sensors stay on site)
CONTROLLER_OUT = ("availability", "incidents", "alerts", "requests")
# What the estate sees of blocker units: on/off and fail-safe state, faults, availability (not the
# 2 s heartbeats). No blocker command crosses the bridge in either direction.
BLOCKER_OUT = ("availability", "state", "faults")
BRIDGE_USER = "bridge"
# Raspberry Pi BCM lines free of the Pi's buses, in the order a blocker's bands are given relays; the
# installer checks them against the relay board's wiring before the first run.
DEFAULT_RELAY_LINES = (17, 27, 22, 23, 24, 25, 5, 6, 12, 13, 16, 19, 20, 21, 26, 18)


@dataclass
class Provisioned:
    """What one run wrote: paths and the generated passwords (the demo prints them; a site never does)."""

    out: Path
    site_id: str
    broker_port: int
    passwords: dict[str, str] = field(default_factory=dict)
    sensor_configs: dict[str, Path] = field(default_factory=dict)
    blocker_configs: dict[str, Path] = field(default_factory=dict)

    @property
    def mosquitto_conf(self) -> Path:
        return self.out / "mosquitto" / "mosquitto.conf"

    @property
    def controller_config(self) -> Path:
        return self.out / "controller.yaml"


def mosquitto_password_line(user: str, password: str, salt: bytes | None = None) -> str:
    """One password-file line in the format `mosquitto_passwd` writes (PBKDF2-HMAC-SHA512, 12-byte salt)."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"{user}:$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_password(hashed: str, password: str) -> bool:
    """Whether `password` matches a password-file hash: `$7$` (PBKDF2-HMAC-SHA512) or the older `$6$` (SHA-512)."""
    parts = hashed.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
            computed = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
        elif len(parts) == 4 and parts[1] == "6":
            salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            computed = hashlib.sha512(password.encode() + salt).digest()
        else:
            return False
    except ValueError:  # bad base64 or iteration count: a damaged line matches no password
        return False
    return hmac.compare_digest(computed, digest)


def node_acl(site_id: str, node_id: str, kind: str = "sensor") -> str:
    """A sensor or blocker account: write its own streams and acknowledgements, read its own commands."""
    lines = [f"user {node_id}"]
    lines += [f"topic write cellward/{site_id}/{kind}/{node_id}/{leaf}" for leaf in (*NODE_LEAVES[kind], "cmd/+/state")]
    lines.append(f"topic read cellward/{site_id}/{kind}/{node_id}/cmd/+/set")
    if kind == "sensor":
        lines += [f"topic read {ack_topic(site_id, node_id)}", f"topic read {scan_focus_topic(site_id)}"]
    return "\n".join(lines)


def controller_acl(site_id: str) -> str:
    return "\n".join(
        [
            f"user {CONTROLLER_USER}",
            f"topic read cellward/{site_id}/#",
            f"topic write cellward/{site_id}/sensor/+/cmd/+/set",
            f"topic write cellward/{site_id}/blocker/+/cmd/+/set",
            f"topic readwrite cellward/{site_id}/controller/#",
        ]
    )


def bridge_acl(site_id: str) -> str:
    """The central broker's account for this site: it may write only under the site's own tree."""
    return f"user {BRIDGE_USER}-{site_id}\ntopic readwrite cellward/{site_id}/#"


def bridge_config(site_id: str, central: str, password: str) -> str:
    """Site-broker bridge: the site's reports, blocker health and controller events go out; only sensor commands
    come back (never blocker commands)."""
    host, _, port = central.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--bridge must be HOST:PORT, got {central!r}")
    return "\n".join(
        [
            f"connection central-{site_id}",
            f"address {host}:{port}",
            f"remote_username {BRIDGE_USER}-{site_id}",
            f"remote_password {password}",
            f"remote_clientid bridge-{site_id}",
            "cleansession false",
            "try_private true",
            "restart_timeout 2 10",
            # out: what the estate sees; in: only commands addressed to this site's nodes
            f"topic sensor/+/detections out 1 cellward/{site_id}/ cellward/{site_id}/",
            f"topic sensor/+/status out 1 cellward/{site_id}/ cellward/{site_id}/",
            f"topic sensor/+/availability out 1 cellward/{site_id}/ cellward/{site_id}/",
            # blocker units' health for the estate; never their heartbeats, commands or command answers
            *(f"topic blocker/+/{leaf} out 1 cellward/{site_id}/ cellward/{site_id}/" for leaf in BLOCKER_OUT),
            *(f"topic controller/{leaf} out 1 cellward/{site_id}/ cellward/{site_id}/" for leaf in CONTROLLER_OUT),
            f"topic sensor/+/cmd/+/set in 1 cellward/{site_id}/ cellward/{site_id}/",
            "",
        ]
    )


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)


def provision(
    site_file: Path,
    site_id: str,
    out: Path,
    broker_port: int = 1883,
    api_port: int = 8080,
    bridge: str | None = None,
    database_url: str = "sqlite:///controller.db",
    scan_groups: int = DEFAULT_SCAN_GROUPS,
) -> Provisioned:
    """Write every node's credentials and keys, the broker's password file, ACL and config, and node configs.

    `scan_groups`: the site's scan groups (sensors.scan_plan); each sensor's config gets its group from the
    site model (cellward.site.scan_groups) and the controller's the number, so both agree on who listens when."""
    from cellward.site import load_site
    from cellward.site.scan_groups import sensor_groups

    if bridge is not None:
        bridge_config(site_id, bridge, "")  # a bad HOST:PORT is reported before anything is written
    site = load_site(site_file)
    groups = sensor_groups(site, scan_groups)  # a scan_group the site file gives too high stops here
    out = Path(out).resolve()
    result = Provisioned(out, site_id, broker_port)
    nodes = [s.id for s in site.sensors]
    blockers = [b.id for b in site.blockers]
    keyring = Keyring()
    controller_ring = Keyring()
    password_lines = []
    for node in [*nodes, *blockers, CONTROLLER_USER]:
        password = secrets.token_urlsafe(18)
        result.passwords[node] = password
        password_lines.append(mosquitto_password_line(node, password))
        _write_secret(out / "secrets" / f"{node}.mqtt", password)
        key = NodeKey.generate(node)
        key.save(out / "keys" / f"{node}.pem")
        if node != CONTROLLER_USER:
            keyring.add(node, key.public_b64)
        else:
            controller_ring.add(node, key.public_b64)
    keyring.save(out / "keyring.json")
    controller_ring.save(out / "controller-keyring.json")

    broker_dir = out / "mosquitto"
    broker_dir.mkdir(parents=True, exist_ok=True)
    _write_secret(broker_dir / "passwd", "\n".join(password_lines))
    acl = [controller_acl(site_id)]
    acl += [node_acl(site_id, n) for n in nodes]
    acl += [node_acl(site_id, b, kind="blocker") for b in blockers]
    (broker_dir / "acl").write_text("\n\n".join(acl) + "\n", encoding="utf-8")
    conf = [
        # started as root, Mosquitto would drop to the `mosquitto` user, which cannot read the 0600 password file
        f"user {getpass.getuser()}",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {broker_dir / 'passwd'}",
        f"acl_file {broker_dir / 'acl'}",
        f"listener {broker_port} 127.0.0.1",
        "persistence true",
        f"persistence_location {broker_dir}/",
        "max_queued_messages 100000",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
    ]
    if bridge:
        bridge_password = secrets.token_urlsafe(18)
        result.passwords[f"{BRIDGE_USER}-{site_id}"] = bridge_password
        bridge_text = bridge_config(site_id, bridge, bridge_password)
        (broker_dir / "bridge.conf").write_text(bridge_text, encoding="utf-8")
        conf.append(bridge_text)
        # for the central broker: the bridge account's password line and ACL, to add to its files
        _write_secret(
            broker_dir / "central-passwd", mosquitto_password_line(f"{BRIDGE_USER}-{site_id}", bridge_password)
        )
        (broker_dir / "central-acl").write_text(bridge_acl(site_id) + "\n", encoding="utf-8")
    (broker_dir / "mosquitto.conf").write_text("\n".join(conf) + "\n", encoding="utf-8")

    controller = {
        "site_id": site_id,
        "site_file": str(Path(site_file).resolve()),
        "sensor_keyring": "keyring.json",
        "signing_key_file": "keys/controller.pem",
        "database": {"url": database_url},
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker_port,
            "username": CONTROLLER_USER,
            "password_env": "CELLWARD_MQTT_PASSWORD",
        },
        "api": {"host": "127.0.0.1", "port": api_port},
        "scan": {"groups": scan_groups},
    }
    (out / "controller.yaml").write_text(yaml.safe_dump(controller, sort_keys=False), encoding="utf-8")
    (out / "sensors").mkdir(exist_ok=True)
    for node in nodes:
        config = {
            "site": site_id,
            "sensor_id": node,
            "source": {"kind": "rtlsdr", "device_index": 0},
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker_port,
                "username": node,
                "password_file": f"../secrets/{node}.mqtt",
            },
            "signing_key": f"../keys/{node}.pem",
            "controller_keyring": "../controller-keyring.json",
            "state_dir": f"../state/{node}",
            "scan": {"groups": scan_groups, "group": groups[node]},
            "http": None,
        }
        path = out / "sensors" / f"{node}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        result.sensor_configs[node] = path
    (out / "blockers").mkdir(exist_ok=True)
    for unit in site.blockers:
        path = out / "blockers" / f"{unit.id}.yaml"
        path.write_text(yaml.safe_dump(blocker_config(site_id, unit, broker_port), sort_keys=False), encoding="utf-8")
        result.blocker_configs[unit.id] = path
    return result


def blocker_config(site_id: str, unit: BlockerUnit, broker_port: int) -> dict:
    """A blocker node's config: the unit's zones, bands and EIRP limit from the site file, relays on GPIO."""
    return {
        "site": site_id,
        "blocker_id": unit.id,
        "zones": list(unit.zones),
        "bands": {band: {"max_power_dbm": unit.max_eirp_dbm} for band in unit.bands},
        "actuator": {
            "kind": "gpio",
            "chip": "/dev/gpiochip0",
            "lines": dict(zip(unit.bands, DEFAULT_RELAY_LINES, strict=False)),
        },
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker_port,
            "username": unit.id,
            "password_file": f"../secrets/{unit.id}.mqtt",
        },
        "signing_key": f"../keys/{unit.id}.pem",
        "controller_keyring": "../controller-keyring.json",
        "state_dir": f"../state/{unit.id}",
        "failsafe": {"state": "off", "timeout_s": 10.0},
        "http": None,
    }

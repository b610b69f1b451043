"""An MQTT broker in Python (amqtt) for machines without Mosquitto: the demo and the test fixture use it.

It reads the same `mosquitto.conf` that `cellward provision` writes and enforces the same security:
no anonymous access unless `allow_anonymous true`, accounts from Mosquitto's password file (PBKDF2-SHA512
`$7$` lines, as `mosquitto_passwd` and `cellward provision` write them), and Mosquitto's ACL file
(`user NAME`, then `topic read|write|readwrite|deny FILTER`; lines before any `user` apply to anonymous
clients). One difference, on the safe side: a subscription wider than the account's read rules is
refused as a whole (Mosquitto grants it and filters each delivery); cellward's nodes and controller
subscribe only inside their rules. It listens on loopback only. Not supported, and refused with a
clear error rather than ignored: TLS listeners, bridges, plugins and includes. It keeps nothing on
disk unless `persistence true`: then durable sessions, their queued QoS 1 messages and retained messages
outlive a restart in `persistence_location`/embedded-broker.sqlite (amqtt's session store).

    python -m cellward.embedded_broker -c OUT/mosquitto/mosquitto.conf
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from amqtt.broker import Broker, BrokerContext
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.plugins.topic_checking import TopicAccessControlListPlugin
from amqtt.session import Session

from cellward.provision import verify_mosquitto_password

LOOPBACK = ("127.0.0.1", "::1", "localhost")
# Directives of mosquitto.conf that change nothing a client can observe from this broker.
IGNORED = {
    "user",
    "per_listener_settings",
    "persistence_file",
    "autosave_interval",
    "max_queued_messages",
    "log_dest",
    "log_type",
    "log_timestamp",
}


class BrokerConfigError(ValueError):
    """A mosquitto.conf this broker cannot honour; the message names the line."""


@dataclass
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    allow_anonymous: bool = False
    password_file: Path | None = None
    acl_file: Path | None = None
    persistence_dir: Path | None = None  # where sessions and retained messages outlive a restart


def read_mosquitto_conf(path: Path) -> BrokerSettings:
    """The subset of mosquitto.conf that cellward writes; anything that would change security is refused."""
    settings = BrokerSettings()
    persistence, location = False, path.parent
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        value = value.strip()
        where = f"{path}:{number}"
        if key == "listener":
            port, _, host = value.partition(" ")
            settings.port, settings.host = int(port), host.strip() or settings.host
        elif key == "port":
            settings.port = int(value)
        elif key == "bind_address":
            settings.host = value
        elif key == "allow_anonymous":
            settings.allow_anonymous = value == "true"
        elif key == "password_file":
            settings.password_file = Path(value)
        elif key == "acl_file":
            settings.acl_file = Path(value)
        elif key == "persistence":
            persistence = value == "true"
        elif key == "persistence_location":
            location = Path(value)
        elif key not in IGNORED:
            raise BrokerConfigError(
                f"{where}: `{key}` is not supported by the embedded broker (TLS, bridges and plugins need "
                "Mosquitto: apt-get install mosquitto)"
            )
    settings.persistence_dir = location if persistence else None
    if settings.host not in LOOPBACK:
        raise BrokerConfigError(f"{path}: the embedded broker listens on loopback only, not {settings.host}")
    return settings


@dataclass(frozen=True)
class AclRule:
    access: str  # read, write, readwrite or deny
    topic_filter: str


def read_acl_file(path: Path) -> dict[str | None, list[AclRule]]:
    """Rules per user name (None: anonymous clients), as Mosquitto's acl_file states them."""
    rules: dict[str | None, list[AclRule]] = {None: []}
    user: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user" and len(words) == 2:
            user = words[1]
            rules.setdefault(user, [])
        elif words[0] == "topic" and len(words) == 3 and words[1] in ("read", "write", "readwrite", "deny"):
            rules[user].append(AclRule(words[1], words[2]))
        elif words[0] == "topic" and len(words) == 2:
            rules[user].append(AclRule("readwrite", words[1]))
        else:
            raise BrokerConfigError(f"{path}:{number}: not an ACL line this broker understands: {raw.strip()!r}")
    return rules


def acl_allows(rules: list[AclRule], topic: str, wanted: str) -> bool:
    """Mosquitto's order: a matching `deny` wins, then any rule granting `wanted` (read or write)."""
    matches = [r for r in rules if TopicAccessControlListPlugin.topic_ac(topic, r.topic_filter)]
    if any(r.access == "deny" for r in matches):
        return False
    return any(r.access in (wanted, "readwrite") for r in matches)


class MosquittoPasswordAuth(BaseAuthPlugin):
    """Accounts from a Mosquitto password file; anonymous clients only with allow_anonymous."""

    @dataclass
    class Config:
        allow_anonymous: bool = False
        password_file: str | None = None

    def __init__(self, context: BrokerContext) -> None:
        super().__init__(context)
        self.hashes: dict[str, str] = {}
        if self.config.password_file:
            for line in Path(self.config.password_file).read_text(encoding="utf-8").splitlines():
                user, sep, hashed = line.strip().partition(":")
                if sep:
                    self.hashes[user] = hashed

    async def authenticate(self, *, session: Session) -> bool | None:
        if session.username is None:
            return self.config.allow_anonymous
        if not self.config.password_file:
            return self.config.allow_anonymous  # Mosquitto: without a password file, a name is not checked
        hashed = self.hashes.get(session.username)
        return hashed is not None and verify_mosquitto_password(hashed, session.password or "")


class MosquittoAclCheck(BaseTopicPlugin):
    """Publish needs `write`, subscribe and delivery need `read`; without an ACL file everything is allowed."""

    @dataclass
    class Config:
        acl_file: str | None = None

    def __init__(self, context: BrokerContext) -> None:
        super().__init__(context)
        self.rules = read_acl_file(Path(self.config.acl_file)) if self.config.acl_file else None

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        if self.rules is None:
            return True
        if topic is None or session is None:
            return False
        rules = self.rules.get(session.username, []) if session.username is not None else self.rules[None]
        return acl_allows(rules, topic, "write" if action == Action.PUBLISH else "read")


def broker_config(settings: BrokerSettings) -> dict:
    plugin = f"{__name__}."
    config: dict = {
        "listeners": {"default": {"type": "tcp", "bind": f"{settings.host}:{settings.port}"}},
        "plugins": {
            plugin + "MosquittoPasswordAuth": {
                "allow_anonymous": settings.allow_anonymous,
                "password_file": str(settings.password_file) if settings.password_file else None,
            },
            plugin + "MosquittoAclCheck": {"acl_file": str(settings.acl_file) if settings.acl_file else None},
        },
    }
    if settings.persistence_dir is not None:
        database = settings.persistence_dir / "embedded-broker.sqlite"
        config["plugins"]["amqtt.contrib.persistence.SessionDBPlugin"] = {
            "connection": f"sqlite+aiosqlite:///{database}",
            "clear_on_shutdown": False,
        }
    return config


async def serve(settings: BrokerSettings) -> None:
    """Run until SIGTERM or SIGINT."""
    broker = Broker(broker_config(settings))
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):  # shutting down: a client's half-closed socket is not our problem
        await broker.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cellward.embedded_broker", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-c", "--config", type=Path, required=True, help="mosquitto.conf (as cellward provision writes)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = read_mosquitto_conf(args.config)
        if settings.acl_file:
            read_acl_file(settings.acl_file)  # a bad line is reported now, not at the first client
    except (OSError, ValueError) as exc:
        print(f"cellward embedded broker: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-sensor broker accounts, ACLs and TLS, the last will on a crash, and the systemd watchdog."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cellward.provision import mosquitto_password_line
from cellward.signing import verify_message
from tests.sensors.harness import Listener, SystemdNotifications, make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker

ACL = """user controller
topic read cellward/#
topic write cellward/+/sensor/+/cmd/+/set

user s-1
topic write cellward/hmp-test/sensor/s-1/availability
topic write cellward/hmp-test/sensor/s-1/detections
topic write cellward/hmp-test/sensor/s-1/status
topic write cellward/hmp-test/sensor/s-1/stats
topic write cellward/hmp-test/sensor/s-1/cmd/+/state
topic read cellward/hmp-test/sensor/s-1/cmd/+/set
"""


def secured_broker(tmp_path: Path, tls: str = "", embedded: bool | None = None) -> MosquittoBroker:
    """A broker with two accounts (s-1, controller) and the ACL above; `embedded` forces the Python broker."""
    lines = [mosquitto_password_line(u, p) for u, p in (("s-1", "sensor-secret"), ("controller", "controller-secret"))]
    (tmp_path / "passwd").write_text("\n".join(lines) + "\n")
    (tmp_path / "acl").write_text(ACL)
    extra = f"allow_anonymous false\npassword_file {tmp_path / 'passwd'}\nacl_file {tmp_path / 'acl'}\n{tls}"
    broker = MosquittoBroker(workdir=tmp_path, extra_config=extra)
    if embedded is not None:
        broker.embedded = embedded
    broker.start()
    return broker


def controller_listener(broker: MosquittoBroker, tls_ca: Path | None = None) -> Listener:
    host = "localhost" if tls_ca else broker.host  # the broker's certificate names localhost
    return Listener(host, broker.port, "controller-test", "controller", "controller-secret", tls_ca)


def test_sensor_account_publishes_only_its_own_topics(tmp_path: Path) -> None:
    keys = make_keys(tmp_path)
    (tmp_path / "mqtt-password").write_text("sensor-secret\n")
    broker = secured_broker(tmp_path)
    listener = controller_listener(broker)
    try:
        mqtt_config = {"host": broker.host, "port": broker.port, "username": "s-1", "password_file": "mqtt-password"}
        with running_node(write_config(tmp_path, broker.port, mqtt=mqtt_config)) as running:
            listener.wait_for(lambda lst: lst.of("detections"), 30, "detections through the authenticated account")
            # the same account writing under another sensor's id is dropped by the broker's ACL
            running.node.publisher._client.publish("cellward/hmp-test/sensor/s-2/detections", b"{}", qos=1)
            time.sleep(1.0)
    finally:
        listener.close()
        broker.stop()
    assert all("/sensor/s-1/" in topic for topic, _, _ in listener.messages), "nothing under another id gets through"
    for message in listener.of("detections"):
        verify_message(message, keys.node_ring)


def test_wrong_password_never_connects_and_spools(tmp_path: Path) -> None:
    make_keys(tmp_path)
    broker = secured_broker(tmp_path)
    try:
        mqtt_config = {"host": broker.host, "port": broker.port, "username": "s-1", "password": "guess"}
        with running_node(write_config(tmp_path, broker.port, mqtt=mqtt_config)) as running:
            time.sleep(4)
            assert not running.node.publisher.connected.is_set(), "a refused login must not count as connected"
            assert running.node.spool.depth > 0, "reports wait in the spool until the credentials are fixed"
    finally:
        broker.stop()


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a broker certificate for localhost, made on the spot."""
    now = dt.datetime.now(dt.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("cellward test CA"))
        .issuer_name(name("cellward test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "broker.pem", directory / "broker.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def test_tls_to_the_broker(tmp_path: Path) -> None:
    make_keys(tmp_path)
    ca, cert, key = _certificates(tmp_path)
    broker = secured_broker(tmp_path, tls=f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    listener = controller_listener(broker, tls_ca=ca)
    try:
        mqtt_config = {
            "host": "localhost",
            "port": broker.port,
            "username": "s-1",
            "password": "sensor-secret",
            "tls": {"ca_file": str(ca)},
        }
        with running_node(write_config(tmp_path, broker.port, mqtt=mqtt_config)):
            listener.wait_for(lambda lst: lst.of("detections"), 30, "detections over TLS")
    finally:
        listener.close()
        broker.stop()


def test_a_killed_node_is_announced_offline_by_its_last_will(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    config = write_config(tmp_path, mosquitto.port)
    listener = Listener(mosquitto.host, mosquitto.port)
    process = subprocess.Popen(
        [sys.executable, "-m", "cellward.cli", "sensor", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        listener.wait_for(lambda lst: lst.of("detections"), 60, "the node to report")
        process.send_signal(signal.SIGKILL)
        listener.wait_for(lambda lst: lst.of("availability")[-1]["state"] == "offline", 15, "the last will")
    finally:
        process.kill()
        process.wait()
        listener.close()
    availability = listener.of("availability")
    offline = availability[-1]
    verify_message(offline, keys.node_ring)
    assert offline["seq"] == availability[-2]["seq"] + 1, "the will carries the next availability seq"


def test_systemd_is_told_ready_and_fed_by_the_watchdog(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_keys(tmp_path)
    systemd = SystemdNotifications(monkeypatch)
    try:
        with running_node(write_config(tmp_path, mosquitto.port)):
            received = systemd.wait_for(5, 10)
    finally:
        systemd.close()
    assert received[0].startswith("READY=1"), received
    assert "WATCHDOG=1" in received, f"the radio loop pets the watchdog: {received}"

"""The GPIO relay actuator: inert, with a clear message, where there is no GPIO; on a chip it keys exactly
the band's line and reads it back. The chip itself is the hardware edge: a recorded line request
stands in for it, the gpiod bindings are the real ones."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from gpiod.line import Direction, Value

from sensors.blocker.actuators import ActuatorFault
from sensors.blocker.actuators.gpio import GpioActuator
from sensors.blocker.config import GpioActuatorConfig
from tests.blocking.blocker_harness import Controller, make_keys, write_config
from tests.support.mosquitto import MosquittoBroker

LINES = {"B8": 17, "B3": 27}


class LineRequest:
    """The kernel's side of a libgpiod line request: line values, and a line that may stick."""

    def __init__(self, path: str, consumer: str, config: dict) -> None:
        (offsets, settings), *_ = config.items()
        self.path, self.consumer, self.settings = path, consumer, settings
        self.values = dict.fromkeys(offsets, settings.output_value)
        self.stuck: set[int] = set()
        self.released = False
        self.writes: list[tuple[int, Value]] = []

    def set_value(self, line: int, value: Value) -> None:
        self.writes.append((line, value))
        if line not in self.stuck:
            self.values[line] = value

    def get_value(self, line: int) -> Value:
        return self.values[line]

    def release(self) -> None:
        self.released = True


def actuator(chip: Path, **settings) -> tuple[GpioActuator, list[LineRequest]]:
    requests: list[LineRequest] = []

    def request_lines(path: str, consumer: str, config: dict) -> LineRequest:
        requests.append(LineRequest(path, consumer, config))
        return requests[-1]

    return GpioActuator(GpioActuatorConfig(chip=chip, lines=LINES, **settings), request_lines), requests


def test_no_gpio_chip_is_a_clear_fault_and_drives_nothing(tmp_path: Path) -> None:
    relays = GpioActuator(GpioActuatorConfig(chip=tmp_path / "gpiochip0", lines=LINES))
    with pytest.raises(ActuatorFault, match=r"no GPIO chip at .*gpiochip0: this machine has no GPIO"):
        relays.open()
    with pytest.raises(ActuatorFault, match="not claimed"):
        relays.set_band("B8", True, 20.0)


def test_missing_gpiod_bindings_name_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiod", None)  # as on a machine without the bindings
    with pytest.raises(ActuatorFault, match=r"pip install 'cellward\[gpio\]'"):
        GpioActuator(GpioActuatorConfig(lines=LINES)).open()


def test_lines_are_claimed_as_outputs_inactive_and_each_band_keys_its_own_line(tmp_path: Path) -> None:
    relays, requests = actuator(tmp_path / "gpiochip0", active_low=True)
    relays.open()
    (request,) = requests
    assert request.path == str(tmp_path / "gpiochip0") and request.consumer == "cellward-blocker"
    assert request.settings.direction == Direction.OUTPUT and request.settings.active_low is True
    assert request.values == {17: Value.INACTIVE, 27: Value.INACTIVE}, "claimed off"
    relays.set_band("B3", True, 20.0)
    assert request.values == {17: Value.INACTIVE, 27: Value.ACTIVE}
    relays.set_band("B3", False, 20.0)
    assert request.writes == [(27, Value.ACTIVE), (27, Value.INACTIVE)]
    assert relays.description == f"gpio {tmp_path / 'gpiochip0'} B3:27 B8:17"
    relays.close()
    assert request.released


def test_a_line_that_does_not_follow_is_a_fault(tmp_path: Path) -> None:
    relays, requests = actuator(tmp_path / "gpiochip0")
    relays.open()
    requests[0].stuck.add(17)
    with pytest.raises(ActuatorFault, match=r"line 17 \(B8\) reads"):
        relays.set_band("B8", True, 20.0)


def test_a_line_held_by_another_program_is_a_fault(tmp_path: Path) -> None:
    def busy(path: str, consumer: str, config: dict) -> None:
        raise OSError(16, "Device or resource busy")

    relays = GpioActuator(GpioActuatorConfig(chip=tmp_path / "gpiochip0", lines=LINES), busy)
    with pytest.raises(ActuatorFault, match=r"cannot claim lines .*busy"):
        relays.open()


def test_a_node_on_a_machine_without_gpio_stays_in_fault_and_refuses_every_switch_on(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    from sensors.blocker.config import load_blocker_config
    from sensors.blocker.node import BlockerNode

    keys = make_keys(tmp_path)
    gpio = {"kind": "gpio", "chip": str(tmp_path / "no-such-gpiochip"), "lines": LINES}
    config = load_blocker_config(write_config(tmp_path, mosquitto.port, actuator=gpio))
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    node = BlockerNode(config)
    thread = threading.Thread(target=node.run, daemon=True)
    thread.start()
    try:
        controller.wait_online()
        controller.wait_for(lambda: controller.of("state"), "the state")
        state = controller.state()
        assert state["mode"] == "fault" and "no GPIO chip" in state["detail"], state
        assert "also failed" not in state["detail"], "nothing was claimed, so nothing else was tried"
        answer = controller.final_ack(
            controller.send(controller.command("set_blocking", {"zone": "cells-A", "bands": ["B8"], "on": True}, 1))
        )
        assert (answer["result"], answer["reason"]) == ("refused", "fault"), answer
        raised = [f for f in controller.of("faults") if f["kind"] == "actuator"]
        assert raised and raised[0]["action"] == "none", "nothing was on to switch off"
    finally:
        node.stop()
        thread.join(15)
        controller.close()
    assert not thread.is_alive()

"""rtl_tcp servers: each simulated sensor on a loopback port, speaking the RTL-SDR network protocol.

Protocol (librtlsdr's rtl_tcp.c): on connect the server sends a 12-byte header, b"RTL0", the tuner
type and the number of gain steps (big-endian uint32 each); then it streams interleaved unsigned
8-bit I/Q at the sample rate, and reads 5-byte commands (one command byte, a big-endian uint32
parameter): 0x01 centre frequency (Hz), 0x02 sample rate (S/s), 0x03 gain mode (0 auto, 1 manual),
0x04 gain (tenths of a dB), 0x05 frequency correction (ppm), 0x06 IF gain, 0x07 test mode, 0x08 AGC,
0x09 direct sampling, 0x0a offset tuning, 0x0b RTL xtal, 0x0c tuner xtal, 0x0d gain by index,
0x0e bias tee. Unknown commands and out-of-range values are logged and ignored, as librtlsdr does.

Samples follow the simulated clock: a client connecting at wall time w receives the world from
simulation time clock(w) onward, contiguous across retunes, paced to real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from dataclasses import dataclass, field

from sim.feed import NOMINAL_GAIN_DB, SensorFeed
from sim.world import World

log = logging.getLogger(__name__)

TUNER_R820T = 5
# R820T gain steps in tenths of a dB (librtlsdr tuner_r82xx.c)
R820T_GAINS = (0, 9, 14, 27, 37, 77, 87, 125, 144, 157, 166, 197, 207, 229, 254, 280, 297, 328, 338, 364, 372, 386,
               402, 421, 434, 439, 445, 480, 496)  # fmt: skip
NOMINAL_GAIN_TENTHS = round(NOMINAL_GAIN_DB * 10)  # the gain the world's levels are calibrated at
TUNER_RANGE_HZ = (24e6, 1766e6)
RATE_RANGES = ((225_001, 300_000), (900_001, 3_200_000))  # what the RTL2832U accepts
CHUNK_S = 0.05
COMMANDS = {
    0x01: "set_freq",
    0x02: "set_sample_rate",
    0x03: "set_gain_mode",
    0x04: "set_gain",
    0x05: "set_freq_correction",
    0x06: "set_if_gain",
    0x07: "set_test_mode",
    0x08: "set_agc_mode",
    0x09: "set_direct_sampling",
    0x0A: "set_offset_tuning",
    0x0B: "set_rtl_xtal",
    0x0C: "set_tuner_xtal",
    0x0D: "set_gain_by_index",
    0x0E: "set_bias_tee",
}


class SimClock:
    """Simulation time that runs with the wall clock from `start_s` at construction."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._origin = time.monotonic() - start_s

    def now_s(self) -> float:
        return time.monotonic() - self._origin


@dataclass
class Tuning:
    """A connection's dongle settings, changed by the client's commands."""

    center_freq_hz: float = 100e6
    sample_rate_hz: float = 2.048e6
    manual_gain: bool = False
    gain_tenths: int = NOMINAL_GAIN_TENTHS
    ppm: int = 0
    log: list[tuple[str, int]] = field(default_factory=list)  # every command received, in order


def header() -> bytes:
    return b"RTL0" + struct.pack(">II", TUNER_R820T, len(R820T_GAINS))


class RtlTcpServer:
    """One sensor's rtl_tcp server on 127.0.0.1:`port` (0: any free port, see `.port`)."""

    def __init__(self, world: World, sensor_id: str, port: int = 0, clock: SimClock | None = None) -> None:
        SensorFeed(world, sensor_id)  # fail now, not at the first client, when the sensor is unknown
        self.world = world
        self.site_name = world.site.name
        self.sensor_id = sensor_id
        self.clock = clock or SimClock()
        self.requested_port = port
        self.connections: list[Tuning] = []  # one per client so far (tests and logs read them)
        self.bytes_sent = 0
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.requested_port)
        log.info("rtl_tcp site=%s sensor=%s listening port=%d", self.site_name, self.sensor_id, self.port)

    async def stop(self) -> None:
        """Stop listening and end every client's stream."""
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        task.add_done_callback(self._clients.discard)
        tuning = Tuning()
        self.connections.append(tuning)
        feed = SensorFeed(self.world, self.sensor_id)
        peer = writer.get_extra_info("peername")
        log.info("rtl_tcp site=%s sensor=%s client=%s connected", self.site_name, self.sensor_id, peer)
        commands = asyncio.create_task(self._read_commands(reader, tuning, feed))
        try:
            writer.write(header())
            await writer.drain()
            await self._stream(writer, tuning, feed, commands)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            commands.cancel()
            await asyncio.gather(commands, return_exceptions=True)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            log.info("rtl_tcp site=%s sensor=%s client=%s disconnected", self.site_name, self.sensor_id, peer)

    async def _stream(
        self, writer: asyncio.StreamWriter, tuning: Tuning, feed: SensorFeed, commands: asyncio.Task
    ) -> None:
        sim_s = self.clock.now_s()
        while not commands.done():
            rate = tuning.sample_rate_hz
            count = max(512, round(CHUNK_S * rate / 512) * 512)
            chunk = await asyncio.to_thread(feed.read_cu8, tuning.center_freq_hz, rate, sim_s, count)
            sim_s += count / rate
            ahead = sim_s - self.clock.now_s()
            if ahead > 0:
                await asyncio.sleep(ahead)  # real time: never deliver the future early
            writer.write(chunk.tobytes())
            await writer.drain()
            self.bytes_sent += chunk.size

    async def _read_commands(self, reader: asyncio.StreamReader, tuning: Tuning, feed: SensorFeed) -> None:
        while True:
            try:
                raw = await reader.readexactly(5)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # client gone: the stream loop stops too
            code, value = struct.unpack(">BI", raw)
            name = COMMANDS.get(code)
            if name is None:
                log.warning(
                    "rtl_tcp site=%s sensor=%s unknown command=0x%02x value=%d ignored",
                    self.site_name,
                    self.sensor_id,
                    code,
                    value,
                )
                continue
            tuning.log.append((name, value))
            self._apply(name, value, tuning, feed)

    def _apply(self, name: str, value: int, tuning: Tuning, feed: SensorFeed) -> None:
        if name == "set_freq":
            if TUNER_RANGE_HZ[0] <= value <= TUNER_RANGE_HZ[1]:
                tuning.center_freq_hz = float(value)
            else:
                log.warning(
                    "rtl_tcp site=%s sensor=%s freq=%d outside the R820T's range, ignored",
                    self.site_name,
                    self.sensor_id,
                    value,
                )
        elif name == "set_sample_rate":
            if any(low <= value <= high for low, high in RATE_RANGES):
                tuning.sample_rate_hz = float(value)
            else:
                log.warning("rtl_tcp site=%s sensor=%s sample_rate=%d not supported by the RTL2832U, ignored",
                            self.site_name, self.sensor_id, value)  # fmt: skip
        elif name == "set_gain_mode":
            tuning.manual_gain = bool(value)
        elif name == "set_gain":
            tuning.gain_tenths = min(R820T_GAINS, key=lambda g: abs(g - value))
        elif name == "set_gain_by_index":
            if value < len(R820T_GAINS):
                tuning.gain_tenths = R820T_GAINS[value]
        elif name == "set_freq_correction":
            tuning.ppm = struct.unpack(">i", struct.pack(">I", value))[0]  # signed on the wire
        feed.set_tuner_gain(tuning.gain_tenths / 10 if tuning.manual_gain else NOMINAL_GAIN_DB)
        feed.ppm_correction = tuning.ppm
        log.info("rtl_tcp site=%s sensor=%s %s=%d", self.site_name, self.sensor_id, name, value)


async def serve(world: World, base_port: int, sensor_ids: list[str] | None = None) -> list[RtlTcpServer]:
    """Start one server per sensor on consecutive ports from `base_port`, sharing one simulated clock."""
    clock = SimClock()
    servers = []
    for k, sensor_id in enumerate(sensor_ids or [s.id for s in world.sensors]):
        server = RtlTcpServer(world, sensor_id, base_port + k if base_port else 0, clock)
        await server.start()
        servers.append(server)
    return servers

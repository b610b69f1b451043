"""GSM uplink: GMSK bursts (3GPP TS 45.004) on the TDMA frame grid (TS 45.002).

GMSK at 270.833 kbit/s with BT = 0.3, differential encoding, a 3-bit raised-cosine power ramp on each
side of the useful bits. Normal bursts carry one of the eight training sequences; access bursts the
41-bit synchronisation sequence. A call sends one normal burst per 4.615 ms frame on its timeslot,
with SACCH on frame 12 and nothing on frame 25 of each 26-multiframe; in DTX only SACCH and SID frames.
A base station's BCCH carrier (the downlink reference a sensor calibrates its crystal on) fills every
timeslot, with the frequency-correction burst on timeslot 0 of frames 0, 10, 20, 30, 40 of each
51-multiframe.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from sim.signals.truth import BurstWave, Emission

BIT_RATE = 1625e3 / 6  # 270.833 kbit/s
BIT_S = 1 / BIT_RATE
SLOT_S = 156.25 * BIT_S  # 576.9 us
FRAME_S = 8 * SLOT_S  # 4.615 ms
NORMAL_BITS = 148
ACCESS_BITS = 88
RAMP_BITS = 3
CHANNEL_HZ = 200e3
FCCH_FRAMES = (0, 10, 20, 30, 40)  # of each 51-frame control multiframe (TS 45.002 clause 7)
CONTROL_MULTIFRAME = 51
TRAINING_SEQUENCES = (
    "00100101110000100010010111",
    "00101101110111100010110111",
    "01000011101110100100001110",
    "01000111101101000100011110",
    "00011010111001000001101011",
    "01001110101100000100111010",
    "10100111110110001010011111",
    "11101111000100101110111100",
)
ACCESS_TAIL = "00111010"
ACCESS_SYNC = "01001011011111111001100110101010001111000"


def _bits(text: str) -> np.ndarray:
    return np.array([int(c) for c in text], np.int8)


def normal_burst_bits(rng: np.random.Generator, tsc: int = 0) -> np.ndarray:
    data = rng.integers(0, 2, 116, dtype=np.int8)
    tail = np.zeros(3, np.int8)
    steal = rng.integers(0, 2, 2, dtype=np.int8)
    return np.concatenate([tail, data[:57], steal[:1], _bits(TRAINING_SEQUENCES[tsc]), steal[1:], data[57:], tail])


def access_burst_bits(rng: np.random.Generator) -> np.ndarray:
    return np.concatenate(
        [_bits(ACCESS_TAIL), _bits(ACCESS_SYNC), rng.integers(0, 2, 36, dtype=np.int8), np.zeros(3, np.int8)]
    )


def gmsk(bits: np.ndarray, sample_rate_hz: float, bt: float = 0.3) -> tuple[np.ndarray, float]:
    """Complex GMSK of `bits` with power ramps, sampled at `sample_rate_hz`.

    Returns (samples, lead_s): the samples start `lead_s` before the first bit (the ramp up).
    """
    encoded = bits ^ np.concatenate([[1], bits[:-1]])  # differential encoding, d(-1) = 1
    symbols = 1.0 - 2.0 * encoded
    lead_s = RAMP_BITS * BIT_S
    total_s = (len(bits) + 2 * RAMP_BITS) * BIT_S
    t = np.arange(round(total_s * sample_rate_hz)) / sample_rate_hz - lead_s  # seconds from the first bit
    # Gaussian frequency pulse of one bit: g(t) = [erf(k(t + T/2)) - erf(k(t - T/2))] / (4T), integral 1/2
    k = np.pi * bt * BIT_RATE * np.sqrt(2 / np.log(2))
    centres = (np.arange(len(bits)) + 0.5) * BIT_S
    near = np.abs(t[:, None] - centres[None, :]) < 3 * BIT_S
    offset = t[:, None] - centres[None, :]
    pulses = (erf(k * (offset + BIT_S / 2)) - erf(k * (offset - BIT_S / 2))) / (4 * BIT_S)
    frequency = (pulses * near) @ symbols
    phase = np.pi * np.cumsum(frequency) / sample_rate_hz
    envelope = np.ones_like(t)
    ramp = RAMP_BITS * BIT_S
    up = t < 0
    envelope[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] + ramp) / ramp)
    end = len(bits) * BIT_S
    down = t > end
    envelope[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - end) / ramp)
    envelope = np.clip(envelope, 0, 1)
    return (envelope * np.exp(1j * phase)).astype(np.complex64), lead_s


def _burst(
    bits: np.ndarray, start_s: float, offset_hz: float, sample_rate_hz: float, channel: str, gain_db: float = 0.0
) -> BurstWave:
    samples, lead_s = gmsk(bits, sample_rate_hz)
    return BurstWave(
        start_s=start_s,
        samples=samples,
        offset_hz=offset_hz,
        bandwidth_hz=CHANNEL_HZ,
        duration_s=len(bits) * BIT_S,
        channel=channel,
        lead_s=lead_s,
        gain_db=gain_db,
    )


def call(
    sample_rate_hz: float,
    carrier_hz: float | list[float],
    timeslot: int,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
    dtx: bool = False,
    fading_db: float = 0.0,
) -> Emission:
    """A TCH/F call: one normal burst per TDMA frame on `timeslot`; a list of carriers hops cyclically."""
    carriers = [carrier_hz] if isinstance(carrier_hz, int | float) else list(carrier_hz)
    tsc = int(rng.integers(0, 8))
    first_frame = int(np.ceil(start_s / FRAME_S))
    bursts = []
    for frame in range(first_frame, int((start_s + duration_s) / FRAME_S)):
        position = frame % 26
        if position == 25:
            continue
        channel = "SACCH" if position == 12 else "TCH/F"
        if dtx and channel == "TCH/F" and position not in (0, 1, 2, 3, 4, 5, 6, 7):
            continue  # speech pause: SID frames only (a simplification of the SID/FACCH pattern)
        if dtx and channel == "TCH/F":
            channel = "TCH/F-SID"
        hop = carriers[frame % len(carriers)]
        bursts.append(
            _burst(
                normal_burst_bits(rng, tsc),
                frame * FRAME_S + timeslot * SLOT_S,
                hop - carriers[0],
                sample_rate_hz,
                channel,
                float(rng.normal(0, fading_db)) if fading_db else 0.0,
            )
        )
    return Emission("gsm", carriers[0], tuple(bursts), snr_db)


def bcch(
    sample_rate_hz: float,
    carrier_hz: float,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
    distinct_bursts: int = 8,
) -> Emission:
    """A BCCH carrier (C0) on the downlink: a burst in every timeslot of every frame, at one power.

    The FCCH burst is 148 zero bits, which GMSK turns into a pure tone 67.708 kHz above the carrier.
    The other bursts (SCH, BCCH, CCCH, dummy, traffic: random bits here) are drawn from
    `distinct_bursts` rendered ones, because GMSK synthesis is slow and no energy measurement can tell.
    """
    fcch, lead_s = gmsk(np.zeros(NORMAL_BITS, np.int8), sample_rate_hz)
    pool = [gmsk(normal_burst_bits(rng, int(rng.integers(0, 8))), sample_rate_hz)[0] for _ in range(distinct_bursts)]
    bursts = []
    for frame in range(int(np.floor(start_s / FRAME_S)), int(np.ceil((start_s + duration_s) / FRAME_S))):
        for slot in range(8):
            is_fcch = slot == 0 and frame % CONTROL_MULTIFRAME in FCCH_FRAMES
            samples = fcch if is_fcch else pool[int(rng.integers(0, distinct_bursts))]
            bursts.append(
                BurstWave(
                    frame * FRAME_S + slot * SLOT_S,
                    samples,
                    0.0,
                    CHANNEL_HZ,
                    NORMAL_BITS * BIT_S,
                    "FCCH" if is_fcch else "BCCH",
                    lead_s,
                )
            )
    return Emission("gsm_downlink", carrier_hz, tuple(bursts), snr_db)


def access(
    sample_rate_hz: float, carrier_hz: float, times_s: list[float], snr_db: float, rng: np.random.Generator
) -> Emission:
    """RACH access bursts on timeslot 0 of the frames nearest `times_s`."""
    bursts = tuple(
        _burst(access_burst_bits(rng), round(t / FRAME_S) * FRAME_S, 0.0, sample_rate_hz, "RACH") for t in times_s
    )
    return Emission("gsm", carrier_hz, bursts, snr_db)


def sdcch(
    sample_rate_hz: float, carrier_hz: float, timeslot: int, start_s: float, snr_db: float, rng: np.random.Generator
) -> Emission:
    """An SDCCH/8 block: four normal bursts in consecutive frames (an SMS or a location update)."""
    first = int(np.ceil(start_s / FRAME_S))
    bursts = tuple(
        _burst(normal_burst_bits(rng), (first + i) * FRAME_S + timeslot * SLOT_S, 0.0, sample_rate_hz, "SDCCH/8")
        for i in range(4)
    )
    return Emission("gsm", carrier_hz, bursts, snr_db)


def uplink_arfcn_hz(arfcn: int) -> float:
    """Uplink centre frequency of a GSM900 / E-GSM / DCS1800 ARFCN."""
    if 1 <= arfcn <= 124:
        return 890e6 + 0.2e6 * arfcn
    if 975 <= arfcn <= 1023:
        return 890e6 + 0.2e6 * (arfcn - 1024)
    if arfcn == 0:
        return 890e6
    if 512 <= arfcn <= 885:
        return 1710.2e6 + 0.2e6 * (arfcn - 512)
    raise ValueError(f"ARFCN {arfcn} is not a GSM900, E-GSM or DCS1800 channel")

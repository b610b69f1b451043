"""Uplink power control: a phone's transmit power from its coupling loss to the serving cell.

GSM (TS 45.008): the network steers the phone to arrive near a target level at the base station, in
2 dB steps between 5 and 33 dBm at 900 MHz (0 and 30 dBm at 1800 MHz). LTE and NR (TS 36.213 5.1,
TS 38.213 7.1): open loop with fractional compensation, P = P0 + 10 log10(M) + alpha * L for PUSCH and
SRS on M resource blocks, P0_PUCCH + L for PUCCH, the preamble target + L for PRACH, clamped to the
class-3 range -40..23 dBm.
"""

from __future__ import annotations

import numpy as np

GSM_TARGET_AT_BTS_DBM = -95.0
GSM_LIMITS_DBM = {"low": (5.0, 33.0), "high": (0.0, 30.0)}  # 900 MHz, 1800 MHz
UE_LIMITS_DBM = (-40.0, 23.0)
PUSCH_P0_DBM = -90.0
PUSCH_ALPHA = 0.8
PUCCH_P0_DBM = -105.0
PRACH_TARGET_DBM = -104.0
RB_HZ = 180e3


def tx_power_dbm(
    technology: str, channel: np.ndarray, bandwidth_hz: np.ndarray, coupling_loss_db: np.ndarray, freq_hz: float
) -> np.ndarray:
    """Transmit power (dBm) of each burst. `coupling_loss_db` is the path loss to the serving cell
    including building penetration; arrays are per burst."""
    loss = np.asarray(coupling_loss_db, float)
    if technology == "gsm":
        low, high = GSM_LIMITS_DBM["low" if freq_hz < 1e9 else "high"]
        wanted = GSM_TARGET_AT_BTS_DBM + loss
        return np.clip(2 * np.ceil(wanted / 2), low, high)
    rbs = np.maximum(1.0, np.asarray(bandwidth_hz, float) / RB_HZ)
    wanted = PUSCH_P0_DBM + 10 * np.log10(rbs) + PUSCH_ALPHA * loss
    channel = np.asarray(channel, object)
    wanted = np.where(channel == "PUCCH", PUCCH_P0_DBM + loss, wanted)
    wanted = np.where(channel == "PRACH", PRACH_TARGET_DBM + loss, wanted)
    return np.clip(wanted, *UE_LIMITS_DBM)

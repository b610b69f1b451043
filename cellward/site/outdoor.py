"""Outdoor path loss from a phone to its serving base station (Okumura-Hata / COST-231 Hata), for power control."""

from __future__ import annotations

import math
from typing import Literal

Environment = Literal["urban", "suburban", "rural"]

# Hata's fits hold for 1-20 km; a UK prison's serving site is usually 0.5-5 km away, so below 1 km the curve
# is extrapolated (down to this floor), which keeps power control monotonic rather than exact.
_MIN_DISTANCE_KM = 0.1


def outdoor_path_loss_db(
    distance_m: float,
    freq_hz: float,
    base_height_m: float = 30.0,
    mobile_height_m: float = 1.5,
    environment: Environment = "suburban",
) -> float:
    """Median path loss (dB) between a base station and a phone outdoors.

    Okumura-Hata below 1500 MHz, COST-231 Hata above (ITU-R/COST 231 final report, 4.4.1), with the
    small/medium-city mobile-height correction
        a(hm) = (1.1 log f - 0.7) hm - (1.56 log f - 0.8)
        L_urban = A + 26.16 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d     (A = 69.55, f < 1500)
        L_urban = 46.3 + 33.9 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d    (f >= 1500, Cm = 0)
    f in MHz, heights in m, d in km; suburban subtracts 2 (log(f/28))^2 + 5.4, rural (open) subtracts
    4.78 (log f)^2 - 18.33 log f + 40.94. Building entry loss for an indoor phone is added by the caller
    (PropagationParams.building_entry_loss_db).
    """
    if distance_m <= 0 or freq_hz <= 0 or base_height_m <= 0 or mobile_height_m <= 0:
        raise ValueError("distance, frequency and antenna heights must be positive")
    f = freq_hz / 1e6
    lf, lhb = math.log10(f), math.log10(base_height_m)
    d_term = (44.9 - 6.55 * lhb) * math.log10(max(distance_m / 1000.0, _MIN_DISTANCE_KM))
    a_hm = (1.1 * lf - 0.7) * mobile_height_m - (1.56 * lf - 0.8)
    if f < 1500.0:
        urban = 69.55 + 26.16 * lf - 13.82 * lhb - a_hm + d_term
    else:
        urban = 46.3 + 33.9 * lf - 13.82 * lhb - a_hm + d_term
    if environment == "urban":
        return urban
    if environment == "suburban":
        return urban - 2.0 * math.log10(f / 28.0) ** 2 - 5.4
    if environment == "rural":
        return urban - 4.78 * lf**2 + 18.33 * lf - 40.94
    raise ValueError(f"environment must be urban, suburban or rural, got {environment!r}")

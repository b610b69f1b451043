"""Test signals with exact ground truth: phone uplink waveforms, non-phone confusers, an RTL-SDR model.

Generators return `Emission`s: bursts of unit-power complex baseband at the capture rate, centred at
0 Hz, each with the truth that describes it; `Scene` places them in frequency and time at an SNR and
passes the sum through the receiver model.
"""

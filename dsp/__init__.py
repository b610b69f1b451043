"""Signal processing core: finds phone uplink bursts in complex baseband and classifies them.

Pure blocks with array inputs and outputs; no I/O and no imports from the rest of cellward.
The path of a block of samples: spectrum -> noise_floor -> cfar -> bursts -> features -> classify.
"""

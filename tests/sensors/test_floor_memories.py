import numpy as np

from dsp.detector import Detector
from sensors.floor_memories import FloorMemories
from sensors.gain import GainConfig, GainController, clipped_fraction, noise_sigma_lsb
from sensors.sources.base import R820T_GAINS_DB
from sensors.sources.scene import SceneConfig, SceneEmitter, SceneSource

FS = 2.4e6


def test_a_tuning_keeps_its_memory_while_its_gain_holds() -> None:
    memories = FloorMemories()
    first = memories.for_dwell(925.2e6, FS, 29.7)
    first.recall(np.ones(4))
    assert memories.for_dwell(925.2e6, FS, 29.7) is first
    assert memories.for_dwell(927.6e6, FS, 29.7) is not first, "another tuning has a memory of its own"


def test_a_gain_change_rescales_the_tunings_memory_by_the_change_the_next_seed_shows() -> None:
    memories = FloorMemories()
    for _ in range(3):
        memories.for_dwell(925.2e6, FS, 29.7).recall(np.ones(256))
    after = memories.for_dwell(925.2e6, FS, 23.7)
    # 6 dB less gain, backed off for a phone that is on in a fifth of the band as the next dwell is seeded
    fresh = np.full(256, 0.25)
    fresh[40:90] = 8.0
    assert np.allclose(after.recall(fresh), 0.25), "the phone's bins take the rescaled memory, not the phone"
    fresh[40:90] = 0.25
    assert np.allclose(after.recall(fresh), 0.25)
    assert memories.for_dwell(925.2e6, FS, 23.7) is after


def test_a_floor_measured_at_the_old_gain_does_not_cap_a_seed_at_the_new_one() -> None:
    memories = FloorMemories()
    memories.for_dwell(925.2e6, FS, 29.7).recall(np.ones(4))
    assert np.array_equal(memories.for_dwell(925.2e6, FS, 39.7).recall(np.full(4, 10.0)), np.full(4, 10.0))


def test_clear_forgets_every_tuning() -> None:
    memories = FloorMemories()
    memories.for_dwell(925.2e6, FS, 29.7).recall(np.ones(4))
    memories.clear()
    assert np.array_equal(memories.for_dwell(925.2e6, FS, 29.7).recall(np.full(4, 10.0)), np.full(4, 10.0))


def test_a_continuous_emitter_that_makes_the_gain_back_off_is_heard_in_every_dwell_after_it() -> None:
    """The node's own parts: a carrier on all the time (a stand-in for a phone uploading on a steady allocation)
    clips the dongle until the gain backs off; the tuning's memory then must not learn it as floor."""
    source = SceneSource(
        SceneConfig(realtime=False, emitters=[SceneEmitter(technology="gsm_bcch", freq_hz=897.4e6, snr_db=48)])
    )
    source.open()
    source.tune(897e6)
    gains = GainController(GainConfig(initial_db=49.6), R820T_GAINS_DB)
    memories = FloorMemories()
    detector, heard = None, []
    for _ in range(8):
        gain = source.set_gain(gains.gain_for("B8"))
        samples = source.read(round(0.09 * FS))
        memory = memories.for_dwell(897e6, FS, gain)
        if detector is None:
            detector = Detector(FS, 897e6, floor_memory=memory)
        else:
            detector.restart(897e6, floor_memory=memory)
        carrier = [b for b in detector.process(samples) + detector.flush() if abs(b.freq_hz - 897.4e6) < 150e3]
        clipped = clipped_fraction(samples)
        heard.append((gain, clipped, round(sum(b.duration_s for b in carrier if b.snr_db > 15) * 1e3)))
        gains.observe("B8", clipped, 0.0, lambda x=samples: noise_sigma_lsb(x))
    settled = [ms for gain, clipped, ms in heard if gain == heard[-1][0]]
    assert heard[-1][0] < heard[0][0] - 10 and len(settled) >= 3, f"(gain, clipped, ms heard) per dwell: {heard}"
    assert all(ms >= 85 for ms in settled), f"(gain, clipped, ms heard) per dwell: {heard}"

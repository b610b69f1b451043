import numpy as np

from sensors.floor_memories import FloorMemories

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

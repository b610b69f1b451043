import numpy as np

from sensors.floor_memories import FloorMemories

FS = 2.4e6


def test_a_tuning_keeps_its_memory_while_its_gain_holds() -> None:
    memories = FloorMemories()
    first = memories.for_dwell(925.2e6, FS, 29.7)
    first.recall(np.ones(4))
    assert memories.for_dwell(925.2e6, FS, 29.7) is first
    assert memories.for_dwell(927.6e6, FS, 29.7) is not first, "another tuning has a memory of its own"


def test_a_gain_change_starts_the_tunings_memory_again() -> None:
    memories = FloorMemories()
    memories.for_dwell(925.2e6, FS, 29.7).recall(np.ones(4))
    after = memories.for_dwell(925.2e6, FS, 19.7)
    # a floor measured at the old gain must not cap a seed at the new one
    assert np.array_equal(after.recall(np.full(4, 10.0)), np.full(4, 10.0))


def test_clear_forgets_every_tuning() -> None:
    memories = FloorMemories()
    memories.for_dwell(925.2e6, FS, 29.7).recall(np.ones(4))
    memories.clear()
    assert np.array_equal(memories.for_dwell(925.2e6, FS, 29.7).recall(np.full(4, 10.0)), np.full(4, 10.0))

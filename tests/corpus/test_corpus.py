"""The regression corpus: every recording here must still give its expected detections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus.make_corpus import HERE, detect

RECORDINGS = sorted(HERE.glob("*.sigmf-meta"))


def test_corpus_is_present() -> None:
    assert len(RECORDINGS) >= 4, "regenerate with: python -m tests.corpus.make_corpus"


@pytest.mark.parametrize("meta", RECORDINGS, ids=lambda p: p.name.removesuffix(".sigmf-meta"))
def test_recording_gives_its_expected_detections(meta: Path) -> None:
    expected = [
        json.loads(line)
        for line in meta.with_name(meta.name.replace(".sigmf-meta", ".expected.jsonl")).read_text().splitlines()
    ]
    got = detect(meta)
    diff = [f"expected {e}\n     got {g}" for e, g in zip(expected, got, strict=False) if not same(e, g)]
    assert len(got) == len(expected) and not diff, (
        f"{meta.name}: {len(got)} detections, {len(expected)} expected; first differences:\n" + "\n".join(diff[:5])
    )


def same(expected: dict, got: dict) -> bool:
    """Equal technology and band; times within 5 us, frequencies within 2 kHz, levels within 0.2 dB."""
    return (
        expected["technology"] == got["technology"]
        and expected["band"] == got["band"]
        and abs(expected["start_s"] - got["start_s"]) <= 5e-6
        and abs(expected["duration_s"] - got["duration_s"]) <= 10e-6
        and abs(expected["freq_hz"] - got["freq_hz"]) <= 2e3
        and abs(expected["snr_db"] - got["snr_db"]) <= 0.2
    )

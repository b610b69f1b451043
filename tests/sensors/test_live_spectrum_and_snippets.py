"""Live spectra and snippet delivery from a running node, through a real Mosquitto, with the simulator source."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from cellward.messages import SnippetChunk, SpectrumFrame, parse_message
from cellward.messages.schema_files import validate_wire
from cellward.messages.wire_time import parse_utc
from cellward.recording import open_recording
from cellward.signing import NodeKey, sign_message, verify_message
from dsp.detector import Detector
from dsp.spectrum import SpectrumGeometry, power_spectra
from sensors.activity import Dwell
from sensors.spectrum_stream import STEP_DB, DwellSpectrum, SpectrumStream
from tests.sensors.harness import GSM_CARRIER_HZ, Listener, make_keys, running_node, write_config
from tests.sensors.test_commands import _final
from tests.support.mosquitto import MosquittoBroker

FS = 2.4e6
STREAM_S = 2.0


def _tone(freq_offset_hz: float, power_dbfs: float, n: int) -> np.ndarray:
    amplitude = 10 ** (power_dbfs / 20)
    return (amplitude * np.exp(2j * np.pi * freq_offset_hz * np.arange(n) / FS)).astype(np.complex64)


def test_the_tap_sees_exactly_the_detectors_spectra() -> None:
    samples = _tone(300e3, -30, 200_000) + (np.random.default_rng(1).normal(size=200_000) * 1e-3).astype(np.complex64)
    tapped = DwellSpectrum()
    detector = Detector(FS, 897.4e6, spectrum_tap=tapped)
    detector.process(samples[:70_000])
    detector.process(samples[70_000:])
    detector.flush()
    g = detector.geometry
    direct = np.empty((g.frames_in(len(samples)), g.nfft), np.float32)
    power_spectra(samples, g.window(), g.hop, direct)
    assert tapped.frames == len(direct), "every frame the detector computed, once"
    np.testing.assert_allclose(tapped.total, direct.sum(axis=0, dtype=np.float64), rtol=1e-5)
    np.testing.assert_array_equal(tapped.peak, direct.max(axis=0))


def test_a_frame_is_calibrated_dbm_on_the_right_bins() -> None:
    geometry = SpectrumGeometry.for_rate(FS)
    offset_hz = 40 * geometry.bin_hz  # on a bin centre
    spectrum = DwellSpectrum()
    samples = _tone(offset_hz, -30.0, 60_000)
    spectra = np.empty((geometry.frames_in(len(samples)), geometry.nfft), np.float32)
    power_spectra(samples, geometry.window(), geometry.hop, spectra)
    spectrum(spectra)
    centre = 897.4e6
    dwell = Dwell(centre, centre - 1.02e6, centre + 1.02e6, time.time(), 0.025, 28.0, -32.5, 0.0)
    frame = SpectrumStream("hmp-test", "s-1", lambda *_: True)
    frame.start("c-1", 10, time.time())
    message = frame.frame(spectrum, geometry, dwell, "B8", time.time())
    assert message is not None
    freqs, peak = message.freqs_hz(), message.power_dbm("peak")
    assert freqs[0] >= dwell.low_hz and freqs[-1] <= dwell.high_hz, "only the searched part of the tuning"
    assert message.bins == len(freqs) <= 512
    strongest = int(np.argmax(peak))
    assert abs(freqs[strongest] - (centre + offset_hz)) < geometry.bin_hz / 2
    # A bin-centred tone under the unit-power Hann window keeps (mean w / rms w)^2 = 2/3 of its power
    # in its own bin: -30 dBFS - 1.76 dB, plus the -32.5 dB calibration, to within half a quantisation step.
    expected_dbm = -30.0 + 10 * np.log10(2 / 3) - 32.5
    assert abs(peak[strongest] - expected_dbm) <= STEP_DB / 2 + 0.01, (peak[strongest], expected_dbm)
    validate_wire(json.loads(json.dumps(sign_message(message.to_wire(), NodeKey.generate("s-1")))))


def test_stream_spectrum_sends_signed_frames_of_the_running_scan(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(write_config(tmp_path, mosquitto.port)):
            listener.wait_for(lambda lst: lst.of("detections"), 30, "scanning to start")
            assert not listener.of("spectrum"), "no spectra until the controller asks"
            asked_s = time.time()
            stream = listener.publish_command(keys, "stream_spectrum", {"duration_s": STREAM_S}, seq=1)
            assert _final(listener, stream)["result"] == "done"
            listener.wait_for(lambda lst: len(lst.of("spectrum")) >= 5, 20, "five spectrum frames")
            # after the stream's end: a detections batch written later shows the node went on scanning
            ended_s = asked_s + STREAM_S + 1.0
            listener.wait_for(
                lambda lst: any(parse_utc(m["ts"]).timestamp() > ended_s for m in lst.of("detections")),
                30,
                "detections after the stream ended",
            )
    finally:
        listener.close()
    frames = listener.of("spectrum")
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "numbered like every stream"
    for wire in frames:
        validate_wire(wire)
        verify_message(wire, keys.sensor_ring)
        frame = parse_message(wire)
        assert isinstance(frame, SpectrumFrame) and frame.stream == stream and frame.band == "B8"
        start_s = frame.start.timestamp()
        assert asked_s - 1.0 <= start_s <= asked_s + STREAM_S + 0.5, "frames only while the stream runs"
        strongest = frame.freqs_hz()[int(np.argmax(frame.power_dbm("peak")))]
        assert abs(strongest - GSM_CARRIER_HZ) < 150e3, f"the GSM phone is the peak, got {strongest / 1e6:.3f} MHz"
        assert np.median(frame.power_dbm("peak")) < frame.power_dbm("peak").max() - 15, "25 dB SNR phone"


def test_a_delivered_snippet_reassembles_into_the_recording(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    listener = Listener(mosquitto.host, mosquitto.port)
    params = {"freq_hz": GSM_CARRIER_HZ, "duration_s": 0.05, "reason": "incident 9", "deliver": True}
    try:
        with running_node(write_config(tmp_path, mosquitto.port)):
            listener.wait_for(lambda lst: lst.of("detections"), 30, "scanning to start")
            capture = listener.publish_command(keys, "capture_snippet", params, seq=1)
            answer = _final(listener, capture)
            assert answer["result"] == "done", answer
            count = answer["data"]["chunks"]
            listener.wait_for(lambda lst: len(lst.of("snippet")) >= count, 20, f"{count} snippet chunks")
    finally:
        listener.close()
    chunks = [parse_message(w) for w in listener.of("snippet")]
    for wire in listener.of("snippet"):
        validate_wire(wire)
        verify_message(wire, keys.sensor_ring)
    assert all(isinstance(c, SnippetChunk) and c.capture == capture for c in chunks)
    data = b"".join(c.payload() for c in sorted(chunks, key=lambda c: c.index))
    assert len(data) == chunks[0].total_bytes == 2 * round(0.05 * FS), "cu8: two bytes a sample"
    assert count == len(chunks) == -(-len(data) // (48 * 1024))
    assert hashlib.sha256(data).hexdigest() == chunks[0].sha256
    (tmp_path / "got.sigmf-data").write_bytes(data)
    (tmp_path / "got.sigmf-meta").write_text(json.dumps(chunks[0].meta))
    recording = open_recording(tmp_path / "got.sigmf-meta", verify_checksum=True)
    assert abs(recording.center_freq_hz - GSM_CARRIER_HZ) < 1.0
    on_node = Path(answer["data"]["file"]).with_suffix(".sigmf-data").read_bytes()
    assert on_node == data, "the controller gets the node's recording byte for byte"
    assert base64.b64decode(listener.of("snippet")[0]["data"])[:4] == data[:4]


def test_a_snippet_too_large_for_the_spool_stays_on_the_node(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    listener = Listener(mosquitto.host, mosquitto.port)
    params = {"freq_hz": GSM_CARRIER_HZ, "duration_s": 0.5, "reason": "incident 9", "deliver": True}
    try:
        # a 1 MiB spool delivers at most 512 KiB; half a second is 2.4 MB of cu8
        with running_node(write_config(tmp_path, mosquitto.port, spool={"max_mb": 1})):
            listener.wait_for(lambda lst: lst.of("detections"), 30, "scanning to start")
            capture = listener.publish_command(keys, "capture_snippet", params, seq=1)
            answer = _final(listener, capture)
    finally:
        listener.close()
    assert answer["result"] == "failed" and "not sent" in answer["detail"], answer
    assert Path(answer["data"]["file"]).is_file(), "the recording is kept on the node"
    assert not listener.of("snippet")

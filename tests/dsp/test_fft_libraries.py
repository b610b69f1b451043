"""The short-time spectrum's FFT by each library: numpy's spectra to float32 rounding, any batch size, pocketfft's
bits whichever way it is called, and clear errors for a library that is unknown or not installed."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.fft

from dsp.detector import Detector, DetectorConfig
from dsp.fft_libraries import FFT_LIBRARIES, check_fft_library, in_place_batches
from dsp.spectrum import CHUNK_FRAMES, FrameFFTs, SpectrumGeometry, power_spectra
from sim.signals import gsm, lte
from sim.signals.scene import Scene

FS = 2.4e6
GEOMETRY = SpectrumGeometry.for_rate(FS)


def numpy_spectra(x: np.ndarray) -> np.ndarray:
    """The definition, in float64: Hann-windowed frames, |FFT|^2 / nfft^2, fftshifted."""
    g = GEOMETRY
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.complex128), g.nfft)[:: g.hop]
    spectra = np.fft.fft(frames * g.window().astype(np.float64), axis=1)
    return np.fft.fftshift(np.abs(spectra) ** 2 / g.nfft**2, axes=1)


@pytest.mark.parametrize("library", list(FFT_LIBRARIES))
@pytest.mark.parametrize("frames", [1, 149, CHUNK_FRAMES, 3 * CHUNK_FRAMES + 77])
def test_power_spectra_are_the_definitions_with_every_library(library: str, frames: int) -> None:
    rng = np.random.default_rng(frames)
    n = (frames - 1) * GEOMETRY.hop + GEOMETRY.nfft
    x = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64)
    x += np.exp(2j * np.pi * 0.1234 * np.arange(n)).astype(np.complex64)  # a tone 40 dB over a bin's noise
    out = np.empty((frames, GEOMETRY.nfft), np.float32)
    power_spectra(x, GEOMETRY.window(), GEOMETRY.hop, out, library)
    expected = numpy_spectra(x)
    error = np.abs(out - expected).max(axis=1) / expected.max(axis=1)
    assert error.max() < 2e-6, f"{library}: worst frame {error.max():.2e} of its largest bin off"


@pytest.mark.parametrize("count", [1, 7, 149, CHUNK_FRAMES])
def test_pocketfft_in_compiled_code_gives_scipy_ffts_bits(count: int) -> None:
    """rocket-fft's binding of pocketfft (AVX2 where the CPU has it) and scipy.fft's agree to the bit, so the
    detector's output does not depend on the binding or the CPU's vector units."""
    batches = in_place_batches("pocketfft", CHUNK_FRAMES, GEOMETRY.nfft)
    rng = np.random.default_rng(count)
    x = (rng.normal(size=(count, GEOMETRY.nfft)) + 1j * rng.normal(size=(count, GEOMETRY.nfft))).astype(np.complex64)
    batches.frames[:count] = x
    transformed = batches.transform(count)
    assert np.shares_memory(transformed, batches.frames), "transformed in place"
    np.testing.assert_array_equal(transformed, scipy.fft.fft(x, axis=1))


def test_fftw_gives_a_frame_the_same_spectrum_in_a_batch_of_any_size() -> None:
    """A chunk of any count is transformed as power-of-two batches: each frame must come out as in a full one."""
    ffts = FrameFFTs(GEOMETRY.window(), GEOMETRY.hop, CHUNK_FRAMES, "fftw")
    rng = np.random.default_rng(5)
    n = (CHUNK_FRAMES - 1) * GEOMETRY.hop + GEOMETRY.nfft
    x = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64)
    full = ffts.chunk(x, CHUNK_FRAMES).copy()
    for count in (1, 3, 149, 255):
        np.testing.assert_allclose(ffts.chunk(x, count), full[:count], rtol=0, atol=1e-5 * np.abs(full).max())


def test_the_detector_finds_the_same_bursts_with_either_library() -> None:
    rng = np.random.default_rng(4)
    fc = 897.1e6
    scene = Scene(FS, fc, 0.12, seed=4).add(
        gsm.call(FS, gsm.uplink_arfcn_hz(33), 4, 0.0, 0.12, 12, rng),
        lte.volte(FS, 897.9e6, 6, 0.0, 0.12, 10, rng),
    )
    x = scene.render_complex()[0]
    found = {}
    for library in FFT_LIBRARIES:
        detector = Detector(FS, fc, DetectorConfig(fft_library=library))
        found[library] = detector.process(x) + detector.flush()
    pocketfft, fftw = found["pocketfft"], found["fftw"]
    assert len(pocketfft) >= 30, "the scene's call and VoLTE bursts"
    assert len(fftw) == len(pocketfft)
    for a, b in zip(pocketfft, fftw, strict=True):
        assert a.technology == b.technology and abs(a.start_s - b.start_s) < 5e-6, (a, b)
        assert abs(a.snr_db - b.snr_db) < 0.05 and abs(a.freq_hz - b.freq_hz) < 1e3, (a, b)


def test_an_unknown_library_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown FFT library 'mkl': choose one of pocketfft, fftw"):
        in_place_batches("mkl", 4, 16)


def test_fftw_not_installed_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyfftw", None)  # as if absent: importing it raises ImportError
    monkeypatch.delitem(sys.modules, "dsp.fft_libraries.fftw", raising=False)
    with pytest.raises(ValueError, match=r"needs pyFFTW.*pip install 'cellward\[fftw\]'"):
        check_fft_library("fftw")
    check_fft_library("pocketfft")

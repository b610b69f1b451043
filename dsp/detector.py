"""The detector: complex baseband blocks in, classified bursts out, streaming with bounded memory.

Wires the blocks of dsp/: spectrum -> noise_floor -> impulses -> cfar -> bursts -> features -> classify
-> subframes.
Blocks
may have any length; a burst that straddles blocks is reported once, when it has ended. Bursts are
held back for `context_s` so that each is classified knowing its neighbours on the same channel
(GSM's 4.615 ms frame, LTE's 0.5 ms slots), and are returned in time order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit

from dsp.band_plan import BandPlan
from dsp.burst import Burst
from dsp.bursts import Measurement, Region, SegmentationConfig, find_regions, measure, merge_fragments
from dsp.cfar import BoxBank, CfarConfig, box_detections, box_sum_threshold, tile_sums
from dsp.classify import Candidate, classify_candidates
from dsp.features import burst_features
from dsp.impulses import ImpulseConfig, band_statistics, blank_impulses
from dsp.matched_box import measure_best_box
from dsp.noise_floor import FloorConfig, FloorMemory, NoiseFloor
from dsp.spectrum import CHUNK_FRAMES, FrameFFTs, SpectrumGeometry, shifted_power
from dsp.stream_buffer import StreamBuffer
from dsp.subframes import split_into_subframes


@dataclass(frozen=True)
class DetectorConfig:
    target_bin_hz: float = 10e3
    dc_notch_bins: int = 2
    dc_offset_window_s: float = 0.01  # either side of a burst across the notch: the samples' mean is the DC offset
    usable_fraction: float = 0.88  # of the sample rate; the decimator's roll-off and aliases lie outside
    context_s: float = 0.03
    max_buffer_s: float = 1.0
    floor: FloorConfig = field(default_factory=FloorConfig)
    cfar: CfarConfig = field(default_factory=CfarConfig)
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    impulses: ImpulseConfig = field(default_factory=ImpulseConfig)
    fft_library: str = "pocketfft"  # or "fftw" (GPL; see dsp/fft_libraries): about a tenth less CPU on noise


@functools.cache
def _shipped_band_plan() -> BandPlan:
    """The UK plan shipped with cellward, parsed once rather than for every detector (1.6 ms each time)."""
    return BandPlan.load()


def dc_fill_weight(notch_bins: int) -> float:
    """Weight a on the excess of the notch's 2n - 1 copies of their neighbours' mean such that they and the
    two neighbours sum to the variance of 2n + 1 independent noise cells: 2 (1 + (2n - 1) a / 2)^2 = 2n + 1."""
    copies = 2 * notch_bins - 1
    return 2.0 * (math.sqrt((copies + 2) / 2) - 1.0) / copies


class Detector:
    """Streaming burst detector for one tuning (centre frequency and sample rate); `restart` starts the next
    stream at the same rate (a sensor's next dwell) with the buffers and tables already in place."""

    def __init__(
        self,
        sample_rate_hz: float,
        center_freq_hz: float,
        config: DetectorConfig | None = None,
        band_plan: BandPlan | None = None,
        spectrum_tap: Callable[[np.ndarray], None] | None = None,
        floor_memory: FloorMemory | None = None,
    ) -> None:
        """`spectrum_tap`, when given, sees every block of power spectra as computed (frames x nfft, power per
        bin in full-scale units, frequency ascending; read-only), so a caller can show them without a second FFT.
        `floor_memory`, when given, is the tuning's memory of its last dwells' noise floors (`FloorMemory`)."""
        self.config = config or DetectorConfig()
        self.geometry = SpectrumGeometry.for_rate(sample_rate_hz, self.config.target_bin_hz)
        self.band_plan = band_plan or _shipped_band_plan()
        self.boxes = BoxBank.build(self.geometry, self.config.cfar)
        self._ffts = FrameFFTs(self.geometry.window(), self.geometry.hop, CHUNK_FRAMES, self.config.fft_library)
        g = self.geometry
        # buffers start small and grow to twice what a block and the lookback need: a sensor's detector for
        # one 90 ms dwell touches no more memory than the dwell does
        self._samples = StreamBuffer((), np.complex64)  # from absolute sample _frame0 * hop on
        self._z = StreamBuffer((g.nfft,), np.float32)  # rows: absolute frames _frame0, ...
        # figures of z's rows, formed with them while they are in cache (`_prepare_frames`), row for row
        self._tiles = StreamBuffer((g.nfft // self.boxes.tile_bins,), np.float32)  # the CFAR's tile sums
        self._band_mean = StreamBuffer((), np.float32)  # the impulse test's band statistics
        self._hot_bins = StreamBuffer((), np.int64)
        self._dc_discount = np.float32(1.0 - dc_fill_weight(self.config.dc_notch_bins))
        self._edge_bins = round(g.nfft * (1 - self.config.usable_fraction) / 2)
        self._max_buffer_frames = max(int(self.config.max_buffer_s / g.hop_s), 4 * self.boxes.max_frames)
        self.restart(center_freq_hz, spectrum_tap, floor_memory)

    def restart(
        self,
        center_freq_hz: float,
        spectrum_tap: Callable[[np.ndarray], None] | None = None,
        floor_memory: FloorMemory | None = None,
    ) -> None:
        """Forget the stream so far and start a new one at `center_freq_hz` (the same sample rate), as a new
        detector would, but keeping the buffers grown so far: a sensor restarts one detector every dwell rather
        than allocating (and faulting in) new ones."""
        self.center_freq_hz = center_freq_hz
        self.spectrum_tap = spectrum_tap
        self.floor = NoiseFloor(self.geometry.nfft, self.config.floor, floor_memory)
        for buffer in (self._samples, self._z, self._tiles, self._band_mean, self._hot_bins):
            buffer.clear()
        self._frame0 = 0
        self._next_frame = 0  # first frame not yet computed
        self._emitted_until = 0  # regions ending before this frame have been reported, or were open then
        self._released_until = 0  # no region found later can start before this frame
        self._reported: list[tuple[int, int, int, int]] = []  # the buffer's reported regions: frames and bins
        self._pending: list[Candidate] = []
        self._unnormalised: list[np.ndarray] = []
        self._history: list[Candidate] = []

    @property
    def sample_rate_hz(self) -> float:
        return self.geometry.sample_rate_hz

    def process(self, block: np.ndarray) -> list[Burst]:
        """Feed the next block of complex64 samples; return the bursts now known complete."""
        self._samples.extend(np.asarray(block, np.complex64))
        return self._process_appended()

    def process_into(self, count: int, fill: Callable[[np.ndarray], None]) -> list[Burst]:
        """As `process` for the next `count` samples, which `fill` writes straight into the detector's sample
        buffer: it is called once with a C-contiguous complex64 array of `count` to fill. A reader that
        converts raw samples (cu8 from a dongle or a file) converts them there, saving a copy of every sample."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        fill(self._samples.reserve(count))
        return self._process_appended()

    def flush(self) -> list[Burst]:
        """End of stream: report everything still held."""
        self._append(final=True)
        self._find_candidates(final=True, stream_end=True)
        return self._release(final=True)

    def _process_appended(self) -> list[Burst]:
        self._append()
        force = len(self._z) > self._max_buffer_frames
        self._find_candidates(final=force)
        return self._release(final=False)

    def _append(self, final: bool = False) -> None:
        """Spectra, floor-normalised, of the frames that the samples appended since the last call complete."""
        computed = self._next_frame - self._frame0
        new = self.geometry.frames_in(self._samples.view.shape[0]) - computed
        if new <= 0 and not self._unnormalised:
            return
        new = max(new, 0)
        if not self.floor.seeded:
            seeding = self._seed_from(computed, new, final)
            computed, new = computed + seeding, new - seeding
        if self.floor.seeded and new > 0:
            self._normalise_chunks(computed, new)

    def _seed_from(self, computed: int, new: int, final: bool) -> int:
        """Hold the power spectra of the first of `new` frames from frame `computed` that the floor's seed still
        needs, and once it has them all (or at the `final` call, what there is) seed the floor and normalise them;
        returns how many frames it took. The rest go through the chunks as for a seeded floor: a sensor's
        dwell arrives as one block, and its 1,685 frames' power spectra at once were 1.7 MB out of cache."""
        g = self.geometry
        held = sum(len(s) for s in self._unnormalised)
        count = min(new, self.config.floor.seed_frames - held)  # never negative: no more than the seed is held
        if count > 0:
            spectra = np.empty((count, g.nfft), np.float32)
            self._ffts.power_spectra(self._samples.view[computed * g.hop :], spectra)
            if self.spectrum_tap is not None:
                self.spectrum_tap(spectra)
            self._unnormalised.append(spectra)
            held += count
            self._next_frame += count
        if held == 0 or (held < self.config.floor.seed_frames and not final):
            return count
        spectra = np.concatenate(self._unnormalised)
        self._unnormalised = []
        z = self._reserve_frames(spectra.shape[0])
        self.floor.normalise(spectra, z)
        self._prepare_frames(len(self._z) - spectra.shape[0], len(self._z), notch=True)
        return count

    def _normalise_chunks(self, computed: int, new: int) -> None:
        """Normalise `new` frames from frame `computed` with the seeded floor, a cache-sized chunk at a time."""
        g = self.geometry
        z = self._reserve_frames(new)
        base = len(self._z) - new
        # the floor reads the FFT output directly; power spectra are only formed for a tap
        spectra = np.empty((new, g.nfft), np.float32) if self.spectrum_tap is not None else None
        for first, fft in self._ffts.chunks(self._samples.view[computed * g.hop :], new):
            count = fft.shape[0]
            if spectra is not None:
                shifted_power(fft, spectra[first : first + count])
            self.floor.normalise_fft(fft, z[first : first + count])
            self._prepare_frames(base + first, base + first + count, notch=True)  # while they are in cache
        if spectra is not None:
            self.spectrum_tap(spectra)
        self._next_frame += new

    def _reserve_frames(self, count: int) -> np.ndarray:
        """Append `count` rows to z, and to the figures kept with it; returns z's new rows."""
        for figures in (self._tiles, self._band_mean, self._hot_bins):
            figures.reserve(count)
        return self._z.reserve(count)

    def _prepare_frames(self, first: int, stop: int, notch: bool) -> None:
        """For z's rows [first, stop), just normalised (`notch`: notch DC and set the band edges first) or just
        blanked: the impulse test's band statistics and the CFAR's tile sums, with the notched bins discounted.

        The 2n - 1 notched bins repeat their two neighbours' mean, so at full weight every box across DC would
        count those two cells' noise 2n + 1 times over, with a box-sum variance well above the independent
        cells' that the thresholds assume (noise blips across DC passed them). Each notched bin is counted in
        the tile sums at `dc_fill_weight` of its excess over the noise, so the notch and its neighbours carry
        the variance of 2n + 1 independent cells and no box across DC more; a burst across DC still lifts
        them. Segmentation, measurement and features see the full interpolation.
        """
        g, n = self.geometry, self.config.dc_notch_bins
        z = self._z.view[first:stop]
        if notch:
            _notch_dc_and_edges(z, n, self._edge_bins)
        _frame_figures(
            z,
            self._edge_bins,
            g.nfft - self._edge_bins,
            self.boxes.tile_bins,
            g.nfft // 2 - n + 1,
            max(2 * n - 1, 0),
            self._dc_discount,
            self._tiles.view[first:stop],
            self._band_mean.view[first:stop],
            self._hot_bins.view[first:stop],
        )

    def _find_candidates(self, final: bool, stream_end: bool = False) -> None:
        """Measure the regions that have ended (`final`: every region, as when the buffer is full); at the
        `stream_end` a region still on at the last frame was cut by it."""
        g, boxes = self.geometry, self.boxes
        z = self._z.view
        frames = z.shape[0]
        if frames == 0:
            return
        usable = slice(self._edge_bins, g.nfft - self._edge_bins)
        blanked = blank_impulses(
            z,
            usable,
            self._samples.view,
            g.hop,
            g.sample_rate_hz,
            self._band_mean.view,
            self._hot_bins.view,
            self.config.impulses,
            stream_start=self._frame0 == 0,
            stream_end=stream_end,
        )
        for lo, hi in blanked:
            self._prepare_frames(lo, hi, notch=False)
        tiles_map = self._tiles.view
        ntiles = tiles_map.shape[1]
        seeds = np.zeros((frames, ntiles), np.bool_)
        region_map = np.zeros((frames, ntiles), np.bool_)
        box_detections(tiles_map, boxes.frames, boxes.tiles, boxes.thresholds, boxes.is_seed, seeds, region_map)
        regions = find_regions(seeds, region_map, z, boxes.tile_bins, self.config.segmentation)
        cut = frames if final else frames - boxes.max_frames - 2
        open_starts = [region.frame0 for region in regions if region.frame1 >= cut]
        keep_from = min([max(0, cut - boxes.max_frames), *open_starts])
        floor = _notched_floor(self.floor.mean_power_per_bin(), self.config.dc_notch_bins)
        closed = [part for r in regions if r.frame1 < cut and (part := self._unreported_part(r)) is not None]
        self._reported.extend((self._frame0 + r.frame0, self._frame0 + r.frame1, r.bin0, r.bin1) for r in closed)
        measured = [(r, measure(r, z, floor, self.config.segmentation)) for r in closed]
        measured = [(r, m) for r, m in measured if m is not None]
        last_frame = frames - 1 if stream_end else None
        for region, measurement in merge_fragments([r for r, _ in measured], [m for _, m in measured]):
            candidate = self._candidate(region, measurement, floor, last_frame)
            if candidate is not None:
                self._pending.append(candidate)
        self._emitted_until = self._frame0 + max(cut, 0)
        self._released_until = self._frame0 + max(min([cut, *open_starts]), 0)
        self._trim(keep_from)
        self._reported = [box for box in self._reported if box[1] >= self._frame0]

    def _unreported_part(self, region: Region) -> Region | None:
        """The part of a closed region not reported yet, or None. A component's parts change as it grows, so a
        part may be cut out of a region that was still open at the last pass (a short burst out of a long
        emission's component once enough of the long one is seen), ending before that pass's cut: it is
        reported if nothing reported lies there. A region that runs on past what was reported of it (a long
        burst across a full buffer's forced flush) is reported from there on."""
        frame0, frame1 = self._frame0 + region.frame0, self._frame0 + region.frame1
        reported_ends = [
            end
            for start, end, low, high in self._reported
            if frame0 <= end and start <= frame1 and region.bin0 <= high and low <= region.bin1
        ]
        if not reported_ends:
            return region
        if frame1 < self._emitted_until or max(reported_ends) >= frame1:
            return None
        return replace(region, frame0=max(reported_ends) + 1 - self._frame0)

    def _candidate(
        self, region: Region, m: Measurement | None, floor: np.ndarray, last_frame: int | None
    ) -> Candidate | None:
        """The candidate measured in `region`; `last_frame` is the stream's last frame of z, when it has ended."""
        g = self.geometry
        if m is None:
            m = measure(region, self._z.view, floor, self.config.segmentation)
        if m is None or not self._clears(m, self._verify_probability(m.frames, m.bins, region.split)):
            # a weak wide burst whose measured band shrank to a fragment: measure it as its best rectangle,
            # held to the seeds' false-alarm probability since the best of many rectangles is tested
            m = measure_best_box(region, self._z.view, floor, self.config.segmentation)
            if m is None or not self._clears(m, self.config.cfar.false_alarm_probability):
                return None
        frame_centre = g.nfft / 2
        start_sample = (self._frame0 + m.start_frame) * g.hop + frame_centre
        end_sample = (self._frame0 + m.end_frame) * g.hop + frame_centre
        if end_sample <= start_sample:
            return None
        low_hz = g.bin_offset_hz(m.low_bin)
        high_hz = g.bin_offset_hz(m.high_bin)
        local_start = int(start_sample) - self._frame0 * g.hop
        local_end = int(np.ceil(end_sample)) - self._frame0 * g.hop
        burst_samples = self._samples.view[max(0, local_start) : max(0, local_end)]
        if self._holds_dc(low_hz, high_hz):
            burst_samples = burst_samples - self._dc_offset_around(local_start, local_end)
        features = burst_features(
            burst_samples,
            g.sample_rate_hz,
            low_hz,
            high_hz,
            m,
            self._z.view[region.frame0 : region.frame1 + 1, region.bin0 : region.bin1 + 1],
            g.bin_hz,
        )
        return Candidate(
            start_s=start_sample / g.sample_rate_hz,
            duration_s=(end_sample - start_sample) / g.sample_rate_hz,
            freq_hz=self.center_freq_hz + 0.5 * (low_hz + high_hz),
            bandwidth_hz=high_hz - low_hz,
            power=m.power,
            snr=m.snr,
            offset_from_tuner_hz=0.5 * (low_hz + high_hz),
            capture_half_width_hz=0.5 * g.sample_rate_hz,
            # an edge is found where the time profile crosses half the burst's power between two frames; a burst
            # already (or still) above it at the stream's first (last) frame has its edge half a frame beyond
            cut_at_start=self._frame0 + m.start_frame < 0,
            cut_at_end=last_frame is not None and m.end_frame > last_frame,
            features=features,
        )

    def _holds_dc(self, low_hz: float, high_hz: float) -> bool:
        """Whether a band reaches into the notched DC-spike bins."""
        notch_hz = (self.config.dc_notch_bins - 0.5) * self.geometry.bin_hz
        return self.config.dc_notch_bins > 0 and low_hz < notch_hz and high_hz > -notch_hz

    def _dc_offset_around(self, local_start: int, local_end: int) -> np.complex64:
        """The dongle's DC offset: the mean of the samples from `dc_offset_window_s` before a burst to as long after it.
        A burst's features read its envelope, and a constant added to it would make a constant envelope swing
        with the burst's phase; the signals in the window average out over its tens of thousands of samples."""
        reach = round(self.config.dc_offset_window_s * self.geometry.sample_rate_hz)
        samples = self._samples.view
        return np.complex64(samples[max(0, local_start - reach) : max(0, local_end + reach)].mean())

    def _clears(self, m: Measurement, false_alarm_probability: float) -> bool:
        """Whether the sum of Z over the measured cells passes the test at `false_alarm_probability` and stands
        above what an error of the floor's estimate could make of noise: over enough cells any test passes a
        floor read a little low (a long thin strip beside a long emission, or a dwell seeded low)."""
        cells = m.frames * m.bins
        threshold = box_sum_threshold(self.geometry, m.frames, m.bins, false_alarm_probability)  # cached in dsp.cfar
        return m.z_sum > max(threshold, cells * (1.0 + self.config.cfar.floor_uncertainty))

    def _verify_probability(self, frames: int, bins: int, split: bool) -> float:
        """The false-alarm probability a measured region is verified at. A small part cut out of a larger component is
        held to the seeds' false-alarm probability: the low-threshold map can join noise cells to a burst's
        component, and the part the cut makes of them is measured where it is highest, so a test on the same
        cells at the looser verification probability passes noise (as it would not alone, without a seed)."""
        cfar = self.config.cfar
        if frames * bins >= cfar.large_region_cells:
            return cfar.large_region_false_alarm_probability
        if split:
            return cfar.false_alarm_probability
        return cfar.verify_false_alarm_probability

    def _trim(self, keep_from: int) -> None:
        if keep_from <= 0:
            return
        for frames in (self._z, self._tiles, self._band_mean, self._hot_bins):
            frames.drop_front(keep_from)
        self._samples.drop_front(keep_from * self.geometry.hop)
        self._frame0 += keep_from

    def _release(self, final: bool) -> list[Burst]:
        """Classify and return pending candidates that have `context_s` of neighbours on both sides."""
        self._pending.sort(key=lambda c: c.start_s)
        g = self.geometry
        horizon = (self._released_until * g.hop + g.nfft / 2) / g.sample_rate_hz - self.config.context_s
        ready = self._pending if final else [c for c in self._pending if c.end_s < horizon]
        if not ready:
            return []
        context = [c for c in self._history if c.end_s > ready[0].start_s - self.config.context_s]
        window = context + self._pending
        labelled = classify_candidates(window, ready, self.center_freq_hz, self.band_plan, self.config.context_s)
        labelled = [piece for burst in labelled for piece in split_into_subframes(burst)]
        ready_ids = {id(c) for c in ready}
        self._pending = [c for c in self._pending if id(c) not in ready_ids]
        self._history = (context + ready)[-256:]
        return labelled


def _notched_floor(floor: np.ndarray, notch_bins: int) -> np.ndarray:
    """The floor under z's notch: the DC-spike bins hold their neighbours' Z, so they are measured against their
    neighbours' floor. Their own floor is the spike's power, 10-26 dB over the noise on a dongle with a DC offset,
    and would swamp a burst's power profile (and its SNR, and the noise its envelope is corrected for) with the
    noise of the few notched cells."""
    if notch_bins <= 0:
        return floor
    centre = floor.shape[0] // 2
    notched = floor.copy()
    notched[centre - notch_bins + 1 : centre + notch_bins] = 0.5 * (
        floor[centre - notch_bins] + floor[centre + notch_bins]
    )
    return notched


@njit(cache=True, nogil=True)
def _notch_dc_and_edges(z: np.ndarray, notch_bins: int, edge_bins: int) -> None:
    """Per row of z (frames, nfft): the 2n - 1 DC-spike bins replaced by their two neighbours' mean, keeping
    bursts across DC connected, and the `edge_bins` at either end (the decimator's roll-off) set to the floor."""
    nfft = z.shape[1]
    centre = nfft // 2
    for t in range(z.shape[0]):
        row = z[t]
        if notch_bins > 0:
            fill = np.float32(0.5) * (row[centre - notch_bins] + row[centre + notch_bins])
            for k in range(centre - notch_bins + 1, centre + notch_bins):
                row[k] = fill
        for k in range(edge_bins):
            row[k] = 1.0
            row[nfft - 1 - k] = 1.0


@njit(cache=True, nogil=True)
def _frame_figures(
    z: np.ndarray,
    usable_low: int,
    usable_high: int,
    tile_bins: int,
    dc_first: int,
    dc_count: int,
    dc_discount: float,
    tiles: np.ndarray,
    band_mean: np.ndarray,
    hot_bins: np.ndarray,
) -> None:
    """The band statistics of z's rows over the usable bins, and their tile sums with each of the `dc_count`
    bins from `dc_first` counted at (1 - `dc_discount`) of its excess over the noise."""
    band_statistics(z, usable_low, usable_high, band_mean, hot_bins)
    tile_sums(z, tile_bins, tiles)
    one = np.float32(1.0)
    for t in range(z.shape[0]):
        for k in range(dc_first, dc_first + dc_count):
            tiles[t, k // tile_bins] -= dc_discount * (z[t, k] - one)

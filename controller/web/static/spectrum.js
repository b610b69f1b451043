// Spectra on canvas, no libraries: the live spectrum + waterfall of one sensor (/sensors/<id>/spectrum) and the
// spectrograms of IQ captures on the incident page. Levels arrive as base64 bytes: dB = ref + level * step.
(() => {
  "use strict";

  // Viridis anchors: dark blue (weak) -> green -> yellow (strong); readable in greyscale too (monotone lightness).
  const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const LUT = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (STOPS.length - 1);
    const k = Math.min(Math.floor(x), STOPS.length - 2);
    const t = x - k;
    for (let c = 0; c < 3; c++) LUT[i * 3 + c] = STOPS[k][c] + t * (STOPS[k + 1][c] - STOPS[k][c]);
  }
  const AXIS = "#222";
  const FONT = "13px system-ui, sans-serif";
  const MARGIN = { left: 64, right: 12, top: 10, bottom: 34 };

  function decode(b64) {
    const text = atob(b64);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  function fitWidth(canvas) {
    const width = Math.max(300, Math.floor(canvas.parentElement.clientWidth));
    if (canvas.width !== width) canvas.width = width;
  }

  function niceStep(span, target) {
    const raw = span / Math.max(target, 1);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  // Frequency ticks (MHz) along the bottom of the plot area.
  function frequencyAxis(ctx, plot, loHz, hiHz, label) {
    ctx.fillStyle = AXIS; ctx.strokeStyle = AXIS; ctx.font = FONT; ctx.textAlign = "center"; ctx.textBaseline = "top";
    const step = niceStep(hiHz - loHz, plot.w / 110);
    for (let f = Math.ceil(loHz / step) * step; f <= hiHz; f += step) {
      const x = plot.x + ((f - loHz) / (hiHz - loHz)) * plot.w;
      ctx.beginPath(); ctx.moveTo(x, plot.y + plot.h); ctx.lineTo(x, plot.y + plot.h + 4); ctx.stroke();
      ctx.fillText((f / 1e6).toFixed(step < 1e5 ? 3 : step < 1e6 ? 2 : 1), x, plot.y + plot.h + 6);
    }
    ctx.textAlign = "right";
    ctx.fillText(label, plot.x + plot.w, plot.y + plot.h + 20);
  }

  function verticalAxis(ctx, plot, top, bottom, unit, format) {
    ctx.fillStyle = AXIS; ctx.strokeStyle = AXIS; ctx.font = FONT; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const step = niceStep(Math.abs(bottom - top), plot.h / 40);
    const lo = Math.min(top, bottom), hi = Math.max(top, bottom);
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      const y = plot.y + ((v - top) / (bottom - top)) * plot.h;
      ctx.beginPath(); ctx.moveTo(plot.x - 4, y); ctx.lineTo(plot.x, y); ctx.stroke();
      ctx.fillText(format(v), plot.x - 6, y);
    }
    ctx.save(); ctx.translate(12, plot.y + plot.h / 2); ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center"; ctx.fillText(unit, 0, 0); ctx.restore();
  }

  function plotArea(canvas) {
    return { x: MARGIN.left, y: MARGIN.top, w: canvas.width - MARGIN.left - MARGIN.right,
      h: canvas.height - MARGIN.top - MARGIN.bottom };
  }

  // An image of rows x cols levels (0..255 already scaled) stretched into the plot area.
  function paintMatrix(ctx, plot, rows, cols, levelAt) {
    const image = ctx.createImageData(cols, rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = levelAt(r, c), o = (r * cols + c) * 4;
        if (v < 0) { image.data[o + 3] = 0; continue; }
        image.data[o] = LUT[v * 3]; image.data[o + 1] = LUT[v * 3 + 1]; image.data[o + 2] = LUT[v * 3 + 2];
        image.data[o + 3] = 255;
      }
    }
    const tile = document.createElement("canvas");
    tile.width = cols; tile.height = rows;
    tile.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tile, plot.x, plot.y, plot.w, plot.h);
  }

  // -- spectrograms of captured IQ (incident page) -------------------------------------------------------------
  function drawSpectrogram(canvas, s) {
    fitWidth(canvas);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const plot = plotArea(canvas);
    const raw = decode(s.levels);
    let lo = 255, hi = 0;
    for (const v of raw) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const scale = 255 / Math.max(hi - lo, 1);
    paintMatrix(ctx, plot, s.rows, s.cols, (r, c) => Math.round((raw[r * s.cols + c] - lo) * scale));
    const f0 = s.f0_hz - s.df_hz / 2, f1 = f0 + s.cols * s.df_hz;
    frequencyAxis(ctx, plot, f0, f1, "frequency, MHz");
    verticalAxis(ctx, plot, 0, s.rows * s.dt_s * 1e3, "time, ms", (v) => v.toFixed(0));
    let best = 0;
    for (let i = 1; i < raw.length; i++) if (raw[i] > raw[best]) best = i;
    const row = Math.floor(best / s.cols), col = best % s.cols;
    const text = "Strongest at " + ((s.f0_hz + col * s.df_hz) / 1e6).toFixed(3) + " MHz, " +
      (row * s.dt_s * 1e3).toFixed(1) + " ms: " + (s.ref_db + raw[best] * s.step_db).toFixed(1) +
      " dBFS/Hz, " + (s.ref_db + lo * s.step_db).toFixed(1) + " dBFS/Hz at the weakest; " +
      (s.duration_s * 1e3).toFixed(0) + " ms recorded" + (s.truncated ? " (first part shown)" : "") + ".";
    canvas.setAttribute("aria-label", "Spectrogram: " + text);
    canvas.dataset.drawn = "true";
    const summary = canvas.closest("figure") && canvas.closest("figure").querySelector(".spectrogram-summary");
    if (summary) summary.textContent = text;
  }

  function drawSpectrograms(root) {
    root.querySelectorAll("canvas[data-spectrogram]:not([data-drawn])").forEach((canvas) => {
      canvas.dataset.drawn = "pending";
      fetch(canvas.dataset.spectrogram, { credentials: "same-origin" })
        .then((res) => (res.ok ? res.json() : Promise.reject(res.status)))
        .then((s) => drawSpectrogram(canvas, s))
        .catch((status) => { canvas.setAttribute("aria-label", "Spectrogram unavailable (" + status + ")"); });
    });
  }

  // -- live spectrum and waterfall (sensor page) ---------------------------------------------------------------
  const MAX_ROWS = 60;

  function liveView(view) {
    const spectrumCanvas = document.getElementById("spectrum-canvas");
    const waterfallCanvas = document.getElementById("waterfall-canvas");
    const state = document.getElementById("spectrum-state");
    const summary = document.getElementById("spectrum-summary");
    const rowCount = document.getElementById("waterfall-rows");
    const frameCount = document.getElementById("frame-count");
    const buttons = document.getElementById("band-buttons");
    const bands = new Map(); // band -> {lo, hi, cols, peak, mean, rows: [Float32Array], last}
    let shown = null, frames = 0, lastSummary = 0, pending = false;

    function band(name, loHz, hiHz) {
      let b = bands.get(name);
      if (b && loHz >= b.lo && hiHz <= b.hi) return b;
      const lo = b ? Math.min(b.lo, loHz) : loHz, hi = b ? Math.max(b.hi, hiHz) : hiHz;
      const cols = Math.max(64, plotArea(waterfallCanvas).w);
      b = { lo, hi, cols, peak: new Float32Array(cols).fill(NaN), mean: new Float32Array(cols).fill(NaN), rows: [], last: null };
      if (shown === null) shown = name;
      if (!bands.has(name)) addButton(name);
      bands.set(name, b); // a wider span starts the band's picture again
      return b;
    }

    function addButton(name) {
      const button = document.createElement("button");
      button.type = "button"; button.textContent = name; button.dataset.band = name;
      button.addEventListener("click", () => { shown = name; markButtons(); draw(); });
      buttons.appendChild(button);
      markButtons();
    }

    function markButtons() {
      buttons.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.band === shown)));
    }

    function add(frame) {
      const mean = decode(frame.mean), peak = decode(frame.peak);
      const loHz = frame.start_hz - frame.bin_hz / 2, hiHz = loHz + frame.bins * frame.bin_hz;
      const b = band(frame.band || "outside bands", loHz, hiHz);
      const px = (f) => Math.min(b.cols - 1, Math.max(0, Math.floor(((f - b.lo) / (b.hi - b.lo)) * b.cols)));
      const first = px(loHz), last = px(hiHz - 1);
      // A dwell landing on columns this row already holds means the sweep came round again: new row.
      let revisit = false;
      for (let x = first; x <= last && !revisit; x++) revisit = !Number.isNaN(b.peak[x]);
      if (revisit) {
        b.rows.unshift(b.peak); b.last = { peak: b.peak, mean: b.mean };
        if (b.rows.length > MAX_ROWS) b.rows.pop();
        b.peak = new Float32Array(b.cols).fill(NaN); b.mean = new Float32Array(b.cols).fill(NaN);
      }
      for (let k = 0; k < frame.bins; k++) {
        const f = frame.start_hz + k * frame.bin_hz;
        const p = frame.ref_dbm + peak[k] * frame.step_db, m = frame.ref_dbm + mean[k] * frame.step_db;
        // a bin covers every pixel column of its width; a column holding several bins keeps the strongest
        for (let x = px(f - frame.bin_hz / 2); x <= px(f + frame.bin_hz / 2 - 1); x++) {
          b.peak[x] = Number.isNaN(b.peak[x]) ? p : Math.max(b.peak[x], p);
          b.mean[x] = Number.isNaN(b.mean[x]) ? m : Math.max(b.mean[x], m);
        }
      }
      frames += 1;
    }

    // The latest sweep: this row where filled, the previous complete row elsewhere.
    function latest(b, which) {
      const now = b[which], before = b.last ? b.last[which] : null;
      return Array.from(now, (v, i) => (Number.isNaN(v) && before ? before[i] : v));
    }

    function range(values) {
      let lo = Infinity, hi = -Infinity;
      for (const v of values) if (!Number.isNaN(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (lo === Infinity) return [-120, -40];
      return [Math.floor(lo / 10) * 10, Math.ceil((hi + 1) / 10) * 10];
    }

    function draw() {
      pending = false;
      const b = bands.get(shown);
      if (!b) return;
      [spectrumCanvas, waterfallCanvas].forEach(fitWidth);
      const peak = latest(b, "peak"), mean = latest(b, "mean");
      const [bottom, top] = range(peak.concat(mean));
      // spectrum
      let ctx = spectrumCanvas.getContext("2d");
      ctx.clearRect(0, 0, spectrumCanvas.width, spectrumCanvas.height);
      let plot = plotArea(spectrumCanvas);
      const trace = (values, dash, colour) => {
        ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.setLineDash(dash); ctx.beginPath();
        let moving = true;
        values.forEach((v, i) => {
          if (Number.isNaN(v)) { moving = true; return; }
          const x = plot.x + (i / b.cols) * plot.w, y = plot.y + ((top - v) / (top - bottom)) * plot.h;
          if (moving) ctx.moveTo(x, y); else ctx.lineTo(x, y);
          moving = false;
        });
        ctx.stroke(); ctx.setLineDash([]);
      };
      ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(plot.x, plot.y, plot.w, plot.h);
      trace(mean, [6, 4], "#3b528b");
      trace(peak, [], "#b40426");
      frequencyAxis(ctx, plot, b.lo, b.hi, "frequency, MHz");
      verticalAxis(ctx, plot, top, bottom, "dBm", (v) => v.toFixed(0));
      // waterfall: newest sweep (partly filled) on top
      ctx = waterfallCanvas.getContext("2d");
      ctx.clearRect(0, 0, waterfallCanvas.width, waterfallCanvas.height);
      plot = plotArea(waterfallCanvas);
      const rows = [b.peak].concat(b.rows);
      const scale = 255 / (top - bottom);
      paintMatrix(ctx, plot, MAX_ROWS, b.cols, (r, c) => {
        const v = r < rows.length ? rows[r][c] : NaN;
        return Number.isNaN(v) ? -1 : Math.round(Math.min(255, Math.max(0, (v - bottom) * scale)));
      });
      frequencyAxis(ctx, plot, b.lo, b.hi, "frequency, MHz");
      verticalAxis(ctx, plot, 0, MAX_ROWS, "sweeps ago", (v) => v.toFixed(0));
      rowCount.textContent = String(b.rows.length);
      frameCount.textContent = String(frames);
      const now = Date.now();
      if (now - lastSummary > 3000 || summary.textContent === "No spectrum yet.") {
        lastSummary = now;
        let best = -1;
        peak.forEach((v, i) => { if (!Number.isNaN(v) && (best < 0 || v > peak[best])) best = i; });
        if (best >= 0) {
          const f = b.lo + ((best + 0.5) / b.cols) * (b.hi - b.lo);
          summary.textContent = "Peak " + (f / 1e6).toFixed(3) + " MHz at " + peak[best].toFixed(1) + " dBm in " +
            shown + "; shown range " + bottom + " to " + top + " dBm; " + b.rows.length + " sweeps in the waterfall.";
        }
      }
    }

    const source = new EventSource(view.dataset.stream, { withCredentials: true });
    source.addEventListener("open", () => { state.textContent = "Connected: frames appear while the sensor streams."; });
    source.addEventListener("error", () => { state.textContent = "Stream interrupted: reconnecting…"; });
    source.addEventListener("spectrum", (event) => {
      add(JSON.parse(event.data));
      state.textContent = "Receiving frames from the sensor.";
      if (!pending) { pending = true; requestAnimationFrame(draw); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawSpectrograms(document);
    // the captures panel is replaced (htmx polling) while a capture is on its way: draw what it brings
    new MutationObserver(() => drawSpectrograms(document)).observe(document.body, { childList: true, subtree: true });
    const view = document.getElementById("spectrum-view");
    if (view) liveView(view);
  });
})();

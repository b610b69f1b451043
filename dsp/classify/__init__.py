"""Technology classification: a registry of one-file technology models and the rules that combine them.

For each burst, every model gives the log-likelihood of the burst's features. Bursts that share a
channel within the context window (see `evidence.same_channel`) are taken as the same emitter,
so their log-likelihoods add up: a weak burst of a call is judged with the call's strong bursts. The
band plan supplies the prior (a technology not deployed in that block is unlikely, GSM outside the
900/1800 MHz GSM blocks impossible) and the hard non-phone reasons come first.

A new technology is one module implementing `TechnologyClassifier` and one line in `CLASSIFIERS`.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.band_plan import BandPlan
from dsp.burst import Burst
from dsp.classify.base import Candidate, Context, Neighbours, TechnologyClassifier
from dsp.classify.evidence import same_channel
from dsp.classify.gsm import GsmClassifier
from dsp.classify.lte import LteClassifier
from dsp.classify.non_phone import NonPhoneClassifier, not_a_phone_reason
from dsp.classify.nr import NrClassifier

__all__ = ["CLASSIFIERS", "Candidate", "Context", "TechnologyClassifier", "classify_candidates"]

CLASSIFIERS: tuple[TechnologyClassifier, ...] = (
    GsmClassifier(),
    LteClassifier(),
    NrClassifier(),
    NonPhoneClassifier(),
)
PRIOR_IN_USE = 1.0
PRIOR_NOT_LISTED = 0.05  # LTE/NR in a block the band plan doesn't list them for (plans lag deployments)
PRIOR_UNKNOWN = 0.2
NEIGHBOUR_CAP = 6.0  # most the same-channel neighbours together can take from a technology's log-likelihood


def classify_candidates(
    window: list[Candidate],
    ready: list[Candidate],
    center_freq_hz: float,
    band_plan: BandPlan,
    context_s: float,
) -> list[Burst]:
    """Label each candidate in `ready` (time-ordered), seeing the others in `window` as its context.

    A candidate's own log-likelihoods are kept on it once it has been labelled (its context was then
    complete), so a long stream costs each burst one evaluation, plus one for each call in which it is
    the same-channel neighbour of a burst labelled before it. Within a call each candidate's context and
    log-likelihoods are formed once, however many of its neighbours look it up.
    """
    seen = _Window(window, band_plan, context_s)
    labelled = []
    for candidate in ready:
        context = seen.context(candidate)
        candidate.log_likelihoods = seen.log_likelihoods(candidate)
        labelled.append(_label(candidate, context, seen, band_plan))
    return labelled


class _Window:
    """The candidates around the ones being labelled, indexed once for neighbour look-ups."""

    def __init__(self, candidates: list[Candidate], band_plan: BandPlan, context_s: float) -> None:
        self.all = Neighbours.of(candidates)
        self.position = {id(c): i for i, c in enumerate(candidates)}
        self.band_plan = band_plan
        self.context_s = context_s
        # the same window gives the same answer: each formed once per candidate, by id
        self.contexts: dict[int, Context] = {}
        self.unlabelled: dict[int, dict[str, float]] = {}
        self.shortfalls: dict[int, tuple[tuple[str, float], ...]] = {}

    def context(self, candidate: Candidate) -> Context:
        key = id(candidate)
        if key not in self.contexts:
            near = (self.all.end_s > candidate.start_s - self.context_s) & (
                self.all.start_s < candidate.end_s + self.context_s
            )
            own = self.position.get(key)
            if own is not None:
                near[own] = False
            neighbours = self.all.subset(np.flatnonzero(near))
            self.contexts[key] = Context(neighbours, self.band_plan.technologies(candidate.low_hz, candidate.high_hz))
        return self.contexts[key]

    def log_likelihoods(self, candidate: Candidate) -> dict[str, float]:
        if candidate.log_likelihoods is not None:
            return candidate.log_likelihoods
        key = id(candidate)
        if key not in self.unlabelled:
            self.unlabelled[key] = _log_likelihoods(candidate, self.context(candidate))
        return self.unlabelled[key]

    def shortfall(self, candidate: Candidate) -> tuple[tuple[str, float], ...]:
        """Each technology's log-likelihood less the best one's, for a same-channel neighbour's evidence."""
        key = id(candidate)
        if key not in self.shortfalls:
            theirs = self.log_likelihoods(candidate)
            best = max(theirs.values())
            self.shortfalls[key] = tuple((technology, value - best) for technology, value in theirs.items())
        return self.shortfalls[key]


def _log_likelihoods(candidate: Candidate, context: Context) -> dict[str, float]:
    return {c.technology: c.log_likelihood(candidate, context) for c in CLASSIFIERS}


def _label(candidate: Candidate, context: Context, seen: _Window, band_plan: BandPlan) -> Burst:
    reason = not_a_phone_reason(candidate, context, band_plan)
    own = candidate.log_likelihoods
    channel_evidence = dict.fromkeys(own, 0.0)
    for index in np.flatnonzero(same_channel(candidate, context.neighbours)):
        for technology, shortfall in seen.shortfall(context.neighbours.candidate(index)):
            channel_evidence[technology] += shortfall
    # the channel shifts the odds but cannot overrule a burst's own clear evidence
    total = {t: v + max(channel_evidence[t], -NEIGHBOUR_CAP) for t, v in own.items()}
    log_posterior = {t: v + math.log(_prior(t, context)) for t, v in total.items() if _prior(t, context) > 0}
    technology = "unknown" if reason else max(log_posterior, key=log_posterior.__getitem__)
    norm = max(log_posterior.values())
    evidence = sum(math.exp(v - norm) for v in log_posterior.values())
    features = dict(candidate.features)
    features.update({f"p_{t}": math.exp(v - norm) / evidence for t, v in log_posterior.items()})
    band = band_plan.uplink_band(candidate.freq_hz)
    return Burst(
        start_s=candidate.start_s,
        duration_s=candidate.duration_s,
        freq_hz=candidate.freq_hz,
        bandwidth_hz=candidate.bandwidth_hz,
        power_dbfs=_db(candidate.power),
        snr_db=_db(candidate.snr),
        energy_dbfs_s=_db(candidate.power * candidate.duration_s),
        technology=technology,
        band=band.name if band else None,
        operators=band_plan.operators(candidate.low_hz, candidate.high_hz) if band else (),
        features=features,
        reason=reason,
        cut_at_start=candidate.cut_at_start,
        cut_at_end=candidate.cut_at_end,
    )


def _prior(technology: str, context: Context) -> float:
    if technology == "unknown":
        return PRIOR_UNKNOWN
    if technology in context.technologies_in_use:
        return PRIOR_IN_USE
    return 0.0 if technology == "gsm" else PRIOR_NOT_LISTED


def _db(value: float) -> float:
    return 10 * math.log10(max(value, 1e-30))

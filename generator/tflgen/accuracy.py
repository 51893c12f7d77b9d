"""Is a quantized model's loss rounding, or a bug? Output SQNR and agreement on confident inputs.

Rounding moves outputs a little: SQNR stays well above 10 dB, and inputs where the source is
confident (its two best classes more than 0.1 apart in probability) keep their answer. A
calibration or normalization mistake (the app feeds other values than were calibrated) moves them
a lot: either figure below its floor means a bug to fix, not a budget to tune.

Measured on what both models emit for the same preprocessed image:
- classification and segmentation scores: SQNR of the .tflite's dequantized output against the
  source's, per output and pooled over every output and image; confident agreement per image
  (classification) or per pixel (segmentation), on the source's probabilities;
- detection with TFLite_Detection_PostProcess: the op's inputs (box encodings, class scores) are
  inside the .tflite and not comparable, so SQNR is computed on the detections the two agree on
  (matched boxes and their scores); confident agreement is the share of the source's confident
  detections (score at least the threshold + 0.1) that the .tflite finds (same class, IoU >= 0.5);
- a segmentation label map (argmax inside the model) has no scores: neither figure applies.

An integer output has its own floor: the source's output rounded to the .tflite output's int8
step (its scale and zero point) is the best any int8 arithmetic can emit. A near-uniform
1000-way softmax (probabilities ~0.001, step 1/256) has a floor of a few dB with exact
calibration; when that floor is what keeps the SQNR under MIN_SQNR_DB (it is itself under
MIN_SQNR_DB + STEP_MARGIN_DB), the low SQNR is the output format's limit, not a bug.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

CONFIDENT_GAP = 0.1  # top-2 probability gap (detection: score margin) above which rounding can't flip the answer
MIN_SQNR_DB = 10.0
MIN_CONFIDENT_AGREEMENT = 0.95
STEP_MARGIN_DB = 3.0  # an output step floor under MIN_SQNR_DB + this explains an SQNR under MIN_SQNR_DB
BUG_HINT = (
    "this is a calibration or normalization bug, not rounding: check --mean/--std (the app's normalization must be "
    "the one calibrated with), --color/--resize, and that the --calibration images look like the app's inputs; "
    "if they are right, a layer int8 can't represent (outlier weights or activations): try --keep-accuracy"
)


@dataclass(frozen=True)
class Sqnr:
    """Signal and noise energy, summed: pooled SQNR is the ratio of the sums."""

    signal: float = 0.0
    noise: float = 0.0

    def __add__(self, other: Sqnr) -> Sqnr:
        return Sqnr(self.signal + other.signal, self.noise + other.noise)

    @property
    def db(self) -> float:
        if self.noise == 0.0:
            return math.inf
        return 10.0 * math.log10(self.signal / self.noise) if self.signal > 0 else -math.inf


def sqnr(actual: np.ndarray, expected: np.ndarray) -> Sqnr:
    expected = np.asarray(expected, np.float64)
    return Sqnr(float(np.sum(expected**2)), float(np.sum((np.asarray(actual, np.float64) - expected) ** 2)))


@dataclass(frozen=True)
class OutputStep:
    """The integer format of a compared output: value = (q - zero_point) * scale, q in dtype's range."""

    scale: float
    zero_point: int
    dtype: str  # int8, uint8 (int16 too)

    def describe(self) -> str:
        return f"{self.dtype} step (scale {self.scale:.6g}, zero point {self.zero_point})"


def step_floor(reference_outputs: list[np.ndarray], step: OutputStep) -> Sqnr:
    """SQNR of the source's outputs quantized and dequantized with the .tflite output's own scale
    and zero point, against themselves: the best SQNR any int8 arithmetic can reach."""
    from tflgen.reference import dequantize, quantize

    total = Sqnr()
    for reference in reference_outputs:
        reference = np.asarray(reference, np.float32)
        rounded = dequantize(quantize(reference, step.scale, step.zero_point, np.dtype(step.dtype)), step.scale, step.zero_point)
        total = total + sqnr(rounded, reference)
    return total


def top2_gap(probabilities: np.ndarray) -> np.ndarray:
    """Best minus second-best probability along the last axis (one channel: p against 1 - p)."""
    if probabilities.shape[-1] == 1:
        return np.abs(2.0 * probabilities[..., 0] - 1.0)
    ordered = np.sort(probabilities, axis=-1)
    return ordered[..., -1] - ordered[..., -2]


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores as probabilities over the last axis: kept if they already are, else softmax."""
    scores = np.asarray(scores, np.float64)
    if scores.shape[-1] == 1 or (scores.min() >= 0 and scores.max() <= 1 and np.allclose(scores.sum(-1), 1, atol=0.02)):
        return scores
    shifted = np.exp(scores - scores.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


@dataclass(frozen=True)
class Confidence:
    agreeing: int = 0
    confident: int = 0

    def __add__(self, other: Confidence) -> Confidence:
        return Confidence(self.agreeing + other.agreeing, self.confident + other.confident)

    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.confident if self.confident else None


def confident_agreement(reference_scores: np.ndarray, candidate_scores: np.ndarray) -> Confidence:
    """Where the source's top-2 gap exceeds CONFIDENT_GAP, does the .tflite pick the same class?
    Scores [..., C]: one image's class scores, or a segmentation's [H, W, C]."""
    reference = as_probabilities(reference_scores)
    confident = top2_gap(reference) > CONFIDENT_GAP
    if reference.shape[-1] == 1:
        same = (reference[..., 0] > 0.5) == (np.asarray(candidate_scores)[..., 0] > 0.5)
    else:
        same = np.argmax(reference, -1) == np.argmax(candidate_scores, -1)
    return Confidence(int(np.sum(same & confident)), int(np.sum(confident)))


@dataclass(frozen=True)
class QuantizationCheck:
    """SQNR (dB; inf: identical outputs) and agreement on confident inputs, with the verdict."""

    output_sqnr: dict[str, Sqnr]  # per compared output; empty: SQNR not applicable
    confidence: Confidence
    sqnr_basis: str  # what the SQNR compares
    confidence_basis: str  # what counts as a confident input
    output_step: OutputStep | None = None  # the compared output's integer format; None: float (or detection)
    output_step_floor: Sqnr | None = None  # step_floor() of the source's outputs with output_step
    halves: tuple[Sqnr, Sqnr] | None = None  # the SQNR of the even- and odd-numbered images apart (--keep-accuracy's robustness rule)

    @property
    def sqnr(self) -> Sqnr | None:
        if not self.output_sqnr:
            return None
        total = Sqnr()
        for value in self.output_sqnr.values():
            total = total + value
        return total

    @property
    def step_limited(self) -> bool:
        """The SQNR is under its floor because the output's int8 step allows no better: not a bug."""
        return (self.sqnr is not None and self.sqnr.db < MIN_SQNR_DB and self.output_step_floor is not None
                and self.output_step_floor.db < MIN_SQNR_DB + STEP_MARGIN_DB)

    @property
    def step_note(self) -> str | None:
        if not self.step_limited:
            return None
        return (f"output SQNR is limited by the output's {self.output_step.describe()}: even exact int8 arithmetic "
                f"gives {format_db(_db(self.output_step_floor))}")

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.sqnr is not None and self.sqnr.db < MIN_SQNR_DB and not self.step_limited:
            found.append(f"output SQNR {self.sqnr.db:.1f} dB < {MIN_SQNR_DB:g} dB")
        agreement = self.confidence.agreement
        if agreement is not None and agreement < MIN_CONFIDENT_AGREEMENT:
            found.append(f"confident agreement {agreement:.3f} < {MIN_CONFIDENT_AGREEMENT:g}")
        return tuple(found)

    @property
    def verdict(self) -> str:
        if self.problems:
            return "calibration or normalization bug"
        if self.sqnr is None and self.confidence.agreement is None:
            return "not checked"
        return "rounding only"

    def to_json(self) -> dict[str, Any]:
        total = self.sqnr
        return {
            "sqnr_db": _db(total), "output_sqnr_db": {name: _db(v) for name, v in self.output_sqnr.items()},
            "sqnr_halves_db": [_db(h) for h in self.halves] if self.halves else None,
            "sqnr_basis": self.sqnr_basis, "confident_agreement": self.confidence.agreement,
            "confident_inputs": self.confidence.confident, "confident_basis": self.confidence_basis,
            "verdict": self.verdict, "problems": list(self.problems), "hint": BUG_HINT if self.problems else None,
            "floors": {"sqnr_db": MIN_SQNR_DB, "confident_agreement": MIN_CONFIDENT_AGREEMENT, "confident_gap": CONFIDENT_GAP},
            "output_step": ({"scale": self.output_step.scale, "zero_point": self.output_step.zero_point, "dtype": self.output_step.dtype}
                            if self.output_step else None),
            "output_step_floor_db": _db(self.output_step_floor), "output_step_limited": self.step_limited,
            "output_step_note": self.step_note,
        }


def _db(value: Sqnr | None) -> float | str | None:
    """JSON has no infinity: identical outputs are written as "inf"."""
    if value is None:
        return None
    return value.db if math.isfinite(value.db) else ("inf" if value.db > 0 else "-inf")


def format_db(value: float | str | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return "∞ dB (identical outputs)" if value == "inf" else f"{value} dB"
    return f"{value:.1f} dB"

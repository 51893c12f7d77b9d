"""--quantize auto's choice among the recipes it converted and verified: the rule and its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tflgen.verify import Verification


@dataclass(frozen=True)
class Candidate:
    recipe: str
    verification: Verification | None
    failure: str | None = None  # why the recipe could not be converted
    chosen: bool = False
    speed_vs_float32: float | None = None  # float32's median latency / this one's (all cores)

    @property
    def slower_than_float32(self) -> bool:
        return self.speed_vs_float32 is not None and self.speed_vs_float32 < 1 / SLOWER_MARGIN


SLOWER_MARGIN = 1.1  # slower than float32 means more than 10 % slower (timing noise)
SIZE_TIE = 1.1  # --quantize auto: sizes within 10 % tie, and the faster one wins


def pick_candidate(candidates: list[Candidate], max_drop: float) -> tuple[Candidate | None, str]:
    """--quantize auto's choice and why: within --max-drop, not slower than float32 (measured here),
    the smallest, with sizes within 10 % tied and the tie going to the faster."""
    verified = [c for c in candidates if c.verification is not None]
    fitting = [c for c in verified if c.verification.within_budget]
    if not fitting:
        return None, f"no recipe is within --max-drop {max_drop:g}"
    fast = [c for c in fitting if not c.slower_than_float32] or fitting
    smallest = min(c.verification.size_bytes for c in fast)
    tied = [c for c in fast if c.verification.size_bytes <= smallest * SIZE_TIE]
    chosen = min(tied, key=lambda c: (c.verification.latency[-1].median_ms, c.verification.size_bytes))
    v = chosen.verification
    why = [f"{chosen.recipe}: smallest within --max-drop {max_drop:g} ({v.size_bytes:,} bytes, drop {v.drop:.4f}"
           + (f", {chosen.speed_vs_float32:.2f}x float32's speed)" if chosen.speed_vs_float32 else ")")]
    why += [f"{c.recipe} is within {SIZE_TIE - 1:.0%} of its size but slower" for c in tied if c is not chosen]
    why += [f"{c.recipe} is smaller but slower than float32 ({c.speed_vs_float32:.2f}x): passed over"
            for c in fitting if c not in fast and c.verification.size_bytes < v.size_bytes]
    why += [f"{c.recipe} drops {c.verification.drop:.4f} > {max_drop:g}"
            for c in verified if not c.verification.within_budget and c.verification.size_bytes < v.size_bytes]
    return chosen, "; ".join(why)


def candidate_row(candidate: Candidate) -> dict:
    v = candidate.verification
    if v is None:
        return {"recipe": candidate.recipe, "failure": candidate.failure, "chosen": False}
    return {
        "recipe": candidate.recipe, "chosen": candidate.chosen, "size_bytes": v.size_bytes, "size_ratio": v.size_ratio,
        "agreement": v.agreement, "drop": v.drop, "within_budget": v.within_budget,
        "latency_ms": {str(run.threads): run.median_ms for run in v.latency},
        "speed_vs_float32": candidate.speed_vs_float32, "slower_than_float32": candidate.slower_than_float32,
        "sqnr_db": v.quantization.to_json()["sqnr_db"] if v.quantization else None,
    }

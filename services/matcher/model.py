"""A versioned scoring model: one weight per feature, saved with the feature list it was made for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.matcher.features import FEATURES

DEFAULT_MODEL_FILE = Path(__file__).resolve().parent / "model.json"


FitLevel = Literal["strong", "possible", "weak"]


@dataclass(frozen=True)
class FitThresholds:
    """How a result's fit is said in words buyers can act on. `strong`: the supplier's own words
    and its CPV codes both show it does this work (text similarity at least `strong_text`, CPV
    closeness at least `strong_codes`: the lot's category, or its class), and it is within the
    lot's radius (any distance for remote work). `possible`: worth a call (score at least
    `possible`, and some sign of the work itself: text similarity at least `possible_text`
    or CPV codes sharing at least a group, so nearness alone never makes a fit). Otherwise
    `weak`. Set on the judged benchmark of real lots
    (`python -m bench.match_quality` prints the precision they give): the score alone never
    separated credible bidders from the rest, because a shared code or shared words alone are
    common; both together, near enough, were mostly judged relevant."""

    strong_text: float = 0.15
    strong_codes: float = 0.85
    possible: float = 0.17
    possible_text: float = 0.02
    possible_codes: float = 0.4

    def level(self, score: float, text: float, codes: float, near: bool) -> FitLevel:
        if near and text >= self.strong_text and codes >= self.strong_codes:
            return "strong"
        return "possible" if score >= self.possible and self.shows_work(text, codes) else "weak"

    def shows_work(self, text: float, codes: float) -> bool:
        """Some sign of the lot's work in the supplier's words or codes."""
        return text >= self.possible_text or codes >= self.possible_codes


@dataclass(frozen=True)
class ScoringModel:
    """A named, versioned set of weights, one per feature; the score is their weighted sum."""

    version: str
    weights: Mapping[str, float]
    fit: FitThresholds = FitThresholds()

    def __post_init__(self) -> None:
        if set(self.weights) != set(FEATURES):
            raise ValueError(
                f"model {self.version} has features {sorted(self.weights)}, the code has {sorted(FEATURES)}"
            )

    @classmethod
    def load(cls, path: Path) -> ScoringModel:
        """Read `{"version", "features", "weights"}`; refuses a file built for other features."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if sorted(data["features"]) != sorted(FEATURES):
            raise ValueError(f"{path} was saved for features {data['features']}, not {sorted(FEATURES)}")
        fit = FitThresholds(**{k: float(v) for k, v in data.get("fit", {}).items()})
        return cls(version=str(data["version"]), weights={k: float(v) for k, v in data["weights"].items()}, fit=fit)

    def save(self, path: Path, notes: Mapping[str, object]) -> None:
        """Write the model with its feature list (in the code's order) and how it was made."""
        data = {
            "version": self.version,
            "features": list(FEATURES),
            "weights": dict(self.weights),
            "fit": {
                "strong_text": self.fit.strong_text,
                "strong_codes": self.fit.strong_codes,
                "possible": self.fit.possible,
                "possible_text": self.fit.possible_text,
                "possible_codes": self.fit.possible_codes,
            },
            **notes,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

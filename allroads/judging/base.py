"""The judge interface: compare a policy's summary against the human reference.

A judgment record (one JSONL row per comparison) has the fields
``id, prompt_id, policy, score, valid, raw`` plus judge-specific metadata, where ``score`` is
1.0 if the policy's summary wins, 0.0 if the reference wins, 0.5 for a tie and ``None`` when the
judge's reply could not be parsed (``valid`` False; counted, never silently a win or a loss).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Comparison:
    id: str  # unique per comparison, e.g. "<prompt_id>"
    prompt_id: str
    post: str  # what the judge reads as the forum post
    candidate: str  # the policy's summary
    reference: str  # the human reference summary


@dataclass
class Verdict:
    id: str
    prompt_id: str
    score: float | None  # 1 candidate wins, 0 reference wins, 0.5 tie, None invalid
    raw: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.score is not None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["valid"] = self.valid
        return row


class Judge(Protocol):
    name: str

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        """Return one verdict per comparison, in the same order."""
        ...

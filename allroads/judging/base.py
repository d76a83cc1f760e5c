"""The judge interface: compare a policy's summary against the human reference.

A judgment record (one JSONL row per comparison) has the fields
``id, prompt_id, policy, score, valid, raw`` plus judge-specific metadata, where ``score`` is
1.0 if the policy's summary wins, 0.0 if the reference wins, 0.5 for a tie and ``None`` when the
judge's reply could not be parsed (``valid`` False; counted, never silently a win or a loss).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Comparison:
    id: str  # unique per comparison, e.g. "<prompt_id>"
    prompt_id: str
    post: str  # the forum post's text (the oracle and labeller read r* from it)
    candidate: str  # the policy's summary
    reference: str  # the human reference summary
    # the formatted query the policy was prompted with (TL;DR: "SUBREDDIT: r/... TITLE: ...
    # POST: ... TL;DR:", the record's ``prompt``); the openai judge reads it as the post with
    # ``judge.openai.post: query``, as the authors' winrate.py fed the dataset's ``query``
    query: str | None = None

    @classmethod
    def for_record(
        cls, record: Mapping[str, Any], id: str, prompt_id: str, candidate: str, reference: str
    ) -> Comparison:
        """The comparison on a data record: its ``post`` and, where the task has one, the query
        it was prompted with (``prompt``)."""
        post, query = record["post"], record.get("prompt")
        return cls(id, prompt_id, post, candidate, reference, query)


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

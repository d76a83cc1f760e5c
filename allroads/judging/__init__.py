"""Judges: the ``oracle`` (hidden ground-truth reward of the toy task), ``openai``, and the toy
task's noisy ``labeller`` (labels pairs of samples where the paper asks gpt-4o: Figure 8).

gpt-4o's roles sit on one request client: the judge (``openai_judge``: comparisons to
verdicts, with ``prompts``) and the two-word summary writer (``writer``) both call
``client.RequestClient`` (reply ``cache``, cost check, retries, sync requests, the Batch API in
``batch``), configured by the ``judge.openai`` section (``openai_config``); ``wire`` holds the
request and reply types they share, ``budget`` the whole run's bill before any call."""

from __future__ import annotations

from typing import Any

from .base import Comparison, Judge, Verdict
from .labeller import LabellerJudge
from .oracle import OracleJudge

__all__ = ["Comparison", "Judge", "Verdict", "OracleJudge", "LabellerJudge", "make_judge"]


def make_judge(
    name: str, judge_cfg: dict[str, Any], *, seed: int, workdir: str | None = None
) -> Judge:
    """Build the judge called ``name`` from the config's ``judge`` section."""
    if name == "oracle":
        return OracleJudge()
    if name == "labeller":
        return LabellerJudge(judge_cfg["labeller"]["temperature"], seed)
    if name == "openai":
        from .openai_judge import OpenAIJudge  # lazy: only this path needs the client

        return OpenAIJudge.from_config(judge_cfg["openai"], seed=seed, workdir=workdir)
    raise ValueError(
        f"config key judge.use: unknown judge {name!r} (known: oracle, openai, labeller)"
    )

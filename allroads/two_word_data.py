"""Figure 5's data at paper scale: gpt-4o writes, labels and references two-word summaries.

Section 3.2: "we use gpt-4o to generate pairs of summaries, rank these summaries, provide
reference summaries on the test set of prompts, and compute the final winrate numbers";
Appendix C.1: the pair is written with the C.1 prompt (:mod:`allroads.judging.writer`) and "we
use the same prompting strategy as for evaluation to pick a winner" (the C.4 two-word judging
prompt, ``judge.openai.template: two_word``), "for all prompts in the PFT training set".

With ``task.two_word_recipe: judge`` (rule ``two_word_data``), from the task's splits:

* ``pft_train`` and ``pft_val`` (all of it, or ``task.two_word_writer.val_rows`` rows chosen by
  ``task.seed``, so the held-out RM diagnostics are measured on labels of the same kind): per
  row, two draws of the writer at ``temperature`` (two requests that differ only in the API
  ``seed``, derived from (task seed, split, row id, draw)), then the judge compares them (draw
  0 as candidate, draw 1 as reference, shown in the judge's seeded order). The row keeps its
  ``id``, ``prompt`` and ``post``; ``chosen`` / ``rejected`` are the picked and the other
  summary as completions (``" " + text``, as the task writes them).
* ``eval_prompts``: per row one draw at ``reference_temperature``, the new ``reference``.

Rows that give no preference are dropped, never guessed, and counted per reason in the stats
(with their ids): ``unwritten`` (a draw without a parseable summary after every re-ask, or a
failed request under ``on_error: invalid``), ``identical`` (both draws the same text: no
preference, no judge call), ``judge_tie`` (``both_orders`` and the two orders disagree) and
``invalid_pick`` (no parseable ``Preferred:`` after every re-ask); an evaluation prompt without
a reference is dropped as ``unwritten``. A split left empty is an error.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from .hub import completion
from .io import DataError
from .judging.base import Comparison, Judge
from .judging.writer import SummaryWriter, WriteRequest, request_seed

PFT_SPLITS = ("pft_train", "pft_val")
SPLITS = (*PFT_SPLITS, "eval_prompts")  # the splits the recipe rebuilds
REQUIRED = {"pft_train": ("id", "prompt", "post"), "pft_val": ("id", "prompt", "post"),
            "eval_prompts": ("id", "prompt", "post")}  # fmt: skip
DRAWS = (0, 1)
DROP_REASONS = ("unwritten", "identical", "judge_tie", "invalid_pick")


class RecipeError(ValueError):
    """The recipe cannot give usable data (e.g. every row of a split was dropped)."""


@dataclass(frozen=True)
class WriterSettings:
    """``task.two_word_writer`` (see schemas/config.schema.yaml)."""

    temperature: float = 1.0  # each draw of a pair (the API's default sampling)
    reference_temperature: float | None = None  # the evaluation references; None = temperature
    max_tokens: int = 16  # reply limit of a writing request ("Summary: <two words>")
    val_rows: int | None = None  # pft_val rows rebuilt (None: all)

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> WriterSettings:
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise RecipeError(
                f"config key task.two_word_writer: unknown key(s) {unknown} (known: {sorted(known)})"
            )
        return cls(**cfg)

    @property
    def ref_temperature(self) -> float:
        return (
            self.temperature if self.reference_temperature is None else self.reference_temperature
        )


def judge_plan(plan: Mapping[str, Any], writer_cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's judge plan (allroads.plan ``Plan.judge_plan``) with this recipe's calls added, as
    per-split passes (allroads.judging.budget): generation = two summaries per PFT train and
    validation row and one per evaluation prompt; labelling = one pick per PFT train and
    validation row, on top of the plan's labelling jobs over ``pft_train``."""
    s = WriterSettings.from_mapping(writer_cfg)
    labelling = plan.get("labelling", 0)
    if not isinstance(labelling, int):
        raise ValueError("judge_plan: expected the labelling jobs as a number")
    rows = {} if s.val_rows is None else {"pft_val": s.val_rows}
    return {
        **plan,
        "generation": {
            "jobs": 1,
            "passes": {"pft_train": len(DRAWS), "pft_val": len(DRAWS), "eval_prompts": 1},
            "rows": rows,
        },
        "labelling": {
            "jobs": labelling + 1,
            "passes": {"pft_train": labelling + 1, "pft_val": 1},
            "rows": rows,
        },
    }


def select_val(rows: list[dict], n: int | None, seed: int) -> list[dict]:
    """``n`` rows of ``pft_val`` chosen by ``seed``, in file order (all of them for None)."""
    if n is None or n >= len(rows):
        return rows
    idx = sorted(random.Random(f"two_word:pft_val:{seed}").sample(range(len(rows)), n))
    return [rows[i] for i in idx]


def check_rows(split: str, rows: list[dict], source: str) -> None:
    """Bad input stops the job with one line naming the file and the row: a duplicate id or an
    empty post (there would be nothing to summarize)."""
    seen: dict[str, int] = {}
    for i, r in enumerate(rows, 1):
        rid = str(r["id"])
        if rid in seen:
            raise DataError(f"{source}:{i}: duplicate id {rid!r} (first at row {seen[rid]})")
        seen[rid] = i
        if not isinstance(r["post"], str) or not r["post"].strip():
            raise DataError(f"{source}:{i}: empty post (id {rid!r}): nothing to summarize")


def write_requests(
    splits: Mapping[str, list[dict]], settings: WriterSettings, seed: int
) -> list[WriteRequest]:
    """Every writing request of the recipe: two draws per PFT row, one per evaluation prompt."""
    reqs = []
    for split in PFT_SPLITS:
        for r in splits[split]:
            for d in DRAWS:
                reqs.append(
                    WriteRequest(
                        f"{split}/{r['id']}#{d}",
                        r["post"],
                        settings.temperature,
                        request_seed(seed, split, str(r["id"]), d),
                    )  # fmt: skip
                )
    for r in splits["eval_prompts"]:
        reqs.append(
            WriteRequest(
                f"eval_prompts/{r['id']}",
                r["post"],
                settings.ref_temperature,
                request_seed(seed, "eval_prompts", str(r["id"]), 0),
            )  # fmt: skip
        )
    return reqs


def build(
    splits: Mapping[str, list[dict]],
    writer: SummaryWriter,
    judge: Judge,
    settings: WriterSettings,
    seed: int,
    sources: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[dict]], dict[str, Any]]:
    """The judge-built splits (``pft_train``, ``pft_val``, ``eval_prompts``) and their stats.

    ``splits``: the task's rows of those splits (``pft_val`` before the ``val_rows`` choice);
    ``sources``: the file each came from, for error messages. One writing call (every draw and
    reference: one batch in batch mode), then one judging call (every pair)."""
    sources = dict(sources or {})
    for split in SPLITS:
        check_rows(split, splits[split], sources.get(split, split))
    splits = {**splits, "pft_val": select_val(splits["pft_val"], settings.val_rows, seed)}

    written = {w.id: w for w in writer.write(write_requests(splits, settings, seed))}

    comps: list[Comparison] = []
    drafts: dict[str, list[tuple[dict, str | None, str | None]]] = {}
    for split in PFT_SPLITS:
        drafts[split] = []
        for r in splits[split]:
            a, b = (written[f"{split}/{r['id']}#{d}"].summary for d in DRAWS)
            drafts[split].append((r, a, b))
            if a is not None and b is not None and a != b:
                cid = f"{split}/{r['id']}"
                comps.append(Comparison.for_record(r, cid, str(r["id"]), a, b))
    verdicts = {v.id: v for v in judge.judge(comps)} if comps else {}

    out: dict[str, list[dict]] = {}
    stats: dict[str, Any] = {
        "settings": {**asdict(settings), "reference_temperature": settings.ref_temperature},
        "seed": seed,
    }
    for split in PFT_SPLITS:
        rows, dropped = [], {k: [] for k in DROP_REASONS}
        first_chosen = 0
        for r, a, b in drafts[split]:
            rid = str(r["id"])
            if a is None or b is None:
                dropped["unwritten"].append(rid)
                continue
            if a == b:
                dropped["identical"].append(rid)
                continue
            v = verdicts[f"{split}/{rid}"]
            if v.score is None:
                dropped["invalid_pick"].append(rid)
                continue
            if v.score == 0.5:
                dropped["judge_tie"].append(rid)
                continue
            chosen, rejected = (a, b) if v.score == 1.0 else (b, a)
            first_chosen += v.score == 1.0
            rows.append(
                {"id": r["id"], "prompt": r["prompt"], "post": r["post"],
                 "chosen": completion(chosen), "rejected": completion(rejected)}
            )  # fmt: skip
        out[split] = rows
        stats[split] = _split_stats(len(drafts[split]), rows, dropped, written, split, verdicts)
        stats[split]["draw0_chosen"] = first_chosen / len(rows) if rows else None

    refs, unwritten = [], []
    for r in splits["eval_prompts"]:
        w = written[f"eval_prompts/{r['id']}"]
        if w.summary is None:
            unwritten.append(str(r["id"]))
            continue
        refs.append({**r, "reference": completion(w.summary)})
    out["eval_prompts"] = refs
    stats["eval_prompts"] = {
        "rows_in": len(splits["eval_prompts"]),
        "rows": len(refs),
        "dropped": {"unwritten": len(unwritten)},
        "dropped_ids": {"unwritten": unwritten},
        "reasked": sum(
            written[f"eval_prompts/{r['id']}"].meta["format_retries"] > 0
            for r in splits["eval_prompts"]
        ),
    }
    stats["writer"] = asdict(writer.stats)
    stats["judge"] = asdict(judge.stats) if hasattr(judge, "stats") else None
    for split in SPLITS:
        if not out[split]:
            raise RecipeError(
                f"two_word_data: no {split} row is left ({stats[split]['dropped']} dropped of "
                f"{stats[split]['rows_in']}); see the judge replies in the cache"
            )
    return out, stats


def _split_stats(n_in, rows, dropped, written, split, verdicts) -> dict[str, Any]:
    prefix = f"{split}/"
    mine = [w for k, w in written.items() if k.startswith(prefix)]
    picks = [v for k, v in verdicts.items() if k.startswith(prefix)]
    words = [len(w.summary.split()) for w in mine if w.summary is not None]
    return {
        "rows_in": n_in,
        "rows": len(rows),
        "dropped": {k: len(v) for k, v in dropped.items()},
        "dropped_ids": dropped,
        "summaries": len(mine),
        "summaries_reasked": sum(w.meta["format_retries"] > 0 for w in mine),
        "summaries_invalid": sum(w.summary is None for w in mine),
        "mean_words": sum(words) / len(words) if words else None,
        "picks": len(picks),
        "picks_reasked": sum(v.meta.get("format_retries", 0) > 0 for v in picks),
    }

"""TL;DR summarization data from the Hugging Face hub, in the project's record schema.

Datasets (paper, Appendix C.1, Table 1: SFT 117K/6.45K/6.55K, PFT 92.9K/83.8K/-):

* SFT: ``vwxyzjn/summarize_from_feedback_tldr_3_filtered`` -- OpenAI's filtered Reddit TL;DR
  set (``id, subreddit, title, post, summary``; splits train/validation/test = 116.7K/6.45K/
  6.55K), the set every public TL;DR DPO/RLHF reproduction (Huang et al. 2024, REBEL) starts from.
* PFT: ``vwxyzjn/summarize_from_feedback_oai_preprocessing_1706381144`` (the default) rather
  than ``openai/summarize_from_feedback``. Why:

  1. it is plain parquet; ``openai/summarize_from_feedback`` is (or was, depending on the
     revision) a loading-script dataset, which ``datasets`` >= 4 refuses to run;
  2. its splits are exactly the paper's: train 92.9K / validation 83.8K, with the 2.28K CNN/DM
     comparisons of the OpenAI validation split moved out to ``validation_cnndm`` (the raw
     OpenAI validation split has 86.1K rows, CNN/DM included);
  3. it keeps the raw OpenAI columns (``info{id,post,title,subreddit}``, ``summaries[{text,
     policy,note}]``, ``choice``, ``worker``, ``batch``, ``split``, ``extra``) next to its
     precomputed pythia-tokenized ``query``/``chosen``/``rejected``. We read only the raw
     columns, so SFT and PFT prompts go through one formatting/truncation function, with the
     tokenizer of the model actually trained, and the two-word prompt variant works too.

  The raw ``openai/summarize_from_feedback`` (config ``comparisons``) is accepted through the
  same code path (set ``pft_dataset``/``pft_name``/``pft_revision``, e.g. revision
  ``refs/convert/parquet``); CNN/DM rows (no ``info.post``) are dropped either way.

Record schema (written with :func:`allroads.io.write_jsonl`):

* ``sft_train``, ``sft_val``, ``sft_test``: ``{"id", "prompt", "post", "reference"}``
* ``pft_train``, ``pft_val``: ``{"id", "prompt", "post", "chosen", "rejected"}``

``prompt`` is ``SUBREDDIT: r/{subreddit}\\n\\nTITLE: {title}\\n\\nPOST: {post}\\n\\nTL;DR:`` (or
``... Two-Word TL;DR:`` with ``prompt_format: two_word``, paper C.1) with at most
``max_query_tokens`` (512) tokens of the model's tokenizer. As in Huang et al. ("The N
implementation details of RLHF with PPO", the recipe behind the vwxyzjn datasets): while the
formatted prompt is too long, cut the post at its last ``"\\n"`` and re-format; a post without a
newline loses characters from its end (found here by bisection instead of one character at a
time). ``post`` is the full, untruncated post body: what the judge reads. Completions
(``reference``, ``chosen``, ``rejected``) are ``" " + text.strip()``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from allroads.io import DataError, write_jsonl

SFT_DATASET = "vwxyzjn/summarize_from_feedback_tldr_3_filtered"
PFT_DATASET = "vwxyzjn/summarize_from_feedback_oai_preprocessing_1706381144"

PROMPT_TEMPLATES = {
    "standard": "SUBREDDIT: r/{subreddit}\n\nTITLE: {title}\n\nPOST: {post}\n\nTL;DR:",
    "two_word": "SUBREDDIT: r/{subreddit}\n\nTITLE: {title}\n\nPOST: {post}\n\nTwo-Word TL;DR:",
}

# our split name -> (which dataset, the hub split name)
SPLITS = {
    "sft_train": ("sft", "train"),
    "sft_val": ("sft", "validation"),
    "sft_test": ("sft", "test"),
    "pft_train": ("pft", "train"),
    "pft_val": ("pft", "validation"),
}
SFT_FIELDS = ("id", "prompt", "post", "reference")
PFT_FIELDS = ("id", "prompt", "post", "chosen", "rejected")

DEFAULTS: dict[str, Any] = {
    "sft_dataset": SFT_DATASET,  # hub id, or a local directory / file in the same schema
    "sft_name": None,  # dataset config name
    "sft_revision": None,  # pin a hub commit for reproducibility
    "pft_dataset": PFT_DATASET,
    "pft_name": None,  # "comparisons" for openai/summarize_from_feedback
    "pft_revision": None,
    "data_files": None,  # {"sft"|"pft": {hub_split: path(s)}}: load local files instead
    "cache_dir": None,  # datasets cache (default: HF_DATASETS_CACHE)
    "prompt_format": "standard",  # or "two_word"
    "max_query_tokens": 512,
    "n_test": None,  # sft_test: this many prompts, sampled without replacement (paper: 600)
    "subsample": None,  # {split: n} for the other splits, sampled like n_test
    "max_examples": None,  # int (every split) or {split: int}: keep the first n (smoke tests)
    "seed": 0,  # subsampling seed
}


def task_options(cfg_task: dict | None) -> dict:
    """Options for :func:`build_tldr_splits`, from either

    * the workflow config's ``task`` section (has ``kind``): its ``tldr`` sub-section, plus
      ``max_query_tokens`` <- ``task.max_prompt_tokens``, ``prompt_format`` <- ``task.two_word``,
      ``seed`` <- ``task.seed`` (the ``tldr`` sub-section may not contradict them), or
    * a plain dict of the options in :data:`DEFAULTS`.

    Unknown keys are an error (typos).
    """
    cfg_task = dict(cfg_task or {})
    if "kind" in cfg_task:
        task = cfg_task
        cfg_task = dict(task.get("tldr") or {})
        derived = {"seed": task.get("seed")}
        if "max_prompt_tokens" in task:
            derived["max_query_tokens"] = task["max_prompt_tokens"]
        if "two_word" in task:
            derived["prompt_format"] = "two_word" if task["two_word"] else "standard"
        for k, v in derived.items():
            if v is None:
                continue
            if k in cfg_task and cfg_task[k] != v:
                raise ValueError(
                    f"task.tldr.{k}={cfg_task[k]!r} contradicts the task section ({v!r})"
                )
            cfg_task[k] = v
    unknown = sorted(set(cfg_task) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown TL;DR data option(s) {unknown}; known: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **cfg_task}
    if opts["prompt_format"] not in PROMPT_TEMPLATES:
        raise ValueError(
            f"prompt_format must be one of {sorted(PROMPT_TEMPLATES)}, not {opts['prompt_format']!r}"
        )
    return opts


# ------------------------------------------------------------------------------- loading
def load_split(
    which: str, hub_split: str, opts: dict
):  # -> datasets.Dataset (import kept lazy: snakemake parses fast)
    """``datasets.load_dataset`` for one split of the SFT or PFT dataset.

    A hub id and a local directory laid out like the hub repo (``data/train.jsonl``,
    ``data/validation-00000-of-00001.parquet``, ...) both go through ``load_dataset(path)``;
    ``data_files`` loads explicit local files with the json/parquet builder.
    """
    import datasets

    files = (opts.get("data_files") or {}).get(which)
    if files is not None:
        if hub_split not in files:
            raise DataError(f"data_files.{which} has no {hub_split!r} split (has {sorted(files)})")
        paths = files[hub_split]
        first = paths if isinstance(paths, str) else paths[0]
        builder = "parquet" if str(first).endswith(".parquet") else "json"
        return datasets.load_dataset(
            builder, data_files={hub_split: paths}, split=hub_split, cache_dir=opts["cache_dir"]
        )
    return datasets.load_dataset(
        opts[f"{which}_dataset"],
        opts[f"{which}_name"],
        split=hub_split,
        revision=opts[f"{which}_revision"],
        cache_dir=opts["cache_dir"],
    )


# ------------------------------------------------------------------------------- prompts
def completion(text: str) -> str:
    """A completion as the policy emits it after ``TL;DR:``: one leading space, no trailing space."""
    return " " + text.strip()


def _count_tokens(tokenizer, texts: Sequence[str]) -> list[int]:
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [len(x) for x in ids]


def format_prompt(
    subreddit: str,
    title: str,
    post: str,
    tokenizer,
    max_tokens: int = 512,
    prompt_format: str = "standard",
    n_tokens: int | None = None,
) -> str:
    """The prompt for one post, truncated to ``max_tokens`` tokens at a newline of the post.

    ``n_tokens`` (the token count of the untruncated prompt, when already known from a batched
    call) saves one tokenization.
    """
    template = PROMPT_TEMPLATES[prompt_format]
    fields = {"subreddit": subreddit.strip(), "title": title.strip(), "post": post.strip()}

    def render(p: str) -> str:
        return template.format(**{**fields, "post": p})

    def fits(p: str) -> bool:
        return _count_tokens(tokenizer, [render(p)])[0] <= max_tokens

    p = fields["post"]
    if n_tokens is None:
        n_tokens = _count_tokens(tokenizer, [render(p)])[0]
    if n_tokens <= max_tokens:
        return render(p)
    while True:
        if not p:
            raise DataError(
                f"prompt does not fit in {max_tokens} tokens even with an empty post "
                f"(subreddit={subreddit!r}, title={title[:60]!r})"
            )
        i = p.rfind("\n")
        if i >= 0:
            p = p[:i]
            if fits(p):
                return render(p)
            continue
        # no newline left: the recipe drops one character at a time; bisect for the longest
        # prefix that fits (same answer whenever token count grows with prefix length)
        lo, hi = 0, len(p) - 1
        if not fits(""):  # the header alone is too long
            p = ""
            continue
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(p[:mid]):
                lo = mid
            else:
                hi = mid - 1
        return render(p[:lo])


def format_prompts(
    rows: Sequence[tuple[str, str, str]],
    tokenizer,
    max_tokens: int = 512,
    prompt_format: str = "standard",
    batch_size: int = 512,
) -> list[str]:
    """:func:`format_prompt` for many ``(subreddit, title, post)``; batched tokenization, and
    each distinct post formatted once (the PFT data has several comparisons per post)."""
    template = PROMPT_TEMPLATES[prompt_format]
    unique = list(dict.fromkeys(rows))
    out: dict[tuple[str, str, str], str] = {}
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        texts = [
            template.format(subreddit=s.strip(), title=t.strip(), post=p.strip())
            for s, t, p in chunk
        ]
        for key, text, n in zip(chunk, texts, _count_tokens(tokenizer, texts), strict=True):
            out[key] = (
                text
                if n <= max_tokens
                else format_prompt(*key, tokenizer, max_tokens, prompt_format, n_tokens=n)
            )
    return [out[r] for r in rows]


# ------------------------------------------------------------------------------- records
def _pick_indices(n_rows: int, n: int | None, seed: int, salt: str) -> list[int]:
    """Row indices to keep: all, or ``n`` sampled without replacement (seeded), in file order."""
    if n is None or n >= n_rows:
        return list(range(n_rows))
    rng = random.Random(f"{seed}:{salt}")
    return sorted(rng.sample(range(n_rows), n))


def _cap(opts: dict, split: str) -> int | None:
    cap = opts["max_examples"]
    if isinstance(cap, dict):
        return cap.get(split)
    return cap


def _subsample_n(opts: dict, split: str) -> int | None:
    if split == "sft_test" and opts["n_test"] is not None:
        return opts["n_test"]
    return (opts["subsample"] or {}).get(split)


def _rows(ds, indices: Sequence[int]) -> Iterable[tuple[int, dict]]:
    if len(indices) == len(ds):
        yield from enumerate(ds)
    else:
        yield from zip(indices, ds.select(indices), strict=True)


def sft_records(ds, tokenizer, opts: dict, split: str) -> list[dict]:
    indices = _pick_indices(len(ds), _subsample_n(opts, split), opts["seed"], split)
    cap = _cap(opts, split)
    if cap is not None:
        indices = indices[:cap]
    raw = []
    for i, ex in _rows(ds, indices):
        for k in ("id", "subreddit", "title", "post", "summary"):
            if ex.get(k) is None:
                raise DataError(f"{opts['sft_dataset']}[{split}] row {i}: missing field {k!r}")
        raw.append(ex)
    prompts = format_prompts(
        [(ex["subreddit"], ex["title"], ex["post"]) for ex in raw],
        tokenizer,
        opts["max_query_tokens"],
        opts["prompt_format"],
    )
    return [
        {
            "id": str(ex["id"]),
            "prompt": prompt,
            "post": ex["post"].strip(),
            "reference": completion(ex["summary"]),
        }
        for ex, prompt in zip(raw, prompts, strict=True)
    ]


def is_tldr_comparison(ex: dict) -> bool:
    """False for the CNN/DM rows of the OpenAI comparisons (they have an article, no post)."""
    info = ex.get("info") or {}
    return info.get("post") is not None and info.get("subreddit") is not None


def pft_records(ds, tokenizer, opts: dict, split: str) -> list[dict]:
    # drop CNN/DM first, so that subsample/cap count TL;DR rows
    keep = [i for i, info in enumerate(ds["info"]) if is_tldr_comparison({"info": info})]
    picked = _pick_indices(len(keep), _subsample_n(opts, split), opts["seed"], split)
    cap = _cap(opts, split)
    if cap is not None:
        picked = picked[:cap]
    indices = [keep[j] for j in picked]
    raw = []
    for i, ex in _rows(ds, indices):
        where = f"{opts['pft_dataset']}[{split}] row {i}"
        summaries, choice = ex.get("summaries"), ex.get("choice")
        if not isinstance(summaries, list) or len(summaries) != 2:
            raise DataError(f"{where}: expected 2 summaries, got {summaries!r}")
        if choice not in (0, 1):
            raise DataError(f"{where}: choice must be 0 or 1, got {choice!r}")
        info = ex["info"]
        raw.append(
            {
                "id": f"{info['id']}_{i}",
                "key": (info["subreddit"], info.get("title") or "", info["post"]),
                "post": info["post"].strip(),
                "chosen": completion(summaries[choice]["text"]),
                "rejected": completion(summaries[1 - choice]["text"]),
            }
        )
    prompts = format_prompts(
        [r["key"] for r in raw], tokenizer, opts["max_query_tokens"], opts["prompt_format"]
    )
    return [
        {
            "id": r["id"],
            "prompt": p,
            "post": r["post"],
            "chosen": r["chosen"],
            "rejected": r["rejected"],
        }
        for r, p in zip(raw, prompts, strict=True)
    ]


def build_tldr_splits(
    cfg_task: dict | None,
    tokenizer,
    out_dir: str | os.PathLike,
    splits: Sequence[str] = tuple(SPLITS),
    loader: Callable[[str, str, dict], Any] = load_split,
) -> dict[str, int]:
    """Write ``{out_dir}/{split}.jsonl`` for each of ``splits``; return rows written per split.

    ``cfg_task``: the config's ``task`` section, or a dict of the options in :data:`DEFAULTS`
    (hub ids, ``prompt_format``, ``max_query_tokens``, ``n_test``, ``subsample``,
    ``max_examples``, ``seed``, ...); see :func:`task_options`.
    ``tokenizer``: the policy model's tokenizer (a ``transformers`` tokenizer or anything
    callable as ``tokenizer(list_of_texts, add_special_tokens=False)["input_ids"]``).
    """
    opts = task_options(cfg_task)
    out_dir = Path(out_dir)
    counts = {}
    for split in splits:
        which, hub_split = SPLITS[split]
        ds = loader(which, hub_split, opts)
        make = sft_records if which == "sft" else pft_records
        rows = make(ds, tokenizer, opts, split)
        if not rows:
            raise DataError(f"{split}: no rows (dataset {opts[f'{which}_dataset']}, {hub_split})")
        counts[split] = write_jsonl(out_dir / f"{split}.jsonl", rows)
    return counts


def load_tokenizer(name_or_path: str, revision: str | None = None):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name_or_path, revision=revision)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--task", required=True, help="JSON: the config's task section, or TL;DR data options"
    )
    ap.add_argument("--tokenizer", required=True, help="hub id or local path of the model")
    ap.add_argument("--revision", default=None)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--splits", nargs="*", default=list(SPLITS))
    a = ap.parse_args(argv)
    counts = build_tldr_splits(
        json.loads(a.task), load_tokenizer(a.tokenizer, a.revision), a.out_dir, a.splits
    )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()

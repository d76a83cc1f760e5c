"""allroads.hub on local fixtures in the hub datasets' own schema (tests/fixtures/tldr/) and a
tiny GPT-NeoX saved with ``save_pretrained`` and loaded back with ``from_pretrained``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allroads import hub
from allroads.io import DataError, read_jsonl

FIXTURES = Path(__file__).parent / "fixtures" / "tldr"
MAX_TOKENS = 512


@pytest.fixture(scope="session")
def tiny_neox_dir(tmp_path_factory) -> Path:
    """A byte-level BPE trained on the fixture text + a 2-layer GPT-NeoX, via save_pretrained."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    texts = [p.read_text() for p in sorted(FIXTURES.glob("*/data/*.jsonl"))]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    cfg = GPTNeoXConfig(
        vocab_size=len(fast),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=1024,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    out = tmp_path_factory.mktemp("tiny-neox")
    GPTNeoXForCausalLM(cfg).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tokenizer(tiny_neox_dir):
    return hub.load_tokenizer(str(tiny_neox_dir))


@pytest.fixture(scope="session")
def hf_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("hf-datasets-cache"))


def task(hf_cache, **kw) -> dict:
    return {
        "sft_dataset": str(FIXTURES / "sft"),
        "pft_dataset": str(FIXTURES / "pft"),
        "cache_dir": hf_cache,
        **kw,
    }


def raw(which: str, split: str) -> list[dict]:
    (path,) = (FIXTURES / which / "data").glob(f"{split}-*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def n_tok(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.fixture(scope="session")
def built(tokenizer, hf_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("tldr")
    counts = hub.build_tldr_splits(task(hf_cache), tokenizer, out)
    return out, counts


def post_in_prompt(prompt: str) -> str:
    head, rest = prompt.split("\n\nPOST: ", 1)
    assert head.startswith("SUBREDDIT: r/")
    assert rest.endswith("\n\nTL;DR:")
    return rest[: -len("\n\nTL;DR:")]


# ---------------------------------------------------------------------------- the model
def test_tiny_neox_round_trips_through_from_pretrained(tiny_neox_dir, tokenizer, built):
    import torch
    from transformers import AutoModelForCausalLM

    assert tokenizer.eos_token == "<|endoftext|>"  # the Pythia EOS the TL;DR recipes use
    model = AutoModelForCausalLM.from_pretrained(tiny_neox_dir)
    assert model.config.model_type == "gpt_neox"
    out, _ = built
    prompt = read_jsonl(out / "sft_test.jsonl")[0]["prompt"]
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(tokenizer))


def test_fixtures_have_long_posts(tokenizer):
    """The fixtures must exercise truncation: some posts exceed 512 tokens, with and without
    newlines."""
    long_rows = [r for r in raw("sft", "test") if n_tok(tokenizer, r["post"]) > MAX_TOKENS]
    assert any("\n" in r["post"].strip() for r in long_rows)
    assert any("\n" not in r["post"].strip() for r in long_rows)


# ---------------------------------------------------------------------------- SFT
def test_sft_field_mapping(built, tokenizer):
    out, counts = built
    assert counts == {"sft_train": 24, "sft_val": 8, "sft_test": 30, "pft_train": 30, "pft_val": 10}
    for split, hub_split in [
        ("sft_train", "train"),
        ("sft_val", "validation"),
        ("sft_test", "test"),
    ]:
        rows = read_jsonl(out / f"{split}.jsonl", required=hub.SFT_FIELDS)
        src = raw("sft", hub_split)
        assert [r["id"] for r in rows] == [s["id"] for s in src]
        for r, s in zip(rows, src, strict=True):
            assert set(r) == set(hub.SFT_FIELDS)
            assert r["reference"] == " " + s["summary"].strip()
            assert r["reference"].startswith(" ") and not r["reference"].startswith("  ")
            assert r["reference"] == r["reference"].rstrip()
            assert r["post"] == s["post"].strip()  # the full post, for the judge
            assert r["prompt"].startswith(
                f"SUBREDDIT: r/{s['subreddit']}\n\nTITLE: {s['title'].strip()}\n\nPOST: "
            )
            assert r["prompt"].endswith("\n\nTL;DR:")


def test_prompts_fit_and_short_posts_are_untouched(built, tokenizer):
    out, _ = built
    n_short = 0
    for split in hub.SPLITS:
        for r in read_jsonl(out / f"{split}.jsonl"):
            assert n_tok(tokenizer, r["prompt"]) <= MAX_TOKENS
            full = hub.PROMPT_TEMPLATES["standard"].format(subreddit="x", title="y", post=r["post"])
            if n_tok(tokenizer, full) < MAX_TOKENS - 40:
                n_short += 1
                assert post_in_prompt(r["prompt"]) == r["post"]
    assert n_short > 20


def test_truncation_cuts_at_last_newline_that_fits(built, tokenizer):
    out, _ = built
    seen = 0
    for r in read_jsonl(out / "sft_test.jsonl"):
        kept = post_in_prompt(r["prompt"])
        if kept == r["post"] or "\n" not in r["post"]:
            continue
        seen += 1
        assert r["post"].startswith(kept)
        assert r["post"][len(kept)] == "\n"  # cut right before a newline
        # maximal: the next newline-delimited chunk would not fit
        nxt = r["post"].find("\n", len(kept) + 1)
        longer = r["post"][: nxt if nxt >= 0 else len(r["post"])]
        assert n_tok(tokenizer, r["prompt"].replace(kept, longer, 1)) > MAX_TOKENS
        assert n_tok(tokenizer, r["prompt"]) <= MAX_TOKENS
    assert seen >= 1


def test_post_without_newline_is_cut_to_longest_fitting_prefix(built, tokenizer):
    out, _ = built
    seen = 0
    for r in read_jsonl(out / "sft_test.jsonl"):
        kept = post_in_prompt(r["prompt"])
        if kept == r["post"] or "\n" in r["post"]:
            continue
        seen += 1
        assert r["post"].startswith(kept) and len(kept) > 0
        one_more = r["prompt"].replace(kept, r["post"][: len(kept) + 1], 1)
        assert n_tok(tokenizer, one_more) > MAX_TOKENS
    assert seen >= 1


@pytest.mark.parametrize("limit", [80, 128, 300])
def test_format_prompt_respects_any_limit(tokenizer, limit):
    src = raw("sft", "test")
    for s in src:
        p = hub.format_prompt(s["subreddit"], s["title"], s["post"], tokenizer, limit)
        assert n_tok(tokenizer, p) <= limit
        assert s["post"].strip().startswith(post_in_prompt(p))
    # the batched path gives the same prompts
    keys = [(s["subreddit"], s["title"], s["post"]) for s in src]
    assert hub.format_prompts(keys, tokenizer, limit, batch_size=7) == [
        hub.format_prompt(*k, tokenizer, limit) for k in keys
    ]


def test_header_longer_than_limit_is_an_error(tokenizer):
    with pytest.raises(DataError, match="empty post"):
        hub.format_prompt("relationships", "a very long title " * 20, "post\ntext", tokenizer, 16)


def test_two_word_prompt_variant(tokenizer, hf_cache, tmp_path):
    hub.build_tldr_splits(
        task(hf_cache, prompt_format="two_word", max_examples=5), tokenizer, tmp_path
    )
    for split in hub.SPLITS:
        rows = read_jsonl(tmp_path / f"{split}.jsonl")
        assert len(rows) == 5
        for r in rows:
            assert r["prompt"].endswith(
                "\n\nPOST: " + post_in_two_word(r["prompt"]) + "\n\nTwo-Word TL;DR:"
            )
            assert n_tok(tokenizer, r["prompt"]) <= MAX_TOKENS


def post_in_two_word(prompt: str) -> str:
    return prompt.split("\n\nPOST: ", 1)[1][: -len("\n\nTwo-Word TL;DR:")]


# ---------------------------------------------------------------------------- PFT
def test_pft_chosen_rejected_follow_choice_and_cnndm_is_dropped(built):
    out, _ = built
    for split, hub_split in [("pft_train", "train"), ("pft_val", "validation")]:
        rows = read_jsonl(out / f"{split}.jsonl", required=hub.PFT_FIELDS)
        src = [s for s in raw("pft", hub_split) if s["info"]["post"] is not None]
        assert len(raw("pft", hub_split)) - len(src) == (2 if split == "pft_val" else 0)
        assert len(rows) == len(src)
        assert len({r["id"] for r in rows}) == len(rows)  # unique, though posts repeat
        for r, s in zip(rows, src, strict=True):
            assert set(r) == set(hub.PFT_FIELDS)
            assert r["id"].startswith(s["info"]["id"] + "_")
            c = s["choice"]
            assert r["chosen"] == " " + s["summaries"][c]["text"].strip()
            assert r["rejected"] == " " + s["summaries"][1 - c]["text"].strip()
            assert r["chosen"] != r["rejected"]
            assert r["post"] == s["info"]["post"].strip()
            assert r["prompt"].startswith(f"SUBREDDIT: r/{s['info']['subreddit']}\n\n")


def test_bad_choice_is_a_data_error(tokenizer, hf_cache, tmp_path):
    import datasets

    rows = raw("pft", "train")[:3]
    rows[1]["choice"] = 2
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=hf_cache)
    with pytest.raises(DataError, match="row 1: choice"):
        hub.pft_records(ds, tokenizer, hub.task_options(task(hf_cache)), "pft_train")


def test_data_files_path_reads_the_same_rows(tokenizer, hf_cache, tmp_path, built):
    """Explicit local files (json builder) give the same records as the hub-layout directory."""
    files = {
        "sft": {
            s: str(next((FIXTURES / "sft/data").glob(f"{s}-*")))
            for s in ("train", "validation", "test")
        },
        "pft": {
            s: str(next((FIXTURES / "pft/data").glob(f"{s}-*"))) for s in ("train", "validation")
        },
    }
    # explicit files carry no dataset card; PFT columns that are all-null in a file would be
    # typed null, so only the SFT splits are compared here
    hub.build_tldr_splits(
        {"data_files": files, "cache_dir": hf_cache},
        tokenizer,
        tmp_path,
        splits=["sft_val", "sft_test"],
    )
    out, _ = built
    for split in ("sft_val", "sft_test"):
        assert (tmp_path / f"{split}.jsonl").read_text() == (out / f"{split}.jsonl").read_text()


# ---------------------------------------------------------------------------- subsampling
def test_test_subsampling_is_seeded_and_deterministic(tokenizer, hf_cache, tmp_path):
    def ids(seed, sub):
        d = tmp_path / sub
        hub.build_tldr_splits(
            task(hf_cache, n_test=10, seed=seed), tokenizer, d, splits=["sft_test"]
        )
        return d, [r["id"] for r in read_jsonl(d / "sft_test.jsonl")]

    d1, a = ids(0, "a")
    d2, b = ids(0, "b")
    _, c = ids(1, "c")
    assert len(a) == 10 and len(set(a)) == 10
    assert (d1 / "sft_test.jsonl").read_bytes() == (d2 / "sft_test.jsonl").read_bytes()
    assert a != c
    order = [s["id"] for s in raw("sft", "test")]
    assert a == sorted(a, key=order.index)  # kept in file order


def test_max_examples_and_subsample_per_split(tokenizer, hf_cache, tmp_path):
    counts = hub.build_tldr_splits(
        task(
            hf_cache,
            n_test=12,
            subsample={"pft_train": 9},
            max_examples={"sft_test": 4, "sft_train": 3},
        ),
        tokenizer,
        tmp_path,
    )
    assert counts == {"sft_train": 3, "sft_val": 8, "sft_test": 4, "pft_train": 9, "pft_val": 10}
    # the cap keeps a prefix of the seeded sample
    full = tmp_path / "full"
    hub.build_tldr_splits(task(hf_cache, n_test=12), tokenizer, full, splits=["sft_test"])
    assert read_jsonl(tmp_path / "sft_test.jsonl") == read_jsonl(full / "sft_test.jsonl")[:4]


def test_unknown_option_is_rejected():
    with pytest.raises(ValueError, match="unknown TL;DR data option"):
        hub.task_options({"n_tset": 600})
    with pytest.raises(ValueError, match="prompt_format"):
        hub.task_options({"prompt_format": "three_word"})


def test_cli(tiny_neox_dir, hf_cache, tmp_path, capsys):
    hub.main(
        [
            "--task",
            json.dumps(task(hf_cache, max_examples=2)),
            "--tokenizer",
            str(tiny_neox_dir),
            "--out-dir",
            str(tmp_path),
            "--splits",
            "sft_test",
            "pft_val",
        ]
    )
    assert json.loads(capsys.readouterr().out) == {"sft_test": 2, "pft_val": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pft_val.jsonl", "sft_test.jsonl"]


def test_options_from_the_workflow_task_section():
    task_section = {
        "kind": "tldr",
        "seed": 3,
        "max_new_tokens": 53,
        "max_prompt_tokens": 256,
        "n_eval_prompts": 600,
        "two_word": True,
        "tldr": {"sft_revision": "abc", "n_test": 600},
    }
    opts = hub.task_options(task_section)
    assert opts["seed"] == 3
    assert opts["max_query_tokens"] == 256
    assert opts["prompt_format"] == "two_word"
    assert opts["sft_revision"] == "abc" and opts["n_test"] == 600
    assert opts["pft_dataset"] == hub.PFT_DATASET
    with pytest.raises(ValueError, match="contradicts"):
        hub.task_options({**task_section, "tldr": {"prompt_format": "standard"}})

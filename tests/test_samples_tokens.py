"""Issue 9.4: the tokens trained on are the tokens drawn, and no EOS is added to a truncated
sample. Run through the real sampler, label_online script and DPO trainer, with the toy
word-level tokenizer and with a byte-level BPE tokenizer whose decode -> encode round trip fails.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from allroads import models, training
from allroads.config import stage_defaults
from allroads.io import read_jsonl, write_jsonl
from allroads.logprobs import completion_logps
from allroads.pairs import penalize_truncated, scores_of
from allroads.reward_models import GlobalRM
from allroads.sampling import HFSampler, encode_prompt, sample_row
from allroads.tasks.facts import FactsTask

ROOT = Path(__file__).resolve().parents[1]
H = 4  # max_new_tokens
P_EOS = 0.3  # per-step EOS probability of the rigged policy: some samples finish, some do not
PROMPTS = [
    {"id": f"p{i}", "post": f"post {i}", "prompt": f"POST: bob likes cats and zoe owns boats {i}\nTL;DR:"}
    for i in range(4)
]  # fmt: skip
HP = {**stage_defaults("dpo"), "epochs": 1, "batch_size": 2, "lr": 1e-3, "beta": 0.1}


def bpe_tokenizer():
    """A byte-level BPE (GPT-NeoX style) trained on a few sentences: decode -> encode of random
    token sequences does not give the tokens back (merges, and the sampler's space cleanup)."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
    from tokenizers import models as tm
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(tm.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|padding|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    text = [p["prompt"] for p in PROMPTS] * 20 + ["bob likes cats . zoe owns boats ."] * 20
    tok.train_from_iterator(text, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|padding|>"
    )


def save_models(tok, root: Path) -> tuple[str, str]:
    """(policy, rm) dirs. The policy ignores its context and draws EOS with probability P_EOS,
    every other token uniformly (final layer norm -> a constant unit vector, one logit set)."""
    arch = {"hidden_size": 32, "num_layers": 2, "num_heads": 2}
    policy = models.init_tiny_model(arch, tok, seed=0)
    with torch.no_grad():
        policy.gpt_neox.final_layer_norm.weight.zero_()
        policy.gpt_neox.final_layer_norm.bias.zero_()
        policy.gpt_neox.final_layer_norm.bias[0] = 1.0
        out = policy.get_output_embeddings().weight
        out[:, 0] = 0.0
        out[tok.eos_token_id, 0] = float(
            torch.log(torch.tensor(P_EOS / (1 - P_EOS) * (len(tok) - 1)))
        )
    models.save(policy, tok, root / "policy")
    models.save(models.init_tiny_model(arch, tok, seed=1), tok, root / "rm")
    torch.manual_seed(1)  # persist the RM's linear head, so every load scores alike
    models.save(models.load_reward_model(root / "rm"), tok, root / "rm")
    return str(root / "policy"), str(root / "rm")


@pytest.fixture(scope="module", params=["word", "bpe"])
def setup(request, tmp_path_factory):
    tok = FactsTask.tokenizer() if request.param == "word" else bpe_tokenizer()
    if request.param == "word":  # the toy vocabulary has no digits: keep prompts in-vocabulary
        prompts = [
            {**p, "prompt": f"POST: bob likes cats{' .' * i}\nTL;DR:"}
            for i, p in enumerate(PROMPTS)
        ]
    else:
        prompts = PROMPTS
    root = tmp_path_factory.mktemp(request.param)
    policy, rm = save_models(tok, root)
    samples = HFSampler(policy, batch_size=64).sample(prompts, 6, 1.0, H, seed=7)
    return SimpleNamespace(
        kind=request.param, tok=models.load_tokenizer(policy), prompts=prompts,
        policy=policy, rm=rm, samples=samples, root=root,
    )  # fmt: skip


def test_sample_row_cuts_at_the_first_eos_and_never_adds_one():
    tok = FactsTask.tokenizer()
    eos, pad = tok.eos_token_id, tok.pad_token_id
    words = tok.convert_tokens_to_ids(["bob", "likes", "cats"])
    done = sample_row({"id": "p"}, 0, [*words[:2], eos, pad, pad], eos, tok)
    assert done["completion_ids"] == [*words[:2], eos] and done["truncated"] is False
    cut = sample_row({"id": "p"}, 1, words, eos, tok)
    assert cut["completion_ids"] == words and cut["truncated"] is True
    assert cut["completion"] == " bob likes cats" and cut["id"] == "p#1"


def test_samples_record_the_drawn_tokens_and_truncation(setup):
    eos = setup.tok.eos_token_id
    kinds = {s["truncated"] for s in setup.samples}
    assert kinds == {True, False}  # the rigged policy gives both
    for s in setup.samples:
        ids = s["completion_ids"]
        if s["truncated"]:
            assert len(ids) == H and eos not in ids
        else:
            assert ids[-1] == eos and eos not in ids[:-1] and len(ids) <= H
    again = HFSampler(setup.policy, batch_size=64).sample(setup.prompts, 6, 1.0, H, seed=7)
    assert again == setup.samples  # the seed fixes the tokens
    other = HFSampler(setup.policy, batch_size=64).sample(setup.prompts, 6, 1.0, H, seed=8)
    assert other != setup.samples


def test_rm_scores_exactly_the_drawn_tokens(setup):
    s = next(x for x in setup.samples if x["truncated"])
    p_ids = encode_prompt(setup.tok, setup.prompts[0]["prompt"])
    got = GlobalRM(setup.rm).score([p_ids, p_ids], [s["completion_ids"], [setup.tok.eos_token_id]])
    rm = models.load_reward_model(setup.rm).eval()
    rm.config.pad_token_id = setup.tok.pad_token_id
    with torch.no_grad():
        want = rm(input_ids=torch.tensor([p_ids + s["completion_ids"]])).logits[0, 0].item()
        with_eos = p_ids + s["completion_ids"] + [setup.tok.eos_token_id]
        forced = rm(input_ids=torch.tensor([with_eos])).logits[0, 0].item()
    assert got[0] == pytest.approx(want, abs=1e-5)  # batched + padded = the tokens alone
    assert got[0] != pytest.approx(forced, abs=1e-6)  # ... and not with an EOS appended


def test_penalize_truncated_is_the_recipes_fixed_score():
    scores, trunc = [3.0, 5.0, 10.0, 4.0], [False, False, True, False]
    out = penalize_truncated(scores, trunc, -1.0)
    assert out[2] == -1.0  # the truncated sample's RM score is replaced, whatever it was
    assert out[:2] + out[3:] == [-1.0, 1.0, 0.0]  # finished: centred, comparisons unchanged
    assert penalize_truncated(scores, trunc, None) == scores


class Wildcards(dict):
    """Snakemake's wildcards: a mapping whose keys are also attributes."""

    __getattr__ = dict.__getitem__


def label(
    setup, tmp: Path, penalty=-1.0, ranker="global_rm", seed="0", append_eos=False
) -> tuple[list[dict], dict]:
    write_jsonl(tmp / "samples.jsonl", setup.samples)
    write_jsonl(tmp / "prompts.jsonl", setup.prompts)
    rm = setup.policy if ranker == "local_rm" else setup.rm  # a policy is a local RM
    smk = SimpleNamespace(
        # lists, as the rule gives them (a prompt-augmentation variant has two of each)
        input=SimpleNamespace(samples=[str(tmp / "samples.jsonl")],
                              prompts=[str(tmp / "prompts.jsonl")], rm=rm),
        output=SimpleNamespace(pairs=str(tmp / "pairs.jsonl"), stats=str(tmp / "stats.json"),
                               scores=str(tmp / "scores.jsonl")),
        params=SimpleNamespace(
            precision="fp32", batch_size=16, truncated_score=penalty, ranker=ranker,
            append_eos=append_eos,
        ),
        config={"task": {"kind": "toy", "seed": 0, "max_new_tokens": H,
                        "toy": {"label_temperature": 1.3}}, "train": {}},
        log=[str(tmp / "label.log")], rule="label_online", threads=1,
        wildcards=Wildcards(size="toy-m", seed=seed),
    )  # fmt: skip
    runpy.run_path(str(ROOT / "scripts/label_online.py"), init_globals={"snakemake": smk})
    return read_jsonl(tmp / "pairs.jsonl"), json.loads((tmp / "stats.json").read_text())


def test_online_dpo_trains_on_the_sampled_tokens(setup, tmp_path):
    tok, eos = setup.tok, setup.tok.eos_token_id
    pairs, stats = label(setup, tmp_path, penalty=None)
    assert pairs and stats["truncated_samples"] == sum(s["truncated"] for s in setup.samples)
    drawn = {(s["prompt_id"], tuple(s["completion_ids"])): s for s in setup.samples}
    for pair in pairs:
        assert pair["prompt_ids"] == encode_prompt(tok, pair["prompt"])
        for side in ("chosen", "rejected"):
            s = drawn[(pair["id"], tuple(pair[f"{side}_ids"]))]  # a sample as drawn
            assert pair[f"{side}_truncated"] == s["truncated"] and pair[side] == s["completion"]
    if setup.kind == "bpe":  # the old path (text -> tokens) would train on other tokens
        retok = [
            tok(p["prompt"] + p["chosen"])["input_ids"] != p["prompt_ids"] + p["chosen_ids"]
            for p in pairs
        ]
        assert any(retok)
    assert any(p["chosen_truncated"] or p["rejected_truncated"] for p in pairs)

    T = 0.1
    trainer, _ = training.make_dpo_trainer(
        setup.policy, pairs, HP, 0, "fp32", str(tmp_path / "dpo"), ref_dir=setup.policy,
        ref_temperature=T,
    )  # fmt: skip
    data = trainer.train_dataset
    assert data["prompt_ids"] == [p["prompt_ids"] for p in pairs]
    assert data["chosen_ids"] == [p["chosen_ids"] for p in pairs]  # no EOS added, no re-tokenizing
    assert data["rejected_ids"] == [p["rejected_ids"] for p in pairs]
    for p, row in zip(pairs, data, strict=True):
        for side in ("chosen", "rejected"):  # no EOS where the policy drew none
            ids = row[f"{side}_ids"]
            assert (ids[-1] != eos and len(ids) == H) if p[f"{side}_truncated"] else ids[-1] == eos
    # the reference log-probs are of those very tokens, logits / T
    ref = models.load_policy(setup.policy).eval()
    for p, row in zip(pairs, data, strict=True):
        ids = torch.tensor([p["prompt_ids"] + p["chosen_ids"]])
        mask = torch.tensor([[0] * len(p["prompt_ids"]) + [1] * len(p["chosen_ids"])])
        with torch.no_grad():
            want = completion_logps(ref, ids, torch.ones_like(ids), mask, T).item()
        assert row["ref_chosen_logps"] == pytest.approx(want, rel=1e-4, abs=1e-4)
    batch = trainer.data_collator([data[0]])
    n = len(pairs[0]["prompt_ids"]) + len(pairs[0]["chosen_ids"])
    assert batch["input_ids"][0, :n].tolist() == pairs[0]["prompt_ids"] + pairs[0]["chosen_ids"]


def test_the_scores_file_holds_what_label_online_ranked_by(setup, tmp_path):
    """Rule diagnose's gate reads label_online's scores file instead of scoring the samples
    again: each sample's score is the global RM's score of its drawn tokens after the
    truncation penalty, and each prompt's first argmax and argmin are its pair."""
    pairs, _ = label(setup, tmp_path, penalty=-1.0)
    rows = read_jsonl(tmp_path / "scores.jsonl")
    drawn = {(s["prompt_id"], s["sample_idx"]): s for s in setup.samples}
    assert [r["id"] for r in rows] == [p["id"] for p in pairs]
    for pair, row in zip(pairs, rows, strict=True):
        sc = row["scores"]
        assert len(sc) == 6  # one per sample drawn for the prompt
        top, bottom = drawn[pair["id"], sc.index(max(sc))], drawn[pair["id"], sc.index(min(sc))]
        assert (top["completion_ids"], bottom["completion_ids"]) == (
            pair["chosen_ids"], pair["rejected_ids"]
        )  # fmt: skip
        assert (max(sc), min(sc)) == (pair["score_chosen"], pair["score_rejected"])
    prompts = {p["id"]: encode_prompt(setup.tok, p["prompt"]) for p in setup.prompts}
    raw = GlobalRM(setup.rm).score(
        [prompts[s["prompt_id"]] for s in setup.samples],
        [s["completion_ids"] for s in setup.samples],
    )
    want = penalize_truncated(raw, [s["truncated"] for s in setup.samples], -1.0)
    assert scores_of(setup.samples, rows) == pytest.approx(want, abs=1e-5)


def test_truncated_samples_get_the_configured_score(setup, tmp_path):
    pairs, stats = label(setup, tmp_path, penalty=-1e6)
    assert stats["truncated_score"] == -1e6
    all_cut = {
        pid for pid in {s["prompt_id"] for s in setup.samples}
        if all(s["truncated"] for s in setup.samples if s["prompt_id"] == pid)
    }  # fmt: skip
    for p in pairs:  # a truncated sample only wins where every sample is truncated
        assert not p["chosen_truncated"] or p["id"] in all_cut
        if p["rejected_truncated"]:
            assert p["score_rejected"] == -1e6
    assert any(p["rejected_truncated"] for p in pairs)


def test_append_eos_scores_and_trains_a_sample_without_eos_with_eos(setup, tmp_path):
    """online.append_eos (the authors' re-tokenizing, REBEL process_vllm.py:155) with no
    penalty (truncated_score: null, process_vllm.py:207): a sample that reached H tokens
    without EOS is scored by the RM with EOS appended, and its pair carries those tokens."""
    eos = setup.tok.eos_token_id
    pairs, stats = label(setup, tmp_path, penalty=None, append_eos=True)
    assert stats["append_eos"] is True
    drawn = {(s["prompt_id"], s["completion"]): s for s in setup.samples}
    rm = GlobalRM(setup.rm)
    seen = 0
    for p in pairs:
        for side in ("chosen", "rejected"):
            s = drawn[(p["id"], p[side])]
            ids = p[f"{side}_ids"]
            assert ids[-1] == eos
            if s["truncated"]:  # EOS appended to the drawn tokens, and scored so
                seen += 1
                assert ids == s["completion_ids"] + [eos] and len(ids) == H + 1
                [want] = rm.score([p["prompt_ids"]], [ids])
                assert p[f"score_{side}"] == pytest.approx(want, abs=1e-5)
            else:
                assert ids == s["completion_ids"]
    assert seen
    # without it: the tokens as drawn (no EOS), the RM score of those (no penalty)
    pairs, _ = label(setup, tmp_path, penalty=None)
    assert any(p["chosen_truncated"] and p["chosen_ids"][-1] != eos for p in pairs) or any(
        p["rejected_truncated"] and p["rejected_ids"][-1] != eos for p in pairs
    )


def test_best_of_n_never_picks_a_sample_without_eos_at_the_authors_score():
    """rm_study.bon.truncated_score: the authors' -1e6 (REBEL bon_rank.py:208) leaves a sample
    without EOS out of every pick where a finished one exists; at the project's -1 (after
    centring the finished ones) it beats a finished sample scored below their mean - 1."""
    from allroads import bon

    samples = [
        {"id": f"s{i}", "prompt_id": "p", "sample_idx": i, "completion": f"s{i}"} for i in range(3)
    ]
    raw, truncated = [-20.0, 9.0, -10.0], [False, True, False]  # finished, centred: -5, +5
    for penalty, best_of_2 in ((-1.0, 1), (-1e6, 0), (None, 1)):
        picks = bon.best_of_n(samples, penalize_truncated(raw, truncated, penalty), [2, 3])
        assert picks[2]["p"]["sample_idx"] == best_of_2, penalty
        assert picks[3]["p"]["sample_idx"] == (1 if penalty is None else 2), penalty


def test_mixed_rows_name_the_row():
    rows = [{"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3], "id": "a"},
            {"prompt": "x", "chosen": "y", "rejected": "z", "id": "b"}]  # fmt: skip
    with pytest.raises(ValueError, match=r"row 2 \(b\)"):
        training.preference_dataset(rows)


def test_shared_prompt_sampling_draws_what_num_return_sequences_draws(tmp_path):
    """The sampler runs each prompt once and repeats its KV cache for the n samples; with
    left-padded prompts of different lengths and a context-dependent (random) model, it must
    draw exactly the ids that generate(num_return_sequences=n) draws from the same seed."""
    tok = FactsTask.tokenizer()
    models.save(models.init_tiny_model({"hidden_size": 32, "num_layers": 2, "num_heads": 2},
                                       tok, seed=3), tok, tmp_path / "p")  # fmt: skip
    prompts = [
        {"id": f"p{i}", "prompt": "POST: bob likes cats" + " ." * (3 * i) + "\nTL;DR:"}
        for i in range(3)
    ]
    sampler = HFSampler(str(tmp_path / "p"), batch_size=64)
    got = sampler.sample(prompts, 5, 1.0, H, seed=11)

    tok = sampler.tokenizer
    torch.manual_seed(__import__("allroads.sampling").sampling.derive_seed(11, 0))
    enc = tok.pad({"input_ids": [encode_prompt(tok, p["prompt"]) for p in prompts]},
                  padding=True, return_tensors="pt")  # fmt: skip
    assert len(set(enc["attention_mask"].sum(1).tolist())) == 3  # really left-padded
    with torch.no_grad():
        ref = sampler.model.generate(
            **enc, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=H,
            num_return_sequences=5, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        )  # fmt: skip
    want = [
        sample_row(prompts[j // 5], j % 5, d, tok.eos_token_id, tok)
        for j, d in enumerate(ref[:, enc["input_ids"].shape[1] :].tolist())
    ]
    assert got == want  # same rows, same order, same random draws
    assert len({tuple(r["completion_ids"]) for r in got}) > 3  # the draws differ

    # and every step's logits are those of the prompt alone, unpadded, plus what was drawn
    # (a position offset by the left padding would show here: ~1e-3, not ~1e-7)
    with torch.no_grad():
        out = sampler.model.generate(
            **sampler._shared_prompt(enc, 2), do_sample=True, temperature=1.0, top_k=0,
            top_p=1.0, max_new_tokens=H, pad_token_id=tok.pad_token_id, eos_token_id=None,
            output_logits=True, return_dict_in_generate=True,
        )  # fmt: skip
        width = enc["input_ids"].shape[1]
        for r, seq in enumerate(out.sequences):
            prompt = encode_prompt(tok, prompts[r // 2]["prompt"])
            full = sampler.model(torch.tensor([prompt + seq[width:].tolist()])).logits[0]
            for k in range(H):
                step = out.logits[k][r]
                assert torch.allclose(step, full[len(prompt) - 1 + k], atol=1e-5), (r, k)


def test_the_local_rm_ranker_picks_the_top_and_bottom_by_beta_sum_log_pi(setup, tmp_path):
    """online.ranker: local_rm ranks each prompt's samples by β·Σ log π(completion) of the
    local RM (β = 1/H), not by the global RM."""
    from allroads.reward_models import LocalRM

    pairs, _ = label(setup, tmp_path, penalty=None, ranker="local_rm")
    tok = setup.tok
    rm = LocalRM(setup.policy, 1.0 / H)
    by_prompt = {}
    for smp in setup.samples:
        by_prompt.setdefault(smp["prompt_id"], []).append(smp)
    prompts = {p["id"]: p["prompt"] for p in setup.prompts}
    informative = 0
    for pair in pairs:
        rows = by_prompt[pair["id"]]
        ids = [encode_prompt(tok, prompts[pair["id"]])] * len(rows)
        scores = rm.score(ids, [r["completion_ids"] for r in rows])
        assert pair["score_chosen"] == pytest.approx(max(scores), abs=1e-4)
        assert pair["score_rejected"] == pytest.approx(min(scores), abs=1e-4)
        informative += max(scores) > min(scores)
    assert informative == len(pairs) > 0


def test_the_labeller_ranker_picks_the_top_and_bottom_of_its_seeded_draw(setup, tmp_path):
    """online.ranker: labeller ranks each prompt's samples by r*/τ + Gumbel noise keyed by
    (seed, prompt, text): the pair is that draw's top and bottom, copies of a text score alike,
    and another seed draws another ranking."""
    from allroads.bradley_terry import labeller_scores
    from allroads.toytask import true_reward

    by_prompt = {}
    for smp in setup.samples:
        by_prompt.setdefault(smp["prompt_id"], []).append(smp)
    post = {p["id"]: p["post"] for p in setup.prompts}
    picked = {}
    for seed in ("0", "1"):
        (tmp_path / seed).mkdir()
        pairs, _ = label(setup, tmp_path / seed, penalty=None, ranker="labeller", seed=seed)
        for pair in pairs:
            rows = by_prompt[pair["id"]]
            scores = labeller_scores(
                true_reward, [post[pair["id"]]] * len(rows), [r["completion"] for r in rows],
                [f"{seed}:{r['prompt_id']}:{r['completion']}" for r in rows], 1.3,
            )  # fmt: skip
            assert pair["score_chosen"] == pytest.approx(max(scores), abs=1e-9)
            assert pair["score_rejected"] == pytest.approx(min(scores), abs=1e-9)
            if len({r["completion"] for r in rows}) > 1:  # copies tie: top and bottom differ
                assert pair["chosen"] != pair["rejected"]
        picked[seed] = [(p["chosen"], p["rejected"]) for p in pairs]
    assert picked["0"] and picked["0"] != picked["1"]

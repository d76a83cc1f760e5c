"""Top/bottom pair selection for online DPO: one pair per prompt, ties kept and counted."""

import pytest

from allroads.pairs import select_pairs


def s(pid, i, text):
    return {"prompt_id": pid, "sample_idx": i, "completion": text}


def test_top_and_bottom_per_prompt():
    samples = [s("a", 0, " x"), s("a", 1, " y"), s("a", 2, " z"), s("b", 0, " p"), s("b", 1, " q")]
    pairs, stats = select_pairs(samples, [0.5, 2.0, -1.0, 3.0, 1.0])
    assert pairs == [
        {"id": "a", "chosen": " y", "rejected": " z", "score_chosen": 2.0, "score_rejected": -1.0},
        {"id": "b", "chosen": " p", "rejected": " q", "score_chosen": 3.0, "score_rejected": 1.0},
    ]
    assert stats == {"prompts": 2, "pairs": 2, "tied": 0}


def test_ties_kept_so_every_prompt_gives_a_pair_and_first_index_wins():
    samples = [s("a", 0, " x"), s("a", 1, " y"), s("b", 1, " q"), s("b", 0, " p"), s("b", 2, " r")]
    # a: all scores equal -> kept, counted as tied; b: tied maxima (idx 0 and 1) -> idx 0 wins
    pairs, stats = select_pairs(samples, [1.0, 1.0, 5.0, 5.0, 0.0])
    assert stats == {"prompts": 2, "pairs": 2, "tied": 1}
    assert [p["id"] for p in pairs] == ["a", "b"]
    assert pairs[0]["chosen"] == " x" and pairs[0]["rejected"] == " x"  # the first index, twice
    assert pairs[1] == {
        "id": "b", "chosen": " p", "rejected": " r", "score_chosen": 5.0, "score_rejected": 0.0
    }  # fmt: skip


def test_identical_text_is_a_tied_pair():
    pairs, stats = select_pairs([s("a", 0, " x"), s("a", 1, " x")], [1.0, 0.0])
    assert len(pairs) == 1 and stats["tied"] == 1


def test_pairs_equal_prompts_so_online_steps_equal_offline_steps():
    # 25 samples for each of 40 prompts, many prompts fully tied: still one pair per prompt
    samples = [s(f"p{i}", k, " same" if i % 2 else f" t{k}") for i in range(40) for k in range(25)]
    scores = [0.0 if i % 2 else float(k) for i in range(40) for k in range(25)]
    pairs, stats = select_pairs(samples, scores)
    assert len(pairs) == 40 and stats["tied"] == 20


def test_online_pairs_penalize_truncated_and_carry_the_prompt_tokens():
    from allroads.pairs import online_pairs

    samples = [
        dict(s("a", 0, " x"), completion_ids=[5, 1], truncated=False),
        dict(s("a", 1, " y"), completion_ids=[6, 7], truncated=True),  # best raw score, no EOS
        dict(s("a", 2, " z"), completion_ids=[8, 1], truncated=False),
    ]
    prompts = {"a": {"id": "a", "prompt": "p q", "post": "post a"}}
    pairs, stats, scores = online_pairs(samples, [2.0, 9.0, 3.0], prompts, {"a": [3, 4]}, -1.0)
    (pair,) = pairs
    # finished scores centered on their mean 2.5 (x -0.5, z 0.5), the truncated y at -1
    assert (pair["chosen_ids"], pair["rejected_ids"]) == ([8, 1], [6, 7])
    assert (pair["prompt"], pair["post"], pair["prompt_ids"]) == ("p q", "post a", [3, 4])
    assert stats["truncated_samples"] == 1 and stats["truncated_score"] == -1.0
    # the scores file: what each sample was ranked by, in sample_idx order
    assert scores == [{"id": "a", "scores": [-0.5, -1.0, 0.5]}]


def test_the_scores_file_gives_every_sample_its_ranking_score_whatever_the_row_order():
    """label_online's scores file (pairs.score_rows) read back by rule diagnose (scores_of):
    samples in any order, from several files, get the score they were ranked by; the pairs'
    scores are each prompt's first maximum and minimum; a sample it lacks is a one-line error
    naming the file and the sample."""
    from allroads.io import DataError
    from allroads.pairs import score_rows, scores_of

    samples = [s(p, k, f" {p}{k}") for p in ("b", "a") for k in (2, 0, 1)]
    scores = [float(len(x["completion"]) + x["sample_idx"] % 2) for x in samples]
    rows = score_rows(samples, scores)
    assert [r["id"] for r in rows] == ["a", "b"]  # as the pairs: sorted by prompt id
    assert rows[0]["scores"] == [3.0, 4.0, 3.0]  # by sample_idx
    shuffled = samples[::-1]
    assert scores_of(shuffled, rows) == scores[::-1]
    pairs, _ = select_pairs(samples, scores)
    for pair, row in zip(pairs, rows, strict=True):
        top, bottom = max(row["scores"]), min(row["scores"])
        assert (pair["score_chosen"], pair["score_rejected"]) == (top, bottom)
    with pytest.raises(DataError, match=r"^s\.jsonl: no score for prompt 'a' sample_idx 3$"):
        scores_of([s("a", 3, " x")], rows, "s.jsonl")
    with pytest.raises(
        DataError, match=r"^online samples: prompt 'c': sample_idx \[1\] is not 0..0$"
    ):
        score_rows([s("c", 1, " x")], [0.0])
    with pytest.raises(DataError, match=r"^online samples: prompt 'c' has sample_idx 0 twice$"):
        score_rows([s("c", 0, " x"), s("c", 0, " y")], [0.0, 1.0])

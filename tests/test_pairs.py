"""Top/bottom pair selection for online DPO."""

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
    assert stats == {"prompts": 2, "pairs": 2, "dropped_ties": 0}


def test_ties_dropped_and_first_index_wins():
    samples = [s("a", 0, " x"), s("a", 1, " y"), s("b", 1, " q"), s("b", 0, " p"), s("b", 2, " r")]
    # a: all equal -> dropped; b: two tied maxima (idx 0 and 1) -> idx 0 wins
    pairs, stats = select_pairs(samples, [1.0, 1.0, 5.0, 5.0, 0.0])
    assert stats["dropped_ties"] == 1
    assert pairs == [
        {"id": "b", "chosen": " p", "rejected": " r", "score_chosen": 5.0, "score_rejected": 0.0}
    ]


def test_identical_text_gives_no_pair():
    pairs, stats = select_pairs([s("a", 0, " x"), s("a", 1, " x")], [1.0, 0.0])
    assert pairs == [] and stats["dropped_ties"] == 1

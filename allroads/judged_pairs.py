"""Judge-labelled pairs of SFT samples (Figure 8).

Appendix C.1: "we sample twice from the SFT policy with temperature 0.1 and use the same
prompting strategy we use for evaluation to pick a winner with gpt-4o", on every PFT train
prompt. The two samples are samples 0 and 1 of the SFT's 25 online samples at T = 0.1 on that
prompt (independent draws, so exactly two samples at T = 0.1, taken from the one shared sample
set instead of sampling again). The judge (``openai`` at paper scale with the evaluation
template; the toy task's Bradley–Terry ``labeller`` on r*) compares them as candidate (sample 0)
against reference (sample 1). Two identical samples state no preference: they become a tied pair
without a judge call (a tie carries no gradient; kept so that every prompt gives one pair, as
the online pairs do). A judgment the judge could not give (invalid) drops that prompt, counted.
"""

from __future__ import annotations

from collections import defaultdict

from .judging import Comparison, Judge


def judged_pairs(
    samples: list[dict], prompts: dict[str, dict], judge: Judge
) -> tuple[list[dict], dict]:
    by_prompt: dict[str, dict[int, dict]] = defaultdict(dict)
    for s in samples:
        if s["sample_idx"] in (0, 1):
            by_prompt[s["prompt_id"]][s["sample_idx"]] = s
    short = [pid for pid, d in by_prompt.items() if len(d) < 2]
    if short:
        raise ValueError(f"{len(short)} prompts have fewer than 2 samples, e.g. {short[:3]}")
    comps, tied = [], []
    for pid in sorted(by_prompt):
        a, b = by_prompt[pid][0]["completion"], by_prompt[pid][1]["completion"]
        if a == b:
            tied.append(pid)
        else:
            comps.append(Comparison.for_record(prompts[pid], pid, pid, a, b))
    verdicts = {v.id: v for v in judge.judge(comps)} if comps else {}
    rows, invalid, agree = [], 0, []
    for pid in sorted(by_prompt):
        a, b = by_prompt[pid][0]["completion"], by_prompt[pid][1]["completion"]
        label = 1.0
        if pid in verdicts:
            v = verdicts[pid]
            if v.score is None:
                invalid += 1
                continue
            label = v.score
            if "r_candidate" in v.meta and v.meta["r_candidate"] != v.meta["r_reference"]:
                agree.append((label > 0.5) == (v.meta["r_candidate"] > v.meta["r_reference"]))
        # a judged tie (0.5: the two orders disagreed) keeps sample 0 first; it is counted
        chosen, rejected = (a, b) if label >= 0.5 else (b, a)
        src = prompts[pid]
        rows.append(
            {
                "id": pid,
                "prompt": src["prompt"],
                "post": src["post"],
                "chosen": chosen,
                "rejected": rejected,
                "label": label,
            }
        )
    stats = {
        "prompts": len(by_prompt),
        "pairs": len(rows),
        "tied": len(tied),
        "judged": len(comps),
        "judged_ties": sum(1 for v in verdicts.values() if v.score == 0.5),
        "invalid": invalid,
    }
    if agree:
        stats["label_agreement_with_r*"] = sum(agree) / len(agree)
    return rows, stats

"""Share of online samples without EOS within H tokens, for an SFT trained on full-length
summaries sampled at Figure 5's short horizon (issue 21; docs/paper-choices.md).

    PYTHONPATH=. python bench/eos_share.py <sft checkpoint> <pft_train.jsonl> [--h 3 5 24]

Samples ``--n`` completions of the first ``--prompts`` prompts at T = ``--t`` (the online
sampler, allroads.sampling.HFSampler) and prints per H the share of samples that hit H tokens
without EOS, and the share of prompts whose top/bottom pair would tie because every sample
lacks EOS (under a fixed truncated_score such a prompt's pair states no preference).
"""

from __future__ import annotations

import argparse
import json

from allroads.io import read_jsonl
from allroads.sampling import HFSampler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("prompts")
    ap.add_argument("--h", type=int, nargs="+", default=[5])
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--t", type=float, default=0.1)
    ap.add_argument("--prompts-n", dest="k", type=int, default=200)
    a = ap.parse_args()
    prompts = read_jsonl(a.prompts, required=("id", "prompt"))[: a.k]
    sampler = HFSampler(a.model, batch_size=500)
    out = {}
    for h in a.h:
        rows = sampler.sample(prompts, a.n, a.t, h, seed=0)
        by_prompt: dict[str, list[bool]] = {}
        for r in rows:
            by_prompt.setdefault(r["prompt_id"], []).append(bool(r["truncated"]))
        out[h] = {
            "samples": len(rows),
            "no_eos_share": sum(r["truncated"] for r in rows) / len(rows),
            "prompts_all_without_eos": sum(all(v) for v in by_prompt.values()) / len(by_prompt),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

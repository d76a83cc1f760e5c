"""Two toy preference rows and a token-by-token log-probability, shared by the DPO loss tests."""

import torch

ROWS = [
    {"prompt": "SUBREDDIT: r/toy\n\nTITLE: about bob\n\nPOST: bob likes cats .\n\nTL;DR:",
     "chosen": " bob likes cats", "rejected": " cats cats"},
    {"prompt": "SUBREDDIT: r/toy\n\nTITLE: about zoe\n\nPOST: zoe owns boats . so ivan sold maps .\n\nTL;DR:",
     "chosen": " zoe owns boats", "rejected": " ivan sold maps so"},
]  # fmt: skip


def logp_by_hand(model, tok, prompt, completion, T):
    """log pi(completion | prompt) with softmax(logits / T), token by token, EOS included."""
    p = tok(prompt)["input_ids"]
    c = tok(completion + tok.eos_token)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([p + c])).logits[0].double() / T
    lp = torch.log_softmax(logits, -1)
    return sum(lp[len(p) + i - 1, t].item() for i, t in enumerate(c))

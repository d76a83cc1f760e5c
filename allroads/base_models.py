"""The ``base`` step: where every model size starts.

- ``arch``: a tiny GPT-NeoX with the task's word-level tokenizer, briefly pretrained as a causal LM
  on a toy pretraining corpus (disjoint posts with noisy TL;DRs), so SFT starts from a model that
  can already copy from its context.
- ``hub``: ``from_pretrained`` of a hub id (Pythia) saved as a local snapshot, so every later
  job reads the same files and the hub is touched once.
"""

from __future__ import annotations

from . import models
from .io import read_jsonl


def materialize_base(
    model_cfg: dict, hp: dict | None, corpus_path: str, out_dir: str, tokenizer=None
) -> dict:
    """The base model of ``model_cfg`` saved to ``out_dir``: a hub snapshot, or a tiny model
    with ``tokenizer`` (the task's, :meth:`allroads.tasks.Task.tokenizer`) pretrained on the
    corpus at ``corpus_path``."""
    if "hub" in model_cfg:
        from transformers import AutoModelForCausalLM

        revision = model_cfg.get("revision")
        tok = models.load_tokenizer(model_cfg["hub"])
        model = AutoModelForCausalLM.from_pretrained(model_cfg["hub"], revision=revision)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tok.pad_token_id
        models.save(model, tok, out_dir)
        return {"hub": model_cfg["hub"], "revision": revision, "params": model.num_parameters()}
    from .training import pretrain_base

    if tokenizer is None:
        raise ValueError(
            "config key models: a model built from `arch` needs a task with its own tokenizer "
            "(a toy task); use a `hub` model"
        )
    tok = tokenizer
    model = models.init_tiny_model(model_cfg["arch"], tok, seed=0)
    rows = read_jsonl(corpus_path, required=("prompt", "reference"))
    metrics = pretrain_base(model, tok, rows, hp, seed=0, out_dir=out_dir)
    return {
        "arch": model_cfg["arch"],
        "params": model.num_parameters(),
        "train_loss": metrics.get("train_loss"),
    }

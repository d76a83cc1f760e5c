"""Samplers: draw completions for prompts. Two backends behind one interface.

- ``hf``: batched ``transformers`` ``generate`` (default; CPU or one GPU).
- ``vllm``: vLLM offline inference (paper scale, GPU only; imported lazily, only here).

Both return one row per sample::

    {id, prompt_id, sample_idx, completion, completion_ids, truncated}

``completion_ids`` are the token ids the policy drew, exactly: up to and including its EOS when it
produced one, all ``max_new_tokens`` of them and no EOS when it did not (``truncated: true``).
Training and RM scoring use these ids (plus :func:`encode_prompt` of the prompt, the ids the
policy was conditioned on); ``completion`` (decoded, special tokens dropped, one leading space)
is for the judge and for reading. Rows are deterministic in the seed.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import torch
from tqdm.auto import tqdm

from . import models


def derive_seed(*parts) -> int:
    """A stable 31-bit seed from any tuple of values (Python's hash() is salted per process)."""
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:4], "little") & 0x7FFFFFFF


def _clean(text: str) -> str:
    return " " + text.strip()


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """The token ids a policy is conditioned on for ``prompt``: the one encoding shared by both
    samplers, RM scoring and online DPO, so all three see the same prompt tokens."""
    return list(tokenizer(prompt)["input_ids"])


def sample_row(prompt: dict, k: int, drawn: list[int], eos_id: int, tokenizer) -> dict:
    """One sample row from the ids the policy drew after the prompt.

    ``drawn`` may run past the first EOS (HF pads finished rows of a batch): it is cut just
    after the first EOS. A sample without EOS is ``truncated`` and keeps no EOS: none is added.
    """
    ids = [int(t) for t in drawn]
    truncated = eos_id not in ids
    if not truncated:
        ids = ids[: ids.index(eos_id) + 1]
    return {
        "id": f"{prompt['id']}#{k}",
        "prompt_id": prompt["id"],
        "sample_idx": k,
        "completion": _clean(tokenizer.decode(ids, skip_special_tokens=True)),
        "completion_ids": ids,
        "truncated": truncated,
    }


class Sampler(Protocol):
    def sample(
        self, prompts: list[dict], n: int, temperature: float, max_new_tokens: int, seed: int
    ) -> list[dict]: ...


class HFSampler:
    """Left-padded batched ``generate``; ``batch_size`` counts sequences (prompts × n)."""

    def __init__(self, model_dir: str, precision: str = "fp32", batch_size: int = 256):
        self.tokenizer = models.load_tokenizer(model_dir)
        self.tokenizer.padding_side = "left"
        self.device = models.default_device()
        self.model = models.load_policy(model_dir, precision, self.device).eval()
        self.batch_size = batch_size

    @torch.no_grad()
    def sample(self, prompts, n, temperature, max_new_tokens, seed):
        tok = self.tokenizer
        per_batch = max(1, self.batch_size // n)
        rows = []
        batches = [prompts[i : i + per_batch] for i in range(0, len(prompts), per_batch)]
        for b, batch in enumerate(
            tqdm(batches, desc=f"sampling n={n} T={temperature}", mininterval=2)
        ):
            torch.manual_seed(derive_seed(seed, b))  # per batch: robust to resumption order
            ids = [encode_prompt(tok, p["prompt"]) for p in batch]
            enc = tok.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(self.device)
            out = self.model.generate(
                **self._shared_prompt(enc, n),
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                max_new_tokens=max_new_tokens,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
            )
            gen = out[:, enc["input_ids"].shape[1] :].tolist()
            for j, drawn in enumerate(gen):
                rows.append(sample_row(batch[j // n], j % n, drawn, tok.eos_token_id, tok))
        return rows

    def _shared_prompt(self, enc, n: int) -> dict:
        """``generate`` inputs for ``n`` samples of each prompt, the prompt run once.

        ``num_return_sequences=n`` copies each prompt n times *before* the forward pass, so
        the prompt (most of the tokens at n = 25) is computed n times. Here the prompts but
        their last token run once, the KV cache is repeated n times, and ``generate`` goes on
        from the last token: rows in the same prompt-major order, the same random draws (3x
        faster on the toy task; tests/test_samples_tokens.py checks the ids are those of
        ``num_return_sequences``). vLLM shares prompt blocks itself; HF generate does not.
        """
        x, mask = enc["input_ids"], enc["attention_mask"]
        if n == 1 or x.shape[1] < 2:
            return {"input_ids": x, "attention_mask": mask, "num_return_sequences": n}
        pos = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: positions start at each prompt
        cache = self.model(
            input_ids=x[:, :-1],
            attention_mask=mask[:, :-1],
            position_ids=pos[:, :-1],
            use_cache=True,
        ).past_key_values
        cache.batch_repeat_interleave(n)
        return {
            "input_ids": x.repeat_interleave(n, dim=0),
            "attention_mask": mask.repeat_interleave(n, dim=0),
            "past_key_values": cache,
        }


class VLLMSampler:
    """vLLM offline sampling (paper scale). vLLM is imported here only: it needs a GPU, and it
    runs in its own environment (envs/vllm.yaml: vLLM 0.33.0, whose torch and transformers pins
    differ from training's). The calls below are those of vLLM 0.33.0's ``LLM(model, dtype,
    gpu_memory_utilization)``, ``LLM.generate(list[TokensPrompt], list[SamplingParams])`` and
    ``CompletionOutput.token_ids / finish_reason``, read in its wheel."""

    def __init__(
        self, model_dir: str, precision: str = "bf16", gpu_memory_utilization: float = 0.9
    ):
        try:
            from vllm import LLM
        except ImportError as e:  # pragma: no cover - exercised only on GPU nodes
            raise RuntimeError(
                "config key sampler.backend is 'vllm' but vllm is not installed "
                "(its environment is envs/vllm.yaml: pip install 'allroads[vllm]' on a GPU node, or use sampler.backend: hf)"
            ) from e
        dtype = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[precision]
        self.tokenizer = models.load_tokenizer(model_dir)
        self.llm = LLM(model=model_dir, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization)

    def sample(self, prompts, n, temperature, max_new_tokens, seed):  # pragma: no cover
        from vllm import SamplingParams

        tok = self.tokenizer
        eos = tok.eos_token_id
        # the prompt goes in as token ids (the same encode_prompt as training), one seed per
        # prompt so that prompts do not share a random stream
        inputs = [{"prompt_token_ids": encode_prompt(tok, p["prompt"])} for p in prompts]
        params = [
            SamplingParams(
                n=n,
                temperature=temperature,  # top-k / top-p off: vLLM's defaults
                max_tokens=max_new_tokens,
                seed=derive_seed(seed, p["id"]),
            )
            for p in prompts
        ]
        outs = self.llm.generate(inputs, params)
        rows = []
        for p, out in zip(prompts, outs, strict=True):
            for k, c in enumerate(out.outputs):
                drawn = list(c.token_ids)
                # finish_reason "stop" with no stop string/token configured = the model drew EOS
                # (vLLM: stop_reason None). Versions that leave EOS out of token_ids get it back:
                # it was drawn. "length" = truncated: no EOS, none added.
                if c.finish_reason == "stop" and (not drawn or drawn[-1] != eos):
                    drawn.append(eos)
                rows.append(sample_row(p, k, drawn, eos, tok))
        return rows


def make_sampler(sampler_cfg: dict, model_dir: str, precision: str) -> Sampler:
    """The sampler of config ``sampler`` (validated: its defaults filled in from the schema)."""
    backend = sampler_cfg["backend"]
    if backend == "hf":
        return HFSampler(model_dir, precision, sampler_cfg["batch_size"])
    if backend == "vllm":
        return VLLMSampler(model_dir, precision, sampler_cfg["gpu_memory_utilization"])
    raise ValueError(f"config key sampler.backend: unknown backend {backend!r} (hf, vllm)")

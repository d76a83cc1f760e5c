"""Samplers: draw completions for prompts. Two backends behind one interface.

- ``hf``: batched ``transformers`` ``generate`` (default; CPU or one GPU).
- ``vllm``: vLLM offline inference (paper scale, GPU only; imported lazily, only here).

Both return rows ``{id, prompt_id, sample_idx, completion}``; completions start with a space,
end without the EOS token, and are deterministic in the seed.
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
        per_batch = max(1, self.batch_size // n)
        rows = []
        batches = [prompts[i : i + per_batch] for i in range(0, len(prompts), per_batch)]
        for b, batch in enumerate(
            tqdm(batches, desc=f"sampling n={n} T={temperature}", mininterval=2)
        ):
            torch.manual_seed(derive_seed(seed, b))  # per batch: robust to resumption order
            enc = self.tokenizer(
                [p["prompt"] for p in batch], return_tensors="pt", padding=True
            ).to(self.device)
            out = self.model.generate(
                **enc,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                max_new_tokens=max_new_tokens,
                num_return_sequences=n,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
            )
            gen = out[:, enc["input_ids"].shape[1] :]
            texts = self.tokenizer.batch_decode(gen, skip_special_tokens=True)
            for j, text in enumerate(texts):
                p = batch[j // n]
                rows.append(
                    {
                        "id": f"{p['id']}#{j % n}",
                        "prompt_id": p["id"],
                        "sample_idx": j % n,
                        "completion": _clean(text),
                    }
                )
        return rows


class VLLMSampler:
    """vLLM offline sampling (paper scale). vLLM is imported here only: it needs a GPU."""

    def __init__(
        self, model_dir: str, precision: str = "bf16", gpu_memory_utilization: float = 0.9
    ):
        try:
            from vllm import LLM
        except ImportError as e:  # pragma: no cover - exercised only on GPU nodes
            raise RuntimeError(
                "config key sampler.backend is 'vllm' but vllm is not installed "
                "(pip install 'allroads[vllm]' on a GPU node, or use sampler.backend: hf)"
            ) from e
        dtype = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[precision]
        self.llm = LLM(model=model_dir, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization)

    def sample(self, prompts, n, temperature, max_new_tokens, seed):  # pragma: no cover
        from vllm import SamplingParams

        params = SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=seed)
        outs = self.llm.generate([p["prompt"] for p in prompts], params)
        rows = []
        for p, out in zip(prompts, outs, strict=True):
            for k, c in enumerate(out.outputs):
                rows.append(
                    {
                        "id": f"{p['id']}#{k}",
                        "prompt_id": p["id"],
                        "sample_idx": k,
                        "completion": _clean(c.text),
                    }
                )
        return rows


def make_sampler(sampler_cfg: dict, model_dir: str, precision: str) -> Sampler:
    backend = sampler_cfg["backend"]
    if backend == "hf":
        return HFSampler(model_dir, precision, sampler_cfg.get("batch_size", 256))
    if backend == "vllm":
        return VLLMSampler(model_dir, precision, sampler_cfg.get("gpu_memory_utilization", 0.9))
    raise ValueError(f"config key sampler.backend: unknown backend {backend!r} (hf, vllm)")

"""The ``judge.openai`` config section, shared by every role gpt-4o plays (judge, writer).

:class:`OpenAIJudgeConfig` is the section as validated by ``schemas/judge_openai.schema.yaml``:
what the request client (:mod:`allroads.judging.client`) needs (model, endpoint, decoding,
concurrency, retries, cache, Batch API, prices and ``max_usd``) and what the judge role
(:mod:`allroads.judging.openai_judge`) needs (template, ``both_orders``, what fills the post).
The errors every role raises live here too, so no role imports another's module for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .prompts import get_template

PAPER_MODEL = "gpt-4o-2024-08-06"
BATCH_DISCOUNT = 0.5  # the Batch API bills half the synchronous price
BATCH_MAX_REQUESTS = 50_000  # OpenAI's per-batch request limit
LOCAL_DUMMY_KEY = "sk-local-no-key"  # sent only to a custom base_url when OPENAI_API_KEY is unset
JUDGE_POSTS = ("body", "query")  # what fills the judge prompt's {{post}} (judge.openai.post)


class JudgeConfigError(ValueError):
    """A ``judge.openai`` config value (or the environment) is unusable."""


class BudgetExceededError(RuntimeError):
    """The estimated cost of the pending requests exceeds ``judge.openai.max_usd``."""


class JudgeAPIError(RuntimeError):
    """The API refused the run (bad key, unknown model) or requests failed after all retries."""


@dataclass(frozen=True)
class OpenAIJudgeConfig:
    """The ``judge.openai`` config section (see ``schemas/judge_openai.schema.yaml``)."""

    model: str = PAPER_MODEL
    base_url: str | None = None
    template: str = "standard"
    post: str = "body"
    temperature: float | None = 0.0
    max_tokens: int = 256
    concurrency: int = 32
    timeout_s: float = 60.0
    max_retries: int = 6
    mode: str = "sync"
    both_orders: bool = False
    cache: str | None = None
    price_input_per_mtok: float = 2.50
    price_output_per_mtok: float = 10.00
    max_usd: float | None = None
    batch_poll_s: float = 30.0
    on_error: str = "raise"
    format_retries: int = 2

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> OpenAIJudgeConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise JudgeConfigError(
                f"config key judge.openai: unknown key(s) {unknown} (known: {sorted(known)})"
            )
        nullable = ("base_url", "max_usd", "cache", "temperature")  # null is a value, not "unset"
        out = cls(**{k: v for k, v in cfg.items() if v is not None or k in nullable})
        out.validate()
        return out

    def validate(self) -> None:
        def bad(key: str, why: str) -> JudgeConfigError:
            return JudgeConfigError(f"config key judge.openai.{key}: {why}")

        get_template(self.template)  # raises naming judge.openai.template
        if self.post not in JUDGE_POSTS:
            raise bad("post", f"{self.post!r} is not one of {list(JUDGE_POSTS)}")
        if self.mode not in ("sync", "batch"):
            raise bad("mode", f"{self.mode!r} is not 'sync' or 'batch'")
        if self.on_error not in ("raise", "invalid"):
            raise bad("on_error", f"{self.on_error!r} is not 'raise' or 'invalid'")
        if not self.model:
            raise bad("model", "must be a non-empty model name")
        if self.concurrency < 1:
            raise bad("concurrency", "must be >= 1")
        if self.max_tokens < 1:
            raise bad("max_tokens", "must be >= 1")
        if self.max_retries < 0:
            raise bad("max_retries", "must be >= 0")
        if self.format_retries < 0:
            raise bad("format_retries", "must be >= 0")
        if not self.timeout_s > 0:
            raise bad("timeout_s", "must be > 0")
        if self.temperature is not None and self.temperature < 0:
            raise bad("temperature", "must be >= 0 or null (not sent: the API's default)")
        if self.max_usd is not None and self.max_usd < 0:
            raise bad("max_usd", "must be >= 0 or null")
        if self.price_input_per_mtok < 0 or self.price_output_per_mtok < 0:
            raise bad("price_input_per_mtok", "prices must be >= 0")

    @property
    def decoding(self) -> dict[str, Any]:
        """The decoding parameters sent with every request (and hashed into the cache key); a
        null ``temperature`` is not sent at all (the API's default, as the authors ran it)."""
        out: dict[str, Any] = {}
        if self.temperature is not None:
            out["temperature"] = float(self.temperature)
        out["max_tokens"] = int(self.max_tokens)
        return out

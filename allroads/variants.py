"""Variants: the Figure 3 chain (SFT -> global RM -> DPO / DPO (2x) -> online DPO -> evaluation)
on other preference data, labels or prompts (Figures 6-8), as *names*, not copies of rules.

A model, sample set or policy of variant ``V`` is named ``V.<name>`` (``rouge.dpo``,
``judged.online-sft``, ``augment.online-sft``); a bare name is the default chain (Figure 3),
whose paths do not change. Config ``variants.<V>`` says what differs:

* ``pairs``: the preference pairs the variant's global RM and offline DPO train on.
  ``pft`` (default): the task's PFT train pairs, so ``V.global_rm``, ``V.dpo``, ``V.dpo2x`` ARE
  the default models (built once). ``rouge`` (Figure 6): the top / bottom of the SFT's 25 online
  samples per PFT train prompt by ROUGE-L F1 against the prompt's preferred completion.
  ``judged`` (Figure 8): two SFT samples per PFT train prompt, the winner picked by a judge.
* ``extra_prompts``: how many SFT train prompts join the PFT train prompts for on-policy
  sampling (Figure 7's prompt augmentation); 0 (default): none.
* ``metric``: ``judge`` (default: winrate against the reference on the evaluation prompts, by
  every judge in ``judge.use``) or ``rouge`` (ROUGE-L F1 against the PFT validation split's
  preferred completions, Appendix C.4).

SFT is never retrained: every variant starts from the one SFT checkpoint, and the SFT's online
samples on the PFT train prompts (the default ``online/.../sft.samples.jsonl``) are the one
sample set the ``rouge`` and ``judged`` pairs are drawn from and Online DPO (SFT) trains on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

SEP = "."
ONLINE = "online-"  # an online policy: ``online-<generator>``
GENERATORS = ("sft", "dpo", "dpo2x")  # the policies that sample for online DPO
ONLINE_POLICIES = tuple(ONLINE + g for g in GENERATORS)
POLICIES = (*GENERATORS, *ONLINE_POLICIES)  # a chain's evaluated policies
OFFLINE = ("global_rm", "dpo", "dpo2x")  # the models trained on the variant's pairs
PAIRS = ("pft", "rouge", "judged")
METRICS = ("judge", "rouge")


class Name(NamedTuple):
    """A parsed model / sample set / policy name ``[V.]<base>``: ``rouge.online-dpo`` is
    ``Name("rouge", "online-dpo")``. The one parser of these names (see :func:`parse`)."""

    variant: str | None
    base: str

    def __str__(self) -> str:
        return join(self.variant, self.base)

    @property
    def online(self) -> bool:
        return self.base.startswith(ONLINE)

    @property
    def generator(self) -> str:
        """The policy whose samples an online policy trains on: ``V.online-dpo`` -> ``V.dpo``."""
        if not self.online:
            raise ValueError(f"{self}: not an online policy ({ONLINE}<generator>)")
        return join(self.variant, self.base.removeprefix(ONLINE))

    def sibling(self, base: str) -> str:
        """The same variant's ``base``: ``judged.dpo`` -> ``judged.global_rm``."""
        return join(self.variant, base)


def parse(name: str) -> Name:
    """``"rouge.dpo"`` -> ``Name("rouge", "dpo")``; ``"dpo"`` -> ``Name(None, "dpo")``."""
    variant, sep, base = name.rpartition(SEP)
    return Name(variant if sep else None, base)


def split(name: str) -> tuple[str | None, str]:
    """``"rouge.dpo"`` -> ``("rouge", "dpo")``; ``"dpo"`` -> ``(None, "dpo")``."""
    return tuple(parse(name))


def join(variant: str | None, base: str) -> str:
    return f"{variant}{SEP}{base}" if variant else base


def pattern(bases: Iterable[str], variants: Iterable[str] = ()) -> str:
    """Wildcard regex of these names: a base, optionally prefixed ``V.`` for V in ``variants``."""
    b = "|".join(map(re.escape, bases))
    variants = list(variants)
    if not variants:
        return f"(?:{b})"
    return f"(?:(?:{'|'.join(map(re.escape, variants))})\\.)?(?:{b})"


def spec(variants: Mapping, variant: str | None) -> dict:
    """The variant's settings; the default chain's for ``None`` (what a variant's settings
    default to in the schema, filled in by validation)."""
    out = {"pairs": "pft", "extra_prompts": 0, "metric": "judge"}
    if variant is not None:
        if variant not in variants:
            raise KeyError(f"unknown variant {variant!r} (config variants: {sorted(variants)})")
        out.update(variants[variant])
    return out


def owns_offline(variants: Mapping, variant: str | None) -> bool:
    """Whether the variant trains its own global RM and offline DPO (its pairs are not PFT's)."""
    return variant is not None and spec(variants, variant)["pairs"] != "pft"


def model_name(variants: Mapping, name: str) -> str:
    """The checkpoint a (variant) model name stands for: ``sft`` is always the shared SFT; the
    RM and offline DPO are the variant's own when it has its own pairs, else the default ones;
    an online policy is always the variant's own."""
    variant, base = split(name)
    if base == "sft":
        return "sft"
    if base in OFFLINE:
        return name if owns_offline(variants, variant) else base
    return name


def pft_samples_name(variants: Mapping, gen: str) -> str:
    """Whose samples on the PFT train prompts generator ``gen`` uses: the default set of the
    same checkpoint when there is one (``augment.dpo`` -> ``dpo``, ``judged.sft`` -> ``sft``)."""
    variant, base = split(gen)
    return base if model_name(variants, gen) == base else gen


def extra_prompts(variants: Mapping, name: str) -> int | str:
    """How many SFT train prompts the variant adds for on-policy sampling (0, n or ``"all"``)."""
    return spec(variants, split(name)[0])["extra_prompts"]


def metric(variants: Mapping, name: str) -> str:
    return spec(variants, split(name)[0])["metric"]

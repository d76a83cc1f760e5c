"""The experiment a validated config describes, as one object: what a run trains, samples,
judges and plots, and where each file lives.

``Plan(config)`` is computed once per config (:func:`of` memoises it: the control module's
Snakefile is parsed once per ``use rule``) from the config as ``allroads.config.validate`` left
it (schema defaults filled in). The rules ask it for their inputs and targets: its methods that
take ``wildcards`` are Snakemake input / params functions (rules/common.smk binds them to
short names). Nothing here needs Snakemake, so the tests and ``python -m allroads.plan`` (what
a run builds and what its judge calls cost) use the same object.

Data flow, per (size, seed): data -> base -> SFT (one per size unless ``sft_per_seed``) ->
global RM and offline DPO (DPO, DPO (2x)) on the PFT pairs -> online samples of each generator
-> RM-ranked pairs -> online DPO -> evaluation samples -> judgments / ROUGE-L -> a figure's
tables and plot (allroads.figures, by kind). A variant ``V`` (allroads.variants) reruns that
chain on other pairs or prompts under the names ``V.<name>``. The reward-model study adds the
local RM, every RM's held-out fit (Figure 9) and Best-of-N sample sets ranked by each RM
(Figures 10 and 4: :meth:`Plan.bon_rms`). Figure 5 is the chain again on the control task, as
a Snakemake module whose config is :meth:`Plan.control_config`.
"""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path

from .. import figures as F
from .. import variants as V
from ..config import merge_overlay
from ._chain import TABLE_EXTS, Chain
from ._inventory import Inventory
from ._jobs import Jobs, fixed_signature
from ._study import RM_DIRS, Study

SPLITS = ["pretrain", "sft_train", "sft_val", "sft_test", "pft_train", "pft_val", "eval_prompts"]
__all__ = ["RM_DIRS", "SPLITS", "TABLE_EXTS", "Plan", "of", "validated"]


class Plan(Chain, Study, Jobs, Inventory):
    """The experiment of one validated config (``in_module``: the control run's own)."""

    def __init__(self, config: dict, in_module: bool = False):
        c = self.config = config
        self.in_module = in_module
        self.R = c["results"]
        self.sizes = list(c.get("sizes") or c["models"])  # default: every model
        self.seeds = list(c["seeds"])
        self.judges = list(c["judge"]["use"])
        self.variant_seeds = list(c.get("variant_seeds") or self.seeds)
        self.variants = c["variants"]
        self.sft_per_seed = c["sft_per_seed"]
        self.precision = c["precision"]
        # the sampling rules' environment: vLLM's own (it pins another torch / transformers)
        self.sampler_env = (
            "../envs/" + ("vllm" if c["sampler"]["backend"] == "vllm" else "train") + ".yaml"
        )
        study = c["rm_study"]
        self.rm_sizes = list(study.get("sizes") or self.sizes)  # Figure 4's grid
        self.rm_kinds = study["kinds"]
        bon = study["bon"]
        self.bon_n = sorted(bon["n"])
        # "online": the same temperature as online sampling (the toy default); a number: its own
        self.bon_t = (
            c["online"]["temperature"] if bon["temperature"] == "online" else bon["temperature"]
        )
        # the score of a BoN sample without EOS: "online" (default) = online.truncated_score
        self.bon_truncated_score = (
            c["online"]["truncated_score"]
            if bon["truncated_score"] == "online"
            else bon["truncated_score"]
        )
        # online.append_eos, a param of label_online only when on: the default jobs' params
        # (what a rerun is decided on) stay as they were
        self.append_eos_param = {"append_eos": True} if c["online"]["append_eos"] else {}
        self.bon_generators = bon["generators"]
        self.fig4_generator = bon["fig4_generator"]
        self.two_word_recipe = c["task"]["two_word_recipe"]
        # variants that train their own global RM and offline DPO (pairs other than PFT's)
        self.own_offline = [v for v in self.variants if V.owns_offline(self.variants, v)]
        # the figures this run builds: config `figures`, then the RM study's (registry order)
        extra = [f for f in F.FIGURES if f in study["figures"] and f not in c["figures"]]
        self.figures = list(c["figures"]) + extra
        # every size a job runs at: `sizes`, Figure 4's grid, and each figure's (figure_scope)
        self.run_sizes = list(self.sizes)
        for s in [*self.rm_sizes, *(s for f in self.figures for s in F.sizes(f, c))]:
            if s not in self.run_sizes:
                self.run_sizes.append(s)
        fig5 = "fig5" in self.figures and not in_module
        self.control = c.get("control") if fig5 else None
        self.control_r = f"{self.R}/{self.control['results']}" if self.control else None
        # Figure 5's figures come from the control run when there is one
        self.built = [f for f in self.figures if not (f == "fig5" and self.control)]

    # ---- names
    def fig_kind(self, fig: str) -> str:
        return F.FIGURES[fig]["kind"]

    def figures_of(self, *kinds: str) -> list[str]:
        return [f for f in self.figures if self.fig_kind(f) in kinds]

    def wildcard_constraints(self) -> dict[str, str]:
        import re

        names = list(self.variants)
        return dict(
            size="|".join(map(re.escape, self.run_sizes)) or "NONE",
            seed=r"\d+",
            gen=V.pattern(V.GENERATORS, names),
            policy=V.pattern(V.POLICIES, names),
            judge="|".join(self.judges),
            # the winrate / ROUGE-L figures' (the RM study's rules constrain their own)
            fig="|".join(map(re.escape, self.figures_of(*F.EVAL_KINDS))) or "NONE",
            metric="|".join([*self.judges, "rouge"]),
            variant="|".join(map(re.escape, names)) or "NONE",
        )

    # ---- Figure 5 (rules/control.smk)
    @property
    def control_sizes(self) -> list[str]:
        """The control run's sizes: ``figure_scope.fig5.sizes``, else ``sizes``."""
        return F.sizes("fig5", self.config)

    @property
    def control_seeds(self) -> list[int]:
        """The control run's seeds: ``figure_scope.fig5.seeds``, else ``control.seeds``, else
        ``variant_seeds`` (as Figures 6-8)."""
        return (
            self.config["figure_scope"].get("fig5", {}).get("seeds")
            or self.control.get("seeds")
            or self.variant_seeds
        )

    def control_config(self, basedir: str, source: str) -> dict:
        """The control run's config: this one (with --config applied), the overlay file(s)
        merged over it in order, then its own results folder, Figure 5 alone, its sizes
        (``figure_scope.fig5.sizes``, else ``sizes``) and seeds (``figure_scope.fig5.seeds``,
        else ``control.seeds``, else ``variant_seeds``, as Figures 6-8). ``basedir``: the
        workflow's folder, where a relative overlay is looked for when it is not in the working
        directory."""
        import yaml

        from ..config import ConfigError

        paths = self.control["overlay"]  # a file, or files merged in order
        paths = [paths] if isinstance(paths, str) else list(paths)
        cfg = copy.deepcopy(self.config)
        for path in paths:
            if not Path(path).is_absolute() and not Path(path).exists():
                if (Path(basedir) / path).exists():
                    path = str(Path(basedir) / path)
            try:
                overlay = yaml.safe_load(Path(path).read_text()) or {}
            except (OSError, yaml.YAMLError) as e:
                raise ConfigError(
                    f"{source}: config key control.overlay: cannot read {path}: {e}"
                ) from None
            merge_overlay(cfg, overlay)
        cfg.pop("control", None)  # this run's, or the overlay's `control: null`
        cfg.update(
            results=self.control_r,
            figures=["fig5"],
            seeds=self.control_seeds,
            sizes=self.control_sizes,
            _source=f"{source} + {' + '.join(paths)} (control)",
        )
        cfg.setdefault("rm_study", {})["figures"] = []
        return cfg


# the methods that are Snakemake input / params functions (their first argument: wildcards)
for _f in vars(Chain) | vars(Study) | vars(Jobs):
    _m = getattr(Plan, _f)
    if callable(_m) and list(inspect.signature(_m).parameters)[1:2] in (["wc"], ["wildcards"]):
        fixed_signature(_m)


def validated(config: dict, source: str = "config") -> Plan:
    """The plan of a config not yet validated (a copy is validated; defaults filled in)."""
    from ..config import validate

    cfg = copy.deepcopy(config)
    validate(cfg, source=source)
    return Plan(cfg)


_PLANS: dict[str, Plan] = {}


def of(config: dict, in_module: bool = False) -> Plan:
    """The plan of a validated config, computed once per (config, in_module)."""
    key = json.dumps([config, in_module], sort_keys=True, default=str)
    if key not in _PLANS:
        _PLANS[key] = Plan(config, in_module)
    return _PLANS[key]

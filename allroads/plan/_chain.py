"""The Figure 3 chain's files and input functions, the figures' tables, the diagnostics and
the variants (a part of allroads.plan.Plan)."""

from __future__ import annotations

from functools import cache, cached_property

from .. import figures as F
from .. import variants as V
from ._jobs import fixed_signature

TABLE_EXTS = (".csv", ".md", ".per_seed.csv", ".diffs.csv")  # a winrate / rouge figure's tables


class Chain:
    """Files, input functions and targets of the chain, its figures and its variants."""

    # ---- files
    def raw_data(self, split: str) -> str:
        """A split as the task writes it (rule data)."""
        return f"{self.R}/data/{split}.jsonl"

    def two_word_file(self, split: str) -> str:
        return f"{self.R}/data/two_word/{split}.jsonl"

    def data(self, split: str) -> str:
        """A split as the stages read it: the task's, or with ``task.two_word_recipe: judge``
        the judge-built PFT and evaluation splits."""
        from ..two_word_data import SPLITS as TWO_WORD_SPLITS

        if self.two_word_recipe == "judge" and split in TWO_WORD_SPLITS:
            return self.two_word_file(split)
        return self.raw_data(split)

    def model_dir(self, policy: str) -> str:
        """Checkpoint directory pattern of a trained model (wildcards: size, seed; the shared
        SFT: size)."""
        if policy == "sft" and not self.sft_per_seed:
            return f"{self.R}/models/{{size}}/sft"
        return f"{self.R}/models/{{size}}/seed{{seed}}/{policy}"

    @cache  # noqa: B019 (one Plan per config, kept for the run)
    def checkpoint(self, name: str, size: str, seed) -> str:
        """Checkpoint of a (variant) model name: the shared SFT, the default RM / offline DPO
        where the variant trains on the PFT pairs, else its own."""
        return self.model_dir(V.model_name(self.variants, name)).format(size=size, seed=seed)

    def model_path(self, name: str, wc) -> str:
        return self.checkpoint(name, wc.size, wc.seed)

    # ---- input functions of the chain (wildcards: size, seed and the rule's name)
    def policy_input(self, wc) -> str:
        return self.model_path(wc.policy, wc)

    def generator(self, wc) -> str:
        """Online DPO starts from, and regularizes to, the policy that generated its samples
        (rules with an ``online`` wildcard); sampling rules: the ``gen`` itself."""
        online = getattr(wc, "online", None)
        gen = V.parse(online).generator if online is not None else wc.gen
        return self.model_path(gen, wc)

    def online_pairs(self, wc) -> str:
        return self.online_file("pairs", V.parse(wc.online).generator, wc.size, wc.seed)

    def rm_input(self, wc) -> str:
        """The RM that ranks generator ``V.g``'s samples: variant V's global RM (or the default
        one); with ``online.ranker: local_rm`` the (default) local RM."""
        if self.config["online"]["ranker"] == "local_rm":
            return self.model_path("local_rm", wc)
        return self.model_path(V.parse(wc.gen).sibling("global_rm"), wc)

    def train_pairs(self, wildcard: str):
        """Input function: the preference pairs a global RM / offline DPO model (wildcard
        ``wildcard``) trains on: the PFT train pairs, or variant V's pairs (rules/variants.smk)."""

        @fixed_signature
        def get(wc):
            variant = V.parse(getattr(wc, wildcard)).variant
            if variant is None:
                return self.data("pft_train")
            return (
                f"{self.R}/pairs/{wc.size}/seed{self.pairs_seed(variant, wc.seed)}/{variant}.jsonl"
            )

        return get

    def pairs_seed(self, variant: str, seed):
        """The seed whose pairs variant V's models of ``seed`` train on: its own, or with
        ``variants.V.pairs_seed`` the one shared set (Figure 8's one gpt-4o-labelled set)."""
        return self.variants[variant].get("pairs_seed", seed)

    def offline_temperatures(self, name: str) -> tuple[float, float]:
        """(reference, policy) temperatures of offline DPO model ``name`` (``dpo``,
        ``V.dpo2x``): 1, or for a variant with ``temper_offline`` the sampling temperature of
        its pairs (the policy's too with online.temper_policy), as online DPO."""
        variant = V.parse(name).variant
        if variant is None or not self.variants[variant]["temper_offline"]:
            return 1.0, 1.0
        online = self.config["online"]
        t = online["temperature"]
        return t, (t if online["temper_policy"] else 1.0)

    def _extra_prompts(self, gen: str) -> str | None:
        """The extra prompts file of a prompt-augmentation variant's generator (Figure 7)."""
        if V.extra_prompts(self.variants, gen):
            return f"{self.R}/data/{V.parse(gen).variant}.prompts.jsonl"
        return None

    def online_prompt_files(self, wc) -> list[str]:
        """Prompts generator ``gen``'s pairs come from: the PFT train prompts, plus variant V's
        extra SFT train prompts (Figure 7)."""
        extra = self._extra_prompts(wc.gen)
        return [self.data("pft_train")] + ([extra] if extra else [])

    def sample_prompts(self, wc) -> str:
        """What ``sample_online`` samples on for ``gen``: the PFT train prompts, or only the
        extra prompts of a prompt-augmentation variant (its PFT-prompt samples are the default
        set)."""
        return self._extra_prompts(wc.gen) or self.data("pft_train")

    def online_file(
        self, kind: str, gen: str = "{gen}", size: str = "{size}", seed="{seed}", ext="jsonl"
    ) -> str:
        """An online file of generator ``gen``: ``samples`` (rule sample_online), ``pairs``,
        ``scores`` and ``pairs.stats`` (``ext`` json; rule label_online). Left out, ``gen``,
        ``size`` and ``seed`` stay wildcards: the rules' pattern."""
        return f"{self.R}/online/{size}/seed{seed}/{gen}.{kind}.{ext}"

    def online_samples(self, size: str, seed, gen: str) -> list[str]:
        """Every sample file generator ``gen``'s pairs are ranked from; the PFT-prompt set is
        the default one whenever the checkpoint is a default one (built once)."""
        default = V.pft_samples_name(self.variants, gen)
        files = [self.online_file("samples", default, size, seed)]
        if self._extra_prompts(gen):
            files.append(self.online_file("samples", gen, size, seed))
        return files

    def online_sample_files(self, wc) -> list[str]:
        return self.online_samples(wc.size, wc.seed, wc.gen)

    def eval_prompt_file(self, wc) -> str:
        """ROUGE-L policies are evaluated on the PFT validation prompts (C.4), others on the
        evaluation prompts."""
        rouge = V.metric(self.variants, wc.policy) == "rouge"
        return self.data("pft_val" if rouge else "eval_prompts")

    def variant_judge_cfg(self, wc) -> dict:
        """What the judge of variant V's pairs is built from: the config's judge section, and the
        task's labeller temperature where it has one (the labeller judge reads it from the task;
        in params, a change reruns the pairs)."""
        from ..tasks import get_task

        cfg = dict(self.config["judge"])
        temperature = get_task(self.config["task"]).label_temperature
        if temperature is not None:
            cfg["labeller"] = {"temperature": temperature}
        return cfg

    def judge_budget_input(self, wc) -> list[str]:
        """The pre-flight bill, for a job that calls the OpenAI judge (evaluation or labelling)."""
        judge = getattr(wc, "judge", None)
        if judge is None and hasattr(wc, "variant"):
            judge = self.variants[wc.variant].get("judge")
        return [self.judge_budget] if judge == "openai" else []

    @property
    def judge_budget(self) -> str:
        return f"{self.R}/judge_work/budget.json"

    def online_files(self, kind: str):
        """Input function: the online samples or pairs of every generator (size, seed)."""

        @fixed_signature
        def get(wc):
            gens = self.config["online"]["generators"]
            return [self.online_file(kind, g, wc.size, wc.seed) for g in gens]

        return get

    # ---- evaluations and the figures' tables
    def eval_file(
        self, kind: str = "samples", policy: str = "{policy}", size: str = "{size}", seed="{seed}"
    ) -> str:
        """An evaluation file of ``policy``: ``samples`` (rule sample_eval), ``rouge`` (its
        ROUGE-L scores) or ``judge-<judge>`` (its judgments). Left out, ``policy``, ``size``
        and ``seed`` stay wildcards: the rules' pattern."""
        return f"{self.R}/eval/{size}/seed{seed}/{policy}.{kind}.jsonl"

    def eval_files(self, metric: str, policies, seeds, sizes) -> list[str]:
        """Evaluation files of ``policies``: judgments by ``metric`` or ROUGE-L scores."""
        kind = "rouge" if metric == "rouge" else f"judge-{metric}"
        return [
            self.eval_file(kind, p, size, seed)
            for size in sizes
            for seed in seeds
            for p in policies
        ]

    def fig_policies(self, fig: str) -> list[str]:
        p = F.FIGURES[fig]["policies"]
        return list(self.config["eval"]["policies"] if p is None else p)

    def fig_seeds(self, fig: str) -> list[int]:
        return F.seeds(fig, self.config)

    def fig_sizes(self, fig: str) -> list[str]:
        return F.sizes(fig, self.config)

    def fig_eval_files(self, fig: str, metric: str) -> list[str]:
        """The evaluation files one figure's table reads."""
        return self.eval_files(
            metric, self.fig_policies(fig), self.fig_seeds(fig), self.fig_sizes(fig)
        )

    def fig_comparisons(self, fig: str) -> list[list[str]]:
        c = F.FIGURES[fig]["comparisons"]
        return self.config["eval"]["comparisons"] if c is None else c

    def figure_eval_files(self, wc) -> list[str]:
        return self.fig_eval_files(wc.fig, wc.metric)

    def figure_targets(self, fig: str) -> list[str]:
        """The files of one figure: per metric (judge, or rouge) its tables and plot."""
        kind, R = self.fig_kind(fig), self.R
        exts = TABLE_EXTS if kind in F.EVAL_KINDS else (".csv", ".md")
        stems = [f"{fig}.{m}" for m in F.metrics(fig, self.judges)] or [fig]
        return [
            t
            for stem in stems
            for t in [
                *(f"{R}/tables/{stem}{e}" for e in exts),
                f"{R}/figures/{stem}.pdf",
                f"{R}/figures/{stem}.png",
            ]
        ]

    def targets(self) -> list[str]:
        """What ``all`` builds of this run: its figures (the chain's first, then the
        diagnostics, then the RM study's); the control run's come from rules/control.smk."""
        eval_figs = [f for f in self.built if self.fig_kind(f) in F.EVAL_KINDS]
        rest = [f for f in self.built if f not in eval_figs]
        out = [t for f in eval_figs for t in self.figure_targets(f)]
        out += self.diagnostics_targets()
        return out + [t for f in rest for t in self.figure_targets(f)]

    # ---- diagnostics (rules/diagnostics.smk)
    @cached_property
    def offline_policies(self) -> list[str]:
        return [p for p in ("dpo", "dpo2x") if p in self.config["eval"]["policies"]]

    @cached_property
    def trained_models(self) -> list[str]:
        return ["sft", "global_rm"] + [p for p in self.config["eval"]["policies"] if p != "sft"]

    def offline_policy_dirs(self, wc) -> list[str]:
        return [self.model_path(p, wc) for p in self.offline_policies]

    def trained_dirs(self, wc) -> list[str]:
        return [self.model_path(p, wc) for p in self.trained_models]

    def eval_sample_files(self, wc) -> list[str]:
        return [
            self.eval_file("samples", p, wc.size, wc.seed) for p in self.config["eval"]["policies"]
        ]

    def diagnostics_targets(self) -> list[str]:
        out = [f"{self.R}/tables/diagnostics.csv", f"{self.R}/tables/diagnostics.md"]
        if self.variant_policies:
            out += [f"{self.R}/tables/diagnostics.variants{e}" for e in (".csv", ".md")]
        if self.prereg:
            out += [f"{self.R}/tables/prereg{e}" for e in (".csv", ".md")]
        return out

    @cached_property
    def prereg(self) -> bool:
        """Whether ``all`` evaluates the pre-registered criteria (allroads.prereg; rule
        table_prereg): on a task with r*, in the main run (which reads the control's too)."""
        from ..tasks.registry import task_class

        return task_class(self.config["task"]["kind"]).has_reward and not self.in_module

    @cached_property
    def prereg_inputs(self) -> dict[str, list[str]]:
        """Rule table_prereg's inputs: the diagnostics of every (size, seed) of this run
        (``main``) and of the control run (``control``; none without one)."""
        main = [f"{self.R}/diagnostics/{s}/seed{k}.json" for s in self.sizes for k in self.seeds]
        control = []
        if self.control:
            control = [
                f"{self.control_r}/diagnostics/{s}/seed{k}.json"
                for s in self.control_sizes
                for k in self.control_seeds
            ]
        return dict(main=main, control=control)

    @cached_property
    def chain_label(self) -> str:
        """Which figure the default chain's diagnostics table is of (Figure 3, or the control
        run's Figure 5)."""
        own = [f for f in self.built if F.FIGURES[f].get("chain_label")]
        return F.FIGURES[own[-1]]["chain_label"] if own else F.FIGURES["fig3"]["chain_label"]

    def diagnostics_inputs(self, wc) -> list[str]:
        if wc.diag == "diagnostics":
            out = [f"{self.R}/diagnostics/{s}/seed{k}.json" for s in self.sizes for k in self.seeds]
            return out + self.rm_val_targets()
        return [
            f"{self.R}/diagnostics/{s}/seed{k}.variants.json"
            for s in self.variant_sizes
            for k in self.variant_grid_seeds
        ]

    # ---- variants (rules/variants.smk): what the configured figures plot
    @cached_property
    def variant_policies(self) -> list[str]:
        """The variant policies the configured figures plot."""
        return sorted(
            {
                p
                for f in self.figures_of(*F.EVAL_KINDS)
                for p in self.fig_policies(f)
                if V.parse(p).variant is not None
            }
        )

    @cached_property
    def _variant_figs(self) -> list[str]:
        """The configured figures that plot variant policies."""
        return [
            f
            for f in self.figures_of(*F.EVAL_KINDS)
            if any(V.parse(p).variant is not None for p in self.fig_policies(f))
        ]

    @cached_property
    def variant_sizes(self) -> list[str]:
        """The sizes of the variants' diagnostics (rule diagnose_variants): their figures'."""
        return [
            s for s in self.run_sizes if any(s in self.fig_sizes(f) for f in self._variant_figs)
        ]

    @cached_property
    def variant_grid_seeds(self) -> list[int]:
        """The seeds of the variants' diagnostics: their figures'."""
        return sorted({k for f in self._variant_figs for k in self.fig_seeds(f)})

    def variant_pair_sets(self, variant: str) -> set[tuple[str, int]]:
        """The (size, seed) pair sets of ``variant`` the run builds (its diagnostics' grid
        covers its figures'); ``pairs_seed`` shares one set between the seeds."""
        return {
            (s, self.pairs_seed(variant, k))
            for s in self.variant_sizes
            for k in self.variant_grid_seeds
        }

    @cached_property
    def variant_gens(self) -> list[str]:
        """Their generators."""
        return [V.parse(p).generator for p in self.variant_policies if V.parse(p).online]

    @cached_property
    def variant_models(self) -> list[str]:
        """Their own trained models (the policies and their global RMs)."""
        names = {m for p in self.variant_policies for m in (p, V.parse(p).sibling("global_rm"))}
        return sorted(m for m in names if V.model_name(self.variants, m) == m)

    @cached_property
    def pair_variants(self) -> list[str]:
        """Variants with their own pairs that a configured figure uses."""
        used = {V.parse(p).variant for p in self.variant_policies}
        return [v for v in self.own_offline if v in used]

    @cached_property
    def _variant_own(self) -> set[str]:
        """The variants' own global RMs and offline DPO policies (plotted, or generating a
        plotted online policy's samples): held-out accuracy as the default chain's."""
        return {
            m
            for m in [*self.variant_models, *self.variant_gens]
            if V.parse(m).variant is not None and V.model_name(self.variants, m) == m
        }

    @cached_property
    def variant_rms(self) -> list[str]:
        return sorted(m for m in self._variant_own if V.parse(m).base == "global_rm")

    @cached_property
    def variant_offline(self) -> list[str]:
        return sorted(m for m in self._variant_own if V.parse(m).base in ("dpo", "dpo2x"))

    def variant_inputs(self, wc) -> dict[str, list[str]]:
        """The inputs of rule diagnose_variants of one (size, seed)."""
        return dict(
            pair_stats=[
                f"{self.R}/pairs/{wc.size}/seed{self.pairs_seed(v, wc.seed)}/{v}.stats.json"
                for v in self.pair_variants
            ],
            samples=[self.online_samples(wc.size, wc.seed, g)[0] for g in self.variant_gens],
            pairs=[self.online_file("pairs", g, wc.size, wc.seed) for g in self.variant_gens],
            models=[self.model_path(m, wc) for m in self.variant_models],
            rms=[self.model_path(m, wc) for m in self.variant_rms],
            offline=[self.model_path(m, wc) for m in self.variant_offline],
        )

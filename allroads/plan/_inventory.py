"""What a run builds, enumerated from the plan itself (a part of allroads.plan.Plan): every
output file per rule, found by walking from the figures to the checkpoints they need, with
the plan's own naming rules and no Snakemake. ``python -m allroads.plan`` prints it, and the
tests compare its counts with the job counts of Snakemake's own dry run: two independent
derivations of one DAG."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .. import figures as F
from .. import variants as V
from ._study import RM_DIRS

# the training rule of each model name's base (allroads.variants)
TRAIN_RULE = {"global_rm": "global_rm", "local_rm": "local_rm", "dpo": "offline_dpo"}
TRAIN_RULE["dpo2x"] = "offline_dpo"


class Inventory:
    """``inventory()``: {rule: {one path per job}} of this run, ``all`` included."""

    def inventory(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        R = self.R

        def model(name: str, size: str, seed) -> None:
            real = V.parse(V.model_name(self.variants, name))
            path = self.checkpoint(name, size, seed)
            if real.base == "sft":
                out["sft"].add(path)
                if not self.in_module:  # the control run starts from the main run's bases
                    out["base"].add(f"{R}/models/{size}/base")
                return
            model("sft", size, seed)
            if real.online:
                out["online_dpo"].add(path)
                online_pairs(real.generator, size, seed)
                model(real.generator, size, seed)
                return
            out[TRAIN_RULE[real.base]].add(path)
            if real.variant is not None:  # its own pairs (allroads.variants.owns_offline)
                variant_pairs(real.variant, size, self.pairs_seed(real.variant, seed))

        def variant_pairs(variant: str, size: str, seed) -> None:
            out["variant_pairs"].add(f"{R}/pairs/{size}/seed{seed}/{variant}.jsonl")
            online_samples("sft", size, seed)

        def online_samples(gen: str, size: str, seed) -> None:
            for f in self.online_samples(size, seed, gen):
                out["sample_online"].add(f)
            model(gen, size, seed)
            extra = self._extra_prompts(gen)
            if extra:
                out["extra_prompts"].add(extra)
                model(V.pft_samples_name(self.variants, gen), size, seed)

        def online_pairs(gen: str, size: str, seed) -> None:
            out["label_online"].add(self.online_file("pairs", gen, size, seed))
            online_samples(gen, size, seed)
            if self.config["online"]["ranker"] == "local_rm":
                model("local_rm", size, seed)
            else:
                model(V.parse(gen).sibling("global_rm"), size, seed)

        def evaluation(policy: str, metric: str, size: str, seed) -> None:
            out["sample_eval"].add(self.eval_file("samples", policy, size, seed))
            model(policy, size, seed)
            if metric == "rouge":
                out["score_rouge"].add(self.eval_file("rouge", policy, size, seed))
            else:
                out["judge"].add(self.eval_file(f"judge-{metric}", policy, size, seed))

        def bon(size: str, gen: str, seed) -> None:
            """A Best-of-N sample set, its scores and judgments, and the models they read."""
            rms = self.bon_rms(size, gen)
            if not rms:
                return
            d = f"{R}/bon/{size}/seed{seed}/{gen}"
            out["sample_bon"].add(f"{d}.samples.jsonl")
            out["score_bon"].add(f"{d}.scores.jsonl")
            out["judge_bon"] |= {f"{d}.judge-{j}.jsonl" for j in self.judges}
            model(gen, size, seed)
            for kind, rm_size in rms:
                for m in RM_DIRS[kind]:
                    model(m, rm_size, seed)

        out["data"].add(self.raw_data("eval_prompts"))
        for fig in self.built:
            kind = self.fig_kind(fig)
            for m in F.metrics(fig, self.judges):
                if kind in F.EVAL_KINDS:
                    out["table"].add(f"{R}/tables/{fig}.{m}.csv")
                    out["figure"].add(f"{R}/figures/{fig}.{m}.png")
                    for size in self.fig_sizes(fig):
                        for seed in self.fig_seeds(fig):
                            for p in self.fig_policies(fig):
                                evaluation(p, m, size, seed)
                else:
                    out["table_bon"].add(f"{R}/tables/{fig}.{m}.csv")
                    out["figure_rm_study"].add(f"{R}/figures/{fig}.{m}.png")
            if kind == "rm_fit":
                out["table_fig9"].add(f"{R}/tables/{fig}.csv")
                out["figure_rm_study"].add(f"{R}/figures/{fig}.png")
            if kind == "bon":
                g = self.bon_spec(fig)
                for size in g["sizes"]:
                    for gen in g["generators"]:
                        for seed in self.seeds:
                            bon(size, gen, seed)
        # the diagnostics (rules/diagnostics.smk), of every (size, seed) of the chain
        out["table_diagnostics"].add(f"{R}/tables/diagnostics.csv")
        for size in self.sizes:
            for seed in self.seeds:
                out["diagnose"].add(f"{R}/diagnostics/{size}/seed{seed}.json")
                for m in self.trained_models:
                    model(m, size, seed)
                for g in self.config["online"]["generators"]:
                    online_pairs(g, size, seed)
                for p in self.config["eval"]["policies"]:
                    out["sample_eval"].add(self.eval_file("samples", p, size, seed))
                    model(p, size, seed)
                if self.rm_val_targets():
                    out["rm_val"].add(f"{R}/rm_val/{size}/seed{seed}.json")
                    for kind in self.rm_kinds:
                        for m in RM_DIRS[kind]:
                            model(m, size, seed)
        if self.prereg:  # its inputs: the diagnostics of this run and the control's
            out["table_prereg"].add(f"{R}/tables/prereg.csv")
        if self.variant_policies:
            out["table_diagnostics"].add(f"{R}/tables/diagnostics.variants.csv")
            for size in self.variant_sizes:
                for seed in self.variant_grid_seeds:
                    out["diagnose_variants"].add(f"{R}/diagnostics/{size}/seed{seed}.variants.json")
                    for m in [*self.variant_models, *self.variant_rms, *self.variant_offline]:
                        model(m, size, seed)
                    for g in self.variant_gens:
                        online_pairs(g, size, seed)
        # the judge bill, before any call to the OpenAI judge
        if any(self.judge_plan.values()):
            out["judge_budget"].add(self.judge_budget)
        if self.two_word_recipe == "judge":
            out["two_word_data"].add(self.two_word_file("pft_train"))
        out["all"].add("all")
        if self.control:
            root = Path(__file__).resolve().parents[2]
            control = type(self)(self.control_config(str(root), "config"), in_module=True)
            for rule, paths in control.inventory().items():
                if rule != "all":
                    out[f"control_{rule}"] |= paths
        return dict(out)

    def job_counts(self) -> dict[str, int]:
        """Jobs per rule (Snakemake's names, the control run's prefixed ``control_``)."""
        return {rule: len(paths) for rule, paths in self.inventory().items()}

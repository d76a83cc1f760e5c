"""The reward-model study (Figures 4, 9 and 10) and the judge bill (a part of
allroads.plan.Plan)."""

from __future__ import annotations

from functools import cache, cached_property

from .. import figures as F
from ..config import local_rm_beta

# the checkpoint directories of each RM kind (the DPO RM's reward also reads the SFT)
RM_DIRS = {"global": ["global_rm"], "local": ["local_rm"], "dpo": ["dpo", "sft"]}


class Study:
    """Best-of-N grids, the RMs that rank each sample set, Figure 9's inputs, the judge bill."""

    # ---- the reward-model study (rules/rm_study.smk): Figures 4, 9 and 10
    def rm_beta(self, kind: str) -> float | None:
        """β that scales a log-prob RM's reward: 1/H for the local RM (Table 4), DPO's own β."""
        beta = {"local": local_rm_beta(self.config), "dpo": self.config["train"]["dpo"]["beta"]}
        return beta.get(kind)

    @cached_property
    def local_rm_hp(self) -> dict:
        """The local RM's hyperparameters: train.dpo's (Table 4), train.local_rm's over them,
        β derived (:meth:`rm_beta`)."""
        train = self.config["train"]
        return dict(train["dpo"], **train.get("local_rm", {}), beta=self.rm_beta("local"))

    def bon_spec(self, fig: str) -> dict:
        """A Best-of-N figure's grid: policy sizes, RM sizes, generators, RM kinds, Ns."""
        e, study = F.FIGURES[fig], self.config["rm_study"]
        sizes = {"sizes": self.sizes, "rm_study.sizes": self.rm_sizes}
        gens = study["bon"][e["generators"]]
        return dict(
            sizes=sizes[e["sizes"]],
            rm_sizes=sizes[e["rm_sizes"]],
            generators=gens if isinstance(gens, list) else [gens],
            kinds=self.rm_kinds if e["rm_kinds"] is None else e["rm_kinds"],
            n=self.bon_n if e["n"] == "all" else [max(self.bon_n)],
            same_size=e["same_size"],
        )

    @cache  # noqa: B019
    def bon_rms(self, size: str, gen: str) -> list[tuple[str, str]]:
        """The RMs that rank the BoN samples of (policy size, generator): [(kind, RM size)], in
        the order of the Best-of-N figures (Figure 10: every kind at the policy's size; Figure
        4: the global RM of every grid size)."""
        out = []
        for fig in self.figures_of("bon"):
            g = self.bon_spec(fig)
            if size not in g["sizes"] or gen not in g["generators"]:
                continue
            rm_sizes = [size] if g["same_size"] else g["rm_sizes"]
            out += [(k, r) for r in rm_sizes for k in g["kinds"] if (k, r) not in out]
        return out

    def bon_rm_specs(self, wc) -> list[dict]:
        """``params`` of score_bon: label, kind, checkpoint(s) and β of each RM."""
        return [
            {
                "label": f"{kind}@{rm_size}",
                "kind": kind,
                "size": rm_size,
                "dirs": [self.checkpoint(m, rm_size, wc.seed) for m in RM_DIRS[kind]],
                "beta": self.rm_beta(kind),
            }
            for kind, rm_size in self.bon_rms(wc.size, wc.gen)
        ]

    def bon_rm_inputs(self, wc) -> list[str]:
        return [d for spec in self.bon_rm_specs(wc) for d in spec["dirs"]]

    def bon_judgments(self, wc) -> list[str]:
        """table_bon's inputs: the judged picks of the figure's (size, generator) sets."""
        g = self.bon_spec(wc.fig)
        return [
            f"{self.R}/bon/{s}/seed{k}/{gen}.judge-{wc.judge}.jsonl"
            for s in g["sizes"]
            for gen in g["generators"]
            if self.bon_rms(s, gen)
            for k in self.seeds
        ]

    def bon_table_title(self, fig: str) -> str:
        return F.FIGURES[fig]["table_title"].format(n=max(self.bon_n))

    def rm_val_targets(self) -> list[str]:
        """Every RM's held-out fit per (size, seed), when the run builds a figure of the RM
        study (Figure 9 reads them, the diagnostics table adds them)."""
        if not self.figures_of("bon", "rm_fit"):
            return []
        return [f"{self.R}/rm_val/{s}/seed{k}.json" for s in self.sizes for k in self.seeds]

    # ---- the judge bill (rules/judge_budget.smk; allroads.judging.budget)
    @cached_property
    def judge_plan(self) -> dict:
        """The OpenAI judge's calls in this run, per role: evaluation (the judge figures'
        evaluations, and the BoN picks: an upper bound, every RM's pick at every N a distinct
        summary), labelling (judged pairs), generation (the two-word recipe's)."""
        evaluation = 0
        if "openai" in self.judges:
            evaluation = len(
                {
                    f
                    for fig in self.figures_of("winrate")
                    for f in self.fig_eval_files(fig, "openai")
                }
            )
            evaluation += sum(
                len(self.bon_rms(s, g)) * len(self.bon_n) * len(self.seeds)
                for s in self.run_sizes
                for g in {*self.bon_generators, self.fig4_generator}
            )
        labelling = sum(
            len(self.variant_pair_sets(v))
            for v in self.pair_variants
            if self.variants[v]["pairs"] == "judged" and self.variants[v].get("judge") == "openai"
        )
        plan = {
            "evaluation": evaluation,
            "labelling": labelling,
            "generation": 0,
        }
        if self.two_word_recipe == "judge":  # the pairs' two summaries and picks, the references
            from ..two_word_data import judge_plan

            plan = judge_plan(plan, self.config["task"]["two_word_writer"])
        return plan

"""The figures: one registry, one entry per figure (Figures 3-10).

Every entry has a ``title`` and ``caption`` (the report's; allroads.report_text adds a "This
run:" sentence per ``kind``) and a ``kind``, which says which rules build it and from what:

* ``winrate`` -- a winrate against the reference of ``policies`` (variant policy names,
  allroads.variants; ``None`` = config ``eval.policies``), one table and bar chart per judge in
  ``judge.use`` (rules/report.smk: table, figure). ``comparisons`` are the [policy, baseline]
  differences the table bootstraps (``None`` = config ``eval.comparisons``), ``labels`` the
  bars' names, ``needs`` the config variants it uses, ``seeds`` the config key of the seeds it
  runs (``seeds``: the figure's own chain; ``variant_seeds``: Figures 6-8). Config
  ``figure_scope.<fig>`` overrides the sizes and seeds a figure shows (:func:`sizes`,
  :func:`seeds`): only what a figure shows is built for it.
* ``rouge`` -- the same with ROUGE-L F1 on the PFT validation prompts (Figure 6).
* ``bon`` -- Best-of-N winrates of RM-ranked samples (rules/rm_study.smk: table_bon,
  figure_rm_study): the policy ``sizes`` and ``rm_sizes`` (config keys under ``rm_study``, or
  ``sizes``), the ``generators`` (a config key under ``rm_study.bon``), the RM ``rm_kinds``
  (``None`` = config ``rm_study.kinds``), the Ns (``n``: ``all`` or ``max``), ``same_size``
  (each policy size ranked by RMs of its own size only), the markdown table's ``table_title``
  and the figure's ``plot`` (a function of allroads.plots) and ``plot_title`` (its title in the
  file: ``{title}`` the report's, ``{t}`` the samples' temperature).
* ``rm_fit`` -- the held-out fit of every RM kind (table_fig9-style table, ``plot``).

Which figures a run builds: config ``figures`` (default [fig3]) and ``rm_study.figures``
(default [fig4, fig9, fig10]), both keys of this registry; allroads.plan turns an entry into
its targets and inputs. Adding a figure is adding an entry here (and its variant in the
config, if it needs one); a new ``kind`` of plot needs its rule and script.
"""

from __future__ import annotations

FIGURES: dict[str, dict] = {
    "fig3": {
        "title": "Figure 3: online vs. offline DPO",
        "policies": None,
        "kind": "winrate",
        "comparisons": None,
        "seeds": "seeds",
        "chain_label": "Figure 3",
        "labels": {},
        "needs": [],
        "caption": (
            "Winrate against the reference summaries of SFT, offline DPO (1 and 2 epochs) and "
            "one iteration of online DPO on 25 samples per prompt at T = 0.1 from the SFT or the "
            "DPO policy, ranked by the global RM (bars: 95% paired-bootstrap interval over "
            "prompts). The paper predicts online DPO beats offline DPO at the same number of "
            "steps: Online DPO (SFT) > DPO and Online DPO (DPO) > DPO (2x)."
        ),
    },
    "fig5": {
        "title": "Figure 5: the control task (a short horizon)",
        "policies": ["sft", "dpo", "dpo2x", "online-dpo"],
        "kind": "winrate",
        "comparisons": [["online-dpo", "dpo"], ["online-dpo", "dpo2x"], ["dpo", "sft"]],
        "seeds": "seeds",  # the control run's own chain
        "chain_label": "Figure 5 (control task)",
        "labels": {},
        "needs": [],
        "caption": (
            "The control task without a generation-verification gap (Section 3.2): a horizon "
            "so short that checking an answer needs what writing it needs (paper: two-word "
            "summaries, H = 5, with pairs, winners and references written by gpt-4o; "
            "shortest-path toy: the first hop only, H = 2 tokens; facts toy: one salient fact, "
            "the summary `<relation> <object>`, H = 3). Offline DPO (1 and 2 epochs) and one "
            "iteration of online DPO on 25 samples per prompt at T = 0.1 from the DPO policy, "
            "ranked by the control's "
            "global RM; winrate against the reference (bars: 95% paired-bootstrap interval over "
            "prompts). The paper predicts online ≈ offline here (it measures at most ~1 point)."
        ),
    },
    "fig6": {
        "title": "Figure 6: ROUGE-L F1 as the reward",
        "policies": ["rouge.sft", "rouge.dpo", "rouge.dpo2x", "rouge.online-dpo"],
        "kind": "rouge",
        "comparisons": [
            ["rouge.online-dpo", "rouge.dpo"],
            ["rouge.online-dpo", "rouge.dpo2x"],
            ["rouge.dpo2x", "rouge.dpo"],
            ["rouge.dpo", "rouge.sft"],
        ],
        "labels": {
            "rouge.sft": "SFT",
            "rouge.dpo": "DPO",
            "rouge.dpo2x": "DPO (2x)",
            "rouge.online-dpo": "Online DPO (DPO)",
        },
        "needs": ["rouge"],
        "seeds": "variant_seeds",
        "caption": (
            "ROUGE-L as the reward (Section 3.2, Appendix C.1): the SFT's 25 samples at T = 0.1 "
            "per PFT train prompt are ranked by ROUGE-L F1 against the prompt's preferred "
            "completion; top and bottom are the pairs for a global RM, DPO, DPO (2x), and online "
            "DPO on the DPO policy's samples ranked by that RM. Bars: ROUGE-L F1 (×100) at "
            "T = 0.01 against the PFT validation split's preferred completions, never seen in "
            "training. The paper predicts no gain of online over offline DPO (the gap is closed: "
            "verifying ROUGE-L needs the unobserved reference, as generating it does), and a "
            "slight gain of DPO (2x) over DPO."
        ),
    },
    "fig7": {
        "title": "Figure 7: prompt augmentation",
        "policies": ["online-sft", "augment.online-sft"],
        "kind": "winrate",
        "comparisons": [["augment.online-sft", "online-sft"]],
        "labels": {
            "online-sft": "Online DPO (SFT)",
            "augment.online-sft": "Online DPO (SFT) + SFT prompts",
        },
        "needs": ["augment"],
        "seeds": "variant_seeds",
        "caption": (
            "Prompt augmentation (Appendix A.3): Online DPO (SFT) whose on-policy prompts also "
            "include the SFT training prompts (the SFT's samples on them labelled by the same "
            "global RM: about 3x the pairs and steps), against plain Online DPO (SFT), as the "
            "authors ran it (REBEL scripts/tldr/generate_sft.sh --prompt_aug, online_dpo.sh "
            "--sft_aug). The paper sees almost no improvement, against what a "
            "computational-statistical-gap refinement of H3 predicts."
        ),
    },
    "fig8": {
        "title": "Figure 8: judge-labelled pairs of SFT samples",
        "policies": ["judged.dpo", "judged.online-sft", "judged.online-dpo"],
        "kind": "winrate",
        "comparisons": [
            ["judged.online-dpo", "judged.dpo"],
            ["judged.online-sft", "judged.dpo"],
        ],
        "labels": {
            "judged.dpo": "DPO",
            "judged.online-sft": "Online DPO (SFT)",
            "judged.online-dpo": "Online DPO (DPO)",
        },
        "needs": ["judged"],
        "seeds": "variant_seeds",
        "caption": (
            "A narrower preference set (Appendix A.4): two SFT samples at T = 0.1 per PFT train "
            "prompt, the winner picked by the judge with the evaluation prompt (toy: the "
            "noisy Bradley–Terry labeller on r*). On it: a global RM, DPO, and online DPO on "
            "the SFT's or the DPO policy's samples ranked by that RM. The paper: Online DPO "
            "(DPO) still clearly beats DPO (against H4), Online DPO (SFT) roughly matches DPO."
        ),
    },
    # Figures 9, 10 and 4: the reward-model study (rules/rm_study.smk), selected by config
    # rm_study.figures. Figure 10's RMs are scored before Figure 4's (score_bon's order).
    "fig9": {
        "title": "Figure 9: held-out fit of each reward model",
        "kind": "rm_fit",
        "plot": "rm_fit_bars",
        "caption": (
            "Bradley–Terry log-likelihood (and accuracy) of the held-out preference labels "
            "(pft_val) under the global RM, the local RM (reference-free DPO, β = 1/H) and the "
            "DPO policy's implicit reward, mean ± s.e. over seeds. The paper finds global > "
            "local > DPO: the global RM fits the labels best."
        ),
    },
    "fig10": {
        "title": "Figure 10: Best-of-N against N",
        "kind": "bon",
        "sizes": "sizes",
        "rm_sizes": "sizes",
        "generators": "generators",
        "rm_kinds": None,
        "n": "all",
        "same_size": True,
        "table_title": "Figure 10: Best-of-N winrate against the reference (RM size = policy size)",
        "plot": "bon_curves",
        "plot_title": "{title}, samples at T = {t}",
        "caption": (
            "Each RM picks its best of the first N of 25 samples per evaluation prompt (from SFT "
            "or offline DPO); the pick is judged against the reference (bars: 95% paired-"
            "bootstrap interval over prompts). The paper: Best-of-N improves with N, and the "
            "RMs rank in the order of their validation likelihood (Figure 9)."
        ),
    },
    "fig4": {
        "title": "Figure 4: global RM size against policy size",
        "kind": "bon",
        "sizes": "rm_study.sizes",
        "rm_sizes": "rm_study.sizes",
        "generators": "fig4_generator",
        "rm_kinds": ["global"],
        "n": "max",
        "same_size": False,
        "table_title": "Figure 4: Best-of-{n} winrate, global RM size x policy size",
        "plot": "rm_size_bars",
        "plot_title": "{title}, samples at T = {t}",
        "caption": (
            "Best-of-25 winrate of each policy size's SFT samples ranked by the global RM of "
            "each size. The paper: the policy's size matters more than the RM's."
        ),
    },
}

KINDS = ("winrate", "rouge", "bon", "rm_fit")
# the kinds whose tables and figures rules/report.smk builds (per judge, or rouge)
EVAL_KINDS = ("winrate", "rouge")


def of_kind(*kinds: str) -> list[str]:
    """The registry's figures of these kinds, in registry order."""
    return [f for f, e in FIGURES.items() if e["kind"] in kinds]


def of_stem(stem: str) -> str:
    """The figure of a table / plot file stem: ``fig10.oracle`` -> ``fig10``."""
    return stem.split(".")[0]


def seeds(fig: str, config: dict) -> list[int]:
    """The seeds a figure shows: config ``figure_scope.<fig>.seeds``, else its entry's
    ``seeds`` key (``seeds``, or ``variant_seeds``, whose default is every seed)."""
    scope = config.get("figure_scope", {}).get(fig, {})
    if "seeds" in scope:
        return list(scope["seeds"])
    return list(config.get(FIGURES[fig]["seeds"]) or config["seeds"])


def sizes(fig: str, config: dict) -> list[str]:
    """The model sizes a figure shows: config ``figure_scope.<fig>.sizes``, else ``sizes``
    (default: every model)."""
    scope = config.get("figure_scope", {}).get(fig, {})
    return list(scope.get("sizes") or config.get("sizes") or config["models"])


def title(fig: str, metric: str | None = None) -> str:
    """The report's title of a figure's table / plot: per judge but for ROUGE-L and Figure 9."""
    t = FIGURES[fig]["title"]
    return t if metric in (None, "rouge") else f"{t} ({metric} judge)"


def metrics(fig: str, judges: list[str]) -> list[str]:
    """The table / figure suffixes of a figure: every judge in use, ``rouge``, or none."""
    kind = FIGURES[fig]["kind"]
    return {"rouge": ["rouge"], "rm_fit": []}.get(kind, list(judges))

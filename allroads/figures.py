"""The figures: what each one plots, from which policies, with which metric, and its caption.

One entry per figure. ``policies`` are (variant) policy names (allroads.variants), or ``None``
for config ``eval.policies``; ``metric`` is ``judge`` (a winrate against the reference, one
table per judge in ``judge.use``) or ``rouge`` (ROUGE-L F1, Figure 6); ``comparisons`` are the
[policy, baseline] differences the table bootstraps; ``needs`` the config variants it uses.
Adding a figure is adding an entry here (and its variant in the config, if it needs one): the
table, figure and report rules are generic over ``{fig}``.
"""

from __future__ import annotations

FIGURES: dict[str, dict] = {
    "fig3": {
        "title": "Figure 3: online vs. offline DPO",
        "policies": None,
        "metric": "judge",
        "comparisons": [["online-sft", "dpo"], ["online-dpo", "dpo2x"], ["online-dpo", "dpo"]],
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
        "title": "Figure 5: two-word summaries (the control task)",
        "policies": ["sft", "dpo", "dpo2x", "online-dpo"],
        "metric": "judge",
        "comparisons": [["online-dpo", "dpo"], ["online-dpo", "dpo2x"], ["dpo", "sft"]],
        "labels": {},
        "needs": [],
        "caption": (
            "The control task without a generation-verification gap (Section 3.2): two-word "
            "summaries, about 1/10 of the usual horizon (toy: one salient fact, the summary "
            "`<relation> <object>`, H = 3; paper: H = 5 with pairs, winners and references "
            "written by gpt-4o). Offline DPO (1 and 2 epochs) and one iteration of online DPO "
            "on 25 samples per prompt at T = 0.1 from the DPO policy, ranked by the control's "
            "global RM; winrate against the reference (bars: 95% paired-bootstrap interval over "
            "prompts). The paper predicts online ≈ offline here (it measures at most ~1 point)."
        ),
    },
    "fig6": {
        "title": "Figure 6: ROUGE-L F1 as the reward",
        "policies": ["rouge.sft", "rouge.dpo", "rouge.dpo2x", "rouge.online-dpo"],
        "metric": "rouge",
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
        "metric": "judge",
        "comparisons": [["augment.online-sft", "online-sft"]],
        "labels": {
            "online-sft": "Online DPO (SFT)",
            "augment.online-sft": "Online DPO (SFT) + SFT prompts",
        },
        "needs": ["augment"],
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
        "metric": "judge",
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
        "caption": (
            "A narrower preference set (Appendix A.4): two SFT samples at T = 0.1 per PFT train "
            "prompt, the winner picked by the judge with the evaluation prompt (toy: the "
            "noisy Bradley–Terry labeller on r*). On it: a global RM, DPO, and online DPO on "
            "the SFT's or the DPO policy's samples ranked by that RM. The paper: Online DPO "
            "(DPO) still clearly beats DPO (against H4), Online DPO (SFT) roughly matches DPO."
        ),
    },
}


# Figures 4, 9 and 10 come from the reward-model study's own rules (rules/rm_study.smk); their
# report entries: a title and a caption each, keyed by the figure's file stem.
RM_STUDY: dict[str, dict] = {
    "fig9": {
        "title": "Figure 9: held-out fit of each reward model",
        "caption": (
            "Bradley–Terry log-likelihood (and accuracy) of the held-out preference labels "
            "(pft_val) under the global RM, the local RM (reference-free DPO, β = 1/H) and the "
            "DPO policy's implicit reward, mean ± s.e. over seeds. The paper finds global > "
            "local > DPO: the global RM fits the labels best."
        ),
    },
    "fig10": {
        "title": "Figure 10: Best-of-N against N",
        "caption": (
            "Each RM picks its best of the first N of 25 samples per evaluation prompt (from SFT "
            "or offline DPO); the pick is judged against the reference (bars: 95% paired-"
            "bootstrap interval over prompts). The paper: Best-of-N improves with N, and the "
            "RMs rank in the order of their validation likelihood (Figure 9)."
        ),
    },
    "fig4": {
        "title": "Figure 4: global RM size against policy size",
        "caption": (
            "Best-of-25 winrate of each policy size's SFT samples ranked by the global RM of "
            "each size. The paper: the policy's size matters more than the RM's."
        ),
    },
}


def rm_study_entry(name: str) -> dict:
    """Title and caption of a reward-model-study figure file stem (``fig10.oracle`` -> fig10)."""
    return RM_STUDY[name.split(".")[0]]


def seeds(fig: str, config: dict) -> list[int]:
    """The seeds a figure shows: config ``figure_scope.<fig>.seeds``, else Figure 3 (and Figure
    5, the control run's own chain) every seed, Figures 6-8 ``variant_seeds`` (default: all)."""
    scope = config.get("figure_scope", {}).get(fig, {})
    if "seeds" in scope:
        return list(scope["seeds"])
    own_chain = fig in ("fig3", "fig5")
    return list(config["seeds"] if own_chain else config.get("variant_seeds", config["seeds"]))


def sizes(fig: str, config: dict) -> list[str]:
    """The model sizes a figure shows: config ``figure_scope.<fig>.sizes``, else ``sizes``
    (default: every model)."""
    scope = config.get("figure_scope", {}).get(fig, {})
    return list(scope.get("sizes", config.get("sizes", list(config["models"]))))


def policies(fig: str, config: dict) -> list[str]:
    p = FIGURES[fig]["policies"]
    return list(config["eval"]["policies"] if p is None else p)


def comparisons(fig: str, config: dict) -> list[list[str]]:
    if fig == "fig3" and "comparisons" in config["eval"]:
        return config["eval"]["comparisons"]
    return FIGURES[fig]["comparisons"]


def metrics(fig: str, config: dict) -> list[str]:
    """The table / figure suffixes of a figure: every judge in use, or ``rouge``."""
    return ["rouge"] if FIGURES[fig]["metric"] == "rouge" else list(config["judge"]["use"])

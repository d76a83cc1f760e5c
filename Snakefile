# All Roads Lead to Likelihood: SFT -> RMs -> offline / online DPO -> judged winrates.
# Only includes and the default target; the stages live in rules/.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/base.smk"
include: "rules/sft.smk"
include: "rules/reward.smk"
include: "rules/dpo.smk"
include: "rules/online.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        fig3_targets(),

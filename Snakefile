# All Roads Lead to Likelihood: SFT -> RMs -> offline / online DPO -> judged winrates.
# Only the config, includes and the default target; the stages live in rules/.
#
# The config is config.yaml unless files are named with --configfile (or a profile's
# `configfile:`): then it is exactly those files, merged in the order given, never mixed with
# config.yaml. `--config KEY=VALUE` overrides either (rules/common.smk reads VALUE as YAML).

if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/two_word_data.smk"
include: "rules/base.smk"
include: "rules/sft.smk"
include: "rules/reward.smk"
include: "rules/dpo.smk"
include: "rules/online.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/diagnostics.smk"
include: "rules/rm_study.smk"
include: "rules/variants.smk"
include: "rules/judge_budget.smk"
include: "rules/control.smk"
include: "rules/gap.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        PLAN.targets(),
        control_targets(),

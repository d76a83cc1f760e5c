# Figure 5: the control task without a generation-verification gap (config `control`). It is
# this workflow again, as a Snakemake module with the control config (allroads.plan,
# control_config): every rule of Figure 3's chain, renamed control_*, writing under
# <results>/<control.results>/. It starts from this run's base models, as the paper's two-word
# runs start from the same Pythia checkpoints.

if CONTROL:

    module control:
        snakefile:
            "../Snakefile"
        config:
            control_config()

    use rule * from control exclude base as control_*

    use rule sft from control as control_sft with:
        input:
            init=f"{R}/models/{{size}}/base",
            train=f"{CONTROL_R}/data/sft_train.jsonl",

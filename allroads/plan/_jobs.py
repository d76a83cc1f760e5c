"""What a job requests and how a training job starts (a part of allroads.plan.Plan).

Training rules run ``shell: "{params.launch} {params.spec:q} > {log} 2>&1"`` (allroads.launch),
so ``snakemake -n -p`` prints the command every job runs: ``python -m allroads.training <spec>``,
or with N > 1 GPUs ``accelerate launch --config_file <DeepSpeed ZeRO-3> --num_processes N ...``.
"""

from __future__ import annotations

import inspect

from .. import launch


def fixed_signature(func):
    """Snakemake inspects an input / params / resources function's signature at every call
    (snakemake.common.get_function_params: ~20K calls in the paper DAG's dry run) unless the
    function carries it in ``_overwrite_params``: set once here."""
    func._overwrite_params = inspect.signature(func).parameters
    return func


class Jobs:
    """Per-rule resources from config ``resources`` and the training rules' params."""

    def res(self, rule_name: str, key: str, default):
        """A resource read from config ``resources.<rule>.<size|default>.<key>`` (paper-scale
        profiles), as a function of the wildcards."""
        table = self.config["resources"].get(rule_name, {})

        @fixed_signature
        def get(wildcards):
            size = getattr(wildcards, "size", None)
            for k in (size, "default"):
                if k in table and key in table[k]:
                    return table[k][key]
            return default

        return get

    def job_resources(self, rule_name: str, gpu: bool = True) -> dict:
        """``resources:`` of a compute rule, per model size from config
        ``resources.<rule_name>``: memory, runtime, CPUs and (for GPU rules) GPUs. Defaults fit
        the toy task on a laptop."""
        out = dict(
            mem_mb=self.res(rule_name, "mem_mb", 4000),
            runtime=self.res(rule_name, "runtime", 60),
            cpus_per_task=self.res(rule_name, "cpus_per_task", 1),
        )
        if gpu:
            out["gpu"] = self.res(rule_name, "gpu", 0)
        return out

    def launch_cmd(self, wildcards, resources) -> str:
        """How a training job starts: one process per GPU of the job (resources.gpu)."""
        return launch.launcher_str(
            launch.num_processes(resources.gpu),
            self.precision,
            accelerate_config=self.config["accelerate_config"],
        )

    def train_params(self, stage: str, **fields) -> dict:
        """``params`` of a training rule: ``spec``, the JSON argument of ``python -m
        allroads.training`` (inputs ``init``, ``train``, maybe ``ref``; a callable field is
        called with the wildcards), and ``settings``, the same without any path. Snakemake
        ignores params computed from input or output files when deciding what to rerun, so
        ``settings`` is what makes a changed hyperparameter rerun the job. The GPU count is
        read from config like the resources are."""
        gpus = self.res(stage, "gpu", 0)
        precision = self.precision

        def resolved(wildcards):
            f = {k: v(wildcards) if callable(v) else v for k, v in fields.items()}
            if "seed" not in f:  # the shared SFT has its own
                f["seed"] = int(wildcards.seed)
            nprocs = launch.num_processes(gpus(wildcards))
            return dict(stage=stage, precision=precision, nprocs=nprocs, **f)

        @fixed_signature
        def settings(wildcards):
            f = resolved(wildcards)
            f.pop("ref", None)  # a path, like init and train
            return launch.spec_json(**f)

        @fixed_signature
        def spec(wildcards, input, output):
            return launch.spec_json(
                init=input.init, train=input.train, out=output[0], **resolved(wildcards)
            )

        return {"spec": spec, "settings": settings}

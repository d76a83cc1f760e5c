"""How a training job is started: one process, or ``accelerate launch`` over the job's GPUs.

Every training rule runs the same entry point, ``python -m allroads.training '<spec JSON>'``.
A job with N > 1 GPUs starts it through ``accelerate launch --num_processes N`` with DeepSpeed
ZeRO-3 (``config/accelerate/deepspeed_zero3.yaml``); a job with 0 or 1 GPU runs it directly.
The rules put the command in ``shell:``, so ``snakemake -n -p`` prints what each job runs.

Standard library only: the Snakefile imports this module, and the paper DAG's dry run must not
pay for importing torch.
"""

from __future__ import annotations

import json
import shlex

ACCELERATE_CONFIG = "config/accelerate/deepspeed_zero3.yaml"
ENTRY = ["-m", "allroads.training"]


def num_processes(gpus) -> int:
    """One training process per GPU of the job; one process on CPU."""
    return max(1, int(gpus or 0))


def launcher(
    nprocs: int,
    precision: str,
    accelerate_config: str | None = ACCELERATE_CONFIG,
    cpu: bool = False,
    port: int | None = None,
    python: str = "python",
) -> list[str]:
    """The command that starts the training entry point in ``nprocs`` processes.

    GPUs: ``accelerate launch`` with the DeepSpeed ZeRO-3 config (accelerate starts the
    processes through torch's elastic launcher). ``cpu=True`` (tests): ``torchrun`` itself,
    since accelerate has no multi-process CPU launcher without MPI; the processes join a gloo
    process group and run the same entry point with the same WORLD_SIZE / RANK protocol.
    """
    if nprocs == 1 and not cpu:
        return [python, *ENTRY]
    if cpu:
        cmd = [f"{python}", "-m", "torch.distributed.run", "--nnodes", "1"]
        cmd += ["--nproc_per_node", str(nprocs), "--master_port", str(port or 29500)]
        return [*cmd, *ENTRY]
    cmd = ["accelerate", "launch"]
    if accelerate_config:
        cmd += ["--config_file", accelerate_config]
    cmd += [
        "--num_processes", str(nprocs),
        "--num_machines", "1",
        "--mixed_precision", "bf16" if precision == "bf16" else "no",
    ]  # fmt: skip
    if port:
        cmd += ["--main_process_port", str(port)]
    return [*cmd, *ENTRY]


def launcher_str(nprocs: int, precision: str, **kw) -> str:
    return shlex.join(launcher(nprocs, precision, **kw))


def spec_json(**spec) -> str:
    """The entry point's one argument (see allroads.training.main)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))

"""Multi-process training: the global batch of Tables 2-3 at every size and GPU count, the
launch command multi-GPU jobs get, and a real 2-process run (torch.distributed over gloo on
CPU) of the same entry point the rules run, against a 1-process run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from allroads import launch, training
from allroads.config import ConfigError, stage_defaults

ROOT = Path(__file__).resolve().parent.parent
PAPER = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
# global batch sizes, typed in from the paper: Table 2 (global RM) 64, Table 3 (DPO) 128;
# SFT (not in the paper's tables) 128, the recipe it builds on (Huang et al. 2024)
# Table 2 (SFT and global RM: 64; the authors' SFT: 2 x 4 accumulation x 8 GPUs), Table 3
GLOBAL_BATCH = {"sft": 64, "global_rm": 64, "dpo": 128}


@pytest.mark.parametrize("stage", sorted(GLOBAL_BATCH))
@pytest.mark.parametrize("size", sorted(PAPER["models"]))
def test_paper_global_batch_at_every_size(stage, size, monkeypatch):
    hp = {**stage_defaults(stage), **PAPER["train"][stage]}
    nprocs = launch.num_processes(PAPER["resources"][stage][size].get("gpu", 0))
    monkeypatch.setenv("WORLD_SIZE", str(nprocs))  # what the launcher sets in every process
    kw = training.trainer_kwargs(hp, "/tmp/x", 0, PAPER["precision"], f"train.{stage}")
    per_device, accum = kw["per_device_train_batch_size"], kw["gradient_accumulation_steps"]
    assert per_device * accum * nprocs == GLOBAL_BATCH[stage]
    assert per_device <= hp["micro_batch_size"]
    assert kw["bf16"] is True  # bf16 autocast; the weights themselves stay fp32


def test_6_9b_trains_on_8_processes_with_deepspeed():
    nprocs = launch.num_processes(PAPER["resources"]["dpo"]["pythia-6.9b"]["gpu"])
    cmd = launch.launcher(nprocs, "bf16")
    assert cmd[:2] == ["accelerate", "launch"] and cmd[-2:] == ["-m", "allroads.training"]
    # accelerate's own parser reads the command as 8 processes, one machine, bf16, our config
    from accelerate.commands.launch import launch_command_parser

    args = launch_command_parser().parse_args([*cmd[2:], "{}"])
    assert (args.num_processes, args.num_machines, args.mixed_precision) == (8, 1, "bf16")
    assert args.module and args.training_script == "allroads.training"
    # ... and the config file it names is a DeepSpeed ZeRO-3 config accelerate can load
    from accelerate.commands.config.config_args import load_config_from_file

    acc = load_config_from_file(str(ROOT / args.config_file))
    assert acc.distributed_type.value == "DEEPSPEED"
    ds = json.loads((ROOT / acc.deepspeed_config["deepspeed_config_file"]).read_text())
    assert ds["zero_optimization"]["stage"] == 3
    # batch, accumulation and bf16 are left to the Trainer, i.e. to batch_layout / precision
    assert ds["train_micro_batch_size_per_gpu"] == ds["gradient_accumulation_steps"] == "auto"
    assert ds["bf16"]["enabled"] == "auto"
    # one GPU: no launcher, the entry point itself
    assert launch.launcher(1, "bf16") == ["python", "-m", "allroads.training"]


def test_indivisible_global_batch_names_the_key():
    with pytest.raises(ConfigError, match=r"key train\.dpo\.batch_size: 128 .* 3 processes"):
        training.batch_layout({"batch_size": 128}, 3, "train.dpo")


ROWS = [
    {"prompt": f"SUBREDDIT: r/toy\n\nTITLE: about {n}\n\nPOST: {n} likes {o} .\n\nTL;DR:",
     "chosen": f" {n} likes {o}", "rejected": f" {o} {o}"}
    for n in ("bob", "zoe", "ivan", "ana") for o in ("cats", "boats", "maps", "pens")
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(tmp: Path, model_dir: str, nprocs: int) -> tuple[dict, dict]:
    spec = dict(
        stage="dpo", init=model_dir, ref=model_dir, train=str(tmp / "pairs.jsonl"),
        out=str(tmp / f"out{nprocs}"), seed=0, precision="fp32", nprocs=nprocs, threads=1,
        hp={**stage_defaults("dpo"), "epochs": 1, "batch_size": 8, "micro_batch_size": 2, "lr": 1e-3, "beta": 0.1},
        ref_temperature=0.1, policy_temperature=0.1,
    )  # fmt: skip
    cmd = launch.launcher(nprocs, "fp32", cpu=nprocs > 1, port=free_port(), python=sys.executable)
    p = subprocess.run(
        [*cmd, launch.spec_json(**spec)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = Path(spec["out"])
    return json.loads((out / "train_metrics.json").read_text()), load_file(
        out / "model.safetensors"
    )


def test_two_processes_train_like_one(tiny_model_dir, tmp_path):
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    m1, w1 = train(tmp_path, tiny_model_dir, 1)
    m2, w2 = train(tmp_path, tiny_model_dir, 2)
    # the same global batch (8 pairs) in both layouts: 2 x 4 accumulation x 1, 2 x 2 x 2
    assert (m1["num_processes"], m2["num_processes"]) == (1, 2)
    assert (m1["per_device_batch"], m1["grad_accum"]) == (2, 4)
    assert (m2["per_device_batch"], m2["grad_accum"]) == (2, 2)
    assert m1["global_batch"] == m2["global_batch"] == 8
    assert m1["global_step"] == m2["global_step"] == len(ROWS) // 8
    # the same optimizer steps on the same batches: the weights agree to float rounding
    # (tolerance 1e-6, against updates of ~1e-3 per step)
    init = load_file(Path(tiny_model_dir) / "model.safetensors")
    moved = max((w1[k] - init[k]).abs().max().item() for k in w1)
    diff = max((w1[k] - w2[k]).abs().max().item() for k in w1)
    print(f"largest weight change {moved:.3g}, 1- vs 2-process difference {diff:.3g}")
    assert w1.keys() == w2.keys()
    assert moved > 1e-3, moved
    assert diff < 1e-6, diff


def test_one_process_seeing_several_gpus_is_refused(tiny_model_dir, tmp_path):
    """A 1-process job on a multi-GPU node would train under DataParallel (batch x GPUs)."""
    trainer, tok = training.make_dpo_trainer(
        tiny_model_dir, ROWS[:8], {**stage_defaults("dpo"), "epochs": 1, "batch_size": 8, "lr": 1e-3, "beta": 0.1}, 0,
        "fp32", str(tmp_path), ref_dir=None,
    )  # fmt: skip
    trainer.args._n_gpu = 4  # what TrainingArguments reports with 4 visible GPUs
    with pytest.raises(RuntimeError, match="sees 4 GPUs"):
        training._finish(trainer, tok, str(tmp_path))


def test_failed_or_mislaunched_job_leaves_no_output(tiny_model_dir, tmp_path):
    spec = dict(
        stage="dpo", init=tiny_model_dir, train=str(tmp_path / "missing.jsonl"),
        out=str(tmp_path / "out"), seed=0, precision="fp32", nprocs=1, hp={},
    )  # fmt: skip
    with pytest.raises(FileNotFoundError):
        training.main([launch.spec_json(**spec)])
    with pytest.raises(RuntimeError, match="1 processes started; the job asked for 2"):
        training.main([launch.spec_json(**dict(spec, nprocs=2))])
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temp left

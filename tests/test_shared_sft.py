"""Section 3: every policy and RM starts "from the same SFT checkpoint". By default one SFT per
size is shared by every seed; `sft_per_seed: true` trains one per seed. (Dry runs of the toy
DAG; the paper DAG is counted in test_paper_dag.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
DEFAULT_SIZE = DEFAULT["sizes"][0]  # the test dry-runs the default sizes (one)


def dry_run(tmp: Path, **overrides) -> str:
    cfg = dict(DEFAULT, results=str(tmp / "r"), seeds=[0, 1, 2], **overrides)
    (tmp / "c.yaml").write_text(yaml.safe_dump(cfg))
    p = subprocess.run(
        [str(SNAKEMAKE), "-n", "--configfile", str(tmp / "c.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


def jobs(out: str, rule: str) -> list[dict[str, str]]:
    """The `input:` / `output:` lines of every dry-run block of ``rule``."""
    found = []
    for block in re.split(r"\n(?=rule \w+:\n)", out):
        if block.startswith(f"rule {rule}:\n"):
            found.append(dict(re.findall(r"^    (input|output): (.*)$", block, re.M)))
    return found


@pytest.mark.parametrize("per_seed", [False, True])
def test_sft_checkpoints_per_size_or_per_seed(tmp_path, per_seed):
    # Figure 4's grid would add a second size: keep the one default size here
    study = dict(DEFAULT["rm_study"], sizes=[DEFAULT_SIZE])
    out = dry_run(tmp_path, sft_per_seed=per_seed, rm_study=study)
    r = tmp_path / "r" / "models" / DEFAULT_SIZE
    seeds = (0, 1, 2)
    sft = {k: str(r / "sft") if not per_seed else str(r / f"seed{k}" / "sft") for k in seeds}
    assert sorted(j["output"] for j in jobs(out, "sft")) == sorted(set(sft.values()))
    # every seed's RMs and offline DPO start from its SFT checkpoint: shared, the same one
    for rule in ("global_rm", "offline_dpo", "local_rm"):
        for j in jobs(out, rule):
            seed = int(re.search(r"/seed(\d+)/", j["output"]).group(1))
            assert j["input"].split(", ")[0] == sft[seed], (rule, j)
    # seeds still vary the RM (the default chain's; the variants' RMs start from the same SFT)
    assert sum(j["output"].endswith("/global_rm") for j in jobs(out, "global_rm")) == len(seeds)

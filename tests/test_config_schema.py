"""Config validation: bad configs fail before any job, naming the key."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from allroads.config import ConfigError, validate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def test_default_config_is_valid():
    validate(copy.deepcopy(DEFAULT))


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["train"]["dpo"].update(betta=0.1), "train.dpo.betta: unknown key"),
        (lambda c: c.update(seeds="0"), "key seeds:"),
        (lambda c: c["train"]["dpo"].update(lr="fast"), "key train.dpo.lr:"),
        (lambda c: c["eval"].pop("temperature"), "key eval: 'temperature' is a required property"),
        (lambda c: c["sampler"].update(backend="tgi"), "key sampler.backend:"),
        (lambda c: c["judge"].update(use=["gpt5"]), "key judge.use.0:"),
        (lambda c: c["eval"].update(policies=["online-dpo2x"]), "online-dpo2x"),
    ],
)
def test_bad_config_names_the_key(mutate, key):
    cfg = copy.deepcopy(DEFAULT)
    mutate(cfg)
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    assert key in str(e.value)


def test_snakemake_refuses_bad_config_before_any_job(tmp_path):
    bad = copy.deepcopy(DEFAULT)
    bad["train"]["dpo"]["learning_rate"] = 1e-4
    bad["results"] = str(tmp_path / "results")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(tmp_path / "bad.yaml")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert p.returncode != 0
    assert "train.dpo.learning_rate: unknown key" in p.stdout + p.stderr
    assert not (tmp_path / "results").exists()

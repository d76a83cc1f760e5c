"""Config selection and validation: bad configs fail before any job, naming the file (or
--config) and the key; --configfile replaces config.yaml; --config values are YAML."""

import copy
import re
import subprocess
import sys
from pathlib import Path

import configs
import pytest
import yaml

from allroads.config import ConfigError, apply_cli_config, parse_cli_config, validate
from allroads.tasks import TASKS, task_class

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def test_default_config_is_valid():
    validate(copy.deepcopy(DEFAULT))


@pytest.mark.parametrize(
    "overlays, kind",
    [
        ((), "paths"),
        ((configs.PATHS_CONTROL,), "paths"),
        ((configs.FACTS,), "toy"),
        ((configs.FACTS, configs.FACTS_CONTROL), "toy"),
    ],
)
def test_each_shipped_config_holds_only_its_own_tasks_options(overlays, kind):
    """An overlay that switches the task (config/toy-facts.yaml over config.yaml) cannot remove
    the default task's options; validation drops them, so they change no job's params."""
    cfg = configs.load(*overlays)
    validate(cfg)
    assert cfg["task"]["kind"] == kind
    own = task_class(kind).options_key
    others = {t.options_key for t in TASKS.values()} - {own, None}
    assert own in cfg["task"] and not others & set(cfg["task"])


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
        (lambda c: c["rm_study"].update(sizes=["toy-xl"]), "key rm_study.sizes: 'toy-xl'"),
        (lambda c: c["rm_study"]["bon"].update(temperature="hot"), "rm_study.bon.temperature"),
        (lambda c: c["rm_study"].update(kinds=["oracle"]), "key rm_study.kinds.0:"),
        (lambda c: c["online"].update(ranker="human"), "key online.ranker:"),
        (
            lambda c: c["variants"]["augment"].update(temper_offline=True),
            "key variants.augment.temper_offline: the PFT pairs are not samples",
        ),
        (lambda c: c["train"].update(local_rm={"beta": 0.1}), "train.local_rm.beta: unknown key"),
        (
            lambda c: c.update(figure_scope={"fig7": {"sizes": ["toy-xl"]}}),
            "key figure_scope.fig7.sizes: 'toy-xl' is not a key of models",
        ),
        (
            lambda c: c["variants"]["judged"].update(pairs_seed=7),
            "key variants.judged.pairs_seed: 7 is not a seed of fig8",
        ),
        (
            lambda c: (c["online"].update(ranker="labeller"), c["task"].update(kind="tldr")),
            "online.ranker: the labeller ranker needs a task with a hidden reward r*",
        ),
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


def dry_run(*args: str) -> tuple[int, str]:
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", *args], cwd=ROOT, capture_output=True, text=True
    )
    return p.returncode, p.stdout + p.stderr


def test_cli_values_are_read_as_yaml():
    assert parse_cli_config(["seeds=[0,1]", "precision=bf16", "results='out dir'"]) == {
        "seeds": [0, 1],
        "precision": "bf16",
        "results": "out dir",
    }
    assert parse_cli_config(["task={kind: toy, max_new_tokens: -5}"]) == {
        "task": {"kind": "toy", "max_new_tokens": -5}
    }
    with pytest.raises(ConfigError, match=r"--config task: not valid YAML"):
        parse_cli_config(["task={kind: toy"])


def test_config_override_from_the_command_line(tmp_path):
    """`--config seeds=[0,1]` overrides the seeds (Snakemake alone passes ["0", "1"]); a
    mapping merges into the key's (the control run's seeds, its other keys kept)."""
    rc, out = dry_run("--config", "seeds=[0,1]", "control={seeds: [0, 1]}", f"results={tmp_path}/r")
    assert rc == 0, out[-2000:]
    assert set(re.findall(r"\bseed=(\d+)", out)) == {"0", "1"}, out[-2000:]
    # a bad value is named by its real problem, and as coming from the command line
    rc, out = dry_run("--config", "task={kind: toy, max_new_tokens: -5}", f"results={tmp_path}/r")
    assert rc != 0
    assert "--config: key task.max_new_tokens: -5 is less than the minimum of 1" in out, out
    assert "Traceback" not in out and 'File "' not in out, out


def test_configfile_replaces_config_yaml(tmp_path):
    """A config file given on the command line is the whole config: nothing of config.yaml is
    mixed in (a partial file is refused, naming the file and the missing keys)."""
    (tmp_path / "partial.yaml").write_text(yaml.safe_dump({"seeds": [0]}))
    rc, out = dry_run("--configfile", str(tmp_path / "partial.yaml"))
    assert rc != 0
    assert f"{tmp_path / 'partial.yaml'}: key <top level>: 'results' is a required property" in out
    # the paper config without its profile: the paper's models only, none of the toy ones
    rc, out = dry_run("--configfile", "config/paper.yaml", "--config", f"results={tmp_path}/p")
    assert rc == 0, out[-2000:]
    sizes = set(re.findall(r"wildcards: size=([\w.-]+)", out))
    assert sizes == {"pythia-1.4b", "pythia-2.8b", "pythia-6.9b"}, sizes
    assert not (tmp_path / "p").exists()


def test_no_between_workflow_cache_warnings_without_cache(tmp_path):
    rc, out = dry_run("--config", f"results={tmp_path}/r")
    assert rc == 0, out[-2000:]
    assert "eligible for caching" not in out


def test_errors_name_where_the_value_came_from():
    cfg = copy.deepcopy(DEFAULT)
    cfg["train"]["sft"]["lr"] = "fast"  # in the file
    cli = apply_cli_config(cfg, ["train={dpo: {beta: -1}}"])  # on the command line
    with pytest.raises(ConfigError) as e:
        validate(cfg, source="my.yaml", cli=cli)
    assert "my.yaml: key train.sft.lr: 'fast' is not of type 'number'" in str(e.value)
    assert "--config: key train.dpo.beta: -1 is less than or equal to the minimum of 0" in str(
        e.value
    )


@pytest.mark.parametrize(
    "stage, key",
    [("sft", "beta"), ("global_rm", "ref_batch_size"), ("global_rm", "completion_only_loss")],
)
def test_a_key_a_stage_does_not_read_is_rejected_by_name(stage, key):
    """One schema per training stage: a key another stage reads is not silently ignored here."""
    cfg = copy.deepcopy(DEFAULT)
    cfg["train"][stage][key] = 1
    with pytest.raises(ConfigError, match=re.escape(f"key train.{stage}.{key}: unknown key")):
        validate(cfg, source="config.yaml")


def test_validation_fills_each_stage_default_from_the_schema_only():
    """The schema's `default:` is the one home of a default: validate fills the absent keys,
    per stage (SFT's completion_only_loss, not DPO's), and never overrides a set one."""
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    cfg = copy.deepcopy(DEFAULT)
    cfg["train"]["dpo"]["weight_decay"] = 0.01
    cfg_set = copy.deepcopy(cfg["train"])
    validate(cfg)
    common = schema["$defs"]["hparams"]["properties"]
    for stage in ("sft", "global_rm", "dpo"):
        for key, sub in common.items():
            if "default" in sub and key not in cfg_set[stage]:
                assert cfg["train"][stage][key] == sub["default"], (stage, key)
    assert cfg["train"]["dpo"]["weight_decay"] == 0.01
    sft_only = schema["$defs"]["sft_hparams"]["properties"]["completion_only_loss"]["default"]
    assert cfg["train"]["sft"]["completion_only_loss"] == sft_only
    assert "completion_only_loss" not in cfg["train"]["dpo"]

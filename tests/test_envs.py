"""Rule environments: each GPU rule runs in an environment that resolves (.ci/check-envs.sh,
against the registry) and holds what its script imports; vLLM sampling gets its own.

The script's imports are read statically: its module-level imports and those of every
`allroads` module they pull in (imports inside functions are lazy: a rule that reaches one
needs it at run time only on that path, e.g. vllm inside VLLMSampler)."""

import ast
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# import name -> distribution, for the packages an environment may lack
HEAVY = {"torch": "torch", "transformers": "transformers", "trl": "trl", "datasets": "datasets",
         "accelerate": "accelerate", "vllm": "vllm", "deepspeed": "deepspeed"}  # fmt: skip


def env_distributions(env_file: Path) -> set[str]:
    """Distributions an env file installs: its pip lines, the project's extras expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = set()
    for dep in yaml.safe_load(env_file.read_text())["dependencies"]:
        for req in dep.get("pip", []) if isinstance(dep, dict) else []:
            m = re.match(r"-e \.\.(?:\[([\w,]+)\])?$", req)
            reqs = [req]
            if m:
                reqs = list(project["dependencies"])
                for extra in (m.group(1) or "").split(","):
                    reqs += project["optional-dependencies"].get(extra, []) if extra else []
            out |= {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in reqs}
    return out


def _module_imports(path: Path) -> set[str]:
    names = set()

    def visit(nodes):
        for n in nodes:
            if isinstance(n, ast.Import):
                names.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom):
                if n.level:  # relative: resolve against the file's package
                    pkg = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
                    pkg = pkg[: len(pkg) - (n.level - 1)]
                    base = ".".join(pkg + ([n.module] if n.module else []))
                else:
                    base = n.module
                names.add(base)
                names.update(f"{base}.{a.name}" for a in n.names)
            elif isinstance(n, ast.If | ast.Try | ast.With):
                visit(n.body)
                visit(getattr(n, "orelse", []))
                visit(getattr(n, "finalbody", []))
                for h in getattr(n, "handlers", []):
                    visit(h.body)

    visit(ast.parse(path.read_text()).body)
    return names


def third_party_imports(script: Path) -> set[str]:
    """Top-level packages importing `script` needs, through the allroads modules it imports."""
    seen, todo, out = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _module_imports(path):
            parts = name.split(".")
            if parts[0] != "allroads":
                out.add(parts[0])
                continue
            for k in range(len(parts), 0, -1):
                f = ROOT.joinpath(*parts[:k])
                if f.with_suffix(".py").exists():
                    todo.append(f.with_suffix(".py"))
                    break
                if (f / "__init__.py").exists():
                    todo.append(f / "__init__.py")
                    break
    return out


def _workflow(configfiles: list[str]):
    """The parsed workflow (Snakemake's API: no jobs run, no conda needed)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[ROOT / f for f in configfiles]),
            snakefile=ROOT / "Snakefile",
            workdir=ROOT,
        )
        return wf._workflow  # the API has no public rule listing


def workflow_rules(configfile: str):
    return list(_workflow([configfile]).rules)


def workflow_globals(configfiles: list[str]) -> dict:
    return _workflow(configfiles).globals


@pytest.fixture(scope="module")
def paper_rules():
    return workflow_rules("config/paper.yaml")


def test_vllm_sampling_runs_in_its_own_environment(paper_rules):
    """Paper scale samples with vLLM, whose torch / transformers pins conflict with the training
    stack's: the sampling rules get envs/vllm.yaml, training and scoring envs/train.yaml."""
    env = {r.name: Path(str(r.conda_env)).name for r in paper_rules if r.conda_env}
    for rule in ("sample_online", "sample_eval", "sample_bon"):
        assert env[rule] == "vllm.yaml", rule
    for rule in ("sft", "global_rm", "offline_dpo", "online_dpo", "label_online", "score_bon"):
        assert env[rule] == "train.yaml", rule
    vllm_env = env_distributions(ROOT / "envs" / "vllm.yaml")
    assert "vllm" in vllm_env
    assert not vllm_env & {"torch", "trl", "accelerate"}  # torch: vLLM's own pin, no train stack
    assert "deepspeed" in env_distributions(ROOT / "envs" / "train.yaml")


def test_the_toy_default_samples_in_the_training_environment():
    rules = workflow_rules("config.yaml")
    env = {r.name: Path(str(r.conda_env)).name for r in rules if r.conda_env}
    assert env["sample_online"] == "train.yaml"


def test_every_rule_environment_holds_what_its_script_imports(paper_rules):
    """A script whose imports need torch (or TRL, datasets, ...) runs in an environment that
    installs it: the judge and report envs have no model stack, the vLLM env no TRL."""
    checked = 0
    for rule in paper_rules:
        if not rule.conda_env or not rule.script:
            continue
        script = (ROOT / "rules" / rule.script).resolve()
        needs = {HEAVY[m] for m in third_party_imports(script) if m in HEAVY}
        has = env_distributions((ROOT / "rules" / str(rule.conda_env)).resolve())
        has |= {"torch", "transformers"} if "vllm" in has else set()  # vLLM's own pins
        assert needs <= has, f"rule {rule.name}: {script.name} imports {needs - has}"
        checked += 1
    assert checked >= 15


def test_the_slurm_profile_deploys_the_rule_environments():
    prof = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.v8+.yaml").read_text())
    assert prof["software-deployment-method"] == ["conda"]

"""Config selection, command-line overrides and validation against
schemas/config.schema.yaml, with errors that name the key and where it came from."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from .tasks import task_class
from .variants import parse as parse_name

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


class ConfigError(ValueError):
    pass


# libyaml's loader where PyYAML has it (the workflow validates at every parse: main run and
# the control module)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _load_schema(path: Path) -> dict:
    """The schema (read once per process; callers must not change it)."""
    schema = yaml.load(path.read_text(), Loader=_Loader)
    # the OpenAI judge's own fragment, kept next to its code's owner
    fragment = path.parent / "judge_openai.schema.yaml"
    if fragment.exists():
        openai = yaml.load(fragment.read_text(), Loader=_Loader)
        schema["properties"]["judge"]["properties"]["openai"] = openai
    return schema


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def merge_overlay(base: dict, overlay: dict) -> None:
    """Recursive in-place merge, as Snakemake merges config files (lists are replaced)."""
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge_overlay(base[k], v)
        else:
            base[k] = v


def parse_cli_config(entries: Iterable[str] | None) -> dict[str, Any]:
    """``--config KEY=VALUE ...`` with each VALUE read as YAML, as in a config file.

    Snakemake reads the values inside a list or a mapping as strings (``seeds=[0,1]`` gives
    ``["0", "1"]``), so such overrides would fail validation on the type instead of the
    real problem. Quotes around a whole VALUE are stripped first, as Snakemake does.
    """
    import yaml

    out: dict[str, Any] = {}
    for entry in entries or ():
        key, sep, text = str(entry).partition("=")
        if not sep:
            continue  # Snakemake has already refused it
        text = text.strip("'\"")
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise ConfigError(f"--config {key}: not valid YAML ({problem}): {text!r}") from None
        merge_overlay(out, {key: value})
    return out


def apply_cli_config(config: dict[str, Any], entries: Iterable[str] | None) -> dict[str, Any]:
    """Merge the YAML-parsed ``--config`` entries into ``config`` (in place, over Snakemake's
    string-valued version of them); return them (for :func:`validate`'s ``cli``)."""
    overrides = parse_cli_config(entries)
    merge_overlay(config, overrides)
    return overrides


def _set_by(overrides: dict[str, Any], path: Sequence) -> bool:
    """Whether the value at ``path`` was set by ``overrides`` (itself or an enclosing list)."""
    node: Any = overrides
    for p in path:
        if not isinstance(node, dict):
            return True  # inside a list (or scalar) given whole on the command line
        if str(p) not in node:
            return False
        node = node[str(p)]
    return not isinstance(node, dict)  # a mapping merges: its other keys came from the file


def config_source(configfiles: Sequence[str | os.PathLike], default: str = "config.yaml") -> str:
    """How error messages name the config: the ``--configfile`` file(s), else ``default``."""
    if not configfiles:
        return default
    names = []
    for f in configfiles:
        rel = os.path.relpath(f)
        names.append(str(f) if rel.startswith("..") else rel)
    return " + ".join(names)


def validate(
    config: dict[str, Any],
    schema_path: str | Path | None = None,
    source: str = "config",
    cli: dict[str, Any] | None = None,
) -> None:
    """Raise ConfigError listing every problem as ``<source>: key a.b.c: message``, where
    ``<source>`` is ``--config`` for a value set on the command line (``cli``, as returned by
    :func:`apply_cli_config`)."""
    import jsonschema

    def where(path) -> str:
        return "--config" if cli and _set_by(cli, list(path)) else source

    schema = _load_schema(Path(schema_path) if schema_path else SCHEMA_DIR / "config.schema.yaml")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        fill_defaults(config, schema)
        _drop_other_tasks_options(config)
        _check_semantics(config, lambda key: where(key.split(".")))
        return
    lines = []
    for e in errors:
        if e.validator in ("additionalProperties", "unevaluatedProperties"):
            extra = sorted(set(e.instance) - _declared(e.schema, schema))
            for k in extra:
                path = [*e.absolute_path, k]
                lines.append(f"{where(path)}: key {_key(path)}: unknown key")
        else:
            lines.append(f"{where(e.absolute_path)}: key {_key(e.absolute_path)}: {e.message}")
    raise ConfigError("invalid config\n  " + "\n  ".join(lines))


def _drop_other_tasks_options(config: dict[str, Any]) -> None:
    """Remove ``task.<options_key>`` of every task but ``task.kind``'s: an overlay that switches
    the task (config/toy-facts.yaml over config.yaml) cannot remove the base's options, as config
    files merge key by key, and an inactive task's options must not change the run's jobs."""
    from .tasks import TASKS

    active = task_class(config["task"]["kind"]).options_key
    for task in TASKS.values():
        if task.options_key not in (None, active):
            config["task"].pop(task.options_key, None)


def _declared(node: dict, root: dict) -> set[str]:
    """The keys a schema node declares, its own and those of the node its ``$ref`` names."""
    keys = set(node.get("properties", {}))
    if "$ref" in node:
        keys |= _declared(root["$defs"][node["$ref"].rsplit("/", 1)[1]], root)
    return keys


def fill_defaults(config: Any, schema: dict, node: dict | None = None) -> None:
    """Set every absent key that has a ``default:`` in the schema (in place, recursively through
    ``$ref``s and ``additionalProperties`` maps): the schema is the one home of the defaults.
    Called on a config that has validated."""
    if not isinstance(config, dict):
        return
    node = schema if node is None else node
    if "$ref" in node:
        fill_defaults(config, schema, schema["$defs"][node["$ref"].rsplit("/", 1)[1]])
    for key, sub in node.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = copy.deepcopy(sub["default"])
        if key in config:
            fill_defaults(config[key], schema, sub)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in config.items():
            if key not in node.get("properties", {}):
                fill_defaults(value, schema, extra)


def _check_semantics(cfg: dict, source: Callable[[str], str]) -> None:
    """Cross-key rules a JSON schema cannot say; ``source(key)`` names where a key came from."""
    problems: list[tuple[str, str]] = []  # (key, message)
    for size in cfg.get("sizes", []):
        if size not in cfg["models"]:
            problems.append(
                ("sizes", f"{size!r} is not a key of models ({', '.join(cfg['models'])})")
            )
    task = task_class(cfg["task"]["kind"])
    if task.options_key is not None and task.options_key not in cfg["task"]:
        problems.append(
            (f"task.{task.options_key}", f"required when task.kind is '{cfg['task']['kind']}'")
        )
    no_reward = f"needs a task with a hidden reward r* (task.kind '{cfg['task']['kind']}' has none)"
    if cfg["online"]["ranker"] in ("oracle", "labeller") and not task.has_reward:
        problems.append(("online.ranker", f"the {cfg['online']['ranker']} ranker {no_reward}"))
    if "oracle" in cfg["judge"]["use"] and not task.has_reward:
        problems.append(("judge.use", f"the oracle judge {no_reward}"))
    if "openai" in cfg["judge"]["use"] and "openai" not in cfg["judge"]:
        problems.append(("judge.openai", "required when judge.use lists 'openai'"))
    if cfg["task"]["two_word_recipe"] == "judge" and not cfg["task"].get("two_word"):
        problems.append(("task.two_word_recipe", "judge writes two-word data: needs task.two_word"))
    if any("arch" in m for m in cfg["models"].values()) and "base" not in cfg:
        problems.append(("base", "required when a model is built from `arch`"))
    for p in map(parse_name, cfg["eval"]["policies"]):
        if p.online and p.generator not in cfg["online"]["generators"]:
            problems.append(
                ("eval.policies", f"{str(p)!r} needs {p.generator!r} in online.generators")
            )
    for size in cfg["rm_study"].get("sizes", []):
        if size not in cfg["models"]:
            problems.append(
                ("rm_study.sizes", f"{size!r} is not a key of models ({', '.join(cfg['models'])})")
            )
    for fig, scope in cfg.get("figure_scope", {}).items():  # (a figure not built: no effect)
        for size in scope.get("sizes", []):
            if size not in cfg["models"]:
                problems.append(
                    (f"figure_scope.{fig}.sizes", f"{size!r} is not a key of models")
                )  # fmt: skip
    problems += _variant_problems(cfg)
    if problems:
        raise ConfigError(
            "invalid config\n  "
            + "\n  ".join(f"{source(key)}: key {key}: {msg}" for key, msg in problems)
        )


def _variant_problems(cfg: dict) -> list[tuple[str, str]]:
    """Variants and figures: what a figure needs is configured, a variant's recipe is complete."""
    from .figures import FIGURES
    from .figures import seeds as figure_seeds

    problems = []
    variants = cfg["variants"]
    used = set()  # the variants a configured figure plots
    for fig in cfg["figures"]:
        if fig not in FIGURES:
            problems.append(("figures", f"{fig!r} is not a figure ({', '.join(FIGURES)})"))
            continue
        needs = FIGURES[fig].get("needs", [])
        used |= set(needs)
        for v in needs:
            if v not in variants:
                problems.append(("figures", f"{fig} needs variants.{v} (allroads/figures.py)"))
    for name, v in variants.items():
        key = f"variants.{name}"
        pairs = v["pairs"]
        if pairs == "judged" and "judge" not in v:
            problems.append((key, "pairs: judged needs `judge` (labeller or openai)"))
        if v.get("judge") == "labeller" and not task_class(cfg["task"]["kind"]).has_reward:
            problems.append((f"{key}.judge", "the labeller needs a task with a hidden reward r*"))
        if v.get("judge") == "openai" and "openai" not in cfg["judge"]:
            problems.append((f"{key}.judge", "openai needs judge.openai"))
        if "pairs_seed" in v:
            if pairs == "pft":
                problems.append((f"{key}.pairs_seed", "the PFT pairs are shared already"))
            for fig in cfg["figures"]:
                if name in FIGURES.get(fig, {}).get("needs", []) and v["pairs_seed"] not in (
                    fig_seeds := figure_seeds(fig, cfg)
                ):
                    problems.append(
                        (f"{key}.pairs_seed", f"{v['pairs_seed']} is not a seed of {fig} {fig_seeds}")
                    )  # fmt: skip
        if v["temper_offline"] and pairs == "pft":
            problems.append(
                (f"{key}.temper_offline", "the PFT pairs are not samples at a temperature")
            )
        if v["extra_prompts"] and pairs != "pft":
            problems.append((key, "extra_prompts needs pairs: pft (one change per variant)"))
        if pairs != "pft" and name in used and "sft" not in cfg["online"]["generators"]:
            problems.append(
                (
                    key,
                    f"pairs: {pairs} is drawn from the SFT's online samples: "
                    "online.generators needs 'sft'",
                )
            )
    return problems


def local_rm_beta(cfg: dict) -> float:
    """β for the reference-free local RM: 1/H unless set (Table 4)."""
    return cfg["train"].get("local_rm_beta", 1.0 / cfg["task"]["max_new_tokens"])  # 1/H: derived


STAGE_SCHEMAS = {"base": "base_hparams", "sft": "sft_hparams", "global_rm": "global_rm_hparams",
                 "dpo": "dpo_hparams"}  # fmt: skip


def stage_defaults(stage: str) -> dict[str, Any]:
    """The schema's defaults of one training stage's hyperparameters (``base``, ``sft``,
    ``global_rm``, ``dpo``), for code that calls a training function without a validated
    config (tests): ``{**stage_defaults("sft"), "epochs": 1, ...}``."""
    schema = _load_schema(SCHEMA_DIR / "config.schema.yaml")
    out: dict[str, Any] = {}
    fill_defaults(out, schema, schema["$defs"][STAGE_SCHEMAS[stage]])
    return out

"""Config validation against schemas/config.schema.yaml, with errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


class ConfigError(ValueError):
    pass


def _load_schema(path: Path) -> dict:
    schema = yaml.safe_load(path.read_text())
    # the OpenAI judge's own fragment, kept next to its code's owner
    fragment = path.parent / "judge_openai.schema.yaml"
    if fragment.exists():
        schema["properties"]["judge"]["properties"]["openai"] = yaml.safe_load(fragment.read_text())
    return schema


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate(
    config: dict[str, Any], schema_path: str | Path | None = None, source: str = "config"
) -> None:
    """Raise ConfigError listing every problem as ``<source>: key a.b.c: message``."""
    import jsonschema

    schema = _load_schema(Path(schema_path) if schema_path else SCHEMA_DIR / "config.schema.yaml")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        _check_semantics(config, source)
        return
    lines = []
    for e in errors:
        if e.validator == "additionalProperties":
            extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            for k in extra:
                lines.append(f"{source}: key {_key([*e.absolute_path, k])}: unknown key")
        elif e.validator == "required":
            lines.append(f"{source}: key {_key(e.absolute_path)}: {e.message}")
        else:
            lines.append(f"{source}: key {_key(e.absolute_path)}: {e.message}")
    raise ConfigError("invalid config\n  " + "\n  ".join(lines))


def _check_semantics(cfg: dict, source: str) -> None:
    """Cross-key rules a JSON schema cannot say."""
    problems = []
    for size in cfg.get("sizes", []):
        if size not in cfg["models"]:
            problems.append(
                f"key sizes: {size!r} is not a key of models ({', '.join(cfg['models'])})"
            )
    if cfg["task"]["kind"] == "toy" and "toy" not in cfg["task"]:
        problems.append("key task.toy: required when task.kind is 'toy'")
    if cfg["task"]["kind"] == "tldr" and "tldr" not in cfg["task"]:
        problems.append("key task.tldr: required when task.kind is 'tldr'")
    if "oracle" in cfg["judge"]["use"] and cfg["task"]["kind"] != "toy":
        problems.append("key judge.use: the oracle judge needs the toy task's hidden reward")
    if "openai" in cfg["judge"]["use"] and "openai" not in cfg["judge"]:
        problems.append("key judge.openai: required when judge.use lists 'openai'")
    if any("arch" in m for m in cfg["models"].values()) and "base" not in cfg:
        problems.append("key base: required when a model is built from `arch`")
    for p in cfg["eval"]["policies"]:
        if p.startswith("online-") and p.removeprefix("online-") not in cfg["online"]["generators"]:
            problems.append(
                f"key eval.policies: {p!r} needs {p.removeprefix('online-')!r} in online.generators"
            )
    if problems:
        raise ConfigError("invalid config\n  " + "\n  ".join(f"{source}: {p}" for p in problems))


def local_rm_beta(cfg: dict) -> float:
    """β for the reference-free local RM: 1/H unless set (Table 4)."""
    return cfg["train"].get("local_rm_beta", 1.0 / cfg["task"]["max_new_tokens"])

"""The shipped configs as the workflow reads them: config.yaml (the default, the shortest-path
task), with overlays merged in the order given as Snakemake merges `--configfile` files.
Tests of the facts task load it with :data:`FACTS`."""

from __future__ import annotations

from pathlib import Path

import yaml

from allroads.config import merge_overlay

ROOT = Path(__file__).resolve().parent.parent
FACTS = "config/toy-facts.yaml"  # the facts task, merged over config.yaml
FACTS_CONTROL = "config/toy-two-word.yaml"  # its control, merged over config.yaml + FACTS
PATHS_CONTROL = "config/toy-paths-control.yaml"  # the default's control, over config.yaml


def load(*overlays: str) -> dict:
    """config.yaml with ``overlays`` (paths relative to the repository) merged over it, not yet
    validated (as Snakemake hands it to the workflow)."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for name in overlays:
        merge_overlay(cfg, yaml.safe_load((ROOT / name).read_text()))
    return cfg

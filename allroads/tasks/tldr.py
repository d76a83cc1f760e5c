"""Reddit TL;DR from the hub (``task.kind: tldr``; :mod:`allroads.hub`), behind the task
interface: no hidden reward, no tokenizer of its own (Pythia's). Options: ``task.tldr``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..io import read_jsonl
from .base import SPLITS, Task


class TldrTask(Task):
    kind = "tldr"
    options_key = "tldr"

    def write_splits(self, out_dir: Path, models_cfg: Mapping[str, Any]) -> dict[str, list[dict]]:
        from .. import hub  # the real hub loaders; only the paper-scale path needs them
        from ..models import load_tokenizer

        # queries are truncated by the tokenizer all sizes share (Pythia's)
        first = next(iter(models_cfg.values()))
        hub.build_tldr_splits(self.cfg, load_tokenizer(first["hub"]), out_dir)
        return {name: read_jsonl(Path(out_dir) / f"{name}.jsonl") for name in SPLITS}

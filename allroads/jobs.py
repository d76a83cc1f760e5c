"""Plumbing shared by the workflow's ``script:`` files: logging to the rule's log, threads."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def job(snakemake) -> Iterator[logging.Logger]:
    """Send stdout, stderr (progress bars included) and logging to the rule's ``log:`` file."""
    log_path = snakemake.log[0]
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    with (
        open(log_path, "w", buffering=1) as f,
        contextlib.redirect_stdout(f),
        contextlib.redirect_stderr(f),
    ):
        logging.basicConfig(
            stream=f,
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            force=True,
        )
        logger = logging.getLogger(f"allroads.{snakemake.rule}")
        threads = getattr(snakemake, "threads", 1)
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
        t0 = time.time()
        logger.info("rule %s wildcards %s", snakemake.rule, dict(snakemake.wildcards.items()))
        try:
            yield logger
        except BaseException:
            logger.exception("rule %s failed", snakemake.rule)
            raise
        logger.info("rule %s done in %.1f s", snakemake.rule, time.time() - t0)
        sys.stdout.flush()

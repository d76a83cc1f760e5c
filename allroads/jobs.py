"""Plumbing shared by the workflow's ``script:`` files: logging to the rule's log, threads.

Kept import-light on purpose: every job imports it, so it must not pull in torch (or
anything heavy) for a job that does not use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import NoReturn

from allroads import warm


def process_age() -> float | None:
    """Seconds since this process started (interpreter, Snakemake preamble, imports), or None
    where ``/proc`` is unavailable."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def set_threads(threads: int) -> None:
    """Use ``threads`` CPU threads in torch: now if torch is already imported, else when the
    job imports it (torch sizes its pool from OMP_NUM_THREADS at import). A job that never
    imports torch does not pay for importing it here."""
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def exit_now(code: int = 0) -> NoReturn:
    """End the process at once with ``code``, after flushing its output and logging.

    Skips the interpreter's teardown, which is pure overhead at the end of a finished job: with
    torch and transformers imported it frees thousands of modules and objects one by one, about
    0.9 s per job on the 2-core vm (docs/benchmarks.md), more than most sampling jobs' own work.
    Every output is complete by then: allroads.io writes files and checkpoints atomically, and
    nothing in the package runs at exit. The libraries' exit hooks that are skipped (weakref
    finalizers, thread-pool joins, lock releases) have nothing left to do after a job: a DPO
    and a sampling job left no file behind in TMPDIR, as before (docs/benchmarks.md).
    """
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()  # flushes and closes every handler
    os._exit(code)


def nothing_left_running() -> bool:
    """Whether the interpreter's exit would wait for nothing: no live child process started
    through multiprocessing (vLLM's engine process, which a finalizer shuts down at exit) and no
    thread but daemons and the main one (exit joins the others). Where something is, a
    finished job exits normally rather than through :func:`exit_now`."""
    import multiprocessing
    import threading

    main = threading.main_thread()
    threads_done = all(t.daemon or t is main for t in threading.enumerate())
    return threads_done and not multiprocessing.active_children()


def _is_script_main(snakemake) -> bool:
    """Whether this process is the job itself: Snakemake runs a ``script:`` as ``__main__``
    with ``snakemake`` a global of it (tests that call :func:`job` in-process are not)."""
    return getattr(sys.modules.get("__main__"), "snakemake", None) is snakemake


def is_user_error(e: BaseException) -> bool:
    """A config, environment or input-data problem the message alone explains: a ValueError
    raised by this project (ConfigError, DataError, JudgeConfigError, ...)."""
    return isinstance(e, ValueError) and type(e).__module__.startswith("allroads.")


@contextlib.contextmanager
def job(snakemake) -> Iterator[logging.Logger]:
    """Send stdout, stderr (progress bars included) and logging to the rule's ``log:`` file.

    The first log line records the start-up time (process start to here: interpreter,
    Snakemake's preamble and the script's imports; for a warm job, from its fork:
    allroads/warm.py), the last one the job's own time
    ("done in"); ``bench/bench_startup.py`` reads both. A user error (see
    :func:`is_user_error`) is logged as its message alone, without a traceback, and the
    process exits with status 1; any other exception keeps its traceback.

    A job that imported torch and finished ends its process here (:func:`exit_now`, unless
    :func:`nothing_left_running` says exit has something to wait for), so the
    ``with job(...)`` block must be a script's last statement (tests/test_jobs.py checks it).
    """
    age = process_age()
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
        threads = max(1, int(getattr(snakemake, "threads", 1) or 1))
        set_threads(threads)
        t0 = time.time()
        logger.info(
            "rule %s wildcards %s threads %d startup %s%s",
            snakemake.rule,
            dict(snakemake.wildcards.items()),
            threads,
            "unknown" if age is None else f"{age:.3f} s",
            warm.note(),
        )
        try:
            yield logger
        except BaseException as e:
            if is_user_error(e):
                logger.error("rule %s failed: %s", snakemake.rule, e)
                sys.stdout.flush()
                raise SystemExit(1) from None
            logger.exception("rule %s failed", snakemake.rule)
            raise
        logger.info("rule %s done in %.3f s", snakemake.rule, time.time() - t0)
        sys.stdout.flush()
        if "torch" in sys.modules and _is_script_main(snakemake) and nothing_left_running():
            exit_now(0)

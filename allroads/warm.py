"""Warm jobs: the workflow's Python jobs forked from one process that has already imported
torch, transformers and TRL, instead of each paying those imports in a fresh interpreter.

Snakemake starts every job as a new process. About 140 of the default run's 211 jobs import
torch and transformers' modelling stack (3–4.6 s each on the 2-core vm, ~470 job-seconds of a
~2600 job-second run: docs/benchmarks.md). With ``warm_jobs`` on and a local executor, the
workflow starts one **server** when the run starts (rules/common.smk ``onstart``). It imports
:data:`PRELOAD` once, runs no torch op, and listens on a Unix socket named by the environment
variable :data:`SOCKET_ENV`, which the jobs inherit.

A job **hands itself off** as the first thing it does, when ``import allroads`` runs
:func:`handoff`. That covers a ``script:`` job (Snakemake's generated script) and ``python -m
allroads.training`` (:data:`MODULES`), one process per job (not a multi-GPU launch). The job
sends the server its stdin/stdout/stderr, working directory, umask, environment, ``sys.path``
and argv. The server forks a child that takes those over and runs the same script or module as
``__main__``, as a cold start would; the job's process waits and exits with the child's status.
Outputs are the same bytes either way (``tests/test_workflow.py``: its first run is cold, its
killed and resumed second run warm).

The job runs cold, as before, whenever the handoff cannot be trusted to be equivalent:
- no server yet (a job that connects while the server imports waits for it);
- another Python or another checkout of the package;
- a differing environment variable that the preloaded libraries read at import (``HF_*``,
  ``TRANSFORMERS_*``, ``TORCH*``, ...);
- a package source file edited since the server started.

If the job's process dies (Snakemake killing it, Ctrl-C), the server sees its connection close
and kills the child at once. If Snakemake dies, the server exits within a second.

Written by hand: neither Snakemake nor the libraries offer this. Snakemake's executors start a
fresh interpreter per job. ``multiprocessing``'s ``forkserver`` serves one parent's own workers,
not processes that another program starts.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from typing import NoReturn

SOCKET_ENV = "ALLROADS_WARM_SOCKET"  # the server's socket, inherited by the jobs
ROLE_ENV = "ALLROADS_WARM_ROLE"  # "server" or "child": never hand off from there
# What the server imports once: the libraries' heavy modules and this package's torch modules.
# Never a job's own entry module (allroads.training): the child runs that as __main__, as
# `python -m` does, and a second copy of it already imported could differ from that one.
PRELOAD = (
    "torch",
    "transformers",
    "transformers.models.gpt_neox.modeling_gpt_neox",
    "datasets",
    "accelerate",
    "trl",
    "trl.trainer.dpo_trainer",
    "trl.trainer.reward_trainer",
    "trl.trainer.sft_trainer",
    "allroads.models",
    "allroads.logprobs",
    "allroads.losses",
    "allroads.sampling",
    "allroads.reward_models",
)
# Environment variables that the preloaded libraries read when imported: a job whose values
# differ from the server's runs cold (thread counts excepted: _import_env).
IMPORT_ENV = ("HF_", "HUGGINGFACE", "TRANSFORMERS_", "TORCH", "PYTORCH_", "CUDA", "TRL_",
              "DATASETS_", "ACCELERATE_", "TOKENIZERS_", "MKL_", "KMP_", "XDG_CACHE_HOME",
              "PYTHONHASHSEED")  # fmt: skip
MODULES = ("allroads.training",)  # the job modules run as `python -m` (rules' shell commands)
MAX_REQUEST = 1 << 20  # bytes: one request (environment, sys.path, argv) as JSON
READY, REFUSED = b"R", b"N"


def _package_dir() -> str:
    return os.path.realpath(os.path.dirname(__file__))


def _import_env(env: dict[str, str]) -> dict[str, str]:
    """The variables of ``env`` the preloaded libraries read at import, but thread counts:
    Snakemake sets those per job (OMP_NUM_THREADS, MKL_NUM_THREADS, ...), and the child sizes
    torch's pools from them."""
    return {k: v for k, v in env.items()
            if k.startswith(IMPORT_ENV) and not k.endswith("_NUM_THREADS")}  # fmt: skip


# ---- the job's side


def is_child() -> bool:
    """Whether this process is a job forked by the warm server."""
    return os.environ.get(ROLE_ENV) == "child"


def handoff() -> None:
    """Hand this process's job to the warm server, if one serves it, and exit with the job's
    status; return at once otherwise. Called by ``allroads/__init__.py``, so it runs before a
    job imports anything heavy; it does nothing outside a job: in Snakemake itself, in the
    server and its children, in tests and in interactive use."""
    path = os.environ.get(SOCKET_ENV)
    if not path or os.environ.get(ROLE_ENV) or "LOCAL_RANK" in os.environ:  # (a launcher's rank)
        return
    main = sys.modules.get("__main__")
    script = getattr(main, "__real_file__", None)  # Snakemake's generated script, run as a file
    if script is not None and hasattr(main, "snakemake"):
        request = {"script": script, "args": sys.argv[1:]}
    elif sys.orig_argv[1:3] in (["-m", m] for m in MODULES):  # python -m allroads.training
        request = {"module": sys.orig_argv[2], "args": sys.orig_argv[3:]}
    else:
        return
    code = run(path, request)
    if code is not None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def run(path: str, request: dict) -> int | None:
    """Ask the server at ``path`` to run ``request`` (``script``: a file; ``module`` and
    ``args``: ``python -m``) in this process's place. None: refused or unreachable, so the caller
    runs the job itself; else the job's exit status."""
    umask = os.umask(0)
    os.umask(umask)
    request = dict(
        request,
        cwd=os.getcwd(),
        umask=umask,
        env=dict(os.environ),
        path=list(sys.path),
        prefix=sys.prefix,
        version=sys.version,
        package=_package_dir(),
    )
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        conn.connect(path)
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        if conn.recv(1) != READY:
            conn.close()
            return None
    except OSError:
        return None
    # the job runs in the server's child from here; this process only waits for its status
    # (and, if it dies, the closed connection stops the child)
    status = conn.recv(4)
    if len(status) != 4:
        print(f"allroads.warm: the warm job server at {path} ended before the job did; the "
              "job's status is unknown", file=sys.stderr)  # fmt: skip
        return 1
    return struct.unpack("!i", status)[0]


# ---- the workflow's side: start and stop the server


class Server:
    """A running server: :meth:`start` it when the run starts, :meth:`stop` it when it ends."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.folder: str | None = None
        self.path: str | None = None

    def start(self) -> str:
        """Start the server for this process's jobs and export its socket to them; returns the
        socket's path. The socket lives in a new private folder under TMPDIR (a Unix socket's
        path must stay short)."""
        self.folder = tempfile.mkdtemp(prefix="allroads-warm-")
        path = os.path.join(self.folder, "socket")
        env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
        env[ROLE_ENV] = "server"
        env["OMP_NUM_THREADS"] = "1"  # its children size their own thread pools
        package_parent = os.path.dirname(_package_dir())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        # (-c, not -m allroads.warm: that would run a second copy of this module as __main__)
        serve_cmd = f"from allroads.warm import serve; serve({path!r}, {os.getpid()})"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", serve_cmd],
            env=env, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        os.environ[SOCKET_ENV] = self.path = path
        atexit.register(self.stop)  # also when the run ends without its onsuccess/onerror
        return path

    def stop(self) -> None:
        """Stop the server (its running children, if any, finish their jobs) and remove its
        folder; the jobs started after this run cold."""
        if self.path and os.environ.get(SOCKET_ENV) == self.path:
            del os.environ[SOCKET_ENV]
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.proc = self.folder = self.path = None


def supported() -> bool:
    """Whether this platform has what the server uses: Linux's pidfds and sequenced-packet
    Unix sockets, and passing file descriptors (Python >= 3.9)."""
    return sys.platform.startswith("linux") and all(
        hasattr(m, a)
        for m, a in ((os, "pidfd_open"), (socket, "send_fds"), (socket, "SOCK_SEQPACKET"))
    )


def wanted(enabled: bool, local_exec: bool, deployment: set[str]) -> bool:
    """Whether a run starts the server: config ``warm_jobs``, jobs run on this machine (not
    submitted to Slurm: there every job must stay inside its own allocation) and in this
    Python (not a rule's conda env: the server's libraries are this Python's), on a platform
    that has what it needs (:func:`supported`)."""
    return bool(enabled) and local_exec and "conda" not in deployment and supported()


# ---- the server


def _sources() -> dict[str, int]:
    """mtime of every imported file of this package: an edit during a run sends the jobs
    after it cold, where they read the edited code."""
    out = {}
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if f and (name == "allroads" or name.startswith("allroads.")):
            with contextlib.suppress(OSError):
                out[f] = os.stat(f).st_mtime_ns
    return out


def _unchanged(sources: dict[str, int]) -> bool:
    try:
        return all(os.stat(f).st_mtime_ns == m for f, m in sources.items())
    except OSError:
        return False


def _exit_code(e: SystemExit) -> int:
    """The status a Python process would exit with on ``e`` (a message goes to stderr)."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    print(e.code, file=sys.stderr)
    return 1


def _child(request: dict, fds: list[int], inherited: list) -> NoReturn:
    """In the forked child: become the job's process and run it as ``__main__``."""
    import runpy

    code = 1
    try:
        for obj in inherited:  # the listener, the selector, the other jobs' pidfds and sockets
            with contextlib.suppress(Exception):
                os.close(obj) if isinstance(obj, int) else obj.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[ROLE_ENV] = "child"
        sys.path[:] = request["path"]
        import random

        import numpy
        import torch

        random.seed()  # fresh OS entropy, as a new interpreter has
        numpy.random.seed()
        threads = os.environ.get("OMP_NUM_THREADS")
        torch.set_num_threads(int(threads) if threads else max(1, os.cpu_count() or 1))
        if "script" in request:
            sys.argv = [request["script"], *request["args"]]
            runpy.run_path(request["script"], run_name="__main__")
        else:
            sys.argv = ["-m", *request["args"]]  # run_module sets argv[0] to the module's file
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = _exit_code(e)
    except BaseException as e:
        import traceback

        tb = e.__traceback__  # from the job's own frames on, as a cold start prints it
        ours = (__file__, runpy.__file__, "<frozen runpy>")
        while tb is not None and tb.tb_frame.f_code.co_filename in ours:
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb)
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


class _Jobs:
    """The server's state: its listener and, per running job, the child's pid, its pidfd (seen
    readable when the child ends) and the job's connection (seen readable when the job's
    process is gone: then the child is killed, as Snakemake meant to kill the job)."""

    def __init__(self, listener: socket.socket, env: dict[str, str]) -> None:
        self.listener, self.env = listener, env
        self.sources = _sources()
        self.identity = (sys.prefix, sys.version, _package_dir())
        self.sel = selectors.DefaultSelector()
        self.sel.register(listener, selectors.EVENT_READ, ("listener",))
        self.running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)

    def fds(self) -> list:
        """What a child must close: every descriptor of the server's own."""
        return [self.listener, self.sel, *self.running,
                *(c for _, c in self.running.values())]  # fmt: skip

    def accept(self) -> None:
        """Read one request and fork its job, or refuse it (the job then runs cold)."""
        conn, _ = self.listener.accept()
        fds: list[int] = []
        try:
            msg, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 3)
            request = json.loads(msg)
            if not self.serves(request, fds):
                conn.send(REFUSED)
                conn.close()
                return
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            pid = os.fork()
            if pid == 0:
                _child(request, fds, self.fds())
            pidfd = os.pidfd_open(pid)
            self.running[pidfd] = (pid, conn)
            self.sel.register(pidfd, selectors.EVENT_READ, ("ended", pid, conn))
            self.sel.register(conn, selectors.EVENT_READ, ("gone", pid))
            conn.send(READY)
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"allroads.warm: a request was refused: {e}", file=sys.stderr)
            with contextlib.suppress(OSError):
                conn.send(REFUSED)
            if conn.fileno() >= 0 and not any(c is conn for _, c in self.running.values()):
                conn.close()
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def serves(self, request: dict, fds: list[int]) -> bool:
        """Whether the request's job would run here as it would cold (module docstring)."""
        return (
            len(fds) == 3
            and (request["prefix"], request["version"], request["package"]) == self.identity
            and _import_env(request["env"]) == self.env
            and _unchanged(self.sources)
        )

    def ended(self, pidfd: int, pid: int, conn: socket.socket) -> None:
        """A child ended: send its exit status to the job's process."""
        self.sel.unregister(pidfd)
        os.close(pidfd)
        del self.running[pidfd]
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
        with contextlib.suppress(OSError):
            conn.send(struct.pack("!i", code if code >= 0 else 128 - code))
        conn.close()

    def gone(self, conn: socket.socket, pid: int) -> None:
        """The job's process closed its end (it was killed): kill the child that runs its job."""
        if conn.recv(1) == b"":
            self.sel.unregister(conn)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def serve(path: str, parent: int) -> None:
    """Listen on ``path``, import :data:`PRELOAD`, then run each request in a forked child
    until ``parent`` (the Snakemake process) is gone. Single-threaded, so that nothing else
    runs in this process when it forks: children's ends are seen through their pidfds."""
    import importlib

    env = _import_env(dict(os.environ))  # as the jobs see it: before the imports (torch sets some)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)  # jobs may connect now: they wait for the imports below
    listener.listen(64)
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        jobs = _Jobs(listener, env)
        while os.getppid() == parent:
            for key, _ in jobs.sel.select(timeout=1.0):
                kind, *data = key.data
                if kind == "listener":
                    jobs.accept()
                elif kind == "ended":
                    jobs.ended(key.fd, *data)
                else:
                    jobs.gone(key.fileobj, *data)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(path))

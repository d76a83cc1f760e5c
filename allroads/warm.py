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

Signals and ends:
- The fork leads a process group of its own. A signal to the job's process (Ctrl-C, Snakemake
  stopping the job) is passed on to that group, as it would reach a cold job and what it
  started; the job's process then ends as the job did, by the same signal if so.
- If the job's process is killed outright, the server sees its connection close and kills the
  fork's group at once.
- A fork ends as Python does: it waits for non-daemon threads and runs the exit handlers.
- Once its imports are done, the server exits within a second of Snakemake (or at once when
  the run's ``onsuccess``/``onerror`` stop it), killing any fork still running.

Not carried over from the job's process: its niceness, CPU affinity, resource limits and
cgroup (the fork has the server's; Snakemake sets none of them locally), and numpy's BLAS
thread pool, sized once when the server imported numpy with one thread (torch's pools are
sized per job).

Written by hand: neither Snakemake nor the libraries offer this. Snakemake's executors start a
fresh interpreter per job. ``multiprocessing``'s ``forkserver`` serves one parent's own workers,
not processes that another program starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
from typing import TYPE_CHECKING, NoReturn

# (what only the server and Snakemake use is imported where it is used: every job, light ones
# included, imports this module at `import allroads`)
if TYPE_CHECKING:
    import subprocess

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
              "DATASETS_", "ACCELERATE_", "TOKENIZERS_", "MKL_", "KMP_", "OPENBLAS_",
              "XDG_CACHE_HOME", "PYTHONHASHSEED", "PYTHONWARNINGS", "TQDM_", "USE_")  # fmt: skip
MODULES = ("allroads.training",)  # the job modules run as `python -m` (rules' shell commands)
MAX_REQUEST = 1 << 20  # bytes: one request (environment, sys.path, argv) as JSON
READY, REFUSED = b"R", b"N"  # the server's reply; READY is followed by the fork's pid
NOTE = " (warm: forked from the run's warm server)"  # ends a warm job's first log line


def _package_dir() -> str:
    return os.path.realpath(os.path.dirname(__file__))


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


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


def note() -> str:
    """What a job's first log line ends with: :data:`NOTE` for a warm job, else nothing."""
    return NOTE if is_child() else ""


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
        _flush()
        if code > 128 and code - 128 in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(code - 128, signal.SIG_DFL)  # the fork died by this signal: so do we,
            os.kill(os.getpid(), code - 128)  # as the job's process would have, cold
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
        reply = conn.recv(5)
        if len(reply) != 5 or reply[:1] != READY:
            conn.close()
            return None
    except OSError:
        return None
    # The job runs in the server's fork from here, in a process group of its own; this process
    # waits for its status. A signal meant for the job (Ctrl-C, Snakemake stopping it) is passed
    # on to that group, as it would reach a cold job; if this process dies instead, the server
    # sees its connection close and kills the group.
    fork = struct.unpack("!i", reply[1:])[0]

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(fork, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
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

    def start(self, log: str | None = None) -> str:
        """Start the server for this process's jobs and export its socket to them; returns the
        socket's path. The socket lives in a new private folder under TMPDIR (a Unix socket's
        path must stay short). The server's own output (warnings of its imports, a refused
        request) goes to ``log``, else nowhere."""
        import atexit
        import subprocess
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="allroads-warm-")
        path = os.path.join(self.folder, "socket")
        env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
        env[ROLE_ENV] = "server"
        env["OMP_NUM_THREADS"] = "1"  # its children size their own thread pools
        package_parent = os.path.dirname(_package_dir())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        # (-c, not -m allroads.warm: that would run a second copy of this module as __main__)
        serve_cmd = f"from allroads.warm import serve; serve({path!r}, {os.getpid()})"
        if log:
            os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (the child's, closed below)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", serve_cmd],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        finally:
            if log:
                out.close()
        os.environ[SOCKET_ENV] = self.path = path
        atexit.register(self.stop)  # also when the run ends without its onsuccess/onerror
        return path

    def stop(self) -> None:
        """Stop the server (it kills the forks of any job still running: the run is over) and
        remove its folder; the jobs started after this run cold."""
        import shutil
        import subprocess

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
    Python, with no software deployment (``--sdm conda``, ``apptainer``, ``env-modules``: a
    job must run in its env or container, not in the server's), on a platform that has what
    it needs (:func:`supported`)."""
    return bool(enabled) and local_exec and not deployment and supported()


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


def _finalize() -> None:
    """What a Python process does when its main module ends: wait for its non-daemon threads,
    run its exit handlers (multiprocessing's stops child processes such as vLLM's engine),
    flush its streams. (A job that ends itself with ``allroads.jobs.exit_now`` skips this,
    cold or warm alike.)"""
    import atexit
    import threading

    with contextlib.suppress(Exception):
        threading._shutdown()  # what the interpreter calls at exit
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    _flush()


def _child(request: dict, fds: list[int], inherited: list) -> NoReturn:
    """In the forked child: become the job's process and run it as ``__main__``."""
    import runpy

    code, interrupted = 1, False
    try:
        os.setpgid(0, 0)  # a process group of its own: a signal to the job reaches what it starts
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for obj in inherited:  # the server's listener, selector, pidfds and connections
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
        import tempfile

        import numpy
        import torch

        tempfile.tempdir = None  # found again from the job's TMPDIR
        random.seed()  # fresh OS entropy, as a new interpreter has (torch's default generator
        numpy.random.seed()  # starts from its fixed default seed, untouched in the server)
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
        code, interrupted = 1, isinstance(e, KeyboardInterrupt)
    finally:
        _finalize()
        if interrupted:  # as Python ends on an uncaught Ctrl-C: killed by SIGINT
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(code)


class _Jobs:
    """The server's state: its listener and, per running job, the fork's pid, its pidfd (seen
    readable when the fork ends) and the job's connection (seen readable when the job's
    process is gone: then the fork's process group is killed, as the job's would have been)."""

    def __init__(self, listener: socket.socket, env: dict[str, str]) -> None:
        import selectors

        self.listener, self.env = listener, env
        self.sources = _sources()
        self.identity = (sys.prefix, sys.version, _package_dir())
        self.sel = selectors.DefaultSelector()
        self.read = selectors.EVENT_READ
        self.sel.register(listener, self.read, ("listener",))
        self.running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)

    def fds(self, conn: socket.socket) -> list:
        """What a fork must close: every descriptor of the server's, its own connection too."""
        return [self.listener, self.sel, conn, *self.running,
                *(c for _, c in self.running.values())]  # fmt: skip

    def accept(self) -> None:
        """Read one request and fork its job, or refuse it (the job then runs cold)."""
        conn, _ = self.listener.accept()
        fds: list[int] = []
        pid = pidfd = None
        try:
            msg, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 3)
            request = json.loads(msg)
            if not self.serves(request, fds):
                conn.send(REFUSED)
                conn.close()
                return
            _flush()  # (else the fork would write the server's buffered output too)
            pid = os.fork()
            if pid == 0:
                _child(request, fds, self.fds(conn))
            with contextlib.suppress(OSError):  # (the fork does it too: whichever runs first)
                os.setpgid(pid, pid)
            pidfd = os.pidfd_open(pid)
            self.sel.register(pidfd, self.read, ("ended", pid, conn))
            self.running[pidfd] = (pid, conn)
            self.sel.register(conn, self.read, ("gone", pid))
            conn.send(READY + struct.pack("!i", pid))
        except Exception as e:  # the job runs cold; a fork already started must not run it too
            print(f"allroads.warm: a request was refused: {e!r}", file=sys.stderr, flush=True)
            if pid:
                self.forget(pidfd, pid, conn)
            with contextlib.suppress(OSError):
                conn.send(REFUSED)
            conn.close()
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def forget(self, pidfd: int | None, pid: int, conn: socket.socket) -> None:
        """Kill a fork's process group and reap it, its job unreported."""
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        self.running.pop(pidfd, None)
        for obj in (pidfd, conn):
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(obj)
        if pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(pidfd)

    def serves(self, request: dict, fds: list[int]) -> bool:
        """Whether the request's job would run here as it would cold (module docstring)."""
        return (
            len(fds) == 3
            and (request["prefix"], request["version"], request["package"]) == self.identity
            and isinstance(request["env"], dict)
            and _import_env(request["env"]) == self.env
            and _unchanged(self.sources)
        )

    def ended(self, pidfd: int, pid: int, conn: socket.socket) -> None:
        """A fork ended: send its exit status to the job's process."""
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
        """The job's process closed its end (it was killed): kill the fork's process group."""
        try:
            if conn.recv(1) != b"":
                return
        except OSError:
            pass  # reset by the dying process: gone as well
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)

    def handle(self, key) -> None:
        kind, *data = key.data
        if kind == "listener":
            self.accept()
        elif kind == "ended" and key.fd in self.running:
            self.ended(key.fd, *data)
        elif kind == "gone" and key.fileobj.fileno() >= 0:  # (not closed by "ended" just now)
            self.gone(key.fileobj, *data)

    def stop(self) -> None:
        """The run is over: kill every fork still running (their jobs' outputs are incomplete)."""
        for pidfd, (pid, conn) in list(self.running.items()):
            self.forget(pidfd, pid, conn)
            conn.close()


def serve(path: str, parent: int) -> None:
    """Listen on ``path``, import :data:`PRELOAD`, then run each request in a forked child
    until ``parent`` (the Snakemake process) is gone or SIGTERM (:meth:`Server.stop`) comes;
    then kill the forks still running. The server runs no thread of its own, so nothing else
    runs in it when it forks (the one native thread its imports start, pyarrow's jemalloc
    background thread, is fork-safe); forks' ends are seen through their pidfds."""
    import importlib

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so that `finally` runs
    env = _import_env(dict(os.environ))  # as the jobs see it: before the imports (torch sets some)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)  # jobs may connect now: they wait for the imports below
    listener.listen(64)
    jobs = None
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        jobs = _Jobs(listener, env)
        while os.getppid() == parent:
            for key, _ in jobs.sel.select(timeout=1.0):
                try:
                    jobs.handle(key)
                except Exception as e:  # one job's trouble must not end the server
                    print(f"allroads.warm: {e!r}", file=sys.stderr, flush=True)
    finally:
        if jobs is not None:
            jobs.stop()
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(path))

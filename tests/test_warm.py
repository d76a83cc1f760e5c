"""Warm jobs (allroads/warm.py): a job forked from the run's warm server keeps what a cold start
gives it (streams, working directory, umask, environment, exit status, a traceback of its own
frames); a job the server cannot serve as a cold start would runs cold; nothing outlives the
job's process or the run. (That a whole workflow gives the same bytes warm and cold is in
tests/test_workflow.py's reduced run.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from allroads import warm

ROOT = Path(__file__).resolve().parent.parent
# a script job as Snakemake's generated script starts: its preamble sets `snakemake` and
# `__real_file__`, then the script's first `import allroads` hands it off
JOB = """
__real_file__ = __file__
snakemake = None
import os, sys
import allroads
um = os.umask(0)
print(f"role={os.environ.get('ALLROADS_WARM_ROLE')} cwd={os.getcwd()} umask={um:03o} x={os.environ.get('X')} argv={sys.argv[1:]}")
open("out.txt", "w").write("written")
print("to stderr", file=sys.stderr)
mode = os.environ.get("MODE")
if mode == "exit":
    sys.exit(3)
if mode == "message":
    sys.exit("a one-line error")
if mode == "raise":
    raise RuntimeError("boom")
if mode == "sleep":
    open("pid", "w").write(str(os.getpid()))
    import time
    time.sleep(120)
if mode == "grandchild":  # a process the job starts, in the job's process group
    import subprocess, time
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    open("pid", "w").write(f"{os.getpid()} {p.pid}")
    time.sleep(120)
if mode == "at_exit":  # what the interpreter waits for, then runs, when the main module ends
    import atexit, threading, time
    atexit.register(lambda: open("atexit.txt", "w").write("ran"))
    def late():
        time.sleep(0.5)
        open("thread.txt", "w").write("ran")
    threading.Thread(target=late).start()
if mode == "tmpdir":
    import tempfile
    print("tmp=" + tempfile.gettempdir())
"""


def wait_until(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


# without them the workflow runs every job cold
needs_pidfds = pytest.mark.skipif(not warm.supported(), reason="warm jobs need Linux pidfds")


def start_server() -> warm.Server:
    """A server, serving once its socket exists (a job that comes sooner runs cold)."""
    s = warm.Server()
    path = s.start()
    assert os.environ.pop(warm.SOCKET_ENV) == path  # each test passes it to its jobs explicitly
    assert wait_until(lambda: os.path.exists(path))
    return s


@pytest.fixture(scope="module")
def server():
    if not warm.supported():
        pytest.skip("warm jobs need Linux pidfds")
    s = start_server()
    yield s
    s.stop()


def job_env(server, mode: str, **env) -> dict[str, str]:
    """A job's environment: this one's, the job's mode, and the server's socket (if any)."""
    base = {k: v for k, v in os.environ.items() if k not in (warm.SOCKET_ENV, warm.ROLE_ENV)}
    full = {**base, "PYTHONPATH": str(ROOT), "X": "from-the-job", "MODE": mode}
    if server is not None:
        full[warm.SOCKET_ENV] = server.path
    return {**full, **env}


def job(tmp_path: Path, server, mode: str = "", umask: int = 0o027, **env) -> tuple[int, str, str]:
    (tmp_path / "job.py").write_text(JOB)
    full = job_env(server, mode, **env)
    with open(tmp_path / "o", "w") as o, open(tmp_path / "e", "w") as e:
        rc = subprocess.run([sys.executable, "job.py", "an-arg"], cwd=tmp_path, env=full, stdout=o,
                            stderr=e, preexec_fn=lambda: os.umask(umask), timeout=120).returncode  # fmt: skip
    return rc, (tmp_path / "o").read_text(), (tmp_path / "e").read_text()


def test_a_served_job_keeps_its_streams_cwd_umask_environment_and_arguments(tmp_path, server):
    rc, out, err = job(tmp_path, server)
    assert rc == 0, err
    assert out == f"role=child cwd={tmp_path} umask=027 x=from-the-job argv=['an-arg']\n"
    assert err == "to stderr\n"
    assert (tmp_path / "out.txt").read_text() == "written"


@pytest.mark.parametrize(
    "mode, code, says",
    [("exit", 3, "to stderr\n"), ("message", 1, "a one-line error"), ("raise", 1, "RuntimeError: boom")],
)  # fmt: skip
def test_a_served_job_exits_as_it_would_cold(tmp_path, server, mode, code, says):
    rc, out, err = job(tmp_path, server, mode)
    assert out.startswith("role=child") and rc == code and says in err
    cold = job(tmp_path, None, mode)
    assert cold[0] == code and cold[2] == err  # the same traceback: the job's frames only
    assert "runpy" not in err and "warm.py" not in err


def test_a_served_job_ends_as_a_python_process_does(tmp_path, server):
    """Non-daemon threads are waited for and exit handlers run (multiprocessing's stops child
    processes such as vLLM's engine), as when a cold job's main module ends."""
    rc, out, err = job(tmp_path, server, "at_exit")
    assert rc == 0 and out.startswith("role=child"), err
    assert (tmp_path / "thread.txt").read_text() == "ran"
    assert (tmp_path / "atexit.txt").read_text() == "ran"


def test_a_served_job_uses_its_own_tmpdir(tmp_path, server):
    own = tmp_path / "own-tmp"
    own.mkdir()
    rc, out, _ = job(tmp_path, server, "tmpdir", TMPDIR=str(own))  # Snakemake sets it per job
    assert rc == 0 and out.startswith("role=child") and f"tmp={own}" in out


def test_a_job_the_server_cannot_serve_like_a_cold_start_runs_cold(tmp_path, server):
    # a variable the preloaded libraries read at import differs from the server's
    rc, out, _ = job(tmp_path, server, HF_HOME=str(tmp_path / "hf"))
    assert rc == 0 and out.startswith("role=None")
    # thread counts may differ: Snakemake sets them per job, the child sizes torch's pools
    rc, out, _ = job(tmp_path, server, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    assert rc == 0 and out.startswith("role=child")
    # no server at that path
    rc, out, _ = job(tmp_path, None, **{warm.SOCKET_ENV: str(tmp_path / "none")})
    assert rc == 0 and out.startswith("role=None")


def test_an_edited_package_file_sends_the_jobs_after_it_cold(tmp_path, server):
    f = ROOT / "allroads" / "losses.py"  # preloaded by the server
    st = f.stat()
    try:
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        assert job(tmp_path, server)[1].startswith("role=None")
    finally:
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert job(tmp_path, server)[1].startswith("role=child")


def start_job(tmp_path: Path, server, mode: str) -> tuple[subprocess.Popen, list[int]]:
    """A running job (``sleep`` or ``grandchild``): its process and the pids the job wrote."""
    (tmp_path / "job.py").write_text(JOB)
    client = subprocess.Popen([sys.executable, "job.py"], cwd=tmp_path, env=job_env(server, mode),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    pid = tmp_path / "pid"
    assert wait_until(
        lambda: pid.exists() and len(pid.read_text().split()) == (mode == "grandchild") + 1
    )
    pids = [int(p) for p in pid.read_text().split()]
    assert pids[0] != client.pid, "the job ran cold"
    return client, pids


def alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_signal_to_the_jobs_process_reaches_the_job(tmp_path, server):
    """Ctrl-C, or Snakemake stopping a job: the job gets the signal, as a cold job would, and
    its process ends by it."""
    client, (fork,) = start_job(tmp_path, server, "sleep")
    client.send_signal(signal.SIGINT)
    assert client.wait(timeout=30) == -signal.SIGINT  # KeyboardInterrupt in the job, then by SIGINT
    assert wait_until(lambda: not alive(fork), 10)


def test_killing_the_jobs_process_kills_what_the_job_started(tmp_path, server):
    client, (fork, grandchild) = start_job(tmp_path, server, "grandchild")
    try:
        client.kill()
        client.wait()
        assert wait_until(lambda: not alive(fork) and not alive(grandchild), 10)
    finally:
        for pid in (fork, grandchild):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@needs_pidfds
def test_stopping_the_server_kills_the_jobs_still_running(tmp_path):
    s = start_server()
    try:
        client, (fork,) = start_job(tmp_path, s, "sleep")
    finally:
        s.stop()
    assert wait_until(lambda: not alive(fork), 10)
    assert client.wait(timeout=30) != 0  # its job did not finish


@needs_pidfds
def test_the_server_ends_with_the_run_that_started_it(tmp_path):
    run = ("import os, sys, time; from allroads import warm; s = warm.Server(); s.start(); "
           "print(s.proc.pid, s.path, flush=True); time.sleep(120)")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", run], env=env, stdout=subprocess.PIPE, text=True)
    pid, path = p.stdout.readline().split()
    assert wait_until(lambda: os.path.exists(path))
    p.kill()  # SIGKILL: no onsuccess, onerror or atexit ran
    p.wait()
    assert wait_until(lambda: not os.path.exists(os.path.dirname(path)), 15)
    assert wait_until(lambda: not alive(int(pid)), 5)


@needs_pidfds
def test_stop_removes_the_server_and_its_socket_from_the_environment():
    s = warm.Server()
    path = s.start()
    assert os.environ[warm.SOCKET_ENV] == path
    proc = s.proc
    s.stop()
    assert warm.SOCKET_ENV not in os.environ and proc.poll() is not None
    assert not os.path.exists(os.path.dirname(path))


@pytest.mark.parametrize(
    "enabled, local, deployment, expected",
    [(True, True, set(), True), (False, True, set(), False),
     (True, False, set(), False),  # Slurm: each job stays in its own allocation
     (True, True, {"conda"}, False)],  # a rule's conda env is another Python
)  # fmt: skip
def test_the_server_runs_only_for_local_jobs_in_this_python(enabled, local, deployment, expected):
    assert warm.wanted(enabled, local, deployment) == (expected and warm.supported())


def test_handoff_takes_the_training_module_and_script_jobs_only(monkeypatch):
    asked = []
    monkeypatch.setattr(warm, "run", lambda path, request: asked.append(request))  # None: cold
    monkeypatch.setenv(warm.SOCKET_ENV, "/nonexistent")
    monkeypatch.delenv(warm.ROLE_ENV, raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    for argv in (["python", "-m", "allroads.training", "{}"], ["python", "-m", "allroads.plan"],
                 ["python", "-c", "pass"]):  # fmt: skip
        monkeypatch.setattr(sys, "orig_argv", argv)
        warm.handoff()
    assert asked == [{"module": "allroads.training", "args": ["{}"]}]
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "allroads.training", "{}"])
    monkeypatch.setenv("LOCAL_RANK", "0")  # one rank of a multi-process launch: never
    warm.handoff()
    assert len(asked) == 1


def test_a_module_job_runs_in_the_server(server, capfd):
    code = warm.run(server.path, {"module": "allroads.plan", "args": ["--help"]})
    assert code == 0  # served (None: refused, run cold)
    assert "usage: python -m allroads.plan" in capfd.readouterr().out  # on this process's stdout

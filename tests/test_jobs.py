"""The plumbing of every job (allroads.jobs.job): what its log says when a job fails or
finishes, the threads it gives torch, and the start-up line bench/bench_startup.py reads.

Jobs run in a subprocess, as under Snakemake: job() redirects the process's output and
replaces the logging configuration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_startup import parse_log  # noqa: E402

RUNNER = """
import json, runpy, sys
sys.path.insert(0, {root!r})

class NS(dict):
    __getattr__ = dict.__getitem__

spec = json.loads(sys.argv[1])
snakemake = NS(
    input=NS(spec["input"]), output=spec["output"], params=NS(spec["params"]),
    wildcards=NS(spec["wildcards"]), log=[spec["log"]], rule=spec["rule"],
    threads=spec["threads"], config=spec["config"],
)
if spec.get("script"):
    runpy.run_path(spec["script"], init_globals={{"snakemake": snakemake}})
else:
    from allroads.jobs import job
    with job(snakemake) as log:
        exec(spec["body"])
"""


def run_job(tmp_path: Path, rule: str, *, script=None, body="", threads=1, **spec):
    (tmp_path / "runner.py").write_text(RUNNER.format(root=str(ROOT)))
    spec = dict(
        {"input": {}, "output": [], "params": {}, "wildcards": {}, "config": {}},
        **spec,
        rule=rule,
        script=script,
        body=body,
        threads=threads,
        log=str(tmp_path / "logs" / f"{rule}.log"),
    )
    p = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return p, Path(spec["log"])


def test_missing_openai_key_is_one_line_in_the_log_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    (data / "prompts.jsonl").write_text(
        json.dumps({"id": "p0", "post": "a post", "reference": " a summary"}) + "\n"
    )
    (data / "samples.jsonl").write_text(
        json.dumps({"prompt_id": "p0", "completion": " my summary"}) + "\n"
    )
    work = tmp_path / "judge_work" / "openai"
    out = tmp_path / "eval" / "sft.judge-openai.jsonl"
    p, log = run_job(
        tmp_path,
        "judge",
        script=str(ROOT / "scripts" / "judge.py"),
        input={"samples": str(data / "samples.jsonl"), "prompts": str(data / "prompts.jsonl")},
        output=[str(out)],
        params={"judge_cfg": {"use": ["openai"], "openai": {}}, "workdir": str(work)},
        config={"task": {"kind": "tldr", "seed": 0}},
        wildcards={"judge": "openai", "size": "s", "seed": "0", "policy": "sft"},
    )
    assert p.returncode == 1, p.stderr
    assert p.stdout == "" and p.stderr == ""  # nothing outside the rule's log
    text = log.read_text()
    errors = [line for line in text.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "OPENAI_API_KEY" in errors[0], text
    assert "Traceback" not in text and "event loop" not in text, text
    assert len(text.splitlines()) == 2, text  # the start line and the error
    assert not work.exists() and not out.exists()  # no empty SQLite cache, no output


def test_an_unexpected_error_keeps_its_traceback(tmp_path):
    p, log = run_job(tmp_path, "sft", body="raise KeyError('bug')")
    assert p.returncode != 0
    text = log.read_text()
    assert "rule sft failed" in text and "Traceback" in text and "KeyError: 'bug'" in text


def test_torch_gets_the_jobs_threads(tmp_path):
    """A job imports torch when it needs it (after job() started): it still gets
    snakemake.threads threads, not all the machine's cores."""
    body = "import torch; log.info('torch threads %d', torch.get_num_threads())"
    p, log = run_job(tmp_path, "base", body=body, threads=2)
    assert p.returncode == 0, log.read_text()
    assert "torch threads 2" in log.read_text()
    p, log = run_job(tmp_path, "base", body=body, threads=1)
    assert "torch threads 1" in log.read_text()


def test_log_records_startup_and_work_for_the_bench(tmp_path):
    p, log = run_job(tmp_path, "table_fig3", body="import time; time.sleep(0.2)")
    assert p.returncode == 0, log.read_text()
    job = parse_log(log)
    assert job is not None, log.read_text()
    assert job["rule"] == "table_fig3"
    assert 0 < job["startup"] < 60
    assert 0.2 <= job["work"] < 5
    assert job["start"] < job["end"] and job["end"] - job["start"] >= job["work"]


def test_a_finished_torch_job_skips_teardown_with_its_output_and_log_complete(tmp_path):
    """A job that imported torch ends its process right after "done in" (allroads.jobs.exit_now):
    status 0, the output written and the log complete, and no exit-time code run."""
    out, marker = tmp_path / "out.jsonl", tmp_path / "teardown-ran"
    body = (
        "import atexit, torch\n"
        "from allroads.io import write_jsonl\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        f"write_jsonl({str(out)!r}, [{{'x': 1}}])\n"
        "log.info('tail of the job')\n"
    )
    p, log = run_job(tmp_path, "sample_eval", body=body)
    assert p.returncode == 0, log.read_text()
    assert out.read_text() == '{"x": 1}\n'
    text = log.read_text()
    assert "tail of the job" in text and parse_log(log) is not None, text  # "done in" last
    assert not marker.exists()  # the interpreter's teardown was skipped


def test_every_script_ends_with_its_job_block():
    """job() ends a finished torch job's process (see above): anything after the ``with
    job(snakemake)`` block of a script would silently never run."""
    import ast

    for script in sorted((ROOT / "scripts").glob("*.py")):
        body = ast.parse(script.read_text()).body
        last = body[-1]
        assert isinstance(last, ast.With), f"{script.name}: the with job(...) block is not last"
        call = last.items[0].context_expr
        assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "job", script.name


def test_every_script_imports_allroads_before_doing_anything():
    """A warm job (allroads/warm.py) hands itself off at its first ``import allroads`` and its
    fork runs the script again from the top: a statement before that import would run twice."""
    import ast

    for script in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.parse(script.read_text()).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                if any(n == "allroads" or n.startswith("allroads.") for n in names):
                    break
            else:  # only the docstring may come before the imports
                is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                assert is_doc, f"{script.name}: line {node.lineno} runs before `import allroads`"
        else:
            raise AssertionError(f"{script.name} never imports allroads")


def test_a_finished_torch_job_still_waits_for_what_it_left_running(tmp_path):
    """exit_now is skipped while a child process (vLLM's engine, shut down at exit) or a
    non-daemon thread is still running: the job's process ends only after both have finished,
    their output written, as any Python program's would."""
    by_thread, by_child = tmp_path / "thread.txt", tmp_path / "child.txt"
    body = (
        "import multiprocessing, threading, time, torch\n"
        "def late(path):\n"
        "    time.sleep(1.0)\n"
        "    open(path, 'w').write('done')\n"
        f"threading.Thread(target=late, args=({str(by_thread)!r},)).start()\n"
        "ctx = multiprocessing.get_context('fork')\n"
        f"ctx.Process(target=late, args=({str(by_child)!r},)).start()\n"
    )
    p, log = run_job(tmp_path, "sample_eval", body=body)
    assert p.returncode == 0, log.read_text()
    assert by_thread.read_text() == "done" and by_child.read_text() == "done"

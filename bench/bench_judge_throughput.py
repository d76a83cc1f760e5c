"""Throughput of the openai judge against a local fake server answering in 50 ms.

Starts the loopback fake server from ``tests/judge_fake_server.py`` (asyncio, in a thread), judges
``--n`` fresh comparisons (empty cache) with ``--concurrency`` requests in flight, and prints
comparisons per second. Target: >= 100 comparisons/s.

    .venv/bin/python bench/bench_judge_throughput.py --n 2000 --concurrency 32
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from judge_fake_server import FakeJudgeServer  # noqa: E402

from allroads.judging.base import Comparison  # noqa: E402
from allroads.judging.openai_judge import OpenAIJudge  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="comparisons to judge")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.05, help="server latency in seconds")
    args = ap.parse_args()

    os.environ.pop("OPENAI_API_KEY", None)  # loopback server: the judge uses a dummy key
    comps = [
        Comparison(
            id=str(i),
            prompt_id=str(i),
            post=f"Post {i}: my roommate keeps eating my food and I do not know what to say. " * 3,
            candidate=f"roommate eats food {i}",
            reference=f"good summary of post {i}",
        )
        for i in range(args.n)
    ]
    with FakeJudgeServer(latency_s=args.latency) as srv, tempfile.TemporaryDirectory() as tmp:
        cfg = {
            "model": "fake-judge",
            "base_url": srv.base_url,
            "concurrency": args.concurrency,
            "cache": str(Path(tmp) / "cache.sqlite"),
            "timeout_s": 30,
        }
        judge = OpenAIJudge.from_config(cfg, seed=0, progress=False)
        t0 = time.perf_counter()
        verdicts = judge.judge(comps)
        dt = time.perf_counter() - t0
        assert all(v.score == 0.0 for v in verdicts), "the fake judge prefers the reference"
        t1 = time.perf_counter()
        judge.judge(comps)
        dt_cached = time.perf_counter() - t1
        judge.close()
    print(
        f"{args.n} comparisons in {dt:.2f} s = {args.n / dt:.0f} comparisons/s "
        f"(latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, "
        f"{srv.n_requests} requests); cached rerun {args.n / dt_cached:.0f} comparisons/s"
    )


if __name__ == "__main__":
    main()

"""Wall time of the default target (every figure of `figures`, on the toy task) from scratch,
2 cores; then every figure's table and the diagnostics tables.

Run: .venv/bin/python bench/bench_default_run.py [FIG ...]   (uses a temporary results folder)
FIG ...: time only those entries of config `figures` (e.g. `fig3`: Figure 3 and the RM study).
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
if sys.argv[1:]:
    cfg["figures"] = sys.argv[1:]
with tempfile.TemporaryDirectory() as d:
    cfg["results"] = str(Path(d) / "results")
    conf = Path(d) / "config.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(conf), "-q"],
                       cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(p.stdout[-3000:] + p.stderr[-3000:])
    print(
        f"default target ({', '.join(cfg.get('figures', ['fig3']))} + RM study, {len(cfg.get('sizes', cfg['models']))} sizes x {len(cfg['seeds'])} seeds): {wall:.0f} s wall"
    )
    root = Path(cfg["results"])  # Figure 5's tables are the control run's, under its folder
    for md in sorted(root.glob("**/tables/fig*.md")) + sorted(
        root.glob("**/tables/diagnostics*.md")
    ):
        print(f"## {md.relative_to(root)}\n\n{md.read_text()}")

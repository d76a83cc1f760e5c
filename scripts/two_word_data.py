"""Rule two_word_data: Figure 5's pairs and references written and labelled by gpt-4o
(allroads.two_word_data; the writer: allroads.judging.writer)."""

from pathlib import Path

from allroads.io import read_jsonl, write_json, write_jsonl
from allroads.jobs import job
from allroads.judging.openai_judge import OpenAIJudge
from allroads.judging.writer import SummaryWriter
from allroads.two_word_data import REQUIRED, SPLITS, WriterSettings, build

with job(snakemake) as log:
    p = snakemake.params
    settings = WriterSettings.from_mapping(p.writer)
    sources = {s: snakemake.input[s] for s in SPLITS}
    splits = {s: read_jsonl(path, required=REQUIRED[s]) for s, path in sources.items()}
    work = Path(p.workdir)
    writer = SummaryWriter.from_config(
        p.judge_cfg, max_tokens=settings.max_tokens, workdir=work / "write"
    )
    judge = OpenAIJudge.from_config(p.judge_cfg, seed=int(p.seed), workdir=work / "label")
    try:
        out, stats = build(splits, writer, judge, settings, int(p.seed), sources)
    finally:
        writer.close()
        judge.close()
    for s in SPLITS:
        write_jsonl(snakemake.output[s], out[s])
    write_json(snakemake.output.stats, stats)
    for s in SPLITS:
        log.info("%s: %d of %d rows, dropped %s", s, stats[s]["rows"], stats[s]["rows_in"],
                 stats[s]["dropped"])  # fmt: skip

"""The report a reader opens: each figure's "This run:" sentence says what its table holds, the
figures list in numeric order, the table pages show the numbers, and the figures draw the
comparison each one exists for."""

import random

import pytest

from allroads import plots, report_text, winrate

POLICIES = ["sft", "dpo", "dpo2x", "online-sft", "online-dpo"]
COMPARISONS = [["online-sft", "dpo"], ["online-dpo", "dpo2x"], ["online-dpo", "dpo"]]


def judged(rate: dict[str, float], seeds=(0, 1, 2), prompts=60, rstar=True) -> list[dict]:
    """Judgment rows as the judge writes them: policy p wins a prompt with probability rate[p]
    (the oracle judge also records r* of the summary and of the reference)."""
    rng = random.Random(0)
    rows = []
    for seed in seeds:
        for p, w in rate.items():
            for i in range(prompts):
                row = {"size": "toy-m", "seed": seed, "policy": p, "prompt_id": f"q{i}"}
                row["score"] = float(rng.random() < w)
                if rstar:
                    row["meta"] = {"r_candidate": w + 0.001 * seed, "r_reference": 0.5}
                rows.append(row)
    return rows


def tables(tmp_path, rate, comparisons=COMPARISONS, rstar=True):
    """A figure's table and differences, written by the table rule's own functions."""
    records = judged(rate, rstar=rstar)
    per_seed = winrate.per_seed_table(records)
    boot = winrate.bootstrap(records, 200, 0)
    summary = winrate.summary_table(per_seed, list(rate), boot)
    diffs = winrate.differences_table(boot, comparisons)
    summary.to_csv(tmp_path / "t.csv", index=False)
    diffs.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "t.md").write_text(winrate.to_markdown(summary, diffs))
    return summary, diffs


def test_winrate_sentence_reads_the_differences_and_rstar(tmp_path):
    rate = {"sft": 0.3, "dpo": 0.5, "dpo2x": 0.52, "online-sft": 0.8, "online-dpo": 0.82}
    _, diffs = tables(tmp_path, rate)
    text = report_text.this_run("winrate", tmp_path / "t.csv", tmp_path / "d.csv")
    assert text.startswith("This run: on toy-m (3 seeds), Online DPO (SFT) − DPO = +")
    first = diffs.iloc[0]
    assert f"95% CI +{100 * first['ci_low']:.1f} to +{100 * first['ci_high']:.1f}" in text
    assert "above 0" in text and text.count("This run") == 1 and text.endswith(".")
    assert (
        "mean r* SFT 0.301, DPO 0.501," in text and "Online DPO (DPO) 0.821" in text
    )  # r*, as judged


def test_a_difference_whose_interval_spans_zero_says_so(tmp_path):
    rate = {"dpo": 0.5, "online-dpo": 0.5}
    tables(tmp_path, rate, [["online-dpo", "dpo"]], rstar=False)
    text = report_text.winrate(report_text.read_csv(tmp_path / "t.csv"),
                               report_text.read_csv(tmp_path / "d.csv"))  # fmt: skip
    assert "includes 0" in text and "r*" not in text


def test_each_figure_kind_has_a_sentence():
    assert set(report_text.SENTENCES) == {"winrate", "rouge", "bon", "rm_fit"}
    with pytest.raises(ValueError, match="figure kind 'bars'"):
        report_text.this_run("bars", "x.csv")


def test_rm_fit_sentence_ranks_the_rms_by_held_out_fit():
    rows = [
        {"size": "toy-m", "rm": k, "loglik": ll, "loglik_se": 0.01, "seeds": 3, "val_pairs": 500}
        for k, ll in (("global", -0.65), ("local", -0.61), ("dpo", -0.69))
    ]
    text = report_text.rm_fit(rows)
    assert "so local > global > DPO" in text and "500 held-out pairs" in text


def test_bon_sentence_follows_each_rm_from_the_smallest_to_the_largest_n():
    rows = [
        {"size": "toy-m", "generator": "sft", "rm": k, "rm_size": "toy-m", "n": n,
         "winrate": w + (0.1 if n == 25 else 0), "ci_low": 0.0, "ci_high": 1.0}
        for k, w in (("global", 0.5), ("dpo", 0.4)) for n in (1, 5, 25)
    ]  # fmt: skip
    text = report_text.bon(rows)
    assert "from N = 1 to N = 25" in text
    assert "global RM 50.0% → 60.0%, DPO RM 40.0% → 50.0%" in text


def test_the_report_lists_figure_10_after_figure_9():
    titles = ["Figure 10: Best-of-N", "Figure 3: online", "Figure 9: fit", "Figure 4: size"]
    ordered = sorted(report_text.sort_label(t) for t in titles)
    assert [t.split(":")[0].split()[-1] for t in ordered] == ["3", "4", "9", "10"]
    assert " ".join(report_text.sort_label("Figure 3: x").split()) == "Figure 3: x"


def test_the_table_page_shows_the_numbers_of_the_markdown_table(tmp_path):
    rate = {"dpo": 0.5, "online-dpo": 0.8}
    summary, _ = tables(tmp_path, rate, [["online-dpo", "dpo"]])
    page = report_text.table_page("Figure 3: x", "cap", "This run: y.",
                                  (tmp_path / "t.md").read_text(), ["t.csv"])  # fmt: skip
    assert page.count("<table>") == 2  # the policies, then the differences
    assert f">{100 * summary['winrate'].iloc[1]:.1f} ± " in page
    assert '<td class="t">online-dpo − dpo</td>' in page


def test_the_figure_draws_the_differences_and_rstar(tmp_path):
    rate = {"sft": 0.3, "dpo": 0.5, "dpo2x": 0.52, "online-sft": 0.8, "online-dpo": 0.82}
    summary, diffs = tables(tmp_path, rate)
    out = tmp_path / "f.png"
    fig = plots.paired_figure(summary, diffs, POLICIES, [str(out)], "Figure 3: t")
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert any("paired difference" in t for t in titles) and any("r*" in t for t in titles)
    diff_ax = next(ax for ax in fig.axes if "paired difference" in ax.get_title(loc="left"))
    assert len(diff_ax.get_yticklabels()) == len(diffs)  # one row per comparison
    assert any(line.get_xdata()[0] == 0 for line in diff_ax.get_lines())  # the zero line
    assert out.stat().st_size > 1000


def test_the_report_labels_a_figure_with_its_title_and_sentence(tmp_path):
    """What Snakemake calls when it makes the report (report(labels=...)), with the rule's
    own input and params."""
    from snakemake.iocontainers import Namedlist

    tables(tmp_path, {"dpo": 0.5, "online-dpo": 0.8}, [["online-dpo", "dpo"]])
    inp = Namedlist(fromdict={"csv": str(tmp_path / "t.csv"), "diffs": str(tmp_path / "d.csv")})
    params = Namedlist(fromdict={"kind": "winrate", "title": "Figure 3: x", "labels": {}})
    labels = report_text.report_labels(None, inp, params)
    assert labels["figure"] == "Figure  3: x"
    assert labels["this run"].startswith("This run: on toy-m (3 seeds), Online DPO (DPO) − DPO")
    assert report_text.table_labels(None, params) == {"table": "Figure  3: x"}

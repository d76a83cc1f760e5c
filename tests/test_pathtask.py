"""The shortest-path task: its graph, hidden reward r*, data writers, labels and determinism."""

import collections
import random

import pytest

from allroads import bradley_terry
from allroads import pathtask as pt

CFG = dict(splits=dict(sft_train=400, sft_val=5, sft_test=5, pft_train=2000, pft_val=50))
POST = "paths nodes=40 degree=2-4 seed=0 reach=1.0 step=0.1 invalid=0.5 hops=all\nfrom n{} to n{}"


def floyd_warshall(succ):
    """All-pairs distances by relaxation: an independent reference for the task's BFS."""
    n, inf = len(succ), float("inf")
    d = [[0 if u == v else 1 if v in succ[u] else inf for v in range(n)] for u in range(n)]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                d[i][j] = min(d[i][j], d[i][k] + d[k][j])
    return d


@pytest.mark.parametrize("nodes,degree,seed", [(40, (2, 4), 0), (25, (1, 2), 3), (60, (3, 4), 1)])
def test_graph_distances_match_a_reference_and_every_pair_is_reachable(nodes, degree, seed):
    g = pt.make_graph(nodes, degree, seed)
    assert all(degree[0] <= len(s) <= degree[1] and u not in s for u, s in enumerate(g.succ))
    ref = floyd_warshall(g.succ)
    assert [list(row) for row in g.dist] == ref  # finite everywhere: strongly connected


def a_query(g, d):
    """The first (s, t) of the graph at distance ``d``, and a shortest route between them."""
    s, t = next((s, t) for s in range(g.n) for t in range(g.n) if g.dist[s][t] == d)
    return s, t, pt.shortest_route(g, s, t, random.Random(0))


def test_reward_by_hand():
    g = pt.make_graph(40, (2, 4), 0)
    s, t, route = a_query(g, 3)
    post, r = POST.format(s, t), pt.true_reward
    say = pt._say
    assert r(post, say(route)) == pytest.approx(1 - 0.3)  # reach t in 3 steps
    assert r(post, say(route) + pt.EOS) == pytest.approx(1 - 0.3)  # EOS is not a step
    assert r(post, say(route[:2])) == pytest.approx(-0.2)  # stops short of t
    assert r(post, say(route + [g.succ[t][0]])) == pytest.approx(-0.4)  # runs past t
    bad = next(v for v in range(g.n) if v not in g.succ[s] and v != s)
    # a non-successor first: s -> bad is no edge; bad -> route[1] is one unless by chance
    n_bad = 1 + (route[1] not in g.succ[bad])
    # a non-edge on the way: t is not reached (no shortcut over a non-edge pays)
    assert r(post, say([bad] + route[1:])) == pytest.approx(-0.3 - 0.5 * n_bad)
    assert r(post, " hello " + say(route).strip()) == pytest.approx(-0.4 - 0.5 * 2)
    assert r(post, say([t])) == pytest.approx(-0.1 - 0.5)  # the jump straight to t
    assert r(post, "") == 0.0
    heavy = POST.replace("reach=1.0 step=0.1", "reach=2 step=0.25").format(s, t)
    assert r(heavy, say(route)) == pytest.approx(2 - 0.75)  # r*'s weights: the post's


def test_control_reward_is_the_first_hops_progress():
    g = pt.make_graph(40, (2, 4), 0)
    s, t, route = a_query(g, 3)
    post, r = POST.replace("hops=all", "hops=1").format(s, t), pt.true_reward
    for v in g.succ[s]:
        assert r(post, f" n{v}") == g.dist[s][t] - g.dist[v][t]
    assert r(post, f" n{route[0]}") == 1  # on a shortest route: one step closer
    bad = next(v for v in range(g.n) if v not in g.succ[s] and v != s)
    assert r(post, f" n{bad}") == -0.5  # no edge: no progress, whatever the node's distance
    assert r(post, f" n{t}") == (1 if t in g.succ[s] else -0.5)  # no jumping to t
    assert r(post, f" n{route[0]} n{route[1]}") == pytest.approx(0.5)  # a word after the hop
    assert r(post, "") == -0.5


def test_bad_post_names_itself():
    with pytest.raises(ValueError, match="not a shortest-path post"):
        pt.true_reward("about trent\nso trent hates maps .", " n1")


@pytest.mark.parametrize("first_hop", [False, True])
def test_splits_are_deterministic_by_seed_and_the_graph_by_graph_seed(first_hop):
    cfg = dict(CFG, first_hop=first_hop)
    a, b = pt.build_splits(cfg, 0), pt.build_splits(cfg, 0)
    assert a == b and a != pt.build_splits(cfg, 1)
    assert pt.pretraining_corpus(cfg, 20, 5) == pt.pretraining_corpus(cfg, 20, 5)
    assert pt.graph_of(cfg) == pt.graph_of(dict(cfg, graph_seed=0))
    assert pt.graph_of(cfg) != pt.graph_of(dict(cfg, graph_seed=1))
    rows = [r for split in a.values() for r in split]
    assert {"id", "prompt", "post"} <= set(rows[0]) and {"chosen", "rejected"} <= set(
        a["pft_train"][0]
    )
    assert all(r["prompt"].endswith(r["post"].split()[-3]) for r in rows)  # ends with s


def test_walks_follow_edges_and_demonstrations_are_valid_routes_of_varied_length():
    g = pt.graph_of({})
    for doc in pt.pretraining_corpus({}, 200, 0):
        walk = [doc["prompt"].split()[-1]] + doc["reference"].split()
        assert all(g.edge(a, b) for a, b in zip(walk, walk[1:], strict=False))
    rows = pt.build_splits(CFG, 0)["sft_train"]
    excess = collections.Counter()
    for row in rows:
        q = pt.read_post(row["post"])
        p = pt.parts(row["post"], row["reference"])
        assert p["invalid"] == 0 and p["reached"] == 1 and p["revisits"] == 0
        excess[p["steps"] > g.dist[q.s][q.t]] += 1
    assert 0.3 < excess[True] / len(rows) < 0.6  # path_noise 0.5, a few detours fall back


def test_distance_bounds_fix_the_queries_route_length():
    cfg = dict(CFG, min_distance=3, max_distance=3, path_noise=0.0)
    g = pt.graph_of(cfg)
    for rows in pt.build_splits(cfg, 0).values():
        for row in rows:
            q = pt.read_post(row["post"])
            assert g.dist[q.s][q.t] == 3
            if "reference" in row:  # path_noise 0: every demonstration is a shortest route
                assert pt.parts(row["post"], row["reference"])["steps"] == 3
    with pytest.raises(ValueError, match="max_distance 2: no pair"):
        pt.build_splits(dict(CFG, min_distance=3, max_distance=2), 0)


def test_pool_weights_set_how_often_each_writer_appears():
    def kinds(pool):
        rows = pt.build_splits(dict(CFG, pool=pool, label_temperature=0.01), 0)["pft_train"]
        return collections.Counter(
            pt.slip_kind(r["post"], r["chosen"], r["rejected"]) for r in rows
        )

    uniform, weighted = kinds(None), kinds({"shortest": 10, "longer": 10, "wander": 1, "loop": 1})
    assert weighted["longer"] > 2 * uniform["longer"]  # shortest vs longer pairs dominate
    assert weighted["misses_target"] < uniform["misses_target"]  # writers left out never appear
    with pytest.raises(ValueError, match="task.paths.pool: unknown writer 'best'"):
        pt.build_splits(dict(CFG, pool={"best": 1, "longer": 1}), 0)


@pytest.mark.parametrize("first_hop,temperature", [(False, 0.6), (True, 1.3)])
def test_labels_agree_with_rstar_about_as_tldr_labels_do(first_hop, temperature):
    cfg = dict(CFG, first_hop=first_hop, label_temperature=temperature)
    assert (
        0.65
        < bradley_terry.label_agreement(pt.true_reward, pt.build_splits(cfg, 0)["pft_train"])
        < 0.78
    )


def test_writers_cover_each_kind_and_the_shortest_route_is_best():
    g, rng = pt.graph_of({}), random.Random(0)
    cfg = pt.settings({})
    kinds = collections.Counter()
    for _ in range(300):
        s, t = rng.sample(range(g.n), 2)
        if g.dist[s][t] < 2:
            continue
        post = pt.judge_post(cfg, s, t)
        best = pt.true_reward(post, pt._say(pt.shortest_route(g, s, t, rng)))
        assert best == pytest.approx(1 - 0.1 * g.dist[s][t])
        for name, write in pt.writers(cfg, g, s, t, rng).items():
            text = write()
            assert pt.true_reward(post, text) <= best, name
            if name != "shortest":
                kinds[
                    name, pt.slip_kind(post, " " + pt._say(pt.shortest_route(g, s, t, rng)), text)
                ] += 1
    by_slip = {slip for _, slip in kinds}
    assert {"invalid_edge", "misses_target", "loop", "longer"} <= by_slip
    assert (
        kinds["loop", "loop"]
        and kinds["longer", "longer"]
        and kinds["invalid_edge", "invalid_edge"]
    )


@pytest.mark.parametrize("first_hop", [False, True])
def test_check_pairs_each_isolate_their_slip(first_hop):
    rows = pt.build_splits(dict(CFG, first_hop=first_hop), 0)["pft_val"]
    pairs = pt.check_pairs(rows)
    kinds = collections.Counter(p["kind"] for p in pairs)
    expected = {"invalid_edge", "longer"} | (set() if first_hop else {"misses_target", "loop"})
    assert set(kinds) == expected and min(kinds.values()) > 0.6 * len(rows)
    assert kinds["invalid_edge"] == len(rows)
    for p in pairs:
        assert pt.true_reward(p["post"], p["chosen"]) > pt.true_reward(p["post"], p["rejected"])
        assert pt.slip_kind(p["post"], p["chosen"], p["rejected"]) == p["kind"]


def test_vocabulary_covers_every_prompt_walk_and_completion():
    vocab = set(pt.vocabulary({}))
    data = pt.build_splits(CFG, 0)
    words = {w for rows in data.values() for r in rows
             for k in ("prompt", "reference", "chosen", "rejected") for w in r.get(k, "").split()}  # fmt: skip
    words |= {
        w for d in pt.pretraining_corpus({}, 50, 0) for w in (d["prompt"] + d["reference"]).split()
    }
    assert words <= vocab and pt.EOS in vocab and pt.PAD in vocab


def config_task(*overlays):
    """The ``task`` section of config.yaml with the given overlays merged, as Snakemake does,
    with small splits."""
    import configs

    cfg = configs.load(*overlays)
    cfg["task"]["paths"]["splits"] = dict.fromkeys(cfg["task"]["paths"]["splits"], 20)
    cfg["task"]["paths"]["pretrain"] = 10
    return cfg["task"]


@pytest.mark.parametrize("overlays", [(), ("config/toy-paths-control.yaml",)])
def test_the_task_interface_runs_the_configs_task(tmp_path, overlays):
    from allroads.io import read_jsonl
    from allroads.judging import make_judge
    from allroads.judging.base import Comparison
    from allroads.tasks import SPLITS, get_task

    cfg = config_task(*overlays)
    task = get_task(cfg)
    rows = task.write_splits(tmp_path, {})
    assert {s: read_jsonl(tmp_path / f"{s}.jsonl") for s in SPLITS} == rows
    control = bool(overlays)
    assert all(
        r["post"].split("\n")[0].endswith("hops=1" if control else "hops=all")
        for r in rows["sft_train"]
    )
    tok = task.tokenizer()
    docs = task.pretraining_corpus()
    for text in [r["prompt"] + r["reference"] for r in rows["sft_train"]] + [
        d["prompt"] for d in docs
    ]:
        assert tok.unk_token_id not in tok(text)["input_ids"]
    r = rows["pft_train"][0]
    assert task.reward(r["post"], r["chosen"]) == pt.true_reward(r["post"], r["chosen"])
    assert task.label_temperature == cfg["paths"]["label_temperature"]
    assert task.slip_kind(r["post"], r["chosen"], r["chosen"]) in task.slips
    judge = make_judge("oracle", {}, seed=0, task=task)
    shortest = " " + " ".join(f"n{v}" for v in pt.shortest_route(
        pt.read_post(r["post"]).graph, pt.read_post(r["post"]).s, pt.read_post(r["post"]).t,
        random.Random(0))[: 1 if control else None])  # fmt: skip
    back = " " + r["prompt"].split()[-1]  # a hop from s to s: no edge, no progress
    (verdict,) = judge.judge([Comparison("c0", r["id"], r["post"], shortest, back)])
    assert verdict.score == 1.0 and verdict.meta["r_reference"] == task.reward(r["post"], back)

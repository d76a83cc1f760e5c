"""Shortest paths: a toy task with a generation–verification gap by construction.

What it is
----------
A seeded random directed graph over nodes ``n0 … n{N-1}`` (out-degree drawn in ``degree``),
fixed for the task by ``graph_seed``. Every node also gets one edge along a random Hamiltonian
cycle, so the graph is strongly connected and every query ``from s to t`` has a route. The
prompt asks for a route from ``s`` to ``t`` and ends with ``s`` itself (``TL;DR: s``): the
completion is the nodes *after* s (s is not repeated), then EOS, e.g. `` n8 n12 n17``.

The hidden reward r*(post, summary) is a sum of local checks over the walk ``s, w1, w2, …``:

- ``+reach`` when the last node is t and every step is an edge (reaching t and stopping there;
  a jump over a non-edge reaches nothing, so no invalid shortcut beats a route);
- ``−step`` per node written (the path's length);
- ``−invalid`` per consecutive pair that is not an edge of the graph (a non-node word is
  never an edge).

Verifying a path needs only edge bigrams (which pretraining teaches), a comparison of the last
node with the prompt's t, and a length. Writing a shortest one needs the distance table:
lookahead. That is the gap. Pretraining documents are random walks, which teach the edges but
never a route to a target. SFT demonstrations are valid routes, with probability
``path_noise`` a longer one (a detour), so the policy's samples differ in length: headroom.

The control (``first_hop: true``, Figure 5's analogue, H = 1): the completion is the first hop
only, r* = dist(s, t) − dist(w1, t) for a hop along an edge (1 on a shortest route), −``invalid``
for a hop along no edge, and −``invalid`` per word after the first. Checking one hop needs the
same distance table as choosing it: no gap.

The judge-visible post is a header line naming the graph and r*'s weights (``paths nodes=40
degree=2-4 seed=0 reach=1 step=0.1 invalid=0.5 hops=all``), then ``from s to t``: r* is a
pure function of (post, summary), as the oracle judge, the labeller and the diagnostics call
it; the graph is rebuilt from the header (cached). Record schema as the facts task's
(:mod:`allroads.toytask`): SFT rows ``{id, prompt, post, reference}``, preference rows
```{id, prompt, post, chosen, rejected}``; completions start with a space. The workflow reaches it
through :class:`allroads.tasks.paths.PathsTask` (``task.kind: paths``).

Defaults of every knob live in :data:`DEFAULTS` (config ``task.paths``).
"""

from __future__ import annotations

import functools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from . import bradley_terry
from .toytask import EOS, PAD, UNK

DEFAULTS = {
    "nodes": 40,  # graph size N
    "degree": [2, 4],  # out-degree range (the Hamiltonian cycle's edge included)
    "graph_seed": 0,  # fixes the graph; the task seed fixes queries, demonstrations, labels
    "min_distance": 2,  # queries have dist(s, t) >= this (1 would be a one-edge lookup)
    "max_distance": None,  # queries have dist(s, t) <= this (None: no bound)
    "walk_length": [4, 12],  # pretraining random walks: nodes after the start
    "path_noise": 0.5,  # share of SFT demonstrations that take a detour (valid, longer)
    "detour": [1, 3],  # a detour's random-walk steps before the shortest route resumes
    "reward": {"reach": 1.0, "step": 0.1, "invalid": 0.5},  # r*'s weights (module docstring)
    "first_hop": False,  # the control: the first hop only (H = 1)
    "label_temperature": 0.6,  # Bradley–Terry labeller: ~0.72 agreement with r* (config.yaml: 0.3)
    "pool": None,  # the preference pool's writer weights (writer name -> weight); None: uniform
}
STRUCTURE = ["SUBREDDIT:", "r/paths", "TITLE:", "route", "walk", "POST:", "from", "to", "TL;DR:",
             "Next-Hop"]  # fmt: skip


def settings(task_cfg: dict) -> dict:
    """``task_cfg`` (config ``task.paths``) over :data:`DEFAULTS`; ``reward`` merged per key."""
    cfg = {**DEFAULTS, **task_cfg}
    cfg["reward"] = {**DEFAULTS["reward"], **task_cfg.get("reward", {})}
    return cfg


def vocabulary(task_cfg: dict | None = None) -> list[str]:
    """Every word a prompt, walk or path can contain (the word-level tokenizer's vocabulary)."""
    n = settings(task_cfg or {})["nodes"]
    return [PAD, EOS, UNK] + STRUCTURE + [f"n{i}" for i in range(n)]


# --------------------------------------------------------------------------- the graph


@dataclass(frozen=True)
class Graph:
    succ: tuple[tuple[int, ...], ...]  # out-neighbours of each node, sorted
    dist: tuple[tuple[int, ...], ...]  # dist[u][v]: edges on a shortest route from u to v

    @property
    def n(self) -> int:
        return len(self.succ)

    def edge(self, a: str, b: str) -> bool:
        u, v = node_index(a, self.n), node_index(b, self.n)
        return u is not None and v is not None and v in self.succ[u]


def node_index(word: str, n: int) -> int | None:
    """``n17`` -> 17 for a node of a graph of ``n`` nodes, else None."""
    if word[:1] == "n" and word[1:].isdigit() and int(word[1:]) < n and word == f"n{int(word[1:])}":
        return int(word[1:])
    return None


def bfs_distances(succ: tuple[tuple[int, ...], ...], source: int) -> list[int]:
    """Edges on a shortest route from ``source`` to every node (-1: unreachable)."""
    dist = [-1] * len(succ)
    dist[source] = 0
    queue = deque([source])
    while queue:
        u = queue.popleft()
        for v in succ[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


@functools.lru_cache(maxsize=16)
def make_graph(nodes: int, degree: tuple[int, int], seed: int) -> Graph:
    """The task's graph: a random Hamiltonian cycle (strong connectivity) plus random edges up
    to each node's out-degree, drawn uniformly in ``degree``. Deterministic in its arguments."""
    lo, hi = degree
    if not 1 <= lo <= hi < nodes:
        raise ValueError(f"task.paths.degree {list(degree)} must satisfy 1 <= lo <= hi < nodes")
    rng = random.Random(f"paths-graph:{nodes}:{lo}:{hi}:{seed}")
    order = list(range(nodes))
    rng.shuffle(order)
    succ: list[set[int]] = [set() for _ in range(nodes)]
    for i, u in enumerate(order):
        succ[u].add(order[(i + 1) % nodes])
    for u in range(nodes):
        k = rng.randint(lo, hi)
        while len(succ[u]) < k:
            v = rng.randrange(nodes)
            if v != u:
                succ[u].add(v)
    frozen = tuple(tuple(sorted(s)) for s in succ)
    return Graph(frozen, tuple(tuple(bfs_distances(frozen, u)) for u in range(nodes)))


def graph_of(task_cfg: dict) -> Graph:
    cfg = settings(task_cfg)
    return make_graph(cfg["nodes"], tuple(cfg["degree"]), cfg["graph_seed"])


# --------------------------------------------------------------------------- posts and r*


def judge_post(cfg: dict, s: int, t: int) -> str:
    """The text the judge reads: the graph and r*'s weights, then the query (settings ``cfg``)."""
    w, (lo, hi) = cfg["reward"], cfg["degree"]
    hops = "1" if cfg["first_hop"] else "all"
    return (f"paths nodes={cfg['nodes']} degree={lo}-{hi} seed={cfg['graph_seed']} "
            f"reach={w['reach']} step={w['step']} invalid={w['invalid']} hops={hops}\n"
            f"from n{s} to n{t}")  # fmt: skip


@dataclass(frozen=True)
class Query:
    graph: Graph
    s: int
    t: int
    reach: float
    step: float
    invalid: float
    first_hop: bool


@functools.lru_cache(maxsize=4096)
def read_post(post: str) -> Query:
    """The graph, the query and r*'s weights of a judge-visible post (:func:`judge_post`)."""
    try:
        header, query = post.split("\n", 1)
        kv = dict(item.split("=", 1) for item in header.split()[1:])
        lo, hi = (int(x) for x in kv["degree"].split("-"))
        graph = make_graph(int(kv["nodes"]), (lo, hi), int(kv["seed"]))
        _, s, _, t = query.split()
        s_i, t_i = node_index(s, graph.n), node_index(t, graph.n)
        if s_i is None or t_i is None:
            raise ValueError(f"unknown node in {query!r}")
        weights = (float(kv["reach"]), float(kv["step"]), float(kv["invalid"]))
        return Query(graph, s_i, t_i, *weights, first_hop=kv["hops"] == "1")
    except (ValueError, KeyError) as e:
        raise ValueError(f"not a shortest-path post ({e}): {post[:80]!r}") from None


def _words(summary: str) -> list[str]:
    return summary.replace(EOS, " ").split()


def parts(post: str, summary: str) -> dict[str, int]:
    """The counts r* adds up for one path: ``steps`` (words written), ``invalid`` (pairs of the
    walk s, w1, … that are no edge), ``reached`` (the last word is t), ``revisits`` (nodes of
    the walk seen before) and ``progress`` (dist(s, t) − dist(w1, t); 0 without a first node)."""
    q, words = read_post(post), _words(summary)
    walk = [f"n{q.s}"] + words
    w1 = node_index(words[0], q.graph.n) if words else None
    invalid = sum(not q.graph.edge(a, b) for a, b in zip(walk, walk[1:], strict=False))
    return {
        "steps": len(words),
        "invalid": invalid,
        # a route reaches t only along edges: a jump to t over a non-edge is no shortcut
        "reached": int(bool(words) and words[-1] == f"n{q.t}" and not invalid),
        "revisits": len(walk) - len(set(walk)),
        "progress": q.graph.dist[q.s][q.t] - q.graph.dist[w1][q.t] if w1 is not None else 0,
    }


def true_reward(post: str, summary: str) -> float:
    """r*(post, summary): the hidden reward (module docstring). Full task: reach·[a route along
    edges ending at t] − step·#nodes − invalid·#non-edges; control (``hops=1``): dist(s, t) − dist(w1, t) for a
    hop along an edge, −invalid for no edge (or no hop), − invalid·#words after the first."""
    q, p = read_post(post), parts(post, summary)
    if q.first_hop:
        words = _words(summary)
        if not words:
            return -q.invalid
        hop = p["progress"] if q.graph.edge(f"n{q.s}", words[0]) else -q.invalid
        return round(hop - q.invalid * (len(words) - 1), 6)
    return round(q.reach * p["reached"] - q.step * p["steps"] - q.invalid * p["invalid"], 6)


# --------------------------------------------------------------------------- routes


def shortest_route(g: Graph, u: int, t: int, rng: random.Random) -> list[int]:
    """The nodes after ``u`` of a shortest route to ``t``, ties between next hops drawn."""
    out = []
    while u != t:
        u = rng.choice([v for v in g.succ[u] if g.dist[v][t] == g.dist[u][t] - 1])
        out.append(u)
    return out


def random_walk(g: Graph, u: int, steps: int, rng: random.Random) -> list[int]:
    out = []
    for _ in range(steps):
        u = rng.choice(g.succ[u])
        out.append(u)
    return out


def detour_route(g: Graph, s: int, t: int, rng: random.Random, detour) -> list[int]:
    """A valid route from ``s`` to ``t`` longer than the shortest and visiting no node twice:
    a few random steps (``detour``: their range), then a shortest route. Drawn up to 20 times;
    a shortest route if none qualifies."""
    for _ in range(20):
        head = random_walk(g, s, rng.randint(*detour), rng)
        if t in head:
            continue
        route = head + shortest_route(g, head[-1], t, rng)
        if len(route) > g.dist[s][t] and len(set(route) | {s}) == len(route) + 1:
            return route
    return shortest_route(g, s, t, rng)


def non_successor(g: Graph, u: int, rng: random.Random) -> int:
    return rng.choice([v for v in range(g.n) if v != u and v not in g.succ[u]])


def with_invalid_edge(g: Graph, s: int, route: list[int], rng: random.Random) -> list[int]:
    """``route`` with one node before its last swapped for a non-successor of the node before."""
    i = rng.randrange(len(route) - 1)
    return route[:i] + [non_successor(g, ([s] + route)[i], rng)] + route[i + 1 :]


def with_loop(g: Graph, s: int, route: list[int], rng: random.Random) -> list[int]:
    """``route`` with a round trip u -> w -> ... -> u (valid edges) inserted at one node u."""
    i = rng.randrange(len(route))
    u = ([s] + route)[i]
    w = rng.choice(g.succ[u])
    return route[:i] + [w] + shortest_route(g, w, u, rng) + route[i:]


def _say(nodes) -> str:
    return " " + " ".join(f"n{u}" for u in nodes) if nodes else ""


def demonstration(cfg: dict, g: Graph, s: int, t: int, rng: random.Random) -> str:
    """An SFT demonstration: a shortest route, or with probability ``path_noise`` a detour
    (:func:`detour_route`); the control: its first hop."""
    route = (detour_route(g, s, t, rng, cfg["detour"]) if rng.random() < cfg["path_noise"]
             else shortest_route(g, s, t, rng))  # fmt: skip
    return _say(route[:1] if cfg["first_hop"] else route)


def writers(cfg: dict, g: Graph, s: int, t: int, rng: random.Random) -> dict[str, Callable]:
    """The preference pool's writers (name -> draw a completion). Full task: shortest routes,
    longer valid routes, an invalid edge (a node swapped), routes that end next to t or stop short
    of it or run past it, loops, and random walks; control: the first hop of each kind. Failing
    routes are as often as long as a shortest route, or longer, as shorter than it, so that
    length alone does not tell good from bad (a pool where the failures are short teaches an
    RM that longer is better, which on a policy's valid routes picks the detours)."""
    if cfg["first_hop"]:
        best = [v for v in g.succ[s] if g.dist[v][t] == g.dist[s][t] - 1]
        return {
            "shortest": lambda: _say([rng.choice(best)]),
            "successor": lambda: _say([rng.choice(g.succ[s])]),
            "invalid_edge": lambda: _say([non_successor(g, s, rng)]),
            "two_hops": lambda: _say(shortest_route(g, s, t, rng)[:2]),
        }

    def invalid_edge():
        return _say(with_invalid_edge(g, s, shortest_route(g, s, t, rng), rng))

    def misses_target():  # as long as a shortest route, a wrong last hop; or stops short
        route = shortest_route(g, s, t, rng)
        last = [v for v in g.succ[([s] + route)[-2]] if v != t]
        if last and rng.random() < 0.5:
            return _say(route[:-1] + [rng.choice(last)])
        return _say(route[: rng.randrange(1, len(route))])

    def overshoot():
        route = shortest_route(g, s, t, rng)
        return _say(route + random_walk(g, t, rng.randint(1, 2), rng))

    return {
        "shortest": lambda: _say(shortest_route(g, s, t, rng)),
        "longer": lambda: _say(detour_route(g, s, t, rng, cfg["detour"])),
        "invalid_edge": invalid_edge,
        "misses_target": misses_target,
        "overshoot": overshoot,
        "loop": lambda: _say(with_loop(g, s, shortest_route(g, s, t, rng), rng)),
        "wander": lambda: _say(random_walk(g, s, rng.randint(2, g.dist[s][t] + 3), rng)),
    }


# --------------------------------------------------------------------------- the dataset


def format_prompt(s: int, t: int, first_hop: bool = False) -> str:
    """The TL;DR prompt format on a route query; it ends with the start node, after which the
    completion lists the route's next nodes (the control: ``Next-Hop TL;DR:``, one node)."""
    head = "Next-Hop TL;DR:" if first_hop else "TL;DR:"
    return f"SUBREDDIT: r/paths\n\nTITLE: route\n\nPOST: from n{s} to n{t}\n\n{head} n{s}"


def _queries(cfg: dict, g: Graph, rng: random.Random, n: int) -> list[tuple[int, int]]:
    pairs = [(s, t) for s in range(g.n) for t in range(g.n)
             if s != t and cfg["min_distance"] <= g.dist[s][t] <= (cfg["max_distance"] or g.n)]  # fmt: skip
    if not pairs:
        raise ValueError(
            f"task.paths.min_distance {cfg['min_distance']}, max_distance {cfg['max_distance']}: "
            "no pair of the graph"
        )
    return [rng.choice(pairs) for _ in range(n)]


def _two_writers(gens: dict, weights: dict | None, rng: random.Random) -> tuple[str, str]:
    """Two distinct writers of a preference pair: uniform (``weights`` None), else drawn by
    ``weights`` (config ``task.paths.pool``), the second among the others."""
    names = sorted(gens)
    if not weights:
        return tuple(rng.sample(names, 2))
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ValueError(f"task.paths.pool: unknown writer {unknown[0]!r} (writers: {names})")
    first = rng.choices(names, [weights.get(n, 0.0) for n in names])[0]
    rest = [n for n in names if n != first]
    rest_w = [weights.get(n, 0.0) for n in rest]
    if not any(rest_w):
        raise ValueError("task.paths.pool: at least two writers need a positive weight")
    return first, rng.choices(rest, rest_w)[0]


def build_splits(task_cfg: dict, seed: int) -> dict[str, list[dict]]:
    """All splits of the path task, as record lists. Deterministic in ``seed`` (the graph: in
    ``graph_seed``)."""
    cfg, rng = settings(task_cfg), random.Random(seed)
    g = graph_of(cfg)
    out: dict[str, list[dict]] = {}
    for split in ("sft_train", "sft_val", "sft_test", "pft_train", "pft_val"):
        rows = []
        for i, (s, t) in enumerate(_queries(cfg, g, rng, cfg["splits"][split])):
            row = {"id": f"{split}-{i:06d}", "prompt": format_prompt(s, t, cfg["first_hop"]),
                   "post": judge_post(cfg, s, t)}  # fmt: skip
            if split.startswith("sft"):
                row["reference"] = demonstration(cfg, g, s, t, rng)
            else:
                gens = writers(cfg, g, s, t, rng)
                while True:
                    ga, gb = _two_writers(gens, cfg["pool"], rng)
                    a, b = gens[ga](), gens[gb]()
                    if a != b:
                        break
                row["chosen"], row["rejected"], _ = bradley_terry.label_pair(
                    true_reward, row["post"], a, b, rng, cfg["label_temperature"]
                )
            rows.append(row)
        out[split] = rows
    return out


def pretraining_corpus(task_cfg: dict, n: int, seed: int) -> list[dict]:
    """``n`` random-walk documents for the tiny base models (uniform next node, no target):
    they teach the graph's edges, never a route to a target."""
    cfg, rng = settings(task_cfg), random.Random(seed)
    g = graph_of(cfg)
    out = []
    for i in range(n):
        u = rng.randrange(g.n)
        walk = random_walk(g, u, rng.randint(*cfg["walk_length"]), rng)
        prompt = f"SUBREDDIT: r/paths\n\nTITLE: walk\n\nPOST: walk from n{u}\n\nTL;DR: n{u}"
        out.append({"id": f"pretrain-{i:06d}", "prompt": prompt, "reference": _say(walk)})
    return out


# --------------------------------------------------------------------------- diagnostics

SLIPS = ("invalid_edge", "misses_target", "loop", "longer", "other")
CHECKS = ("invalid_edge", "misses_target", "loop", "longer")


def slip_kind(post: str, a: str, b: str) -> str:
    """Which of r*'s checks tells paths ``a`` and ``b`` apart (one of :data:`SLIPS`), the first
    that differs of: an invalid edge count (``invalid_edge``), reaching and stopping at t
    (``misses_target``), revisited nodes (``loop``), the length or, in the control, the hop's
    progress (``longer``); else ``other``."""
    pa, pb = parts(post, a), parts(post, b)
    for key, kind in (("invalid", "invalid_edge"), ("reached", "misses_target"),
                      ("revisits", "loop"), ("steps", "longer"), ("progress", "longer")):  # fmt: skip
        if pa[key] != pb[key]:
            return kind
    return "other"


def check_pairs(rows: list[dict]) -> list[dict]:
    """Minimal pairs that test one check of r* each: for every row (``id``, ``prompt``,
    ``post``), a shortest route (``chosen``) against one slip (``rejected``), tagged ``kind``:
    ``invalid_edge`` (one node swapped for a non-successor), ``misses_target`` (the last node
    dropped), ``longer`` (a valid detour), ``loop`` (a round trip inserted); the control: its
    first hop against a non-successor (``invalid_edge``) or a successor that makes no progress
    (``longer``). Drawn from ``random.Random(row id)``; kept where r* prefers the chosen side."""
    out = []
    for row in rows:
        q, rng = read_post(row["post"]), random.Random(row["id"])
        g, s, t = q.graph, q.s, q.t
        route = shortest_route(g, s, t, rng)
        if q.first_hop:
            good = _say(route[:1])
            worse = [v for v in g.succ[s] if g.dist[v][t] >= g.dist[s][t]]
            slips = {"invalid_edge": [non_successor(g, s, rng)],
                     "longer": [rng.choice(worse)] if worse else route[:1]}  # fmt: skip
        else:
            good = _say(route)
            slips = {
                "invalid_edge": with_invalid_edge(g, s, route, rng),
                "misses_target": route[:-1],
                "loop": with_loop(g, s, route, rng),
                "longer": detour_route(g, s, t, rng, DEFAULTS["detour"]),
            }
        for kind, slip in slips.items():
            bad = _say(slip)
            if true_reward(row["post"], good) > true_reward(row["post"], bad):
                out.append({**{k: row[k] for k in ("id", "prompt", "post")}, "kind": kind,
                            "chosen": good, "rejected": bad})  # fmt: skip
    return out

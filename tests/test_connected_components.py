"""Connected components in Beam against a plain union-find on the same graphs."""

import random

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from edumix.pipelines.dedup import ConnectedComponents


def union_find_members(edges):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    nodes = {n for e in edges for n in e}
    return sorted((find(n), n) for n in nodes if find(n) != n)


def random_graph(seed, n_nodes=300, n_edges=260):
    rng = random.Random(seed)
    labels = [f"{i:05d}" for i in range(n_nodes)]
    return sorted({tuple(rng.sample(labels, 2)) for _ in range(n_edges)})


GRAPHS = {
    "path": [(f"{i:03d}", f"{i + 1:03d}") for i in range(40)],
    "reversed_path": [(f"{i + 1:03d}", f"{i:03d}") for i in range(40)],
    "star_and_pairs": [("m", c) for c in "nopqrs"] + [("a", "b"), ("c", "d"), ("b", "c")],
    "random_1": random_graph(1),
    "random_2": random_graph(2, n_nodes=100, n_edges=150),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_components_match_union_find(name):
    edges = GRAPHS[name]
    with beam.Pipeline("FnApiRunner") as p:
        members = p | beam.Create(edges) | ConnectedComponents(rounds=8)
        assert_that(members, equal_to(union_find_members(edges)))


def test_too_few_rounds_is_safe():
    """A 40-node path needs several rounds. With one, nodes may point to an intermediate
    node, but each node still gets at most one smaller root inside its own component."""
    edges = GRAPHS["path"]
    component = {n: r for r, n in union_find_members(edges)}

    def check(members):
        nodes = [n for _, n in members]
        assert len(nodes) == len(set(nodes))
        assert all(r < n and component[n] == component.get(r, r) for r, n in members)
        assert {r for r, _ in members} != {"000"}  # really not converged after one round

    with beam.Pipeline("FnApiRunner") as p:
        members = p | beam.Create(edges) | ConnectedComponents(rounds=1)
        assert_that(members | beam.combiners.ToList(), lambda got: check(got[0]))

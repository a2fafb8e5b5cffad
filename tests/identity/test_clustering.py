from __future__ import annotations

from shouhu.identity.clustering import Edge, constrained_clusters, customer_id, ordered_edges


def test_chain_never_merges_two_different_id_numbers() -> None:
    ids = ["a", "b", "c"]
    edges = ordered_edges([], [], [("a", "b", 0.99), ("b", "c", 0.98)])
    out = constrained_clusters(ids, {"a": "ID1", "c": "ID2"}, edges)
    assert out.cluster_of["a"] == out.cluster_of["b"] != out.cluster_of["c"]
    assert out.blocked == {("b", "c"): "guard:different_id_number"}


def test_must_link_first_and_cannot_link_honoured() -> None:
    ids = ["a", "b", "c", "d"]
    edges = ordered_edges([("d", "a")], [("b", "c", 1.0)], [("a", "b", 0.99)])
    out = constrained_clusters(ids, {}, edges, cannot_link=[("a", "c")])
    assert out.cluster_of["a"] == out.cluster_of["d"]
    assert out.cluster_of["b"] == out.cluster_of["c"] != out.cluster_of["a"]
    assert out.blocked[("a", "b")] == "manual:cannot_link"
    assert out.decided_by[out.cluster_of["a"]] == "manual"
    assert out.decided_by[out.cluster_of["b"]] == "rule"


def test_every_id_gets_exactly_one_cluster_and_singletons_are_marked() -> None:
    out = constrained_clusters(["x", "y"], {}, [Edge("x", "zz", "model")])
    assert set(out.cluster_of) == {"x", "y"}
    assert set(out.decided_by.values()) == {"singleton"}


def test_customer_id_is_stable_and_order_free() -> None:
    assert customer_id(["b", "a"]) == customer_id(["a", "b"]) == customer_id(["a", "b"])
    assert customer_id(["a"]).startswith("CU") and len(customer_id(["a"])) == 14

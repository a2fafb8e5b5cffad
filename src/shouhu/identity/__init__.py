"""Identity resolution: which channel records are the same person (Splink + rules + guard rails).

``resolve_identities(wh)`` writes the ``identity_pair`` and ``identity_cluster`` marts;
``evaluate(wh, ground_truth)`` scores them; ``link_person_table`` links any person file.
"""

from shouhu.identity.clustering import customer_id
from shouhu.identity.evaluation import cluster_metrics, evaluate
from shouhu.identity.features import name_features, simplify
from shouhu.identity.person_file import CANONICAL_COLUMNS, LinkOutcome, link_person_table, load_link_mapping
from shouhu.identity.resolve import IdentityResult, resolve_identities

__all__ = [
    "CANONICAL_COLUMNS",
    "IdentityResult",
    "LinkOutcome",
    "cluster_metrics",
    "customer_id",
    "evaluate",
    "link_person_table",
    "load_link_mapping",
    "name_features",
    "resolve_identities",
    "simplify",
]

"""Content operations: the education library (articles, courses, quizzes) with compliance review, disease
knowledge linked to the customer's cover, a neutral product comparison, offline recommendations and
engagement that feeds need signals back to the 360. See docs/content.md.

Modules: ``library`` (Markdown files), ``rules`` (compliance checker), ``review`` (workflow), ``diseases``,
``compare``, ``search`` and ``recommend`` (ranking), ``engagement``, ``evaluation`` (nDCG), ``service``
(entry points over the serving database). The names below are the data types they share; functions stay
in their modules (``shouhu.content.recommend.recommend``), so a function never hides its module.
"""

from shouhu.content.diseases import Cover, DiseaseGap
from shouhu.content.library import LibraryError, Problem
from shouhu.content.model import ContentError, InvalidTransition, Item, Kind, Question, Status
from shouhu.content.recommend import Candidate, Profile, Recommendation
from shouhu.content.rules import ComplianceRefused, Finding

__all__ = [
    "Candidate", "ComplianceRefused", "ContentError", "Cover", "DiseaseGap", "Finding", "InvalidTransition", "Item",
    "Kind", "LibraryError", "Problem", "Profile", "Question", "Recommendation", "Status",
]

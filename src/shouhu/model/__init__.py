"""The canonical insurance data model: vocabulary enums and the canonical table definitions."""

from shouhu.model import vocab
from shouhu.model.schema import ENTITIES, Entity, Field, entity

__all__ = ["ENTITIES", "Entity", "Field", "entity", "vocab"]

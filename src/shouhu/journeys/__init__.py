"""Customer journeys: definitions (YAML), the engine (``shouhu worker``), guard rails, channel adapters,
templates and analytics. User guide: docs/journeys.md."""

"""Customer operations: activities (tasks, notes, calls, visits), service cases with SLAs on a
business calendar, and renewal collection. Rules live here; SQL lives in ``shouhu.storage``."""

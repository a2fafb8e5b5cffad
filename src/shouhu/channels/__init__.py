"""Channel collaboration: journeys, multi-touch attribution, ROI on insurance outcomes, response curves
and budget reallocation. See docs/channels.md.

Modules load scipy and matplotlib only when imported; the operations the CLI and console call are in
:mod:`shouhu.channels.service` (``attribute``, ``roi``, ``plan``).
"""

__all__ = ["charts", "journeys", "markov", "models", "optimise", "paths", "response", "roi", "service", "weekly"]

"""The synthetic book generator: a realistic, messy, multi-channel book of a Chinese life insurer.

``generate_book(out_dir, SynthConfig(customers=...))`` writes one folder per source system (each
with its own formats, encodings and headers), a ``manifest.json`` listing the extracts in ingest
order, ``ground_truth.parquet`` (which records are the same person) and ``bad_rows.csv`` (every
deliberately invalid row). See :mod:`shouhu.synth.book`.
"""

from shouhu.synth.book import generate_book
from shouhu.synth.config import BookSummary, SynthConfig

__all__ = ["BookSummary", "SynthConfig", "generate_book"]

"""Compliance as working code (PIPL, JR/T 0171-2020, the 2020 online-sales traceability notice, Insurance
Law art. 87): data-subject requests, retention with legal holds and crypto-shredding, the sales
traceability ledger, and explanations of automated decisions. See docs/compliance.md."""

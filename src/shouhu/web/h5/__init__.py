"""The customer H5 pages under /h5: sign in with phone + one-time code, robo-advisor, wallet, report."""

from __future__ import annotations

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    return None

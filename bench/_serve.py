"""Shared by the HTTP benchmarks: a free loopback port and ``shouhu serve`` started as its own process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: Mapping[str, str], workdir: Path, port: int, *, pin: bool, wait_s: float) -> subprocess.Popen[bytes]:
    """``shouhu serve`` on 127.0.0.1:port (pinned to CPU 0 with ``pin``), once /healthz answers 200."""
    cmd = [str(Path(sys.executable).with_name("shouhu")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if pin:
        cmd = ["taskset", "-c", "0", *cmd]
    log = open(workdir / "server.log", "ab")  # noqa: SIM115 - the server process keeps it
    server = subprocess.Popen(cmd, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {workdir / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not come up in {wait_s:.0f} s")

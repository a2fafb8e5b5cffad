"""Owner-only files and folders for what shouhu writes: 0600 files, 0700 folders, whatever the umask.

The warehouse, the serving database, their journals, the development key, exports and model
artefacts hold personal data; a default umask (022) would leave them world-readable. Leaf module
(no project imports), so that storage, privacy and the edges can all use it.

- :func:`private_dir` creates missing folders 0700 (existing folders are left as they are: the
  data directory may be one the operator made and shares deliberately; files inside are 0600).
- :func:`private_file` tightens an existing file to 0600 (files of older versions were 0644).
- :func:`private_umask` masks group and other bits while files are created inside it; the CLI
  runs every command inside it, so every file a command writes is owner-only.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
PRIVATE_UMASK = 0o077
_lock = threading.Lock()


def private_dir(path: Path | str) -> Path:
    """Create ``path`` and its missing parents 0700; return it."""
    folder = Path(path)
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process: leave it
            created.mkdir(mode=DIR_MODE)
            created.chmod(DIR_MODE)  # mkdir's mode is masked by the umask
    return folder


def private_file(path: Path | str) -> None:
    """Make an existing regular file owner-only (0600) if it is readable by anyone else; no-op if missing."""
    with contextlib.suppress(FileNotFoundError, PermissionError):  # PermissionError: another user's file
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode) and mode & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & ~0o077 | FILE_MODE)


def create_private_file(path: Path | str) -> None:
    """Create ``path`` empty and 0600 if it does not exist (so that files opened later inherit no umask)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        private_file(path)
        return
    os.close(fd)
    os.chmod(path, FILE_MODE)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Add 077 to the process umask inside the block (the umask is per process: concurrent threads that
    create files meanwhile get owner-only files too, which errs on the safe side)."""
    with _lock:
        previous = os.umask(PRIVATE_UMASK)
        os.umask(previous | PRIVATE_UMASK)
    try:
        yield
    finally:
        with _lock:
            os.umask(previous)

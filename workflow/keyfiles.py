"""Secret files the installation makes for itself (the audit key, the backup key): written once,
readable by their owner only, the same file for every process that starts together."""

from __future__ import annotations

import os
from pathlib import Path


def write_once(path: Path, content: bytes) -> None:
    """Write `content` to `path` unless a file is there already. A new file is written aside and
    linked into place, which only the first of several processes starting together does: all end
    up reading the same one."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()

"""Files written whole or not at all: atomic writes and checksums.

Every file kamsim writes (results, manifests, reports, saved rules, generated
documents) goes through :func:`atomic_write`: the content is written to a temporary
file beside the target, which then replaces it, so a reader never sees a
half-written file and a failed write leaves nothing behind. This module uses only
the standard library, so every layer of the package can use it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "file_checksum", "write_json", "write_text"]


def file_checksum(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _new_temp_file(path: Path) -> Path:
    """Create an empty temporary file beside ``path``, with the umask's permissions."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def atomic_write(path: Path, write: Callable[[str], object]) -> str:
    """Write a file atomically and return its SHA-256.

    ``write(tmp)`` writes the content to a temporary file in the same folder, which
    then replaces ``path``; on any error the temporary file is removed and ``path``
    is left as it was. The file's permissions are ``0666`` less the umask, like any
    file a tool creates.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_file(path)
    try:
        write(str(tmp))
        digest = file_checksum(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically (a generated document or page)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(data: Mapping[str, Any], path: Path) -> None:
    """Write JSON atomically (indented, keys in insertion order)."""

    def write(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(data, indent=2, default=str) + "\n", "utf-8")

    atomic_write(path, write)

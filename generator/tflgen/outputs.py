"""Writing results: refuse to clobber, never leave half-written files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tflgen.errors import OutputError


def check_output_file(path: Path, force: bool, option: str = "--output") -> None:
    """Fail before any work if `path` can't be written as asked."""
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder", "give a file path, e.g. model.tflite")
    if path.exists() and not force:
        raise OutputError(f"{option} {path} already exists", "pass --force to replace it, or choose another path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{option} {path}: folder {parent} does not exist", f"create it first (mkdir -p {parent})")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{option} {path}: folder {parent} is not writable", "choose a folder you can write to")


def write_file_atomic(path: Path, content: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see a partial file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

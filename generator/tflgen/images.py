"""Finding and reading the user's images (calibration, verification, golden cases)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from tflgen.console import Reporter
from tflgen.errors import CalibrationError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class UnreadableImage(Exception):
    pass


def find_images(folder: Path) -> list[Path]:
    """Every image below `folder`, in a deterministic order (sorted relative POSIX paths)."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def spread(paths: list[Path], count: int) -> list[Path]:
    """`count` paths evenly spread over the sorted list, so that class sub-folders are all sampled."""
    if count >= len(paths):
        return list(paths)
    picks = np.linspace(0, len(paths) - 1, count).round().astype(int)
    return [paths[i] for i in picks]


def load_image(path: Path, channels: int) -> np.ndarray:
    """[H, W, C] uint8 pixels, RGB for 3 channels or luminance for 1."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            converted = image.convert("RGB" if channels == 3 else "L")
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(f"{path}: {exc}") from exc
    pixels = np.asarray(converted, dtype=np.uint8)
    return pixels.reshape(pixels.shape[0], pixels.shape[1], channels)


def pick_images(folder: Path, count: int, option: str) -> list[Path]:
    """`count` images spread over `folder`, or a CalibrationError naming `option` and the folder."""
    if not folder.is_dir():
        raise CalibrationError(f"{option} {folder}: no such folder",
            "give a folder of images like the ones the app will see (jpg/png/bmp, searched recursively)")
    paths = find_images(folder)
    if not paths:
        raise CalibrationError(
            f"{option} {folder}: no images found",
            f"the folder needs images ending in {', '.join(IMAGE_SUFFIXES)} (sub-folders are searched)",
        )
    return spread(paths, count)


def read_images(folder: Path, count: int, option: str, channels: int, reporter: Reporter, keep: int | None = None,
                progress: str | None = None) -> list[tuple[Path, np.ndarray]]:
    """Up to `count` images spread over `folder` (`pick_images`), read with `channels`: unreadable ones
    are skipped with a warning, reading stops once `keep` are read (the rest were spares), and none
    readable is a CalibrationError naming `option`. `progress` titles a progress bar."""
    chosen = pick_images(folder, count, option)
    read = []
    bar = reporter.progress(progress, len(chosen)) if progress else contextlib.nullcontext(lambda _=1: None)
    with bar as advance:
        for path in chosen:
            advance(1)
            try:
                read.append((path, load_image(path, channels)))
            except UnreadableImage:
                reporter.warn(f"skipped unreadable {'calibration ' if option == '--calibration' else ''}image {path}")
                continue
            if keep is not None and len(read) == keep:
                break
    if not read:
        raise CalibrationError(f"{option} {folder}: none of the {len(chosen)} images could be read",
                               "check that the files are real JPEG/PNG/BMP images")
    return read

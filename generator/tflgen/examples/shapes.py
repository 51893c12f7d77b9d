"""Synthetic images of coloured geometric shapes, for the example models (numpy + PIL only).

Classes (`SHAPE_CLASSES`): circle, square, triangle, star. Each image is a crop of one of the
small photographs in `backgrounds/` (from scikit-image's sample data, saved once by
`scripts/train_examples.py`), jittered in scale, flips, brightness, contrast and colour, with
clutter behind the shapes (lines, arcs, thin ellipses, dots), shapes of varied size, colour,
rotation and shading, then sensor noise and sometimes blur.

Everything is deterministic: image `i` of a seed comes from `numpy.random.default_rng([seed, i])`,
so the first images of a set don't depend on how many are asked for.

- `classification_images(count, seed)`: one shape per image; label = class index (0..3).
- `detection_images(count, seed)`: 1-4 shapes that overlap little; boxes normalized
  (ymin, xmin, ymax, xmax) of each shape's full outline, classes 0..3.
- `segmentation_images(count, seed)`: 1-3 shapes; mask per pixel, 0 = background, 1..4 = class + 1.
- `write_images(folder, task, count, seed)`: PNG files (e.g. int8 calibration images).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tflgen.examples import SHAPE_CLASSES, TASKS, example_for_task

BACKGROUNDS_DIR = Path(__file__).resolve().parent / "backgrounds"
SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down: anti-aliased edges


class DetectionSample(NamedTuple):
    image: np.ndarray  # [H, W, 3] uint8
    boxes: np.ndarray  # [n, 4] float32 ymin, xmin, ymax, xmax in 0..1
    classes: np.ndarray  # [n] int32, 0..3


class DetectionSet(NamedTuple):
    images: np.ndarray  # [count, H, W, 3] uint8
    boxes: list[np.ndarray]
    classes: list[np.ndarray]


# ---------------------------------------------------------------- backgrounds


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    paths = sorted(BACKGROUNDS_DIR.glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"no background photos in {BACKGROUNDS_DIR}; run scripts/train_examples.py once to save them")
    photos = []
    for path in paths:
        with Image.open(path) as image:
            photos.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
    return tuple(photos)


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """[size, size, 3] float32 0..255: a jittered crop of a background photo (sometimes flat/gradient)."""
    photos = _photos()
    kind = rng.random()
    if kind < 0.08:  # plain or gradient wall
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = np.linspace(0, 1, size, dtype=np.float32)
        ramp = t[:, None] if rng.random() < 0.5 else t[None, :]
        image = a + (b - a) * ramp[..., None] * rng.uniform(0, 1)
        return np.broadcast_to(image, (size, size, 3)).astype(np.float32).copy()
    photo = photos[int(rng.integers(len(photos)))]
    h, w = photo.shape[:2]
    side = int(rng.uniform(0.35, 1.0) * min(h, w))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(photo[y0:y0 + side, x0:x0 + side]).resize((size, size), Image.BILINEAR)
    image = np.asarray(crop, dtype=np.float32)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    image = np.rot90(image, int(rng.integers(4)))
    # colour jitter: channel permutation, saturation, contrast, brightness
    image = image[..., rng.permutation(3)]
    grey = image.mean(axis=2, keepdims=True)
    image = grey + (image - grey) * rng.uniform(0.3, 1.4)
    image = image.mean() + (image - image.mean()) * rng.uniform(0.5, 1.2) + rng.uniform(-40, 40)
    return np.clip(image, 0, 255).astype(np.float32)


# ---------------------------------------------------------------- shapes


def _outline(kind: int, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> list[tuple[float, float]] | None:
    """Polygon vertices (x, y) of a shape of circumradius r; None for a circle."""
    name = SHAPE_CLASSES[kind]
    if name == "circle":
        return None
    if name == "square":
        angles = angle + np.pi / 4 + np.arange(4) * np.pi / 2
        radii = np.full(4, r)
    elif name == "triangle":
        angles = angle + np.arange(3) * 2 * np.pi / 3
        radii = np.full(3, r)
    else:  # five-pointed star
        angles = angle + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * rng.uniform(0.38, 0.5))
    return [(float(cx + q * np.cos(a)), float(cy + q * np.sin(a))) for q, a in zip(radii, angles)]


def _alpha(kind: int, cx: float, cy: float, r: float, angle: float, size: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """The shape's coverage (0..1 float32) in a local window, and the window's top-left (y, x)."""
    radius = r * 0.9 if SHAPE_CLASSES[kind] == "circle" else r  # a circle fills more of its box
    x0, y0 = max(int(np.floor(cx - r)) - 2, 0), max(int(np.floor(cy - r)) - 2, 0)
    x1, y1 = min(int(np.ceil(cx + r)) + 2, size), min(int(np.ceil(cy + r)) + 2, size)
    s = SUPERSAMPLE
    canvas = Image.new("L", ((x1 - x0) * s, (y1 - y0) * s), 0)
    draw = ImageDraw.Draw(canvas)
    lx, ly = (cx - x0) * s, (cy - y0) * s
    points = _outline(kind, lx, ly, radius * s, angle, rng)
    if points is None:
        q = radius * s
        draw.ellipse((lx - q, ly - q, lx + q, ly + q), fill=255)
    else:
        draw.polygon(points, fill=255)
    small = canvas.resize((x1 - x0, y1 - y0), Image.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0, (y0, x0)


def _colour(rng: np.random.Generator, behind: np.ndarray) -> np.ndarray:
    """A fill colour that stands out from the mean colour `behind` it."""
    best, best_distance = None, -1.0
    for _ in range(12):
        colour = rng.uniform(0, 255, 3)
        if rng.random() < 0.5:  # saturated colours are common in the set
            colour[rng.integers(3)] = rng.choice([rng.uniform(0, 40), rng.uniform(215, 255)])
        distance = float(np.linalg.norm(colour - behind))
        if distance > 110:
            return colour
        if distance > best_distance:
            best, best_distance = colour, distance
    return best


def _paint_shape(image: np.ndarray, kind: int, cx: float, cy: float, r: float, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """Draws one shape into `image` (float32, in place); returns its coverage and window origin."""
    size = image.shape[0]
    alpha, (y0, x0) = _alpha(kind, cx, cy, r, rng.uniform(0, 2 * np.pi), size, rng)
    h, w = alpha.shape
    region = image[y0:y0 + h, x0:x0 + w]
    inside = alpha > 0.5
    behind = region[inside].mean(axis=0) if inside.any() else region.reshape(-1, 3).mean(axis=0)
    colour = _colour(rng, behind)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # shading: a linear gradient across the shape and a little texture
    direction = rng.uniform(0, 2 * np.pi)
    ramp = ((xx - (cx - x0)) * np.cos(direction) + (yy - (cy - y0)) * np.sin(direction)) / max(r, 1.0)
    fill = colour[None, None, :] * (1.0 + rng.uniform(0, 0.25) * ramp[..., None])
    fill = fill + rng.normal(0, rng.uniform(0, 8), (h, w, 1))
    if rng.random() < 0.25:  # a darker or lighter rim
        edge = alpha * (1 - np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.MinFilter(3)), dtype=np.float32) / 255.0)
        fill = fill * (1 - edge[..., None]) + (colour * rng.uniform(0.2, 0.6))[None, None, :] * edge[..., None]
    region[...] = region * (1 - alpha[..., None]) + np.clip(fill, 0, 255) * alpha[..., None]
    return alpha, (y0, x0)


def _clutter(image: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Distractors that are not shapes: lines, arcs, thin ellipses, dots, scribbles (in place)."""
    size = image.shape[0]
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(count):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(5)
        x, y = rng.uniform(-0.1, 1.1, 2) * size
        if kind == 0:  # straight line
            length, a = rng.uniform(0.2, 0.9) * size, rng.uniform(0, np.pi)
            draw.line((x, y, x + length * np.cos(a), y + length * np.sin(a)), fill=colour, width=int(rng.integers(1, 4)))
        elif kind == 1:  # arc
            q = rng.uniform(0.1, 0.4) * size
            start = rng.uniform(0, 360)
            draw.arc((x - q, y - q, x + q, y + q), start, start + rng.uniform(40, 200), fill=colour, width=int(rng.integers(1, 3)))
        elif kind == 2:  # thin ellipse (a blob, clearly not a circle)
            a, b = rng.uniform(0.1, 0.3) * size, rng.uniform(0.015, 0.04) * size
            if rng.random() < 0.5:
                a, b = b, a
            draw.ellipse((x - a, y - b, x + a, y + b), fill=colour)
        elif kind == 3:  # dots
            for _ in range(int(rng.integers(2, 8))):
                px, py = rng.uniform(0, size, 2)
                q = rng.uniform(0.5, 2.0)
                draw.ellipse((px - q, py - q, px + q, py + q), fill=colour)
        else:  # scribble
            points = [(float(x), float(y))]
            for _ in range(int(rng.integers(3, 7))):
                x, y = x + rng.normal(0, 0.12 * size), y + rng.normal(0, 0.12 * size)
                points.append((float(x), float(y)))
            draw.line(points, fill=colour, width=int(rng.integers(1, 3)))
    image[...] = np.asarray(pil, dtype=np.float32)


def _finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Global light, blur and sensor noise; uint8."""
    image = image * rng.uniform(0.75, 1.2) + rng.uniform(-20, 20)
    if rng.random() < 0.3:
        blurred = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
        image = np.asarray(blurred, dtype=np.float32)
    image = image + rng.normal(0, rng.uniform(0, 10), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _place(rng: np.random.Generator, size: int, radii: list[float], overlap: float) -> list[tuple[float, float, float]]:
    """Centres for shapes of the given radii, inside the image, overlapping little (largest first)."""
    placed: list[tuple[float, float, float]] = []
    for r in sorted(radii, reverse=True):
        for _ in range(40):
            cx, cy = rng.uniform(r + 1, size - r - 1, 2)
            if all(np.hypot(cx - px, cy - py) >= (1 - overlap) * (r + pr) for px, py, pr in placed):
                placed.append((float(cx), float(cy), r))
                break
    return placed


def _scene(rng: np.random.Generator, size: int, count: int, radius: tuple[float, float], overlap: float):
    """(image uint8, [(class, coverage, origin)], in drawing order)."""
    image = background(rng, size)
    _clutter(image, rng, int(rng.integers(0, 7)))
    radii = [float(rng.uniform(*radius) * size) for _ in range(count)]
    drawn = []
    for cx, cy, r in _place(rng, size, radii, overlap):
        kind = int(rng.integers(len(SHAPE_CLASSES)))
        alpha, origin = _paint_shape(image, kind, cx, cy, r, rng)
        drawn.append((kind, alpha, origin))
    if rng.random() < 0.3:  # a little clutter in front too
        _clutter(image, rng, int(rng.integers(1, 3)))
    return _finish(image, rng), drawn


# ---------------------------------------------------------------- samples per task


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def classification_sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, int]:
    """(image [size, size, 3] uint8, class 0..3): one shape of radius 20-42 % of the image."""
    image = background(rng, size)
    _clutter(image, rng, int(rng.integers(0, 6)))
    r = float(rng.uniform(0.2, 0.42) * size)
    cx, cy = rng.uniform(r + 1, size - r - 1, 2)
    kind = int(rng.integers(len(SHAPE_CLASSES)))
    _paint_shape(image, kind, float(cx), float(cy), r, rng)
    if rng.random() < 0.2:
        _clutter(image, rng, 1)
    return _finish(image, rng), kind


def detection_sample(rng: np.random.Generator, size: int) -> DetectionSample:
    """1-4 shapes of radius 8-22 % of the image; boxes of each shape's full outline."""
    image, drawn = _scene(rng, size, int(rng.integers(1, 5)), (0.08, 0.22), overlap=0.15)
    boxes, classes = [], []
    for kind, alpha, (y0, x0) in drawn:
        ys, xs = np.nonzero(alpha >= 0.5)
        boxes.append([(y0 + ys.min()) / size, (x0 + xs.min()) / size, (y0 + ys.max() + 1) / size, (x0 + xs.max() + 1) / size])
        classes.append(kind)
    return DetectionSample(image, np.asarray(boxes, dtype=np.float32).reshape(-1, 4), np.asarray(classes, dtype=np.int32))


def segmentation_sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask [size, size] uint8): 1-3 shapes of radius 12-30 %; later shapes cover earlier ones."""
    image, drawn = _scene(rng, size, int(rng.integers(1, 4)), (0.12, 0.3), overlap=0.3)
    mask = np.zeros((size, size), dtype=np.uint8)
    for kind, alpha, (y0, x0) in drawn:
        h, w = alpha.shape
        window = mask[y0:y0 + h, x0:x0 + w]
        window[alpha >= 0.5] = kind + 1
    return image, mask


def _size(task: str, size: int | None) -> int:
    return size if size is not None else example_for_task(task).input_size


def classification_images(count: int, seed: int, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images [count, size, size, 3] uint8, labels [count] int32)."""
    size = _size("classification", size)
    samples = [classification_sample(_rng(seed, i), size) for i in range(count)]
    return np.stack([s[0] for s in samples]), np.asarray([s[1] for s in samples], dtype=np.int32)


def detection_images(count: int, seed: int, size: int | None = None) -> DetectionSet:
    size = _size("detection", size)
    samples = [detection_sample(_rng(seed, i), size) for i in range(count)]
    return DetectionSet(np.stack([s.image for s in samples]), [s.boxes for s in samples], [s.classes for s in samples])


def segmentation_images(count: int, seed: int, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images [count, size, size, 3] uint8, masks [count, size, size] uint8, 0 = background)."""
    size = _size("segmentation", size)
    samples = [segmentation_sample(_rng(seed, i), size) for i in range(count)]
    return np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])


def images(task: str, count: int, seed: int, size: int | None = None) -> np.ndarray:
    """Just the images of a task's set: [count, size, size, 3] uint8."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    size = _size(task, size)
    make = {"classification": classification_sample, "detection": detection_sample, "segmentation": segmentation_sample}[task]
    return np.stack([make(_rng(seed, i), size)[0] for i in range(count)])


def write_images(folder: Path, task: str, count: int, seed: int, size: int | None = None) -> list[Path]:
    """`count` generated images of `task` as `folder/shapes_0000.png`, ...; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images(task, count, seed, size)):
        path = folder / f"shapes_{i:04d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths

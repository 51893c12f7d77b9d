"""Compare a committed rendered project with a fresh render: what the templates decide byte for
byte, what the numerics decide within stated tolerances.

Calibration runs the float model through TensorFlow's kernels, whose SIMD paths (and so the last
bits of every activation's min/max) depend on the CPU. The int8 model's scales and biases, LiteRT's
golden outputs and the verification figures therefore differ in their last digits between two
x86-64 machines; everything else must not differ at all.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from pathlib import Path

import numpy as np

# Files whose content the calibration decides (relative paths, fnmatch patterns).
NUMERIC_FILES = (
    "app/src/main/ml/model.tflite",
    "processing/src/test/resources/golden/*/expected.json",
    "processing/src/test/resources/golden/*/output_*.bin",
    "processing/src/test/resources/golden/*/tensors.json",
    "verification/*",
    "README.md",  # its model section quotes the verification figures
)
# A figure may move by 2 % of its size (or 0.01): last-bit range differences move a quantized
# value by at most one step, which moves F1, IoU and SQNR in their third or fourth digit.
RELATIVE, ABSOLUTE = 0.02, 0.01
# Raw outputs (boxes in 0..1, scores): one quantization step of an int8 output is about 1/256.
OUTPUT_TOLERANCE = 0.02

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def is_numeric(path: str) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in NUMERIC_FILES)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)


def text_differences(a: str, b: str) -> list[str]:
    """Where two texts differ other than in a number within tolerance ([] when alike)."""
    words_a, words_b = _NUMBER.split(a), _NUMBER.split(b)
    if words_a != words_b:
        line = next(i for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False)) if x != y) \
            if a.splitlines() != b.splitlines() else 0
        return [f"text differs at line {line + 1}"]
    numbers = zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True)
    return [f"{x} vs {y}" for x, y in numbers if x != y and not _close(float(x), float(y))]


def model_differences(a: bytes, b: bytes) -> list[str]:
    """Two .tflite files: same graph, tensors, options and metadata layout; scales, zero points and
    constant data within one quantization step (biases within the step their input scale allows)."""
    from ai_edge_litert import schema_py_generated as schema

    ma, mb = schema.ModelT.InitFromPackedBuf(a, 0), schema.ModelT.InitFromPackedBuf(b, 0)
    problems: list[str] = []
    if len(a) != len(b):
        problems.append(f"size {len(a)} vs {len(b)}")
    ga, gb = ma.subgraphs[0], mb.subgraphs[0]
    structure = lambda g: ([(o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in g.operators], list(g.inputs), list(g.outputs))  # noqa: E731
    if structure(ga) != structure(gb):
        problems.append("the operators differ")
    if [(c.builtinCode, c.customCode) for c in ma.operatorCodes] != [(c.builtinCode, c.customCode) for c in mb.operatorCodes]:
        problems.append("the operator codes differ")
    if len(ga.tensors) != len(gb.tensors):
        return [*problems, "tensor count differs"]
    for ta, tb in zip(ga.tensors, gb.tensors, strict=True):
        name = (ta.name or b"").decode()
        if (ta.name, list(ta.shape if ta.shape is not None else []), ta.type, ta.buffer) != (
            tb.name, list(tb.shape if tb.shape is not None else []), tb.type, tb.buffer,
        ):
            problems.append(f"tensor {name}: name, shape, type or buffer differs")
            continue
        qa, qb = ta.quantization, tb.quantization
        if (qa is None) != (qb is None):
            problems.append(f"tensor {name}: quantized in one only")
        elif qa is not None and qa.scale is not None:
            if not np.allclose(qa.scale, qb.scale, rtol=1e-3, atol=0) or np.abs(np.subtract(qa.zeroPoint, qb.zeroPoint)).max(initial=0) > 1:
                problems.append(f"tensor {name}: scale or zero point differs beyond one step")
        data_a, data_b = ma.buffers[ta.buffer].data, mb.buffers[tb.buffer].data
        if (data_a is None) != (data_b is None):
            problems.append(f"tensor {name}: constant in one only")
        elif data_a is not None:
            problems += _constant_differences(name, ta.type, np.asarray(data_a, np.uint8), np.asarray(data_b, np.uint8))
    metadata_a = {(m.name or b"").decode(): m.buffer for m in ma.metadata or []}
    metadata_b = {(m.name or b"").decode(): m.buffer for m in mb.metadata or []}
    if sorted(metadata_a) != sorted(metadata_b):
        problems.append("the metadata entries differ")
    if len(ma.buffers) != len(mb.buffers):
        problems.append("buffer count differs")
    return problems


def _constant_differences(name: str, tensor_type: int, a: np.ndarray, b: np.ndarray) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    if a.shape != b.shape:
        return [f"tensor {name}: data length differs"]
    if a.tobytes() == b.tobytes():
        return []
    kinds = {schema.TensorType.INT8: np.int8, schema.TensorType.UINT8: np.uint8, schema.TensorType.INT32: np.int32,
             schema.TensorType.FLOAT32: np.float32, schema.TensorType.INT16: np.int16}
    kind = kinds.get(tensor_type)
    if kind is None:
        return [f"tensor {name}: constant data differs"]
    x, y = a.view(kind).astype(np.float64), b.view(kind).astype(np.float64)
    # int8 weights: one step. int32 biases are bias / (input scale * weight scale): an input scale
    # that moved by r moves them by r of their size.
    bound = np.maximum(1.0, 1e-3 * np.abs(x)) if kind in (np.int32, np.float32) else 1.0
    worst = np.abs(x - y) - bound
    return [f"tensor {name}: constant data differs by {np.abs(x - y).max():g}"] if worst.max() > 0 else []


def output_differences(a: bytes, b: bytes, dtype: str) -> list[str]:
    x, y = np.frombuffer(a, dtype).astype(np.float64), np.frombuffer(b, dtype).astype(np.float64)
    if x.shape != y.shape:
        return ["length differs"]
    worst = float(np.abs(x - y).max(initial=0))
    limit = OUTPUT_TOLERANCE if dtype.startswith("float") else 1
    return [f"worst element differs by {worst:g}"] if worst > limit else []


def image_differences(a: bytes, b: bytes) -> list[str]:
    """Verification pictures: boxes drawn from the figures may move by a pixel."""
    import io

    from PIL import Image

    x, y = (np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16) for data in (a, b))
    if x.shape != y.shape:
        return ["picture size differs"]
    changed = float((np.abs(x - y).max(axis=2) > 0).mean())
    return [f"{changed:.1%} of the pixels differ"] if changed > 0.01 else []


def tree_differences(committed: Path, fresh: Path) -> dict[str, list[str]]:
    """Every file of both trees that differs beyond what its kind allows: {path: [what differs]}."""
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    old, new = files(committed), files(fresh)
    out: dict[str, list[str]] = {}
    for path in sorted(set(old) | set(new)):
        if path not in new or path not in old:
            out[path] = ["only in the fresh render" if path in new else "only in the committed tree"]
            continue
        a, b = old[path], new[path]
        if a == b:
            continue
        if not is_numeric(path):
            out[path] = ["differs (the templates decide this file: it must be equal byte for byte)"]
            continue
        problems = _numeric_differences(path, a, b, old)
        if problems:
            out[path] = problems
    return out


def _numeric_differences(path: str, a: bytes, b: bytes, old: dict[str, bytes]) -> list[str]:
    if path.endswith(".tflite"):
        return model_differences(a, b)
    if path.endswith(".png"):
        return image_differences(a, b)
    if path.endswith(".bin"):
        tensors = json.loads(old[str(Path(path).parent / "tensors.json")])
        dtype = next(o["dtype"] for o in tensors["outputs"] if o["file"] == Path(path).name)
        return output_differences(a, b, dtype)
    return text_differences(a.decode("utf-8"), b.decode("utf-8"))

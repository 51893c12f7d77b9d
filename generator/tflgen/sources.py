"""Open any supported TensorFlow source as one frozen, fixed-shape function.

Every TF source (SavedModel, Keras 3 `.keras`, legacy `.h5`, TF1 frozen graph, TF1 checkpoint)
becomes a concrete function with constants instead of variables and a fully known input
shape: the one thing both the converter and reference inference need. An existing `.tflite`
is run by the LiteRT interpreter instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from tflgen.console import Reporter, import_tensorflow
from tflgen.errors import OptionError, SourceError, first_line
from tflgen.recipes import DETECTION_POSTPROCESS_OP

SUPPORTED = "a SavedModel folder, a Keras .keras/.h5 file, a TF1 frozen .pb, a TF1 checkpoint prefix, or a .tflite"


class SourceKind(StrEnum):
    SAVED_MODEL = "SavedModel"
    KERAS = "Keras (.keras)"
    KERAS_H5 = "Keras (.h5)"
    FROZEN_GRAPH = "TF1 frozen graph"
    CHECKPOINT = "TF1 checkpoint"
    TFLITE = "TFLite"


@dataclass(frozen=True)
class GraphFlags:
    """What a TF1 graph can't tell by itself: which tensors are its input and outputs."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    input_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TensorSig:
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy dtype name


@dataclass(frozen=True, eq=False)
class ExportedPostprocess:
    """A TF1 export graph's own TFLite_Detection_PostProcess node (the TF Object Detection API's
    export_tflite_ssd_graph.py writes one). TensorFlow has no kernel for it, so the source stops
    at the node's inputs (box encodings, class scores) and this keeps what the node said: its
    attributes and its constant anchors, from which the op is appended again (tflgen.ssd_source)."""

    node: str
    attrs: dict[str, Any]
    anchors: np.ndarray


# What a TFLite_Detection_PostProcess node must say; export_tflite_ssd_graph.py writes all of them.
POSTPROCESS_ATTRS = ("max_detections", "max_classes_per_detection", "nms_score_threshold", "nms_iou_threshold", "num_classes",
                     "y_scale", "x_scale", "h_scale", "w_scale")


@dataclass(frozen=True)
class GraphCut:
    """Where a TF1 graph that prepares raw pixels itself (DeepLab's export_model.py: uint8 in, Cast,
    resize, x / 127.5 - 1, ..., ArgMax out) can be cut so that int8 gets a float network: `input`
    is the normalized image the first layer reads, `output` the last float tensor before the ArgMax
    that does not depend on the raw input again; `mean`/`std` are what `input` makes of pixels."""

    input: str
    output: str
    input_shape: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    preprocessing: tuple[str, ...]  # the op types between the raw input and `input`
    argmax_dtype: str

    def flags(self) -> str:
        mean, std = (",".join(f"{v:g}" for v in sorted(set(values), key=values.index)) for values in (self.mean, self.std))
        return (f"--inputs {self.input} --outputs {self.output} --input-shape {','.join(map(str, self.input_shape))} "
                f"--mean {mean} --std {std}")


@dataclass(frozen=True)
class SourceModel:
    kind: SourceKind
    path: Path
    loader: str
    input: TensorSig
    outputs: tuple[TensorSig, ...]
    parameter_count: int
    size_bytes: int
    has_detection_postprocess: bool  # ends in TFLite_Detection_PostProcess (its outputs stay float)
    function: Any = field(repr=False, compare=False)  # ConcreteFunction at the fixed shape, None for .tflite
    keepalive: Any = field(repr=False, compare=False)  # what the function's graph refers to
    exported_postprocess: ExportedPostprocess | None = field(default=None, repr=False, compare=False)
    # Quantization-aware training left FakeQuant nodes with learned ranges: int8 needs no calibration.
    quantization_aware: bool = False
    input_range_learned: bool = False  # a FakeQuant reads the input itself (else --mean/--std give its range)
    preprocessing_cut: GraphCut | None = field(default=None, repr=False, compare=False)  # a TF1 graph fed raw pixels

    def predict(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """Reference inference on one input batch, outputs in the source's own order."""
        if self.kind is SourceKind.TFLITE:
            interpreter = self.keepalive
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
            interpreter.invoke()
            return tuple(interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details())
        import tensorflow as tf

        # flattened like `outputs` (a signature returns a dict: its values in sorted-key order)
        return tuple(t.numpy() for t in tf.nest.flatten(self.function(tf.constant(batch))))


FAKE_QUANT_OPS = frozenset({"FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVarsPerChannel"})


def fake_quant_nodes(graph_def: Any, input_node: str | None = None) -> tuple[bool, bool]:
    """(whether the graph holds FakeQuant nodes, whether one of them reads `input_node` itself)."""
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    fake = [n for n in nodes if n.op in FAKE_QUANT_OPS]
    return bool(fake), any(n.input and _node_name(n.input[0]) == input_node for n in fake)


def peek_quantization_aware(path: Path, reporter: Reporter) -> bool:
    """Before loading anything: whether a TF1 graph or SavedModel holds FakeQuant nodes (its int8
    ranges were learned in training). False for other sources and for anything unreadable (the
    loader then says what is wrong)."""
    try:
        kind, target = detect_kind(path)
    except SourceError:
        return False
    if kind not in (SourceKind.FROZEN_GRAPH, SourceKind.SAVED_MODEL):
        return False
    tf = import_tensorflow(reporter)
    try:
        if kind is SourceKind.FROZEN_GRAPH:
            return fake_quant_nodes(_read_graph_def(tf, target))[0]
        from tensorflow.core.protobuf import saved_model_pb2

        saved = saved_model_pb2.SavedModel()
        saved.ParseFromString((target / "saved_model.pb").read_bytes())
        return any(fake_quant_nodes(meta.graph_def)[0] for meta in saved.meta_graphs)
    except Exception:  # noqa: BLE001 (a peek: the real load reports problems)
        return False


def detect_kind(path: Path) -> tuple[SourceKind, Path]:
    """The kind of source a path is, and the path to open (a checkpoint's prefix)."""
    checkpoint = _checkpoint_prefix(path)
    if checkpoint is not None:
        if not any(checkpoint.with_name(checkpoint.name + s).is_file() for s in (".index", ".meta")):
            raise SourceError(f"{path}: no checkpoint files {checkpoint}.index/.meta", f"tflgen takes {SUPPORTED}")
        return SourceKind.CHECKPOINT, checkpoint
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder", f"tflgen takes {SUPPORTED}")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return SourceKind.SAVED_MODEL, path
        raise SourceError(
            f"{path}: folder is neither a SavedModel (no saved_model.pb) nor a TF1 checkpoint folder",
            f"tflgen takes {SUPPORTED}",
        )
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return SourceKind.KERAS, path
    if suffix in (".h5", ".hdf5"):
        return SourceKind.KERAS_H5, path
    if suffix == ".tflite":
        return SourceKind.TFLITE, path
    if suffix in (".pb", ".pbtxt"):
        if path.name.startswith("saved_model.") and (path.parent / "variables").is_dir():
            return SourceKind.SAVED_MODEL, path.parent
        return SourceKind.FROZEN_GRAPH, path
    raise SourceError(f"{path}: unknown model file type {suffix or '(no suffix)'!r}", f"tflgen takes {SUPPORTED}")


def _checkpoint_prefix(path: Path) -> Path | None:
    if path.is_dir() and (path / "checkpoint").is_file():
        match = re.search(r'model_checkpoint_path:\s*"([^"]+)"', (path / "checkpoint").read_text(errors="replace"))
        if match:
            prefix = Path(match.group(1))
            return prefix if prefix.is_absolute() else path / prefix
    if path.suffix in (".meta", ".index"):
        return path.with_suffix("")
    if re.search(r"\.data-\d+-of-\d+$", path.name):
        return path.with_name(re.sub(r"\.data-\d+-of-\d+$", "", path.name))
    if not path.exists() and (path.with_name(path.name + ".index").is_file() or path.with_name(path.name + ".meta").is_file()):
        return path
    return None


def open_source(path: Path, flags: GraphFlags, reporter: Reporter) -> SourceModel:
    kind, target = detect_kind(path)
    size = _size_on_disk(kind, target)
    if kind is SourceKind.TFLITE:
        return _open_tflite(target, size, reporter)
    tf = import_tensorflow(reporter)
    with reporter.quiet_native():
        if kind is SourceKind.SAVED_MODEL:
            return _open_saved_model(tf, target, flags, size)
        if kind in (SourceKind.KERAS, SourceKind.KERAS_H5):
            return _open_keras(tf, kind, target, flags, size)
        if kind is SourceKind.FROZEN_GRAPH:
            graph_def = _read_graph_def(tf, target)
            return _from_graph_def(tf, kind, target, graph_def, flags, size, "tf.compat.v1.import_graph_def")
        graph_def = _freeze_checkpoint(tf, target, flags)
        return _from_graph_def(tf, kind, target, graph_def, flags, size, "tf.compat.v1.train.import_meta_graph + restore")


def _size_on_disk(kind: SourceKind, target: Path) -> int:
    if kind is SourceKind.CHECKPOINT:
        files = target.parent.glob(target.name + ".*")
    elif target.is_dir():
        files = target.rglob("*")
    else:
        return target.stat().st_size
    return sum(p.stat().st_size for p in files if p.is_file())


def _open_tflite(path: Path, size: int, reporter: Reporter) -> SourceModel:
    from tflgen.tflite_info import load_interpreter, read_model

    content = path.read_bytes()
    info = read_model(content, str(path))
    interpreter = load_interpreter(content, str(path), reporter)
    if len(info.inputs) != 1:
        raise SourceError(f"{path}: the model has {len(info.inputs)} inputs", "tflgen handles image models with one input")
    sig = lambda t: TensorSig(t.name, t.shape, t.dtype)  # noqa: E731
    return SourceModel(
        SourceKind.TFLITE, path, "ai_edge_litert.Interpreter", sig(info.inputs[0]),
        tuple(sig(t) for t in info.outputs), info.parameter_count, size,
        DETECTION_POSTPROCESS_OP in info.custom_ops, None, interpreter,
    )


def _open_saved_model(tf: Any, path: Path, flags: GraphFlags, size: int) -> SourceModel:
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:  # TF raises many types for a broken SavedModel
        raise SourceError(f"{path}: cannot load SavedModel: {first_line(exc)}",
            "check that the folder was written by tf.saved_model.save or model.export") from exc
    signatures = dict(loaded.signatures)
    if not signatures:
        raise SourceError(
            f"{path}: the SavedModel has no signatures",
            "export it with a serving signature, e.g. tf.saved_model.save(model, dir, signatures=...) or model.export(dir)",
        )
    name = "serving_default" if "serving_default" in signatures else sorted(signatures)[0]
    signature = signatures[name]
    _, kwargs = signature.structured_input_signature
    if len(kwargs) != 1:
        raise SourceError(
            f"{path}: signature {name!r} has {len(kwargs)} inputs ({', '.join(sorted(kwargs))})",
            "tflgen handles image models with one input",
        )
    (input_name, spec), = kwargs.items()
    shape = _fixed_shape(tuple(spec.shape.as_list()), flags.input_shape, f"{path} input {input_name!r}")
    function = tf.function(lambda x: signature(**{input_name: x}))
    # Not frozen: freezing inlines functions and drops `experimental_implements` composites such
    # as TFLite_Detection_PostProcess; the converter freezes SavedModel variables itself.
    return _traced(tf, SourceKind.SAVED_MODEL, path, f"tf.saved_model.load (signature {name!r})", function, input_name, shape, spec.dtype, None, size, loaded,
        freeze=False)


def _open_keras(tf: Any, kind: SourceKind, path: Path, flags: GraphFlags, size: int) -> SourceModel:
    model, loader = _load_keras(path, kind)
    inputs = model.inputs
    if len(inputs) != 1:
        raise SourceError(f"{path}: the model has {len(inputs)} inputs", "tflgen handles image models with one input")
    keras_input = inputs[0]
    raw_shape = tuple(None if d is None else int(d) for d in keras_input.shape)
    shape = _fixed_shape(raw_shape, flags.input_shape, f"{path} input")
    input_name = getattr(keras_input, "name", "input").split(":")[0] or "input"
    function = tf.function(lambda x: model(x, training=False))
    # Frozen: the converter can't lift Keras 3 variables from a traced call (READ_VARIABLE fails).
    return _traced(tf, kind, path, loader, function, input_name, shape, tf.as_dtype(keras_input.dtype), int(model.count_params()), size, model, freeze=True)


def _load_keras(path: Path, kind: SourceKind) -> tuple[Any, str]:
    import zipfile

    import keras

    if kind is SourceKind.KERAS and not zipfile.is_zipfile(path):
        raise SourceError(f"{path}: not a Keras 3 archive (a .keras file is a zip)",
            "the file is corrupt or truncated; save the model again with model.save('model.keras')")

    try:
        return keras.saving.load_model(str(path), compile=False), f"Keras {keras.__version__} (keras.saving.load_model)"
    except Exception as exc:
        keras3_error = exc
    if kind is SourceKind.KERAS_H5:
        # Many real .h5 files are Keras 2 models that Keras 3 refuses; tf-keras still reads them.
        try:
            import tf_keras

            return tf_keras.models.load_model(str(path), compile=False), f"tf-keras {tf_keras.__version__} (Keras 2; Keras 3 refused the file)"
        except Exception as exc:
            raise SourceError(
                f"{path}: neither Keras 3 nor tf-keras can load it: {first_line(exc)}",
                "check the file is a complete Keras model (not weights only, not truncated); custom layers need a SavedModel export",
            ) from exc
    raise SourceError(
        f"{path}: Keras cannot load it: {first_line(keras3_error)}",
        "check the file is a complete Keras 3 model (not truncated); custom layers must be registered or exported as a SavedModel",
    ) from keras3_error


def _read_graph_def(tf: Any, path: Path) -> Any:
    from google.protobuf import message, text_format

    graph_def = tf.compat.v1.GraphDef()
    try:
        if path.suffix == ".pbtxt":
            text_format.Parse(path.read_text(), graph_def)
        else:
            graph_def.ParseFromString(path.read_bytes())
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError, RuntimeWarning) as exc:
        raise SourceError(f"{path}: not a valid TensorFlow GraphDef ({first_line(exc)})",
            "the file is corrupt or truncated; export the frozen graph again") from exc
    if not graph_def.node:
        raise SourceError(f"{path}: the GraphDef has no nodes", "the file is empty, corrupt or not a frozen graph")
    return graph_def


def _freeze_checkpoint(tf: Any, prefix: Path, flags: GraphFlags) -> Any:
    v1 = tf.compat.v1
    meta = prefix.with_name(prefix.name + ".meta")
    if not meta.is_file():
        raise SourceError(
            f"{prefix}: the checkpoint has no {meta.name} graph",
            "tflgen needs the graph: save with tf.compat.v1.train.Saver (it writes .meta), or export a SavedModel",
        )
    _require_graph_flags(prefix, flags, None)
    from google.protobuf import message

    meta_graph = v1.MetaGraphDef()
    try:
        meta_graph.ParseFromString(meta.read_bytes())
    except message.DecodeError as exc:
        raise SourceError(f"{meta}: not a valid MetaGraphDef ({first_line(exc)})", "the file is corrupt; save the checkpoint again") from exc
    _check_nodes_exist(prefix, meta_graph.graph_def, flags)
    # An export graph's post-process node has no TensorFlow kernel: freeze up to its inputs, then put it back.
    postprocess = _postprocess_node(meta_graph.graph_def, flags.outputs)
    outputs = [_node_name(n) for n in flags.outputs]
    if postprocess is not None:
        kept = [n for n in meta_graph.graph_def.node if n.name != postprocess.name]
        del meta_graph.graph_def.node[:]
        meta_graph.graph_def.node.extend(kept)
        outputs = [_node_name(name) for name in postprocess.input if not name.startswith("^")]
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        try:
            saver = v1.train.import_meta_graph(meta_graph, clear_devices=True)
            saver.restore(session, str(prefix))
        except Exception as exc:
            raise SourceError(f"{prefix}: cannot restore the checkpoint: {first_line(exc)}",
                "check that .meta, .index and .data files come from the same save") from exc
        frozen = v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), outputs)
    if postprocess is not None:
        frozen.node.append(postprocess)
    return frozen


def _from_graph_def(tf: Any, kind: SourceKind, path: Path, graph_def: Any, flags: GraphFlags, size: int, loader: str) -> SourceModel:
    v1 = tf.compat.v1
    _require_graph_flags(path, flags, graph_def)
    _check_nodes_exist(path, graph_def, flags)
    postprocess = _postprocess_node(graph_def, flags.outputs)
    if postprocess is not None:
        return _up_to_postprocess(tf, kind, path, graph_def, flags, size, loader, postprocess)
    # Only what the outputs need is imported (an export graph may hold ops TensorFlow can't run).
    graph_def = v1.graph_util.extract_sub_graph(graph_def, [_node_name(n) for n in flags.outputs])
    if len(flags.inputs) != 1:
        raise OptionError(f"--inputs names {len(flags.inputs)} tensors", "tflgen handles image models with one input")
    input_node = next(n for n in graph_def.node if n.name == _node_name(flags.inputs[0]))
    dtype = tf.as_dtype(input_node.attr["dtype"].type) if "dtype" in input_node.attr else tf.float32
    declared = None
    if "shape" in input_node.attr and not input_node.attr["shape"].shape.unknown_rank:
        declared = tuple(None if d.size < 0 else int(d.size) for d in input_node.attr["shape"].shape.dim)
    shape = _fixed_shape(declared, flags.input_shape, f"{path} input {flags.inputs[0]!r}")
    input_name = _node_name(flags.inputs[0])
    output_names = [_node_name(n) for n in flags.outputs]

    def import_graph() -> None:
        placeholder = v1.placeholder(dtype, shape, name=input_name)
        returned = v1.import_graph_def(
            graph_def, input_map={_tensor_name(flags.inputs[0]): placeholder},
            return_elements=[_tensor_name(n) for n in flags.outputs], name="source",
        )
        for name, tensor in zip(output_names, returned):
            tf.identity(tensor, name=name)

    try:
        wrapped = v1.wrap_function(import_graph, [])
        function = wrapped.prune(f"{input_name}:0", [f"{n}:0" for n in output_names])
    except Exception as exc:
        raise SourceError(f"{path}: cannot import the graph: {first_line(exc)}", "check --inputs/--outputs/--input-shape against the graph") from exc
    params = _graph_parameter_count(tf, graph_def)
    outputs = tuple(TensorSig(n, _shape_tuple(t.shape), t.dtype.as_numpy_dtype.__name__) for n, t in zip(output_names, function.outputs))
    aware, input_learned = fake_quant_nodes(graph_def, input_name)
    cut = _preprocessing_cut(tf, graph_def, input_name, dtype, shape) if dtype.is_integer else None
    return SourceModel(kind, path, loader, TensorSig(input_name, shape, dtype.name), outputs, params, size, False, function, wrapped,
                       quantization_aware=aware, input_range_learned=input_learned, preprocessing_cut=cut)


def _postprocess_node(graph_def: Any, outputs: tuple[str, ...]) -> Any:
    """The TFLite_Detection_PostProcess node the --outputs name (any of its four outputs), or None."""
    nodes = {n.name: n for n in graph_def.node}
    named = [nodes[_node_name(o)] for o in outputs]
    ops = {n.name for n in named if n.op == DETECTION_POSTPROCESS_OP}
    if not ops:
        return None
    if len(ops) > 1 or any(n.op != DETECTION_POSTPROCESS_OP for n in named):
        raise OptionError(
            f"--outputs {','.join(outputs)}: mixes {DETECTION_POSTPROCESS_OP} outputs with other tensors",
            f"name only the op's outputs: --outputs {_postprocess_outputs(sorted(ops)[0])}",
        )
    return nodes[ops.pop()]


def _postprocess_outputs(node: str) -> str:
    return ",".join([node] + [f"{node}:{i}" for i in (1, 2, 3)])


def _up_to_postprocess(tf: Any, kind: SourceKind, path: Path, graph_def: Any, flags: GraphFlags, size: int, loader: str, node: Any) -> SourceModel:
    """The graph up to the post-process node's inputs (raw box encodings and class scores), with the
    node's attributes and anchors kept for appending the op again (it has no TensorFlow kernel)."""
    from dataclasses import replace

    attrs = {key: _attr_scalar(value) for key, value in node.attr.items() if not key.startswith("_")}
    missing = [key for key in POSTPROCESS_ATTRS if attrs.get(key) is None]
    inputs = [name for name in node.input if not name.startswith("^")]
    if missing or len(inputs) != 3:
        lacks = f"lacks the attribute(s) {', '.join(missing)}" if missing else f"has {len(inputs)} inputs, not 3 (box encodings, class scores, anchors)"
        raise SourceError(
            f"{path}: the {DETECTION_POSTPROCESS_OP} node {node.name!r} {lacks}",
            "export the graph with the Object Detection API's export_tflite_ssd_graph.py, which writes the whole node",
        )
    boxes, scores, anchors = inputs
    raw = _from_graph_def(tf, kind, path, graph_def, replace(flags, outputs=(boxes, scores)), size, f"{loader} up to its {node.name} node")
    return replace(raw, exported_postprocess=ExportedPostprocess(node.name, attrs, _constant(tf, path, graph_def, anchors)))


def _attr_scalar(value: Any) -> Any:
    """An AttrValue's int, float, bool or string; None for lists, shapes and types."""
    which = value.WhichOneof("value")
    return {"i": value.i, "f": value.f, "b": value.b, "s": value.s.decode("utf-8", "replace")}.get(which) if which in ("i", "f", "b", "s") else None


def _constant(tf: Any, path: Path, graph_def: Any, tensor: str) -> np.ndarray:
    """The value of a tensor that depends on no input (an export graph's anchors)."""
    v1 = tf.compat.v1
    sub = v1.graph_util.extract_sub_graph(graph_def, [_node_name(tensor)])
    if any(n.op == "Placeholder" for n in sub.node):
        raise SourceError(f"{path}: the anchors {tensor!r} depend on the input", "export the graph with constant anchors (export_tflite_ssd_graph.py does)")
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        (value,) = v1.import_graph_def(sub, return_elements=[_tensor_name(tensor)], name="")
        return np.asarray(session.run(value))


_NETWORK_OPS = frozenset({"Conv2D", "DepthwiseConv2dNative", "MatMul", "Conv3D"})
_PASS_THROUGH = frozenset({"Slice", "StridedSlice", "ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "Identity", "Squeeze"})


def _preprocessing_cut(tf: Any, graph_def: Any, input_name: str, dtype: Any, shape: tuple[int, ...]) -> GraphCut | None:
    """The GraphCut of a graph fed raw integer pixels that ends in ArgMax, or None (best effort: a graph
    this does not understand simply gets no suggestion)."""
    try:
        nodes = {n.name: n for n in graph_def.node}
        consumers: dict[str, list[Any]] = {}
        for node in graph_def.node:
            for name in node.input:
                if not name.startswith("^"):
                    consumers.setdefault(_node_name(name), []).append(node)
        # The input side: the first network layer reached from the raw input reads the normalized image.
        seen, frontier, steps, first = {input_name}, [input_name], [], None
        while frontier and first is None:
            following = []
            for name in frontier:
                for node in consumers.get(name, []):
                    if node.name in seen or node.op == "Shape":
                        continue
                    seen.add(node.name)
                    if node.op in _NETWORK_OPS:
                        first = first or node
                    else:
                        steps.append(node.op)
                        following.append(node.name)
            frontier = following
        argmax = next((n for n in graph_def.node if n.op == "ArgMax"), None)
        if first is None or argmax is None:
            return None
        cut_in = first.input[0]

        def reads_raw_input(name: str) -> bool:
            stack, visited = [_node_name(name)], set()
            while stack:
                current = stack.pop()
                if current == input_name:
                    return True
                if current in visited or current == _node_name(cut_in):
                    continue
                visited.add(current)
                stack.extend(_node_name(i) for i in nodes[current].input if not i.startswith("^"))
            return False

        cut_out = argmax.input[0]
        while reads_raw_input(cut_out) and nodes[_node_name(cut_out)].op in _PASS_THROUGH:
            cut_out = nodes[_node_name(cut_out)].input[0]
        if reads_raw_input(cut_out):
            return None
        mean, std, cut_shape = _implied_normalization(tf, graph_def, input_name, dtype, shape, cut_in)
        return GraphCut(_node_name(cut_in), _node_name(cut_out), cut_shape, mean, std, tuple(dict.fromkeys(steps)),
                        tf.as_dtype(argmax.attr["output_type"].type).name if "output_type" in argmax.attr else "int64")
    except Exception:  # noqa: BLE001 (a suggestion only)
        return None


def _implied_normalization(tf: Any, graph_def: Any, input_name: str, dtype: Any, shape: tuple[int, ...], tensor: str) -> tuple[tuple[float, ...], tuple[float,
    ...], tuple[int, ...]]:
    """What `tensor` makes of pixels: run black and white images through the graph's own preprocessing;
    x = (pixel - mean) / std at the centre gives mean and std per channel."""
    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        placeholder = v1.placeholder(dtype, shape)
        (value,) = v1.import_graph_def(graph_def, input_map={f"{input_name}:0": placeholder}, return_elements=[_tensor_name(tensor)], name="")
        black, white = (session.run(value, {placeholder: np.full(shape, level, dtype.as_numpy_dtype)}) for level in (0, 255))
    centre = tuple(d // 2 for d in black.shape[1:3])
    low, high = black[0][centre].astype(np.float64), white[0][centre].astype(np.float64)
    std = 255.0 / (high - low)
    return tuple(float(v) for v in np.round(-low * std, 4)), tuple(float(v) for v in np.round(std, 4)), tuple(int(d) for d in black.shape)


def _require_graph_flags(path: Path, flags: GraphFlags, graph_def: Any) -> None:
    if flags.inputs and flags.outputs:
        return
    candidates = ""
    example = "--inputs input --outputs MobilenetV2/Predictions/Reshape_1"
    if graph_def is not None:
        placeholders = [n.name for n in graph_def.node if n.op == "Placeholder"]
        consumed = {i.split(":")[0].lstrip("^") for n in graph_def.node for i in n.input}
        sinks = [n.name for n in graph_def.node if n.name not in consumed and n.op not in ("Const", "NoOp", "Placeholder")]
        candidates = f" (placeholders: {', '.join(placeholders[:5]) or 'none'}; unconsumed nodes: {', '.join(sinks[:5]) or 'none'})"
        if placeholders and sinks:
            example = f"--inputs {placeholders[0]} --outputs {','.join(sinks[:4])}"
        postprocess = [n.name for n in graph_def.node if n.op == DETECTION_POSTPROCESS_OP]
        if placeholders and postprocess:  # an Object Detection API export graph: the seed's own arguments
            example = f"--inputs {placeholders[0]} --outputs {_postprocess_outputs(postprocess[0])} --input-shape 1,H,W,3"
    missing = " and ".join(o for o, v in (("--inputs", flags.inputs), ("--outputs", flags.outputs)) if not v)
    raise OptionError(
        f"{path}: a TF1 graph needs {missing}{candidates}",
        f"name the input and output tensors, e.g. {example} (add --input-shape 1,H,W,C if the input size is dynamic)",
    )


def _check_nodes_exist(path: Path, graph_def: Any, flags: GraphFlags) -> None:
    names = {n.name for n in graph_def.node}
    for option, values in (("--inputs", flags.inputs), ("--outputs", flags.outputs)):
        for value in values:
            if _node_name(value) not in names:
                raise OptionError(f"{option} {value!r}: no such node in {path}", "node names are case-sensitive; list them with TensorBoard or Netron")


def _traced(tf: Any, kind: SourceKind, path: Path, loader: str, function: Any, input_name: str, shape: tuple[int, ...], dtype: Any, params: int | None,
    size: int, keepalive: Any, freeze: bool) -> SourceModel:
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    safe_name = re.sub(r"[^A-Za-z0-9_.\-/]", "_", input_name) or "input"
    try:
        concrete = function.get_concrete_function(tf.TensorSpec(shape, dtype, name=safe_name))
        if freeze:
            concrete = convert_variables_to_constants_v2(concrete)
    except Exception as exc:
        raise SourceError(f"{path}: cannot trace the model at input shape {list(shape)}: {first_line(exc)}",
            "check --input-shape; the model must accept a batch of one image") from exc
    if params is None:
        params = sum(int(np.prod(v.shape)) for v in concrete.variables if v.dtype.is_floating) or _graph_parameter_count(tf, concrete.graph.as_graph_def())
    outputs = tuple(
        TensorSig(t.name.split(":")[0], _shape_tuple(t.shape), t.dtype.as_numpy_dtype.__name__) for t in concrete.outputs
    )
    graph_def = concrete.graph.as_graph_def()
    aware, input_learned = fake_quant_nodes(graph_def, safe_name)
    return SourceModel(
        kind, path, loader, TensorSig(safe_name, shape, np.dtype(dtype.as_numpy_dtype).name), outputs, params, size,
        _implements_detection_postprocess(graph_def), concrete, keepalive, quantization_aware=aware, input_range_learned=input_learned,
    )


def _implements_detection_postprocess(graph_def: Any) -> bool:
    """Whether a function in the graph is the composite the converter turns into the custom op."""
    return any(
        "_implements" in f.attr and DETECTION_POSTPROCESS_OP in str(f.attr["_implements"]) for f in graph_def.library.function
    )


def _fixed_shape(declared: tuple[int | None, ...] | None, given: tuple[int, ...] | None, what: str) -> tuple[int, ...]:
    if given is not None:
        if declared is not None and (len(declared) != len(given) or any(d is not None and d != g for d, g in zip(declared[1:], given[1:]))):
            raise OptionError(f"--input-shape {','.join(map(str, given))} does not fit {what} of shape {_show(declared)}",
                "give the model's own shape, with a batch of 1")
        if given[0] != 1:
            raise OptionError(f"--input-shape {','.join(map(str, given))}: batch must be 1", "mobile models run one image at a time: --input-shape 1,H,W,C")
        return given
    if declared is None or any(d is None for d in declared[1:]):
        raise OptionError(f"{what} has a dynamic shape {_show(declared)}", "pass a fixed shape, e.g. --input-shape 1,224,224,3")
    return (1, *declared[1:])  # type: ignore[arg-type]


def _show(shape: tuple[int | None, ...] | None) -> str:
    return "unknown" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _shape_tuple(shape: Any) -> tuple[int, ...]:
    return tuple(-1 if d is None else int(d) for d in shape.as_list())


def _graph_parameter_count(tf: Any, graph_def: Any) -> int:
    """Elements of the float constants in a graph and its functions (the weights, once frozen)."""
    nodes = [*graph_def.node, *(node for function in graph_def.library.function for node in function.node_def)]
    return sum(
        int(np.prod([d.size for d in node.attr["value"].tensor.tensor_shape.dim]))
        for node in nodes
        if node.op == "Const" and tf.as_dtype(node.attr["dtype"].type).is_floating and node.attr["value"].tensor.tensor_shape.dim
    )


def _node_name(name: str) -> str:
    return name.split(":")[0].lstrip("^")


def _tensor_name(name: str) -> str:
    return name if ":" in name else f"{name}:0"


"""Where a .tflite runs: XNNPACK partitions measured in LiteRT, GPU delegate gaps, an Edge TPU prediction.

- XNNPACK (LiteRT's default CPU delegate): what the interpreter really did with the graph after
  `allocate_tensors()`: how many delegate partitions, which ops it left to the plain CPU kernels,
  and the median latency.
- GPU delegate: TensorFlow Lite's model analyzer with GPU compatibility checks, plus the op list
  of the GPU delegate's own compatibility checker. The analyzer in TensorFlow 2.21 and
  ai-edge-litert 2.3 approves every op (even CUMSUM and custom ops such as
  TFLite_Detection_PostProcess), so the op list is what finds the gaps there; each issue says
  which source flagged it.
- Edge TPU: a static prediction of the prefix the Edge TPU compiler maps, from Coral's documented
  operation list and limits. It is a prediction, not the compiler's verdict, and says so.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tflgen.console import Reporter
from tflgen.recipes import DETECTION_POSTPROCESS_OP
from tflgen.tflite_info import check_flatbuffer, load_interpreter

LATENCY_RUNS = 30  # as verify.py: median of 30 invoke() after 5 warm-up runs
WARMUP_RUNS = 5
DELEGATE_NODE = "DELEGATE"  # the name LiteRT gives a node that runs a delegate's partition


def _histogram(names: list[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(names).items(), key=lambda kv: (-kv[1], kv[0])))


def _ops_text(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{op}×{n}" for op, n in pairs)


# ---------------------------------------------------------------- the graph, op by op


@dataclass(frozen=True)
class Tensor:
    shape: tuple[int, ...]
    dtype: str
    constant: bool
    data: np.ndarray | None  # constant integer data (axes, shapes), else None


@dataclass(frozen=True)
class Op:
    index: int  # position in the flatbuffer: LiteRT executes ops in this order
    name: str
    custom: bool
    inputs: tuple[int, ...]  # tensor indices; -1 for an omitted optional input
    outputs: tuple[int, ...]
    options: dict[str, Any]  # builtin options (fusedActivationFunction, dilationHFactor, ...)


def read_ops(content: bytes) -> tuple[tuple[Op, ...], tuple[Tensor, ...]]:
    """The first subgraph's ops in execution order and its tensors."""
    from ai_edge_litert import schema_py_generated as schema

    check_flatbuffer(content, "model")
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    codes: list[tuple[str, bool]] = []  # (op type, is custom)
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)  # the 8-bit field holds the first 127 ops
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            codes.append((custom or "?", True))
        else:
            codes.append((op_names.get(builtin, f"BUILTIN_{builtin}"), False))
    graph = model.subgraphs[0]
    tensors = []
    for t in graph.tensors:
        buffer = model.buffers[t.buffer] if 0 < t.buffer < len(model.buffers) else None
        constant = buffer is not None and (buffer.data is not None and len(buffer.data) > 0 or (buffer.offset or 0) > 1)
        dtype = type_names.get(t.type, f"type{t.type}")
        data = None
        if constant and dtype in ("int32", "int64") and buffer.data is not None:
            data = np.frombuffer(bytes(buffer.data), dtype=np.dtype(dtype).newbyteorder("<"))
        shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
        tensors.append(Tensor(shape, dtype, constant, data))
    ops = tuple(
        Op(i, *codes[op.opcodeIndex],
           tuple(int(x) for x in op.inputs) if op.inputs is not None else (),
           tuple(int(x) for x in op.outputs) if op.outputs is not None else (),
           dict(vars(op.builtinOptions)) if op.builtinOptions is not None else {})
        for i, op in enumerate(graph.operators or [])
    )
    return ops, tuple(tensors)


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if shape else 1


MAC_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL"})


def macs(op: Op, tensors: tuple[Tensor, ...]) -> int:
    """Multiply-accumulates of the convolution-like ops (MAC_OPS), from tensor shapes; every other op counts 0."""
    def shape(position: int, of: tuple[int, ...]) -> tuple[int, ...]:
        return tensors[of[position]].shape if position < len(of) and of[position] >= 0 else ()

    out = shape(0, op.outputs)
    if op.name == "CONV_2D":  # filter [Cout, kh, kw, Cin]
        _, kh, kw, cin = shape(1, op.inputs)
        return _elements(out) * kh * kw * cin
    if op.name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, Cout]: one input channel per output
        _, kh, kw, _ = shape(1, op.inputs)
        return _elements(out) * kh * kw
    if op.name == "FULLY_CONNECTED":  # weights [units, depth]
        return _elements(out) * shape(1, op.inputs)[-1]
    if op.name == "TRANSPOSE_CONV":  # inputs: output shape, filter [Cout, kh, kw, Cin], input
        cout, kh, kw, _ = shape(1, op.inputs)
        return _elements(shape(2, op.inputs)) * kh * kw * cout
    if op.name == "BATCH_MATMUL":  # [..., m, k] x [..., k, n]
        return _elements(out) * shape(0, op.inputs)[-1]
    return 0


def activation_input(op: Op) -> int:
    """The tensor a convolution-like op computes on (not its weights): TRANSPOSE_CONV's third input, else the first."""
    return op.inputs[2] if op.name == "TRANSPOSE_CONV" else op.inputs[0]


# ---------------------------------------------------------------- XNNPACK


@dataclass(frozen=True)
class XnnpackReport:
    # Delegate nodes in the execution plan: the pieces XNNPACK runs. LiteRT's own log line "Replacing N out
    # of M node(s) with delegate (TfLiteXNNPackDelegate) node, yielding K partitions" counts differently:
    # K is every node subset of its partitioning, these plus the runs of ops left to its own kernels
    # (int8 MobileNetV3-Small, uint8 IO: 20 here, K = 41 = 20 + 21). That line is VERBOSE, which
    # desktop builds of LiteRT don't print (Android's logcat does), so it is not read here.
    partitions: int
    op_count: int  # ops in the model
    delegated_ops: int  # ops inside those partitions
    left_out: tuple[tuple[str, int], ...]  # ops run by LiteRT's own CPU kernels, by type
    threads: int | None  # None: LiteRT's default
    median_ms: float
    runs: int

    @property
    def left_out_count(self) -> int:
        return sum(n for _, n in self.left_out)

    @property
    def split(self) -> bool:
        """The graph leaves XNNPACK and comes back: every crossing costs a hand-over through the interpreter."""
        return self.partitions > 1

    def lines(self) -> list[str]:
        lines = [f"{self.partitions} partition(s); {self.delegated_ops} of {self.op_count} ops in XNNPACK"]
        if self.left_out:
            lines.append(f"left out (LiteRT's own kernels): {_ops_text(self.left_out)}")
        if self.split:
            lines.append(f"split: XNNPACK runs the graph in {self.partitions} pieces with LiteRT's own kernels between "
                         "them (each crossing costs time); the ops left out are why")
        elif self.partitions == 0:
            lines.append("XNNPACK took no op: everything runs on LiteRT's reference CPU kernels")
        threads = "default threads" if self.threads is None else f"{self.threads} thread(s)"
        lines.append(f"median latency {self.median_ms:.2f} ms ({threads}, {self.runs} runs, measured here)")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "partitions": self.partitions, "op_count": self.op_count, "delegated_ops": self.delegated_ops,
            "left_out": dict(self.left_out), "split": self.split,
            "latency": {"threads": self.threads, "median_ms": self.median_ms, "runs": self.runs},
        }


def delegated_nodes(ops_details: list[dict[str, Any]]) -> dict[int, int]:
    """Which original node each delegate node took: {node index: delegate node index}.

    LiteRT keeps the replaced nodes in its node list and appends one DELEGATE node per partition,
    whose inputs and outputs are the partition's boundary tensors. A partition is convex, so its
    nodes are those reached by walking back from its outputs until its inputs.
    """
    producer = {int(t): d["index"] for d in ops_details if d["op_name"] != DELEGATE_NODE for t in d["outputs"]}
    taken: dict[int, int] = {}
    for delegate in (d for d in ops_details if d["op_name"] == DELEGATE_NODE):
        boundary = {int(t) for t in delegate["inputs"]}
        pending = [int(t) for t in delegate["outputs"]]
        while pending:
            tensor = pending.pop()
            node = producer.get(tensor)
            if tensor in boundary or node is None or node in taken:
                continue
            taken[node] = delegate["index"]
            pending += [int(t) for t in ops_details[node]["inputs"] if t >= 0]
    return taken


def xnnpack_report(content: bytes, threads: int | None = None, reporter: Reporter | None = None,
                   runs: int = LATENCY_RUNS) -> XnnpackReport:
    """Load the model as LiteRT does by default (XNNPACK applied) and read what it did; time invoke()."""
    reporter = reporter or Reporter()
    interpreter = load_interpreter(content, "model", reporter, threads=threads)
    details = interpreter._get_ops_details()  # private, but the only view of the delegated graph
    taken = delegated_nodes(details)
    originals = [d for d in details if d["op_name"] != DELEGATE_NODE]
    left_out = [d["op_name"] for d in originals if d["index"] not in taken]
    median = _median_latency_ms(interpreter, runs, reporter)
    return XnnpackReport(
        partitions=len(details) - len(originals), op_count=len(originals), delegated_ops=len(taken),
        left_out=_histogram(left_out), threads=threads, median_ms=median, runs=runs,
    )


def _median_latency_ms(interpreter: Any, runs: int, reporter: Reporter) -> float:
    """Median of single invoke() after warm-up, on seeded random inputs (the time hardly depends on values)."""
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        dtype = np.dtype(detail["dtype"])
        if dtype.kind == "f":
            value = rng.uniform(-1, 1, detail["shape"]).astype(dtype)
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            value = rng.integers(max(info.min, -128), min(info.max, 255) + 1, detail["shape"]).astype(dtype)
        else:
            value = np.zeros(detail["shape"], dtype)
        interpreter.set_tensor(detail["index"], value)
    with reporter.quiet_native():
        for _ in range(WARMUP_RUNS):
            interpreter.invoke()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            interpreter.invoke()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# ---------------------------------------------------------------- GPU delegate

# Ops the GPU delegate's compatibility checker accepts (tensorflow/lite/tools/versioning/gpu_compatibility.cc,
# the checks `Analyzer.analyze(gpu_compatibility=True)` runs); custom ops other than these four are refused.
GPU_OPS = frozenset("""
ABS ADD AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS DENSIFY DEPTHWISE_CONV_2D DEPTH_TO_SPACE
DEQUANTIZE DIV EQUAL ELU EXP FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GREATER GREATER_EQUAL HARD_SWISH LESS
LESS_EQUAL LOGISTIC LOG LSTM MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PACK PAD POW REDUCE_MAX
REDUCE_MIN REDUCE_PROD QUANTIZE RELU RELU6 RELU_N1_TO_1 LEAKY_RELU PRELU RESHAPE RESIZE_BILINEAR
RESIZE_NEAREST_NEIGHBOR RSQRT SIN SLICE SOFTMAX SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE
STRIDED_SLICE SUB SUM TANH TILE TRANSPOSE TRANSPOSE_CONV
Convolution2DTransposeBias MaxPoolingWithArgmax2D MaxUnpooling2D Resampler
""".split())

_ANALYZER_OP = re.compile(r"^\s*Op#(\d+) (\S+?)\(")
_ANALYZER_WARNING = "GPU COMPATIBILITY WARNING: "


@dataclass(frozen=True)
class GpuIssue:
    index: int
    op: str
    reason: str
    source: str  # "analyzer" (TensorFlow's model analyzer) or "op list" (GPU_OPS above)
    consequence: str


@dataclass(frozen=True)
class GpuReport:
    op_count: int
    issues: tuple[GpuIssue, ...]
    analyzer_warnings: int  # per-op warnings the analyzer printed (0 when its build checks nothing)

    @property
    def unsupported(self) -> tuple[tuple[str, int], ...]:
        return _histogram([i.op for i in self.issues])

    def lines(self) -> list[str]:
        if not self.issues:
            return [f"all {self.op_count} ops are GPU-compatible by the analyzer and the GPU op list "
                    "(a static check: the delegate on the phone still decides)"]
        lines = [f"{len(self.issues)} of {self.op_count} ops stay on the CPU: {_ops_text(self.unsupported)}"]
        seen = set()
        for issue in self.issues:
            if (issue.op, issue.reason) not in seen:
                seen.add((issue.op, issue.reason))
                lines.append(f"{issue.op} (op {issue.index}, {issue.source}: {issue.reason}): {issue.consequence}")
        if self.analyzer_warnings == 0:
            lines.append("TensorFlow's analyzer raised no warning here; these come from the GPU delegate's op list")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "op_count": self.op_count, "unsupported": dict(self.unsupported), "analyzer_warnings": self.analyzer_warnings,
            "issues": [{"index": i.index, "op": i.op, "reason": i.reason, "source": i.source, "consequence": i.consequence} for i in self.issues],
        }


def analyzer_text(content: bytes) -> str:
    """TensorFlow Lite's model analyzer output with GPU checks (the text `tf.lite.experimental.Analyzer.analyze`
    prints), from the analyzer LiteRT ships: no TensorFlow import, nothing printed."""
    from ai_edge_litert import _pywrap_analyzer_wrapper as analyzer

    return analyzer.ModelAnalyzer(content, False, True)


def parse_analyzer_warnings(text: str) -> dict[int, str]:
    """{op index: reason} from the analyzer's per-op 'GPU COMPATIBILITY WARNING' lines (each follows its op's line)."""
    warnings: dict[int, str] = {}
    current = None
    for line in text.splitlines():
        match = _ANALYZER_OP.match(line)
        if match:
            current = int(match.group(1))
        elif line.startswith(_ANALYZER_WARNING) and current is not None:
            warnings[current] = line[len(_ANALYZER_WARNING):].strip()
            current = None  # one warning per op; the subgraph's summary warning that follows names none
        elif not line.strip():
            current = None
    return warnings


def gpu_report(content: bytes) -> GpuReport:
    ops, _ = read_ops(content)
    warnings = parse_analyzer_warnings(analyzer_text(content))
    flagged: dict[int, tuple[str, str]] = {}
    for op in ops:
        if op.index in warnings:
            flagged[op.index] = (warnings[op.index], "analyzer")
        elif op.name not in GPU_OPS:
            kind = "custom op" if op.custom else "op"
            flagged[op.index] = (f"{kind} {op.name} is not in the GPU delegate's op list", "op list")
    issues = tuple(
        GpuIssue(i, ops[i].name, reason, source, _gpu_consequence(ops, i, flagged))
        for i, (reason, source) in sorted(flagged.items())
    )
    return GpuReport(op_count=len(ops), issues=issues, analyzer_warnings=len(warnings))


def _gpu_consequence(ops: tuple[Op, ...], index: int, flagged: dict[int, Any]) -> str:
    before = any(i not in flagged for i in range(index))
    after = any(i not in flagged for i in range(index + 1, len(ops)))
    if ops[index].name == DETECTION_POSTPROCESS_OP:
        return ("box decoding and NMS run on the CPU after the GPU part: box encodings and scores are "
                "copied GPU→CPU every frame, and NMS time counts on the CPU")
    if before and after:
        return "splits the GPU graph: tensors go GPU→CPU→GPU around it, two copies per frame"
    if before:
        return "runs on the CPU after the GPU part, one GPU→CPU copy per frame"
    if after:
        return "runs on the CPU before the GPU part, one CPU→GPU copy per frame"
    return "runs on the CPU"


# ---------------------------------------------------------------- Edge TPU (a prediction)

# Coral's "Supported operations" table, https://coral.ai/docs/edgetpu/models-intro/#supported-operations
# (also mirrored in Axis's ARTPEC-7 docs, developer.axis.com/.../artpec-7/supported-ops/), for the
# current compiler and runtime; the limits listed there that a static look can check are checked below.
EDGETPU_OPS = frozenset("""
ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D EXPAND_DIMS FULLY_CONNECTED L2_NORMALIZATION LOGISTIC
LSTM UNIDIRECTIONAL_SEQUENCE_LSTM MAXIMUM MAX_POOL_2D MEAN MINIMUM MUL PACK PAD PRELU QUANTIZE REDUCE_MAX REDUCE_MIN
RELU RELU6 RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR RSQRT SLICE SOFTMAX SPACE_TO_DEPTH SPLIT
SQUEEZE STRIDED_SLICE SUB SUM SQUARED_DIFFERENCE TANH TRANSPOSE TRANSPOSE_CONV
""".split())
_INTEGER_8BIT = ("int8", "uint8")
_NO_FUSED_ACTIVATION = ("AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION")
_NO_BATCH_AXIS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN")
_SOFTMAX_MAX_ELEMENTS = 16000
PREDICTION_NOTE = ("a static prediction from Coral's documented op list and limits, not the Edge TPU "
                   "compiler's verdict: run edgetpu_compiler for the real mapping")


@dataclass(frozen=True)
class EdgeTpuReport:
    op_count: int
    mapped_ops: int  # the prefix predicted to map; everything after runs on the CPU
    first_unsupported: str | None  # op type, None when everything maps
    first_unsupported_index: int | None
    reason: str | None
    mapped_macs: int
    total_macs: int  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV; other ops count 0
    cpu_ops: tuple[tuple[str, int], ...]  # the ops after the cut, by type

    @property
    def op_share(self) -> float:
        return self.mapped_ops / self.op_count if self.op_count else 0.0

    @property
    def mac_share(self) -> float:
        return self.mapped_macs / self.total_macs if self.total_macs else 0.0

    def lines(self) -> list[str]:
        head = f"predicted: {self.mapped_ops} of {self.op_count} ops map to the Edge TPU ({self.op_share:.0%} of ops, " \
               f"{self.mac_share:.1%} of MACs; MACs counted for convolutions and fully-connected ops only)"
        lines = [head]
        if self.first_unsupported is not None:
            lines.append(f"first unsupported: {self.first_unsupported} (op {self.first_unsupported_index}): {self.reason}; "
                         f"it and every op after it run on the CPU: {_ops_text(self.cpu_ops)}")
        lines.append(f"this is {PREDICTION_NOTE}")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "prediction": True, "note": PREDICTION_NOTE, "op_count": self.op_count, "mapped_ops": self.mapped_ops,
            "first_unsupported": None if self.first_unsupported is None else {
                "op": self.first_unsupported, "index": self.first_unsupported_index, "reason": self.reason},
            "op_share": self.op_share, "mac_share": self.mac_share, "mapped_macs": self.mapped_macs,
            "total_macs": self.total_macs, "macs_counted_for": ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"],
            "cpu_ops": dict(self.cpu_ops),
        }


def edgetpu_problem(op: Op, tensors: tuple[Tensor, ...]) -> str | None:
    """Why the Edge TPU compiler would not map this op, or None when the documented limits allow it."""
    if op.name not in EDGETPU_OPS:
        return "not in the Edge TPU's supported operation list"
    activations = [i for i in op.inputs + op.outputs if i >= 0 and not tensors[i].constant]
    for i in activations:
        if tensors[i].dtype not in _INTEGER_8BIT:
            return f"a {tensors[i].dtype} tensor: the Edge TPU computes on 8-bit integers only"
        shape = tensors[i].shape
        if any(d < 1 for d in shape):
            return f"dynamic tensor shape {list(shape)}: sizes must be constant at compile time"
        if len(shape) > 3 and any(d > 1 for d in shape[:-3]):
            return f"tensor shape {list(shape)}: beyond the 3 innermost dimensions sizes must be 1 (batch 1)"
    options = op.options
    if op.name in _NO_FUSED_ACTIVATION and options.get("fusedActivationFunction", 0) != 0:
        return "a fused activation function, which this op may not have on the Edge TPU"
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D") and options.get("dilationHFactor", 1) != options.get("dilationWFactor", 1):
        return "different dilation in x and y"
    if op.name in _NO_BATCH_AXIS and len(op.inputs) > 1 and tensors[op.inputs[1]].data is not None:
        rank = len(tensors[op.inputs[0]].shape)
        if any(int(a) % max(rank, 1) == 0 for a in tensors[op.inputs[1]].data):
            return "a reduction over the batch dimension"
    if op.name == "SOFTMAX":
        shape = tensors[op.inputs[0]].shape
        if sum(d > 1 for d in shape) > 1 or _elements(shape) > _SOFTMAX_MAX_ELEMENTS:
            return f"softmax input {list(shape)}: only 1-D inputs up to {_SOFTMAX_MAX_ELEMENTS} elements"
    if op.name == "FULLY_CONNECTED" and sum(d > 1 for d in tensors[op.outputs[0]].shape) > 1:
        return "a fully-connected output with more than one dimension"
    return None


def edgetpu_report(content: bytes) -> EdgeTpuReport:
    """Walk the ops in execution order; the compiler maps one prefix, and the first op it can't map ends it."""
    ops, tensors = read_ops(content)
    counts = [macs(op, tensors) for op in ops]
    cut, reason = len(ops), None
    for op in ops:
        reason = edgetpu_problem(op, tensors)
        if reason is not None:
            cut = op.index
            break
    return EdgeTpuReport(
        op_count=len(ops), mapped_ops=cut,
        first_unsupported=ops[cut].name if cut < len(ops) else None,
        first_unsupported_index=cut if cut < len(ops) else None, reason=reason,
        mapped_macs=sum(counts[:cut]), total_macs=sum(counts),
        cpu_ops=_histogram([op.name for op in ops[cut:]]),
    )

"""Delegate reports (tflgen.delegates) against what LiteRT and the models themselves say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import models
from helpers import convert_or_fail, run_cli

# Slow: every test reads a converted network.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def delegate_work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("delegates")


@pytest.fixture(scope="session")
def mobilenet_v3(delegate_work):
    model = models.mobilenet_v3_small()
    path = delegate_work / "mobilenet_v3.keras"
    model.save(path)
    return model, path


@pytest.fixture(scope="session")
def v2_dynamic(mobilenet, delegate_work) -> Path:
    out = delegate_work / "v2_dynamic.tflite"
    result = run_cli("convert", mobilenet[1], "-o", out, "-q", "dynamic")
    assert result.code == 0, result.err
    return out


@pytest.fixture(scope="session")
def v2_int8(mobilenet, images, delegate_work) -> Path:
    return convert_or_fail(mobilenet[1], delegate_work / "v2_int8.tflite", images, int8=True)


@pytest.fixture(scope="session")
def v3_int8(mobilenet_v3, images, delegate_work) -> Path:
    return convert_or_fail(mobilenet_v3[1], delegate_work / "v3_int8.tflite", images, int8=True)


@pytest.fixture(scope="session")
def ssd_tflite(ssd_model, delegate_work) -> Path:
    out = delegate_work / "ssd.tflite"
    result = run_cli("convert", ssd_model, "-o", out)
    assert result.code == 0, result.err
    return out


@pytest.fixture(scope="session")
def sin_int8(sin_model, images, delegate_work) -> Path:
    """int8 with uint8 IO around SIN, which has no integer kernel: the converter wraps it in DEQUANTIZE/QUANTIZE."""
    out = delegate_work / "sin_int8.tflite"
    result = run_cli("convert", sin_model, "-o", out, "-q", "int8", "--io-type", "uint8", "--allow-float-fallback",
                     "--calibration", images, "--calibration-count", 8, "--mean", "127.5", "--std", "127.5")
    assert result.code == 0, result.err
    return out


def _delegate_nodes(path: Path) -> tuple[int, list[dict]]:
    """DELEGATE nodes counted through the interpreter's node API, and its op details."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    raw = interpreter._interpreter
    return sum(raw.NodeName(i) == "DELEGATE" for i in range(raw.NumNodes())), interpreter._get_ops_details()


def _xnnpack(path: Path):
    from tflgen.delegates import xnnpack_report

    return xnnpack_report(path.read_bytes(), threads=1, runs=5)


@pytest.mark.parametrize("name", ["v2_dynamic", "v2_int8", "v3_int8", "ssd_tflite", "sin_int8"])
def test_partitions_match_the_interpreter(name, request):
    from tflgen.delegates import delegated_nodes
    from tflgen.tflite_info import read_model

    path = request.getfixturevalue(name)
    report = _xnnpack(path)
    delegates, details = _delegate_nodes(path)
    assert report.partitions == delegates
    assert report.op_count == read_model(path.read_bytes(), str(path)).op_count
    assert report.delegated_ops + report.left_out_count == report.op_count
    # The execution plan is the delegate nodes plus the ops left out; it must be a closed dataflow:
    # every tensor a plan node reads is a graph input, a constant, or written by another plan node.
    taken = delegated_nodes(details)
    plan = [d for d in details if d["op_name"] == "DELEGATE" or d["index"] not in taken]
    written = {int(t) for d in plan for t in d["outputs"]}
    inputs, outputs = _graph_io(path)
    constants = _constant_tensors(path)
    for node in plan:
        for t in (int(t) for t in node["inputs"] if t >= 0):
            assert t in written or t in inputs or t in constants, (node["op_name"], t)
    assert outputs <= written


def _graph_io(path: Path) -> tuple[set[int], set[int]]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    return {d["index"] for d in interpreter.get_input_details()}, {d["index"] for d in interpreter.get_output_details()}


def _constant_tensors(path: Path) -> set[int]:
    """Tensors whose buffer holds data, read straight from the flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    return {i for i in range(graph.TensorsLength())
            if 0 < graph.Tensors(i).Buffer() < model.BuffersLength() and model.Buffers(graph.Tensors(i).Buffer()).DataLength() > 0}


def test_dynamic_mobilenet_v2_falls_out_of_xnnpack(v2_dynamic):
    """Hybrid (int8-weight, float-activation) depthwise convolutions have no XNNPACK kernel."""
    report = _xnnpack(v2_dynamic)
    assert report.partitions > 1 and report.split
    assert "DEPTHWISE_CONV_2D" in dict(report.left_out)
    text = "\n".join(report.lines())
    assert "split" in text and "DEPTHWISE_CONV_2D" in text


def test_int8_mobilenet_v3_leaves_hard_swish_out(v3_int8, v2_int8):
    v3 = _xnnpack(v3_int8)
    assert dict(v3.left_out).get("HARD_SWISH", 0) >= 1
    assert v3.partitions > 1
    # int8 MobileNetV2 has no hard-swish and runs in one partition (only the uint8<->int8 edges stay out).
    v2 = _xnnpack(v2_int8)
    assert v2.partitions == 1 and set(dict(v2.left_out)) <= {"QUANTIZE"}


def test_gpu_report_names_the_post_process_op(ssd_tflite, v2_int8):
    from tflgen.delegates import gpu_report

    report = gpu_report(ssd_tflite.read_bytes())
    assert dict(report.unsupported) == {"TFLite_Detection_PostProcess": 1}
    (issue,) = report.issues
    assert "CPU" in issue.consequence
    assert "TFLite_Detection_PostProcess" in "\n".join(report.lines())
    assert gpu_report(v2_int8.read_bytes()).issues == ()  # every MobileNetV2 op is one the GPU delegate takes


def test_analyzer_warnings_are_parsed():
    """The per-op warning lines of TensorFlow's analyzer (its source's format) become {op index: reason}."""
    from tflgen.delegates import parse_analyzer_warnings

    text = (
        "Subgraph#0 main(T#0) -> [T#3]\n"
        "  Op#0 CONV_2D(T#0, T#1, T#2) -> [T#4]\n"
        "  Op#1 CUMSUM(T#4, T#5[1]) -> [T#3]\n"
        "GPU COMPATIBILITY WARNING: Not supported op CUMSUM\n"
        "\nGPU COMPATIBILITY WARNING: Subgraph#0 has GPU delegate compatibility issues at nodes 1 with TFLite runtime version 2.21.0\n"
        "\nTensors of Subgraph#0\n"
    )
    assert parse_analyzer_warnings(text) == {1: "Not supported op CUMSUM"}


def _keras_macs(model) -> int:
    """MACs of a Keras model's convolutions and dense layers, from the layers' own shapes."""
    import keras
    import numpy as np

    total = 0
    for layer in model.layers:
        out = int(np.prod(layer.output.shape[1:]))
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            total += out * int(np.prod(layer.kernel_size))
        elif isinstance(layer, keras.layers.Conv2D):
            total += out * int(np.prod(layer.kernel_size)) * int(layer.input.shape[-1])
        elif isinstance(layer, keras.layers.Dense):
            total += out * int(layer.input.shape[-1])
    return total


def test_edgetpu_maps_an_int8_mobilenet_v2(v2_int8, mobilenet):
    from tflgen.delegates import edgetpu_report

    report = edgetpu_report(v2_int8.read_bytes())
    assert report.first_unsupported is None and report.mapped_ops == report.op_count
    assert report.op_share == 1.0 and report.mac_share == 1.0
    assert report.total_macs == _keras_macs(mobilenet[0])
    assert "prediction" in "\n".join(report.lines()) and report.to_json()["prediction"] is True


def test_edgetpu_stops_at_the_first_float_op(sin_int8):
    from tflgen.delegates import edgetpu_report, read_ops

    report = edgetpu_report(sin_int8.read_bytes())
    ops, _ = read_ops(sin_int8.read_bytes())
    names = [op.name for op in ops]
    cut = names.index("DEQUANTIZE")  # SIN runs in float: the converter dequantizes before it
    assert names[:cut] == ["QUANTIZE", "CONV_2D"]
    assert report.first_unsupported == "DEQUANTIZE" and report.mapped_ops == cut
    assert report.op_share == pytest.approx(cut / len(ops))
    first, second = 32 * 32 * 4 * 3 * 3 * 3, 32 * 32 * 4 * 3 * 3 * 4  # models.sin_model's two SAME convolutions
    assert report.mac_share == pytest.approx(first / (first + second))
    text = "\n".join(report.lines())
    assert "DEQUANTIZE" in text and "not the Edge TPU compiler's verdict" in text


def test_edgetpu_stops_at_hard_swish(v3_int8):
    from tflgen.delegates import edgetpu_report

    report = edgetpu_report(v3_int8.read_bytes())
    assert report.first_unsupported == "HARD_SWISH"
    assert 0 < report.mac_share < 1 and report.mapped_ops < report.op_count


def test_inspect_shows_the_reports(v2_dynamic, ssd_tflite, v2_int8):
    result = run_cli("inspect", v2_dynamic, "--json", "--target", "edgetpu")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["xnnpack"]["partitions"] == _delegate_nodes(v2_dynamic)[0] and data["xnnpack"]["split"] is True
    assert "DEPTHWISE_CONV_2D" in data["xnnpack"]["left_out"]
    assert data["gpu"]["unsupported"] == {} and data["edgetpu"]["prediction"] is True
    assert data["edgetpu"]["first_unsupported"]["op"] == "CONV_2D"  # dynamic range: float activations

    data = json.loads(run_cli("inspect", ssd_tflite, "--json").out)
    assert data["gpu"]["unsupported"] == {"TFLite_Detection_PostProcess": 1} and data["edgetpu"] is None

    text = run_cli("inspect", v2_dynamic).out
    assert "XNNPACK" in text and "split" in text and "DEPTHWISE_CONV_2D×" in text and "Edge TPU" not in text
    from tflgen.tflite_info import read_model

    text = run_cli("inspect", v2_int8, "--target", "edgetpu").out
    ops = read_model(v2_int8.read_bytes(), "m").op_count
    assert f"predicted: {ops} of {ops} ops map to the Edge TPU" in text
    assert "not the Edge TPU compiler's verdict" in text

"""`tflgen inspect`, checked against what LiteRT itself reports for the same file."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from helpers import convert_or_fail, run_cli

# Slow: its fixtures convert real networks (or render and compile projects) first.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def int8_model(mobilenet, images, tmp_path_factory):
    _, path = mobilenet
    return convert_or_fail(path, tmp_path_factory.mktemp("inspect") / "m.tflite", images, int8=True)


def _litert(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without default delegates, so that ops are listed one by one (XNNPACK would fold them).
    interpreter = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


def test_json_matches_litert(int8_model):
    result = run_cli("inspect", int8_model, "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    interpreter = _litert(int8_model)
    for ours, theirs in zip(info["inputs"] + info["outputs"], interpreter.get_input_details() + interpreter.get_output_details()):
        assert ours["name"] == theirs["name"]
        assert ours["shape"] == list(theirs["shape"])
        assert ours["dtype"] == np.dtype(theirs["dtype"]).name
        assert ours["scale"] == pytest.approx(theirs["quantization"][0])
        assert ours["zero_point"] == theirs["quantization"][1]
    assert info["ops"] == dict(Counter(op["op_name"] for op in interpreter._get_ops_details()))
    assert info["op_count"] == len(interpreter._get_ops_details())
    assert info["size_bytes"] == int8_model.stat().st_size
    assert info["integer_activations"] is True and info["float_ops"] == {}
    assert info["custom_ops"] == [] and info["metadata"]["present"] is False
    assert set(info["weight_bytes"]) == {"int8"}


def test_human_output(int8_model):
    result = run_cli("inspect", int8_model)
    assert result.code == 0, result.err
    assert "[1, 96, 96, 3] uint8 (scale 0.00784" in result.out
    assert "CONV_2D×" in result.out and "DEPTHWISE_CONV_2D×" in result.out
    assert "metadata" in result.out and "none" in result.out


def test_float_model_has_no_float_op_list(tiny, tmp_path):
    _, path = tiny
    out = tmp_path / "f16.tflite"
    assert run_cli("convert", path, "-o", out, "-q", "float16").code == 0
    info = json.loads(run_cli("inspect", out, "--json").out)
    assert info["integer_activations"] is False
    assert "DEQUANTIZE" in info["ops"]  # float16 weights are expanded at load time
    assert set(info["weight_bytes"]) >= {"float16"}

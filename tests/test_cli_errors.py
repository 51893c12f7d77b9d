"""Bad input: one `error:` line naming the file or option, a `hint:`, exit 2, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli

NORM = ["--mean", "127.5", "--std", "127.5"]


def assert_bad_input(result, *names: str, out: Path | None = None) -> None:
    lines = result.err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert result.code == 2, result.err
    assert len(errors) == 1, result.err
    assert any(line.startswith("hint: ") for line in lines), result.err
    assert "Traceback" not in result.err + result.out
    for name in names:
        assert name in errors[0], f"{name!r} not named in {errors[0]!r}"
    if out is not None:
        assert not out.exists()
        assert not list(out.parent.glob(f".{out.name}.*")), "temporary file left behind"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out.tflite"


def test_missing_path(tmp_path, out):
    missing = tmp_path / "nope.keras"
    assert_bad_input(run_cli("convert", missing, "-o", out), str(missing), out=out)


def test_unknown_file_type(tmp_path, out):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"\x08\x01")
    assert_bad_input(run_cli("convert", source, "-o", out), str(source), ".onnx", out=out)


def test_folder_that_is_not_a_model(tmp_path, out):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert_bad_input(run_cli("convert", folder, "-o", out), str(folder), out=out)


@pytest.mark.parametrize("suffix", [".tflite", ".pb", ".h5", ".keras"])
def test_corrupt_file(tmp_path, out, suffix):
    source = tmp_path / f"bad{suffix}"
    source.write_bytes(os.urandom(64))
    assert_bad_input(run_cli("convert", source, "-o", out, "--inputs", "x", "--outputs", "y"), str(source), out=out)


def test_truncated_tflite(tiny, tmp_path, out):
    _, keras_path = tiny
    good = tmp_path / "good.tflite"
    assert run_cli("convert", keras_path, "-o", good).code == 0
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    assert_bad_input(run_cli("convert", truncated, "-o", out), str(truncated), out=out)
    assert_bad_input(run_cli("inspect", truncated), str(truncated))


def test_truncated_h5(legacy_h5, tmp_path, out):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(legacy_h5.read_bytes()[:2000])
    assert_bad_input(run_cli("convert", truncated, "-o", out), str(truncated), out=out)


def test_truncated_pb(tf1, tmp_path, out):
    truncated = tmp_path / "truncated.pb"
    truncated.write_bytes(tf1["pb"].read_bytes()[:300])
    assert_bad_input(run_cli("convert", truncated, "-o", out, "--inputs", "image", "--outputs", "probs"), str(truncated), out=out)


def test_frozen_graph_without_inputs_outputs(tf1, out):
    result = run_cli("convert", tf1["pb"], "-o", out)
    assert_bad_input(result, "--inputs", "--outputs", out=out)
    assert "image" in result.err  # the placeholder is suggested


def test_unknown_node_name(tf1, out):
    assert_bad_input(run_cli("convert", tf1["pb"], "-o", out, "--inputs", "image", "--outputs", "nothing"), "--outputs", "nothing", out=out)


def test_checkpoint_without_outputs(tf1, out):
    assert_bad_input(run_cli("convert", tf1["ckpt"], "-o", out), "--inputs", out=out)


def test_dynamic_shape_without_input_shape(dynamic_model, out):
    assert_bad_input(run_cli("convert", dynamic_model, "-o", out), "dynamic shape", out=out)


def test_malformed_input_shape(dynamic_model, out):
    assert_bad_input(run_cli("convert", dynamic_model, "-o", out, "--input-shape", "1,x,3"), "--input-shape", out=out)


def test_int8_without_calibration(tiny, out):
    _, path = tiny
    assert_bad_input(run_cli("convert", path, "-o", out, "-q", "int8", *NORM), "--calibration", out=out)


def test_int8_without_normalization(tiny, images, out):
    _, path = tiny
    result = run_cli("convert", path, "-o", out, "-q", "int8", "--calibration", images)
    assert_bad_input(result, "--mean", "--std", out=out)
    assert "127.5" in result.err and "255" in result.err  # the usual choices are listed


def test_empty_calibration_folder(tiny, tmp_path, out):
    _, path = tiny
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    assert_bad_input(run_cli("convert", path, "-o", out, "-q", "int8", "--calibration", empty, *NORM), "--calibration", str(empty), out=out)


def test_calibration_folder_missing(tiny, tmp_path, out):
    _, path = tiny
    assert_bad_input(run_cli("convert", path, "-o", out, "-q", "int8", "--calibration", tmp_path / "nope", *NORM), "--calibration", out=out)


def test_only_unreadable_images(tiny, tmp_path, out):
    _, path = tiny
    folder = tmp_path / "bad"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(b"garbage")
    result = run_cli("convert", path, "-o", out, "-q", "int8", "--calibration", folder, *NORM)
    assert_bad_input(result, "--calibration", out=out)
    assert result.err.count("skipped unreadable") == 3


def test_io_type_without_int8(tiny, out):
    _, path = tiny
    assert_bad_input(run_cli("convert", path, "-o", out, "--io-type", "uint8"), "--io-type", out=out)


def test_edgetpu_with_other_recipe(tiny, out):
    _, path = tiny
    assert_bad_input(run_cli("convert", path, "-o", out, "--target", "edgetpu", "-q", "float16"), "--target edgetpu", out=out)


@pytest.mark.parametrize(("option", "value"), [("--mean", "1,2"), ("--std", "1,2,3,4"), ("--std", "0"), ("--mean", "abc")])
def test_mean_std_wrong(tiny, images, out, option, value):
    _, path = tiny
    values = {"--mean": "127.5", "--std": "127.5", option: value}
    result = run_cli("convert", path, "-o", out, "-q", "int8", "--calibration", images,
                     "--mean", values["--mean"], "--std", values["--std"])
    assert_bad_input(result, option, out=out)


@pytest.mark.parametrize(("named", "options"), [
    ("--mean", ("--mean", "abc", "--std", "127.5")), ("--std", ("--mean", "127.5", "--std", "0")), ("--std", ("--mean", "127.5")),
    ("--keep-accuracy", ("-q", "int8", "--keep-accuracy", "30 dB!", "--images", ".")),
])
def test_bad_values_fail_before_the_model_loads(tiny, out, named, options):
    """What can be checked without the model is checked first: no "Loading" line, no TensorFlow."""
    result = run_cli("convert", tiny[1], "-o", out, *options)
    assert_bad_input(result, named, out=out)
    assert "Loading" not in result.err


def test_output_exists(tiny, out):
    _, path = tiny
    out.write_bytes(b"keep me")
    result = run_cli("convert", path, "-o", out)
    assert_bad_input(result, str(out), "exists")
    assert out.read_bytes() == b"keep me"


def test_output_folder_missing(tiny, tmp_path):
    _, path = tiny
    out = tmp_path / "missing" / "m.tflite"
    assert_bad_input(run_cli("convert", path, "-o", out), str(out), out=out)
    assert not out.parent.exists()


def test_unknown_option_and_bad_choice(tiny, out):
    _, path = tiny
    assert_bad_input(run_cli("convert", path, "-o", out, "--quantize", "int4"), "int4", out=out)
    assert_bad_input(run_cli("convert", path, "-o", out, "--frobnicate"), "--frobnicate", out=out)
    assert_bad_input(run_cli("convert", path), "--output")


def test_inspect_missing_file(tmp_path):
    assert_bad_input(run_cli("inspect", tmp_path / "none.tflite"), "none.tflite")


def _tflgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tflgen", *args], capture_output=True, text=True, timeout=300)


def test_subprocess_error_has_no_traceback_and_debug_shows_it(tmp_path):
    source = tmp_path / "bad.tflite"
    source.write_bytes(b"\0" * 100)
    plain = _tflgen("inspect", str(source))
    assert plain.returncode == 2
    assert plain.stderr.startswith("error: ") and "hint: " in plain.stderr and "Traceback" not in plain.stderr
    for args in (("inspect", str(source), "--debug"), ("--debug", "inspect", str(source))):  # after the command or before it
        debug = _tflgen(*args)
        assert debug.returncode == 2 and "Traceback" in debug.stderr, args


def test_help_does_not_import_tensorflow():
    code = "import sys; from tflgen.cli import main; main(['convert', '--help']); print('TF' if 'tensorflow' in sys.modules else 'no TF')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("no TF")
    assert "--quantize" in result.stdout


@pytest.mark.parametrize(
    ("log", "named", "hint"),
    [
        ("RuntimeError: Quantization not yet supported for op: 'SIN'.", "SIN", "--allow-float-fallback"),
        ("error: 'tf.MatrixDeterminant' op is neither a custom op nor a flex op", "MatrixDeterminant", "--select-tf-ops"),
        ("tensor 'conv/BiasAdd' is lacking min/max data, which is required for full integer", "min/max", "calibrat"),
        ("something new went wrong\nerror: cannot fold", "cannot fold", "--verbose"),
    ],
)
def test_converter_failures_in_plain_language(log, named, hint):
    """Converter messages as the converter prints them, mapped to an error and a hint."""
    from tflgen.convert import explain_converter_error

    error = explain_converter_error(log, select_tf_ops=False)
    assert named in error.message and hint in error.hint


def test_missing_checkpoint_meta(tmp_path, out):
    meta = tmp_path / "model.ckpt.meta"
    assert_bad_input(run_cli("convert", meta, "-o", out, "--inputs", "x", "--outputs", "y"), str(meta), out=out)

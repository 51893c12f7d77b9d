"""Accuracy that survives int8: output SQNR, confident agreement and the verdict; --keep-accuracy;
--quantize auto's explained pick."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli, run_tflite, sample_inputs, sqnr_db
from test_cli_errors import assert_bad_input


NORM = ("--mean", "127.5", "--std", "127.5")


def small_classifier(path: Path, outlier: bool = True) -> Path:
    """A small confident classifier. With `outlier`, one layer int8 can't represent: a 1x1 convolution
    whose every output channel has a weight of 1000 on an input channel that ReLU keeps at 0 (a dead
    channel). Per-channel int8 weights then step by ~8 and round every useful weight to zero."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="features")(inputs)
    x = layers.Conv2D(16, 1, activation="relu", name="outlier")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(6, activation="softmax", name="head")(x))
    weights, bias = model.get_layer("features").get_weights()
    bias[0] = -100.0  # channel 0 is always 0 after ReLU
    model.get_layer("features").set_weights([weights, bias])
    weights, bias = model.get_layer("outlier").get_weights()
    if outlier:
        weights[0, 0, 0, :] = 1000.0
    model.get_layer("outlier").set_weights([weights, bias])
    weights, bias = model.get_layer("head").get_weights()
    model.get_layer("head").set_weights([weights * 8, bias])  # confident answers: top-2 gaps well above 0.1
    model.save(path)
    return path


@pytest.fixture(scope="module")
def outlier(tmp_path_factory) -> Path:
    return small_classifier(tmp_path_factory.mktemp("outlier") / "outlier.keras")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    return small_classifier(tmp_path_factory.mktemp("classifier") / "classifier.keras", outlier=False)


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Path:
    import models

    return models.write_images(tmp_path_factory.mktemp("calibration") / "images", 24, seed=5)


def _report(path: Path) -> dict:
    return json.loads((path / "report.json").read_text())


# ---------------------------------------------------------------- SQNR and the verdict


def test_sqnr_and_confident_agreement_on_constructed_arrays():
    from tflgen.accuracy import confident_agreement, sqnr, top2_gap

    rng = np.random.default_rng(0)
    expected = rng.normal(size=(5, 10))
    actual = expected + rng.normal(scale=0.01, size=expected.shape)
    assert sqnr(actual, expected).db == pytest.approx(sqnr_db(actual, expected), abs=1e-9)
    assert math.isinf(sqnr(expected, expected).db)
    assert top2_gap(np.array([0.5, 0.3, 0.2])) == pytest.approx(0.2)
    assert top2_gap(np.array([[0.8], [0.45]]))[1] == pytest.approx(0.1)  # one channel: p against 1 - p
    reference = np.array([[0.6, 0.35, 0.05], [0.4, 0.35, 0.25], [0.1, 0.8, 0.1]])  # the second is not confident
    candidate = np.array([[0.2, 0.7, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    found = confident_agreement(reference, candidate)
    assert (found.agreeing, found.confident) == (1, 2)


@pytest.mark.slow
def test_verify_sqnr_matches_an_independent_computation(mobilenet, images, tmp_path):
    model, source = mobilenet
    tflite = tmp_path / "int8.tflite"
    result = run_cli("convert", source, "-o", tflite, "-q", "int8", "--calibration", images, "--calibration-count", 16, *NORM)
    assert result.code == 0, result.err
    result = run_cli("verify", source, tflite, "--images", images, *NORM, "--threads", 1, "--report", tmp_path / "report")
    assert result.code == 0, result.err
    check = _report(tmp_path / "report")["quantization"]
    batches = sample_inputs(images, 96, count=24)  # verify takes all 24 images, same preprocessing
    expected = np.concatenate([model(batch).numpy() for batch in batches])
    actual = np.concatenate([run_tflite(tflite, batch)[0] for batch in batches])
    assert check["sqnr_db"] == pytest.approx(sqnr_db(actual, expected), abs=0.05)
    assert list(check["output_sqnr_db"].values()) == [check["sqnr_db"]]
    assert f"{check['sqnr_db']:.1f} dB" in result.out


@pytest.mark.slow
def test_segmentation_counts_confident_pixels(images, tmp_path):
    """A segmenter with sharp per-pixel softmax: its float32 .tflite is identical, and the confident
    inputs are the pixels whose top-2 gap exceeds 0.1, counted here independently."""
    import keras

    keras.utils.set_random_seed(4)
    inputs = keras.Input((24, 24, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same")
    model = keras.Model(inputs, keras.layers.Softmax()(conv(inputs)))
    weights, bias = conv.get_weights()
    conv.set_weights([weights * 4, bias])
    model.save(tmp_path / "seg.keras")
    tflite = tmp_path / "seg.tflite"
    assert run_cli("convert", tmp_path / "seg.keras", "-o", tflite).code == 0
    result = run_cli("verify", tmp_path / "seg.keras", tflite, "--images", images, *NORM, "--threads", 1, "--report", tmp_path / "report")
    assert result.code == 0, result.err
    check = _report(tmp_path / "report")["quantization"]
    probabilities = np.concatenate([model(batch).numpy() for batch in sample_inputs(images, 24, count=24)])
    top2 = np.sort(probabilities, axis=-1)[..., -2:]
    assert check["confident_inputs"] == int(np.sum(top2[..., 1] - top2[..., 0] > 0.1)) > 24
    assert check["sqnr_db"] == "inf" or check["sqnr_db"] > 60, check
    assert check["confident_agreement"] == 1.0 and check["verdict"] == "rounding only"
    assert "confident agreement" in result.out and "pixels where" in result.out


def test_wrong_calibration_normalization_is_called_a_bug(classifier, images, calibration, tmp_path):
    """Calibrated on raw 0..255 pixels (--mean 0 --std 1) while the app feeds (pixel - 127.5) / 127.5:
    the int8 ranges are wrong and the verdict says so; calibrated right, the same model passes."""
    verdicts = {}
    for name, calibration_norm in (("right", NORM), ("wrong", ("--mean", "0", "--std", "1"))):
        tflite = tmp_path / f"{name}.tflite"
        result = run_cli("convert", classifier, "-o", tflite, "-q", "int8", "--calibration", calibration, *calibration_norm)
        assert result.code == 0, result.err
        verify = run_cli("verify", classifier, tflite, "--images", images, *NORM, "--threads", 1, "--report", tmp_path / name)
        assert verify.code == 0, verify.err
        verdicts[name] = (_report(tmp_path / name)["quantization"], verify.out)
    right, wrong = verdicts["right"][0], verdicts["wrong"][0]
    assert right["verdict"] == "rounding only" and right["problems"] == [], right
    assert right["sqnr_db"] >= 10 and right["confident_agreement"] >= 0.95
    assert wrong["verdict"] == "calibration or normalization bug", wrong
    assert wrong["sqnr_db"] < 10 or wrong["confident_agreement"] < 0.95
    assert "CALIBRATION OR NORMALIZATION BUG" in verdicts["wrong"][1] and "--mean/--std" in verdicts["wrong"][1]
    assert "CALIBRATION OR NORMALIZATION BUG" not in verdicts["right"][1]


# ---------------------------------------------------------------- --keep-accuracy


def test_keep_accuracy_reaches_the_budget_plain_int8_misses(outlier, images, calibration, tmp_path):
    """A weight int8 can't hold: fitted ranges and int16 activations don't help, so the search ends
    with every activation in int16 and the one bad layer in float."""
    tflite = tmp_path / "kept.tflite"
    budget = 0.05
    result = run_cli("convert", outlier, "-o", tflite, "-q", "int8", "--io-type", "uint8", "--calibration", calibration, *NORM,
                     "--images", images, "--keep-accuracy", budget, "--report", tmp_path / "report")
    assert result.code == 0, result.err
    kept = _report(tmp_path / "report")["keep_accuracy"]
    assert kept["plain_int8"]["drop"] > budget, "the constructed case must defeat plain int8"
    assert kept["reached"] and kept["chosen"]["drop"] <= budget and kept["lever"] == "float"
    assert kept["float_layers"] and "outlier" in kept["float_layers"][0]["tensor"]
    assert len(kept["float_layers"]) < kept["ranked_layers"] and len(kept["int16_activations"]) == kept["ranked_activations"]
    levers = [t["lever"] for t in kept["trials"]]
    assert levers[0] == "fitted ranges" and "int16" in levers and levers[-1] == "float", "int16 comes before float"
    assert any(t["lever"] == "float" and t["count"] == len(kept["float_layers"]) and t["drop"] <= budget for t in kept["trials"])
    assert all(t["drop"] > budget for t in kept["trials"] if t["lever"] != "float" or t["count"] < len(kept["float_layers"]))
    assert all(t["size_bytes"] > 0 and t["latency_ms"] > 0 and t["total_macs"] > 0 for t in kept["trials"])
    int16 = [t for t in kept["trials"] if t["lever"] == "int16"]
    assert all(t["integer_mac_share"] == 1 for t in int16) and min(t["int8_mac_share"] for t in int16) < 1
    assert 0 < kept["integer_mac_share"] < 1 and kept["size_ratio_vs_plain_int8"] > 1
    assert kept["chosen"]["sqnr_db"] > kept["plain_int8"]["sqnr_db"]
    assert "met by" in result.out and kept["float_layers"][0]["op"] in result.out

    # The written model is the one verified: uint8 IO, the kept layer in float, int16 activations, and tflgen verify agrees.
    inspect = json.loads(run_cli("inspect", tflite, "--json").out)
    assert inspect["inputs"][0]["dtype"] == "uint8" and inspect["outputs"][0]["dtype"] == "uint8"
    assert dict(inspect["float_ops"]).get("CONV_2D") == len(kept["float_layers"])
    verify = run_cli("verify", outlier, tflite, "--images", images, *NORM, "--threads", 1, "--max-drop", budget)
    assert verify.code == 0, verify.out


def test_mac_shares_count_conv_and_dense_by_activation_type(outlier, tmp_path):
    from tflgen.keep_accuracy import mac_shares

    tflite = tmp_path / "float.tflite"
    assert run_cli("convert", outlier, "-o", tflite).code == 0
    shares = mac_shares(tflite.read_bytes())
    # 3x3x3 -> 8 conv and 1x1 8 -> 16 conv on 32x32, dense 16 -> 6
    assert (shares.integer, shares.int8, shares.total) == (0, 0, 32 * 32 * (8 * 27 + 16 * 8) + 16 * 6)


def test_fewest_search():
    from tflgen.keep_accuracy import fewest

    calls = []

    def fits(k: int) -> bool:
        calls.append(k)
        return k >= 5

    assert fewest(40, fits) == 5
    assert calls[0] == 0 and len(calls) <= 9 and len(set(calls)) == len(calls)
    calls.clear()
    assert fewest(40, fits, start=1) == 5 and calls[0] == 1 and 0 not in calls
    assert fewest(3, lambda _: False) is None
    assert fewest(3, lambda _: False, start=1) is None
    assert fewest(3, lambda _: True) == 0  # fitted ranges alone
    assert fewest(6, lambda k: k >= 6, start=1) == 6  # the last step is clipped to the count


def test_accuracy_target_parses_a_drop_or_decibels():
    from tflgen.errors import OptionError
    from tflgen.keep_accuracy import AccuracyTarget

    assert AccuracyTarget.parse("0.01") == AccuracyTarget(max_drop=0.01)
    assert AccuracyTarget.parse("30dB") == AccuracyTarget(min_sqnr_db=30.0) == AccuracyTarget.parse(" 30 db ")
    assert str(AccuracyTarget.parse("30dB")) == "30dB" and str(AccuracyTarget.parse("0")) == "0"
    for bad in ("1.5", "-0.1", "-3dB", "dB", "thirty", "nan"):
        with pytest.raises(OptionError):
            AccuracyTarget.parse(bad)


def test_best_shrink_trims_a_thin_tail_and_keeps_a_dense_range():
    from tflgen.keep_accuracy import best_shrink, quantization_error

    rng = np.random.default_rng(0)
    spread = rng.uniform(0, 6, 100_000).astype(np.float32)  # values fill the range: trimming only clips
    assert best_shrink(spread, 0.0, 6.0) == 1.0
    normal = rng.normal(0, 1, 200_000).astype(np.float32)  # the rare values near +-4.6 sigma stretch the step for all
    low, high = float(normal.min()), float(normal.max())
    factor = best_shrink(normal, low, high)
    assert 0.6 < factor < 1.0
    assert quantization_error(normal, low * factor, high * factor) < 0.9 * quantization_error(normal, low, high)
    single = np.concatenate([rng.uniform(0, 1, 100_000), [6.0]]).astype(np.float32)  # one far outlier: clipping it costs more
    assert best_shrink(single, 0.0, 6.0) > 0.9


def test_fitted_ranges_keep_what_decides_the_output_and_are_deterministic(classifier, calibration):
    """On a real calibrated model: ranges shrink only, the softmax's input and the model's IO keep
    min/max, and the same inputs give the same bytes."""
    from tensorflow.lite.tools import flatbuffer_utils

    from tflgen.console import Reporter
    from tflgen.convert import ConversionRequest, make_converter
    from tflgen.calibration import load_calibration
    from tflgen.delegates import read_ops
    from tflgen.keep_accuracy import fit_activation_ranges
    from tflgen.recipes import IoType, Recipe
    from tflgen.reference import Normalization
    from tflgen.sources import GraphFlags, open_source

    reporter = Reporter()
    source = open_source(classifier, GraphFlags(), reporter)
    samples = load_calibration(calibration, 24, source.input.shape, np.dtype("float32"), Normalization((127.5,) * 3, (127.5,) * 3), reporter)
    converter = make_converter(source, ConversionRequest(Recipe.INT8, IoType.FLOAT32, False, False, False), samples, reporter)
    converter.representative_dataset = lambda: ([s] for s in samples.samples)
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    fitted, shrunk, considered = fit_activation_ranges(calibrated, samples.samples)
    assert fit_activation_ranges(calibrated, samples.samples)[0] == fitted
    assert 0 < shrunk <= considered

    def ranges(content: bytes) -> dict[int, tuple[float, float]]:
        graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(content)).subgraphs[0]
        return {i: (float(t.quantization.min[0]), float(t.quantization.max[0])) for i, t in enumerate(graph.tensors)
                if t.quantization is not None and t.quantization.min is not None and len(t.quantization.min) == 1}

    before, after = ranges(calibrated), ranges(fitted)
    assert before.keys() == after.keys()
    assert all(before[i][0] <= after[i][0] <= 0 <= after[i][1] <= before[i][1] for i in before if after[i] != before[i])
    ops, _ = read_ops(calibrated)
    softmax = next(op for op in ops if op.name == "SOFTMAX")
    graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated)).subgraphs[0]
    for kept in (softmax.inputs[0], *graph.inputs, *graph.outputs):
        assert after[kept] == before[kept]


def test_keep_accuracy_bad_input(outlier, images, tmp_path):
    out = tmp_path / "x.tflite"
    base = ("convert", outlier, "-o", out, "--calibration", images, *NORM)
    assert_bad_input(run_cli(*base, "-q", "int8", "--images", images, "--keep-accuracy", 1.5), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "-q", "int8", "--images", images, "--keep-accuracy", -0.1), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "-q", "int8", "--images", images, "--keep-accuracy", "30"), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "-q", "int8", "--images", images, "--keep-accuracy", "loud"), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "-q", "float16", "--images", images, "--keep-accuracy", 0.1), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "--images", images, "--keep-accuracy", 0.1), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "-q", "int8", "--keep-accuracy", 0.1), "--images", out=out)
    assert_bad_input(run_cli(*base, "-q", "auto", "--images", images, "--max-drop", 0.1, "--keep-accuracy", 0.1), "--keep-accuracy", out=out)
    assert_bad_input(run_cli(*base, "--target", "edgetpu", "--images", images, "--keep-accuracy", 0.1), "--keep-accuracy", out=out)


# ---------------------------------------------------------------- --quantize auto


def test_auto_explains_its_pick(outlier, images, calibration, tmp_path):
    out = tmp_path / "auto.tflite"
    result = run_cli("convert", outlier, "-o", out, "-q", "auto", "--images", images, "--max-drop", 1.0, *NORM,
                     "--calibration", calibration, "--report", tmp_path / "report")
    assert result.code == 0, result.err
    data = _report(tmp_path / "report")
    rows = {c["recipe"]: c for c in data["candidates"]}
    assert rows["float32"]["speed_vs_float32"] == pytest.approx(1.0)
    for row in rows.values():
        assert row["slower_than_float32"] == (row["speed_vs_float32"] < 1 / 1.1)
    chosen = [r for r in rows.values() if r["chosen"]]
    assert len(chosen) == 1
    fast = [r for r in rows.values() if not r["slower_than_float32"]]
    assert not chosen[0]["slower_than_float32"]
    assert chosen[0]["size_bytes"] <= min(r["size_bytes"] for r in fast) * 1.1
    assert data["choice"].startswith(f"{chosen[0]['recipe']}: smallest within --max-drop 1")
    assert f"Choice: {data['choice']}" in result.out.replace("\n", " ") or "Choice:" in result.out
    assert "Choice:" in (tmp_path / "report" / "report.md").read_text()


def _candidates(max_drop: float) -> list:
    from tflgen.recipe_choice import Candidate
    from tflgen.spec import Task
    from tflgen.verify import LatencyFigure, Verification

    def candidate(recipe: str, size: int, drop: float, latency_ms: float) -> Candidate:
        verification = Verification(Task.CLASSIFICATION, 10, {}, "top-1 agreement", 1 - drop, recipe, size, 100, 100,
                                    (LatencyFigure(2, latency_ms, latency_ms, 30),), "test", max_drop=max_drop)
        return Candidate(recipe, verification, speed_vs_float32=10.0 / latency_ms)

    return [candidate("float32", 4000, 0.0, 10.0), candidate("float16", 2000, 0.0, 10.5),
            candidate("dynamic", 950, 0.01, 30.0), candidate("int8", 1000, 0.02, 7.0)]


def test_pick_passes_over_a_smaller_recipe_slower_than_float32():
    from tflgen.recipe_choice import pick_candidate

    chosen, why = pick_candidate(_candidates(0.05), 0.05)
    assert chosen.recipe == "int8"
    assert why.startswith("int8: smallest within --max-drop 0.05") and "1.43x float32's speed" in why
    assert "dynamic is smaller but slower than float32 (0.33x): passed over" in why
    chosen, why = pick_candidate(_candidates(0.015), 0.015)  # int8 misses; dynamic is within but slower: float16
    assert chosen.recipe == "float16" and "int8 drops 0.0200 > 0.015" in why and "dynamic is smaller but slower" in why
    assert pick_candidate(_candidates(0.001)[2:], 0.001)[0] is None


# ---------------------------------------------------------------- the output's own int8 step


def test_output_step_floor_on_constructed_arrays():
    from tflgen.accuracy import Confidence, OutputStep, QuantizationCheck, Sqnr, sqnr, step_floor

    step = OutputStep(1 / 256, 0, "uint8")
    uniform = [np.full((1, 1000), 0.001, np.float32)]  # under half a step: every value rounds to 0
    assert step_floor(uniform, step).db == pytest.approx(0.0, abs=1e-9)
    on_grid = [np.array([[0.0, 1 / 256, 10 / 256, 255 / 256]], np.float32)]
    assert math.isinf(step_floor(on_grid, step).db)
    rng = np.random.default_rng(1)
    outputs = [rng.uniform(-1.2, 1.0, (2, 50)).astype(np.float32) for _ in range(3)]  # below -1: clipped at -128
    signed = OutputStep(1 / 128, 0, "int8")
    expected = [np.clip(np.trunc(o * 128 + np.copysign(0.5, o)), -128, 127) / 128 for o in outputs]  # half away from zero
    independent = sum((sqnr(e, o) for e, o in zip(expected, outputs)), Sqnr())
    assert step_floor(outputs, signed).db == pytest.approx(independent.db, abs=1e-6)

    def check(measured_db: float, floor_db: float | None) -> QuantizationCheck:
        floor = None if floor_db is None else Sqnr(1.0, 10 ** (-floor_db / 10))
        return QuantizationCheck({"out": Sqnr(1.0, 10 ** (-measured_db / 10))}, Confidence(), "", "",
                                 step if floor is not None else None, floor)

    limited = check(3.9, 4.0)  # the step allows no better: rounding, and said so
    assert limited.step_limited and limited.problems == () and limited.verdict == "rounding only"
    assert "limited by the output's uint8 step (scale 0.00390625" in limited.step_note and "4.0 dB" in limited.step_note
    assert limited.to_json()["output_step_floor_db"] == pytest.approx(4.0)
    assert check(3.9, 12.9).problems == ()  # within MIN_SQNR_DB + 3 dB
    for bug in (check(3.9, 13.5), check(3.9, None)):  # the step allows far better, or the output is float: a bug
        assert bug.verdict == "calibration or normalization bug" and not bug.step_limited
    assert check(3.9, None).to_json()["output_step_floor_db"] is None
    assert check(20.0, 4.0).step_note is None  # SQNR above its floor: nothing to explain


def test_near_uniform_1000_way_softmax_is_limited_by_its_output_step(images, calibration, tmp_path):
    """A random-weight 1000-way softmax: probabilities ~0.001, under half the uint8 output's step
    1/256. Correctly calibrated, its SQNR is low because the output format can't hold the values:
    the verdict says so instead of blaming calibration."""
    import keras
    from keras import layers

    from tflgen.console import Reporter
    from tflgen.spec import Preprocessing, SpecOptions, build_spec
    from tflgen.tflite_info import read_model
    from tflgen.verify import TfliteRunner

    keras.utils.set_random_seed(11)
    inputs = keras.Input((32, 32, 3))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 3, strides=2, activation="relu")(inputs))
    keras.Model(inputs, layers.Dense(1000, activation="softmax")(x)).save(tmp_path / "wide.keras")
    tflite = tmp_path / "wide.tflite"
    result = run_cli("convert", tmp_path / "wide.keras", "-o", tflite, "-q", "int8", "--io-type", "uint8", "--calibration", calibration, *NORM)
    assert result.code == 0, result.err
    verify = run_cli("verify", tmp_path / "wide.keras", tflite, "--images", images, *NORM, "--threads", 1, "--report", tmp_path / "report")
    assert verify.code == 0, verify.err
    check = _report(tmp_path / "report")["quantization"]
    assert check["sqnr_db"] < 10, "the constructed case must have a low SQNR"
    assert check["output_step"] == {"scale": 1 / 256, "zero_point": 0, "dtype": "uint8"}
    assert check["output_step_floor_db"] < 13 and check["output_step_limited"]
    assert check["verdict"] == "rounding only" and check["problems"] == [] and check["hint"] is None
    assert "CALIBRATION OR NORMALIZATION BUG" not in verify.out and "limited by the output's uint8 step" in verify.out
    assert "output step floor" in (tmp_path / "report" / "report.md").read_text()

    # float IO: the output is DEQUANTIZE of the softmax's int8 tensor, whose step is the limit too
    floating = tmp_path / "wide_float_io.tflite"
    assert run_cli("convert", tmp_path / "wide.keras", "-o", floating, "-q", "int8", "--calibration", calibration, *NORM).code == 0
    content = floating.read_bytes()
    spec = build_spec(read_model(content, "model"), SpecOptions(preprocessing=Preprocessing.parse("127.5", "127.5")), "verification")
    assert spec.outputs[0].quantization is None
    step = TfliteRunner(content, spec, 1, Reporter()).output_step
    assert (step.scale, step.zero_point, step.dtype) == (1 / 256, -128, "int8")

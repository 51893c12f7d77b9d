"""The generated Kotlin `processing` module, compiled with kotlinc and run with JUnit on the JVM.

Projects are rendered for classification, detection (an SSD ending in TFLite_Detection_PostProcess,
whose outputs come back scrambled, and a raw SSD .tflite without the op, decoded + NMS in Kotlin
with its anchors) and segmentation, each as float32 and as int8 with uint8 IO, plus the other
output forms (probabilities with a gray input, a label map, a foreground probability), with
golden vectors from LiteRT and the Python reference (and an SSD whose op outputs the .tflite
declares with shape [], sized from the op's options, and the Object Detection API's TF1 export
graph with the op's node inside, converted with the seed's own arguments). tflgen makes int8 with uint8 IO on the
exact input grid (raw pixels in); one classifier comes from TensorFlow's converter as is, off the grid, so the app's
normalize-then-quantize path is proven too. All projects compile in one kotlinc run
(each in its own package), then each project's GoldenTest runs in its own JVM with its own
golden resources. Resize modes, channel orders and label offsets vary across cases.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from helpers import convert_or_fail
from kotlin_toolchain import Toolchain

# Slow: its fixtures convert real networks (or render and compile projects) first.
pytestmark = pytest.mark.slow

NORM = ("--mean", "127.5", "--std", "127.5")
CLASSES = ("circle", "square", "triangle", "étoile ⭐", 'say "hi"', "cost $5", "back\\slash", "h", "i", "j")
SHAPES = ("???", "circle", "square", "triangle")  # background row first: label offset 1
SEGMENTS = ("background", "red", "green", "blue")
COLOURS = ("red", "green", "blue", "yellow", "purple")  # the raw SSD's 5 classes (its scores have a background column first)
# Raw SSDs: the op's usual defaults, and strict settings under which NMS suppresses often and the count varies.
RAW_DEFAULT: dict = {}
RAW_STRICT = {"max_detections": 25, "score_threshold": 0.5, "iou_threshold": 0.3}
GOLDEN_IMAGES = 4
TESTS_PER_CASE = 4  # GoldenTest's test methods
DEVICE_TESTS_PER_CASE = 2 * 5  # DeviceToleranceTest: CPU and GPU tolerances, five rules each


@dataclass(frozen=True)
class Case:
    task: str
    source: str  # which model (see `sources` below)
    int8: bool
    resize: str
    color: str
    labels: tuple[str, ...]
    label_offset: int | None = None
    max_results: int = 5
    score_threshold: float = 0.0
    ssd: dict | None = None  # a raw SSD decoded in Kotlin: its SsdParams settings (anchors: models.ssd_grid_anchors)
    flags: tuple[str, ...] = ()  # for convert: a TF1 graph's --inputs/--outputs/--input-shape
    normalized: bool = True  # False: the model takes raw pixels (no --mean/--std)
    variant: str = ""  # tells apart the packages of two cases of one converted model

    @property
    def package(self) -> str:
        return f"com.example.{self.source}{self.variant}.{'int8' if self.int8 else 'float32'}"


CASES = {
    # logits: softmax in Kotlin; labels with quotes, $, backslash and non-ASCII; label offset -1
    "classification-float32": Case("classification", "mobilenet", False, "center-crop", "rgb", CLASSES),
    "classification-int8": Case("classification", "mobilenet", True, "stretch", "rgb", CLASSES[1:], label_offset=-1, max_results=3),
    # probabilities (uint8, scale 1/256), one gray channel
    "classification-gray-int8": Case("classification", "gray", True, "letterbox", "gray", CLASSES[:4]),
    # TensorFlow's converter as is (zero point 127, off the pixel grid): the app normalizes, then quantizes
    "classification-converter-int8": Case("classification", "mobilenet_converter", True, "stretch", "rgb", CLASSES),
    # TFLite_Detection_PostProcess, outputs in scrambled order; background label row (offset 1)
    "detection-float32": Case("detection", "ssd", False, "stretch", "rgb", SHAPES, label_offset=1, max_results=10),
    "detection-int8": Case("detection", "ssd", True, "letterbox", "bgr", SHAPES, label_offset=1, max_results=6, score_threshold=0.3),
    # the Object Detection API's TF1 export graph (tflite_graph.pb with the op's node), converted with the seed's arguments
    "detection-export-int8": Case("detection", "od_export", True, "stretch", "rgb", SHAPES, label_offset=1, max_results=10,
                                  flags=("--inputs", "normalized_input_image_tensor", "--outputs",
                                         "TFLite_Detection_PostProcess,TFLite_Detection_PostProcess:1,TFLite_Detection_PostProcess:2,"
                                         "TFLite_Detection_PostProcess:3", "--input-shape", "1,64,64,3")),
    # the op's outputs declared with shape [] (its placeholder returned scalars): shapes from the op's options
    "detection-scalar-float32": Case("detection", "ssd_scalar", False, "stretch", "rgb", SHAPES, label_offset=1, max_results=10),
    # raw SSD .tflite (no op): box encodings + class scores decoded and NMS'd in Kotlin, anchors as a resource
    "raw-detection-float32": Case("detection", "raw_ssd", False, "center-crop", "rgb", COLOURS, max_results=10, ssd=RAW_DEFAULT),
    # the same raw outputs read as sigmoid scores with no background column: six labels for six columns
    "raw-detection-nobg-float32": Case("detection", "raw_ssd", False, "stretch", "rgb", ("teal", *COLOURS), max_results=10, ssd=RAW_DEFAULT,
                                       variant="_nobg"),
    "raw-detection-int8": Case("detection", "raw_ssd", True, "letterbox", "rgb", ("???", *COLOURS), label_offset=1, max_results=25, ssd=RAW_STRICT),
    # [1, H, W, C] scores; [1, H, W] label map (ArgMax in the model); [1, H, W, 1] foreground probability
    "segmentation-float32": Case("segmentation", "segmenter", False, "letterbox", "rgb", SEGMENTS),
    "segmentation-int8": Case("segmentation", "segmenter", True, "center-crop", "bgr", SEGMENTS),
    "segmentation-labelmap-float32": Case("segmentation", "labelmap", False, "stretch", "rgb", SEGMENTS),
    # DeepLab's export_model.py graph: whole (uint8 pixels in, int64 ArgMax label map out), and cut where tflgen suggests for int8
    "segmentation-deeplab-float32": Case("segmentation", "deeplab", False, "stretch", "rgb", SEGMENTS, normalized=False,
                                         flags=("--inputs", "ImageTensor", "--outputs", "SemanticPredictions", "--input-shape", "1,64,64,3")),
    "segmentation-deeplab-cut-int8": Case("segmentation", "deeplab", True, "stretch", "rgb", SEGMENTS,
                                          flags=("--inputs", "sub_7", "--outputs", "ResizeBilinear_2", "--input-shape", "1,64,64,3")),
    "segmentation-foreground-int8": Case("segmentation", "foreground", True, "center-crop", "rgb", ()),
}


def _gray_classifier(path: Path) -> Path:
    """A small classifier of one-channel images ending in softmax (probabilities, not logits)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(11)
    inputs = keras.Input((40, 40, 1))
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(4, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=2.0, seed=12))(x)
    keras.Model(inputs, outputs).save(path)
    return path


def _foreground_segmenter(path: Path) -> Path:
    """A small segmenter with one sigmoid channel: [1, H, W, 1] foreground probability."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(13)
    inputs = keras.Input((48, 48, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=14))(x)
    keras.Model(inputs, outputs).save(path)
    return path


def _label_map(segmenter, folder: Path) -> Path:
    """The segmenter with ArgMax inside (DeepLab style): a [1, H, W] int32 label map."""
    import tensorflow as tf

    class LabelMap(tf.Module):
        def __init__(self, model) -> None:
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([1, 64, 64, 3], tf.float32)])
        def __call__(self, x):
            return {"labels": tf.argmax(self.model(x), axis=-1, output_type=tf.int32)}

    module = LabelMap(segmenter)
    tf.saved_model.save(module, str(folder), signatures=module.__call__)
    return folder


@dataclass(frozen=True)
class Built:
    toolchain: Toolchain
    classes: Path  # every project's compiled main and test classes
    projects: dict[str, Path]
    models: dict[str, Path]


def _converter_int8(model: Path, images: Path, size: int, out: Path) -> Path:
    """int8 with uint8 IO straight from TFLiteConverter: the input off the pixel grid, as every uint8 model
    tflgen can't put on the grid (per-channel normalization, an input not read by convolutions)."""
    import keras
    import tensorflow as tf

    from helpers import sample_inputs

    samples = sample_inputs(images, size, count=12)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.models.load_model(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    out.write_bytes(converter.convert())
    return out


def _convert(source: Path, out: Path, images: Path, int8: bool, flags: tuple[str, ...] = ()) -> Path:
    return convert_or_fail(source, out, images, int8, flags=flags)


def _anchors(case: Case) -> np.ndarray | None:
    import models

    return None if case.ssd is None else models.ssd_grid_anchors()


def _spec(model: Path, case: Case):
    from tflgen.spec import ColorOrder, Preprocessing, ResizeMode, SpecOptions, Task, build_spec
    from tflgen.ssd import SsdParams
    from tflgen.tflite_info import read_model

    options = SpecOptions(
        task=Task(case.task), labels=case.labels, label_offset=case.label_offset,
        preprocessing=Preprocessing.parse("127.5" if case.normalized else None, "127.5" if case.normalized else None,
                                          ColorOrder(case.color), ResizeMode(case.resize)),
        ssd=None if case.ssd is None else SsdParams(_anchors(case), **case.ssd),
    )
    return build_spec(read_model(model.read_bytes(), str(model)), options)


def _golden_images(images: Path) -> list[Path]:
    from tflgen.images import find_images

    return find_images(images)[:GOLDEN_IMAGES]


def _render(name: str, case: Case, model: Path, images: Path, out: Path) -> Path:
    from tflgen.golden import GoldenSettings, golden_files
    from tflgen.render import ProjectOptions, render_project

    spec = _spec(model, case)
    anchors = _anchors(case)
    golden = golden_files(model.read_bytes(), spec, _golden_images(images), GoldenSettings(case.max_results, case.score_threshold), anchors)
    render_project(spec, out, ProjectOptions(case.package, f"Test {name}"), golden, anchors=anchors)
    return out


@pytest.fixture(scope="module")
def built(toolchain, mobilenet, ssd_model, segmenter, images, tmp_path_factory) -> Built:
    import models

    folder = tmp_path_factory.mktemp("kotlin")
    sources = {
        "mobilenet": mobilenet[1], "ssd": ssd_model, "segmenter": segmenter[1],
        "raw_ssd": models.raw_ssd_saved_model(folder / "raw_ssd"),  # converted without --ssd-anchors: a raw .tflite
        "ssd_scalar": models.ssd_saved_model(folder / "ssd_scalar", scalar_outputs=True),
        "od_export": models.ssd_export_graph(folder / "od_export" / "tflite_graph.pb"),
        "deeplab": models.deeplab_export_graph(folder / "deeplab" / "frozen_inference_graph.pb"),
        "gray": _gray_classifier(folder / "gray.keras"), "labelmap": _label_map(segmenter[0], folder / "labelmap"),
        "foreground": _foreground_segmenter(folder / "foreground.keras"),
    }
    (folder / "projects").mkdir()
    converted: dict[tuple[str, bool], Path] = {}
    projects, models = {}, {}
    for name, case in CASES.items():
        key = (case.source, case.int8)
        if key not in converted and case.source == "mobilenet_converter":
            converted[key] = _converter_int8(mobilenet[1], images, mobilenet[0].input_shape[1], folder / f"{name}.tflite")
        if key not in converted:
            converted[key] = _convert(sources[case.source], folder / f"{name}.tflite", images, case.int8, case.flags)
        models[name] = converted[key]
        projects[name] = _render(name, case, converted[key], images, folder / "projects" / name)
    kotlin = sorted(p for project in projects.values() for p in (project / "processing" / "src").rglob("*.kt"))
    classes = folder / "classes"
    done = toolchain.compile(kotlin, classes)
    assert done.returncode == 0, f"kotlinc failed:\n{done.stdout}\n{done.stderr}"
    return Built(toolchain, classes, projects, models)


def _resources(project: Path) -> Path:
    return project / "processing" / "src" / "test" / "resources"


def _main_resources(project: Path) -> Path:
    return project / "processing" / "src" / "main" / "resources"


def _golden_test(built: Built, name: str, resources: Path | None = None, main_resources: Path | None = None, tests: tuple[str, ...] = ()):
    project = built.projects[name]
    folders = (resources or _resources(project), main_resources or _main_resources(project))
    return built.toolchain.run_junit(built.classes, folders, *(tests or (f"{CASES[name].package}.processing.GoldenTest",)))


@pytest.mark.parametrize("name", list(CASES))
def test_golden_cases_pass_on_the_jvm(built, name):
    """GoldenTest, and in the same JVM the rules of the app's instrumented test (processing's DeviceToleranceTest):
    the golden outputs pass, outputs moved within their tolerances pass (results included), an output beyond its
    tolerance fails naming the case, backend and output, and reversed outputs fail."""
    package = CASES[name].package
    run = _golden_test(built, name, tests=(f"{package}.processing.GoldenTest", f"{package}.processing.DeviceToleranceTest"))
    assert run.code == 0 and run.failures == 0, run.output
    assert run.run == GOLDEN_IMAGES * (TESTS_PER_CASE + DEVICE_TESTS_PER_CASE), run.output
    # What the rules really checked (JUnit counts a test an assumption stopped as passed): every CPU rule that
    # applies to this kind of output, and the GPU's exactly for a float model.
    skipped = {line[: line.index("]") + 1] for line in run.skipped}  # "method[case backend]"
    case = CASES[name]
    assert not any(test.startswith(("goldenOutputsPass", "reversedOutputsFail")) and "CPU]" in test for test in skipped), run.skipped
    assert all(any(test.startswith(f"{method}[") and test.endswith("GPU]") for test in skipped) == case.int8
               for method in ("goldenOutputsPass", "reversedOutputsFail")), run.skipped
    if case.task != "detection":
        assert not any(test.startswith("outputsWithinTheirTolerancesPass") and "CPU]" in test for test in skipped), run.skipped
    if case.task == "detection" and case.ssd is None and not case.int8:
        assert sum(test.startswith("nmsKeeping") and test.endswith("CPU]") for test in skipped) < GOLDEN_IMAGES, run.skipped


# A call that binds to a Java 9 covariant override of java.nio.Buffer's methods (ByteBuffer.rewind() returning
# ByteBuffer, ...), which Android lacks before API 29: NoSuchMethodError on the app's oldest devices (minSdk 26).
COVARIANT_BUFFER_CALL = re.compile(r"Method java/nio/\w+Buffer\.(?:rewind|flip|clear|mark|reset|position|limit):\(I?\)Ljava/nio/\w+Buffer;")


def test_processing_calls_no_buffer_method_android_9_lacks(built):
    """kotlinc compiles against JDK 17, so `byteBuffer.rewind()` would bind to ByteBuffer.rewind():ByteBuffer; every
    such call goes through Buffer (rewindAsBuffer): the bytecode of every project's processing and fixtures shows it."""
    import subprocess

    classes = sorted(str(p) for p in built.classes.rglob("*.class"))
    assert len(classes) > 100
    listing = subprocess.run(["javap", "-c", "-p", *classes], capture_output=True, text=True, check=True).stdout
    assert "Method java/nio/Buffer.rewind:()Ljava/nio/Buffer;" in listing  # the scan sees calls at all
    assert sorted(set(COVARIANT_BUFFER_CALL.findall(listing))) == [], sorted(set(m[0] for m in COVARIANT_BUFFER_CALL.finditer(listing)))


def test_both_input_paths_are_proven(built):
    """tflgen's uint8 inputs take raw pixels (the exact input grid); the converter's case keeps a normalization
    the app applies before quantizing, so the golden cases prove both of the app's input paths."""
    from tflgen.tflite_info import read_model

    grid = {name for name, case in CASES.items() if case.int8 and read_model(built.models[name].read_bytes(), name).folded_normalization}
    assert "classification-int8" in grid and "classification-converter-int8" not in grid
    info = read_model(built.models["classification-converter-int8"].read_bytes(), "converter")
    assert info.inputs[0].dtype == "uint8" and info.inputs[0].zero_point == 127


def test_cases_have_real_content(built):
    """The golden cases are not vacuous: detections exist, masks have several classes, inputs vary."""
    for name, project in built.projects.items():
        golden = _resources(project) / "golden"
        cases = (golden / "cases.txt").read_text().split()
        assert len(cases) == GOLDEN_IMAGES
        expected = [json.loads((golden / c / "expected.json").read_text()) for c in cases]
        task = CASES[name].task
        if task == "detection":
            assert sum(len(e["results"]) for e in expected) >= GOLDEN_IMAGES, name
        if task == "classification":
            for e in expected:
                scores = [r["score"] for r in e["results"]]
                assert 2 <= len(scores) <= CASES[name].max_results and scores == sorted(scores, reverse=True), name
        if task == "segmentation":
            masks = [np.frombuffer((golden / c / "mask.bin").read_bytes(), "<i4") for c in cases]
            assert max(len(np.unique(m)) for m in masks) >= 2, name
        for c in cases:  # each output says how far a device may be from it: CPU always, GPU for a float model only
            tensors = json.loads((golden / c / "tensors.json").read_text())
            for output in tensors["outputs"]:
                tolerance = output["tolerance"]
                decision = "quantization" not in output and not output["dtype"].startswith("float")
                assert tolerance["cpu"] == 0 if decision else tolerance["cpu"] > 0, (name, output)
                assert ("gpu" in tolerance) == (not CASES[name].int8), (name, output)
                assert tolerance.get("gpu", tolerance["cpu"]) >= tolerance["cpu"], (name, output)
        if CASES[name].resize != "stretch":  # the images' aspect ratios differ from the input's
            assert any(e["placement"]["source"] != {"left": 0, "top": 0, "width": e["image"]["width"], "height": e["image"]["height"]}
                       or e["placement"]["target"]["width"] != e["placement"]["target"]["height"] for e in expected), name


def _tampered(built: Built, name: str, tmp_path: Path, change) -> Path:
    resources = tmp_path / name
    shutil.copytree(_resources(built.projects[name]), resources)
    golden = resources / "golden"
    change(golden, (golden / "cases.txt").read_text().split()[0])
    return resources


def test_a_moved_box_fails(built, tmp_path):
    def move_box(golden: Path, case: str) -> None:
        path = golden / case / "expected.json"
        expected = json.loads(path.read_text())
        expected["results"][0]["box"][0] += 1.0
        path.write_text(json.dumps(expected))

    run = _golden_test(built, "detection-float32", _tampered(built, "detection-float32", tmp_path, move_box))
    assert run.code != 0 and run.failures == 1, run.output
    assert "left of detection 0" in run.output


def test_a_moved_box_of_a_raw_ssd_fails(built, tmp_path):
    def move_box(golden: Path, case: str) -> None:
        path = golden / case / "expected.json"
        expected = json.loads(path.read_text())
        detection = next(d for d in expected["results"] if d["box"][3] < expected["image"]["height"] - 1)
        detection["box"][3] += 0.5  # half an image pixel: within 1e-3 px the test sees it
        path.write_text(json.dumps(expected))

    name = "raw-detection-int8"
    run = _golden_test(built, name, _tampered(built, name, tmp_path, move_box))
    assert run.code != 0 and run.failures == 1, run.output
    assert re.search(r"bottom of detection \d+", run.output), run.output


def test_other_anchors_fail(built, tmp_path):
    """The Kotlin decodes with the anchors shipped in the module's resources: moving one anchor's
    centre by 1 % of the image changes the detections, and the golden test fails."""
    from tflgen.spec import ANCHORS_FILE

    name = "raw-detection-float32"
    main = tmp_path / "main"
    shutil.copytree(_main_resources(built.projects[name]), main)
    path = next(main.rglob(ANCHORS_FILE))
    anchors = np.frombuffer(path.read_bytes(), "<f4").reshape(-1, 4).copy()
    golden = _resources(built.projects[name]) / "golden"
    first = json.loads((golden / (golden / "cases.txt").read_text().split()[0] / "expected.json").read_text())
    assert first["results"]
    anchors[:, 1] += 0.01  # every anchor's cx
    path.write_bytes(anchors.astype("<f4").tobytes())
    run = _golden_test(built, name, main_resources=main)
    assert run.code != 0 and run.failures >= 1, run.output
    assert "of detection" in run.output


def test_raw_ssd_cases_exercise_nms_ties_and_the_threshold(built):
    """The raw cases are not vacuous. Default settings: every image fills the 10 slots. Strict
    settings (int8): NMS changes the answer (the plain top-k by score is not what is kept),
    quantized scores tie (their order is decided by anchor index), and the count varies."""
    import models
    from tflgen import reference as ref
    from tflgen.golden import output_values
    from tflgen.spec import Role

    anchors = models.ssd_grid_anchors()
    for name in ("raw-detection-float32", "raw-detection-int8"):
        case = CASES[name]
        spec = _spec(built.models[name], case)
        golden = _resources(built.projects[name]) / "golden"
        suppressed = ties = 0
        counts = []
        for folder in (golden / c for c in (golden / "cases.txt").read_text().split()):
            tensors = json.loads((folder / "tensors.json").read_text())["outputs"]
            raw = [np.frombuffer((folder / t["file"]).read_bytes(), np.dtype(t["dtype"]).newbyteorder("<")).reshape(t["shape"]) for t in tensors]
            codes = output_values(spec.output(Role.BOX_ENCODINGS), raw[spec.output(Role.BOX_ENCODINGS).index])[0]
            scores = output_values(spec.output(Role.CLASS_SCORES), raw[spec.output(Role.CLASS_SCORES).index])[0]
            _, best = ref.best_classes(scores, spec.num_classes)
            kept = np.flatnonzero(best >= np.float32(spec.ssd.score_threshold))
            top = kept[np.argsort(-best[kept], kind="stable")][: spec.ssd.max_detections].tolist()
            selected = ref.non_max_suppression(ref.decode_boxes(codes, anchors, spec.ssd.scales), best, spec.ssd.score_threshold,
                                               spec.ssd.iou_threshold, spec.ssd.max_detections)
            suppressed += top != selected
            ties += len(set(best[selected].tolist())) < len(selected)
            counts.append(len(selected))
        if case.ssd is RAW_STRICT:
            assert suppressed >= 1 and ties >= 1 and len(set(counts)) >= 2, (name, suppressed, ties, counts)
        else:
            assert counts == [spec.ssd.max_detections] * GOLDEN_IMAGES, (name, counts)


def test_an_input_off_by_two_quanta_fails(built, tmp_path):
    def bump(golden: Path, case: str) -> None:
        path = golden / case / "input.bin"
        data = bytearray(path.read_bytes())
        data[100] = (data[100] + 2) % 256
        path.write_bytes(bytes(data))

    run = _golden_test(built, "classification-int8", _tampered(built, "classification-int8", tmp_path, bump))
    assert run.code != 0 and run.failures == 1, run.output
    assert "input value 100" in run.output


def test_a_changed_mask_pixel_fails(built, tmp_path):
    def change(golden: Path, case: str) -> None:
        path = golden / case / "mask.bin"
        mask = np.frombuffer(path.read_bytes(), "<i4").copy()
        mask[7] = (mask[7] + 1) % len(SEGMENTS)
        path.write_bytes(mask.astype("<i4").tobytes())

    run = _golden_test(built, "segmentation-int8", _tampered(built, "segmentation-int8", tmp_path, change))
    assert run.code != 0 and run.failures == 1, run.output
    assert "1 pixels differ" in run.output


def test_no_golden_case_fails(built, tmp_path):
    empty = tmp_path / "resources"
    empty.mkdir()
    run = _golden_test(built, "segmentation-float32", empty)
    assert run.code != 0, run.output
    assert "no golden case" in run.output


@pytest.mark.parametrize("name", ["detection-int8", "raw-detection-int8"])
def test_benchmark_main_runs(built, name):
    """`./gradlew :processing:benchmark` runs: the class the build's `mainClass` names is one kotlinc emits,
    with a main method, and it runs (its figures are in the module README, not asserted here)."""
    project = built.projects[name]
    main_class = re.search(r'mainClass\.set\("([\w.]+)"\)', (project / "processing" / "build.gradle.kts").read_text())[1]
    assert (built.classes / (main_class.replace(".", "/") + ".class")).is_file(), f"kotlinc emits no {main_class}"
    done = built.toolchain.run_main(built.classes, main_class, resources=(_main_resources(project),))
    assert done.returncode == 0, done.stderr
    assert "SSD 300x300" in done.stdout and "raw outputs (decode + NMS)" in done.stdout
    assert "this model (32x32 UINT8)" in done.stdout


# ---------------------------------------------------------------- the rendered tree


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["detection-int8", "raw-detection-int8"])
def test_rendering_is_deterministic(built, images, tmp_path, name):
    """Render the same model twice, golden vectors (and a raw SSD's anchors) included: the same files with the same bytes."""
    again = _render(name, CASES[name], built.models[name], images, tmp_path / "again")
    first, second = _tree(built.projects[name]), _tree(again)
    assert sorted(set(first) - set(second)) == [] and sorted(set(second) - set(first)) == []
    assert [path for path in first if first[path] != second[path]] == []
    assert [p.name for p in tmp_path.iterdir()] == ["again"]  # no staging folder left behind


def test_processing_templates_import_no_android():
    from tflgen.render import templates_root

    processing = templates_root() / "processing"
    kotlin = [p for p in sorted(processing.rglob("*")) if p.name.endswith((".kt", ".kt.jinja"))]
    assert len(kotlin) >= 10
    offending = [
        f"{path.relative_to(processing)}:{number}: {line.strip()}"
        for path in kotlin
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bandroid\.", line.split("//")[0])  # code, not a comment
    ]
    assert offending == []


def test_detection_outputs_without_a_declared_shape_get_the_ops(built):
    """The scalar-placeholder SSD really declares its four outputs as []: ModelSpec.kt sizes them from the
    op's max_detections (its golden test above then reads all ten boxes instead of overrunning a 4-byte buffer)."""
    from tflgen.tflite_info import read_model

    info = read_model(built.models["detection-scalar-float32"].read_bytes(), "ssd_scalar")
    assert [o.shape for o in info.outputs] == [()] * 4
    spec_kt = next(built.projects["detection-scalar-float32"].rglob("ModelSpec.kt")).read_text()
    assert sorted(re.findall(r"shape = intArrayOf\(([\d, ]*)\)", spec_kt)) == ["1", "1, 10", "1, 10", "1, 10, 4"]

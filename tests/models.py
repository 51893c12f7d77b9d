"""Small real models and images, built in the tests (nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_images(folder: Path, count: int, seed: int = 0) -> Path:
    """Photo-like test images: smooth gradients, blobs and edges, various sizes, png/jpg/bmp in sub-folders."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        height, width = int(rng.integers(60, 200)), int(rng.integers(60, 200))
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        base = np.stack(
            [rng.uniform(0, 255) + rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy for _ in range(3)], axis=-1
        )
        image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            x0, y0 = int(rng.integers(0, width - 10)), int(rng.integers(0, height - 10))
            box = (x0, y0, x0 + int(rng.integers(5, width // 2 + 6)), y0 + int(rng.integers(5, height // 2 + 6)))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (height, width, 3))
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        suffix = (".png", ".jpg", ".bmp")[i % 3]
        image.save(sub / f"img{i:03d}{suffix}")
    return folder


def tiny_classifier(classes: int = 10, activation: str | None = None):
    """A few layers at 32x32 (convolution, batch norm, depthwise, pooling, dense): for plumbing tests,
    where the path through tflgen matters and a network's many ops don't. Converts in about a second."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(21)
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 1, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(classes, activation=activation, kernel_initializer=keras.initializers.RandomNormal(stddev=2.0, seed=22))(x)
    return keras.Model(inputs, outputs)


def mobilenet_v2(input_size: int = 96, alpha: float = 0.35, classes: int = 10, classifier_activation=None):
    """Keras 3 MobileNetV2 with seeded random weights and batch-norm statistics of real images.

    A freshly initialised network's activations shrink to ~0 layer after layer (BN moving
    stats are mean 0 / var 1), which makes every output equal and every comparison vacuous.
    Setting each BN layer's statistics from a batch of images gives activations the spread
    of a trained network.
    """
    import keras

    keras.utils.set_random_seed(1)
    model = keras.applications.MobileNetV2(
        alpha=alpha, weights=None, input_shape=(input_size, input_size, 3), classes=classes,
        classifier_activation=classifier_activation,
    )
    set_batchnorm_statistics(model, image_batch(input_size, 32))
    return model


def mobilenet_v3_small(input_size: int = 96, alpha: float = 1.0, classes: int = 10):
    """Keras 3 MobileNetV3-Small (hard-swish, squeeze-excite) with seeded random weights and batch-norm
    statistics of images, as mobilenet_v2; inputs in [-1, 1] (no built-in rescaling)."""
    import keras

    keras.utils.set_random_seed(1)
    model = keras.applications.MobileNetV3Small(
        input_shape=(input_size, input_size, 3), alpha=alpha, weights=None, classes=classes,
        include_preprocessing=False,
    )
    set_batchnorm_statistics(model, image_batch(input_size, 32))
    return model


def image_batch(size: int, count: int, seed: int = 7) -> np.ndarray:
    """[count, size, size, 3] images in [-1, 1] with smooth structure (for BN statistics)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    batch = []
    for _ in range(count):
        channels = [np.sin(rng.uniform(1, 8) * xx + rng.uniform(0, 6)) * np.cos(rng.uniform(1, 8) * yy) for _ in range(3)]
        batch.append(np.stack(channels, axis=-1) * rng.uniform(0.3, 1.0) + rng.normal(0, 0.05, (size, size, 3)))
    return np.clip(np.stack(batch), -1, 1).astype(np.float32)


def set_batchnorm_statistics(model, batch: np.ndarray) -> None:
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0  # moving stats := this batch's stats
    model(batch, training=True)
    for layer, momentum in zip(norms, momenta):
        layer.momentum = momentum


def segmentation_net(size: int = 64, classes: int = 4):
    """A small encoder-decoder (DeepLab-like head) with softmax per pixel."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(2)
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 1, strides=2, activation="relu")(x)
    x = layers.Conv2D(classes, 1)(x)
    x = layers.UpSampling2D(4, interpolation="bilinear")(x)
    outputs = layers.Softmax()(x)
    return keras.Model(inputs, outputs)


def legacy_h5(path: Path) -> Path:
    """A Keras 2 .h5 with a Python Lambda layer: Keras 3 refuses it, tf-keras reads it."""
    import tf_keras

    tf_keras.utils.set_random_seed(3)
    inputs = tf_keras.Input((32, 32, 3))
    x = tf_keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = tf_keras.layers.Lambda(lambda t: t * 0.5)(x)
    x = tf_keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf_keras.layers.Dense(5, activation="softmax")(x)
    model = tf_keras.Model(inputs, outputs)
    model.save(path)
    return path


def tf1_graph(folder: Path, dynamic: bool = False) -> dict:
    """A TF1 classifier graph: frozen .pb and checkpoint, plus a session-free reference function."""
    import tensorflow as tf

    v1 = tf.compat.v1
    folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        shape = [None, None, None, 3] if dynamic else [None, 48, 48, 3]
        x = v1.placeholder(tf.float32, shape, name="image")
        w1 = v1.get_variable("conv1/w", [3, 3, 3, 8], initializer=v1.glorot_uniform_initializer(seed=1))
        b1 = v1.get_variable("conv1/b", [8], initializer=v1.constant_initializer(0.1))
        y = tf.nn.relu(tf.nn.conv2d(x, w1, 2, "SAME") + b1)
        w2 = v1.get_variable("conv2/w", [3, 3, 8, 16], initializer=v1.glorot_uniform_initializer(seed=2))
        y = tf.nn.relu6(tf.nn.conv2d(y, w2, 2, "SAME"))
        y = tf.reduce_mean(y, [1, 2])
        w3 = v1.get_variable("fc/w", [16, 6], initializer=v1.glorot_uniform_initializer(seed=3))
        logits = tf.matmul(y, w3, name="logits")
        tf.nn.softmax(logits, name="probs")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            prefix = saver.save(session, str(folder / "model.ckpt"))
            frozen = v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), ["probs", "logits"])
    pb = folder / "frozen.pb"
    pb.write_bytes(frozen.SerializeToString())

    def reference(batch: np.ndarray) -> dict[str, np.ndarray]:
        with tf.Graph().as_default() as g, v1.Session(graph=g) as s:
            v1.import_graph_def(frozen, name="")
            probs, logits = s.run(["probs:0", "logits:0"], {"image:0": batch})
        return {"probs": probs, "logits": logits}

    return {"pb": pb, "ckpt": Path(prefix), "reference": reference}


def sin_model(folder: Path) -> Path:
    """A SavedModel with SIN between two convolutions: SIN has no integer kernel in TFLite."""
    import tensorflow as tf

    class Model(tf.Module):
        def __init__(self) -> None:
            self.w1 = tf.Variable(tf.random.stateless_normal([3, 3, 3, 4], [1, 2]) * 0.2)
            self.w2 = tf.Variable(tf.random.stateless_normal([3, 3, 4, 4], [1, 3]) * 0.2)

        @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)])
        def __call__(self, x):
            y = tf.math.sin(tf.nn.conv2d(x, self.w1, 1, "SAME"))
            return {"out": tf.reduce_mean(tf.nn.conv2d(y, self.w2, 1, "SAME"), [1, 2])}

    model = Model()
    tf.saved_model.save(model, str(folder), signatures=model.__call__)
    return folder


def dynamic_saved_model(folder: Path) -> Path:
    """A SavedModel whose image size is dynamic: converting needs --input-shape."""
    import tensorflow as tf

    class Model(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable(tf.random.stateless_normal([3, 3, 3, 2], [4, 5]))

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def __call__(self, x):
            return {"out": tf.reduce_mean(tf.nn.conv2d(x, self.w, 1, "SAME"), [1, 2])}

    model = Model()
    tf.saved_model.save(model, str(folder), signatures=model.__call__)
    return folder


def detection_postprocess_signature(num_classes: int, max_detections: int = 10, iou: float = 0.5,
                                    score: float = 0.0, scales: tuple[float, ...] = (10.0, 10.0, 5.0, 5.0)) -> str:
    """The `experimental_implements` text the converter turns into TFLite_Detection_PostProcess."""
    attrs = [
        ("max_detections", "i", max_detections), ("max_classes_per_detection", "i", 1),
        ("detections_per_class", "i", 100), ("use_regular_nms", "b", "false"),
        ("nms_score_threshold", "f", f"{score:f}"), ("nms_iou_threshold", "f", f"{iou:f}"),
        ("y_scale", "f", f"{scales[0]:f}"), ("x_scale", "f", f"{scales[1]:f}"),
        ("h_scale", "f", f"{scales[2]:f}"), ("w_scale", "f", f"{scales[3]:f}"), ("num_classes", "i", num_classes),
    ]
    return " ".join(['name: "TFLite_Detection_PostProcess"'] + [f'attr {{ key: "{k}" value {{ {t}: {v} }} }}' for k, t, v in attrs])


def ssd_saved_model(folder: Path, num_classes: int = 3, max_detections: int = 10, scalar_outputs: bool = False) -> Path:
    """A tiny SSD: conv features on a 4x4 grid, 4 anchors per cell (64 in all), box encodings and
    sigmoid class scores (background first), ending in TFLite_Detection_PostProcess. With
    `scalar_outputs` the op's placeholder returns scalars, as some exporters' do: the .tflite then
    declares the four outputs with shape []."""
    import tensorflow as tf

    grid = (np.arange(4) + 0.5) / 4
    anchors = np.array(
        [[y, x, size, size] for y in grid for x in grid for size in (0.2, 0.3, 0.4, 0.5)], dtype=np.float32
    )
    count = len(anchors)

    class SSD(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable(tf.random.stateless_normal([3, 3, 3, 8], [1, 1]) * 0.3)
            self.box = tf.Variable(tf.random.stateless_normal([8, 4 * 4], [1, 2]) * 0.3)
            self.cls = tf.Variable(tf.random.stateless_normal([8, 4 * (num_classes + 1)], [1, 3]))
            self.anchors = tf.constant(anchors)

        @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32)])
        def __call__(self, x):
            features = tf.nn.avg_pool2d(tf.nn.relu(tf.nn.conv2d(x, self.w, 2, "SAME")), 4, 4, "VALID")
            boxes = tf.reshape(tf.einsum("bhwc,cd->bhwd", features, self.box), [1, count, 4])
            scores = tf.sigmoid(tf.reshape(tf.einsum("bhwc,cd->bhwd", features, self.cls), [1, count, num_classes + 1]))
            return self.postprocess(boxes, scores, self.anchors)

        @tf.function(experimental_implements=detection_postprocess_signature(num_classes, max_detections))
        def postprocess(self, boxes, scores, anchors):  # noqa: ARG002 (the op's three inputs, by signature)
            # Placeholder body: the converter replaces this function with the custom op.
            if scalar_outputs:
                return tf.zeros([]), tf.zeros([]), tf.zeros([]), tf.zeros([])
            return (tf.zeros([1, max_detections, 4]), tf.zeros([1, max_detections]),
                    tf.zeros([1, max_detections]), tf.zeros([1]))

    model = SSD()
    tf.saved_model.save(model, str(folder), signatures=model.__call__)
    return folder


def flex_model(folder: Path) -> Path:
    """A SavedModel using MatrixDeterminant, which has no TFLite builtin, only a Flex op."""
    import tensorflow as tf

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
        def __call__(self, x):
            y = tf.reduce_mean(x, [1, 2])
            return {"out": tf.linalg.det(tf.reshape(tf.concat([y, y * y, y + 1.0], 1), [1, 3, 3]))}

    model = Model()
    tf.saved_model.save(model, str(folder), signatures=model.__call__)
    return folder


def ssd_grid_anchors() -> np.ndarray:
    """The anchors of the tiny raw SSDs below: a 4x4 grid, 4 square sizes per cell, [64, 4] cy,cx,h,w."""
    grid = (np.arange(4) + 0.5) / 4
    return np.array([[y, x, s, s] for y in grid for x in grid for s in (0.2, 0.3, 0.4, 0.5)], dtype=np.float32)


def raw_ssd_saved_model(folder: Path, num_classes: int = 5) -> Path:
    """A raw SSD (no post-processing) as a SavedModel: box encodings [1, 64, 4] and sigmoid class
    scores [1, 64, num_classes + 1] (background first), returned in a dict whose flattened
    order puts the scores first ("class_scores" < "encodings"), so roles can't come from order."""
    import tensorflow as tf

    count = 64

    class RawSSD(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable(tf.random.stateless_normal([3, 3, 3, 8], [2, 1]) * 0.3)
            self.box = tf.Variable(tf.random.stateless_normal([8, 4 * 4], [2, 2]) * 0.3)
            self.cls = tf.Variable(tf.random.stateless_normal([8, 4 * (num_classes + 1)], [2, 3]))

        @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32)])
        def __call__(self, x):
            features = tf.nn.avg_pool2d(tf.nn.relu(tf.nn.conv2d(x, self.w, 2, "SAME")), 4, 4, "VALID")
            boxes = tf.reshape(tf.einsum("bhwc,cd->bhwd", features, self.box), [1, count, 4])
            logits = tf.reshape(tf.einsum("bhwc,cd->bhwd", features, self.cls), [1, count, num_classes + 1])
            return {"class_scores": tf.sigmoid(logits), "encodings": boxes}

    model = RawSSD()
    tf.saved_model.save(model, str(folder), signatures=model.__call__)
    return folder


def raw_ssd_keras(path: Path, num_classes: int = 2) -> Path:
    """The same raw SSD head as a Keras 3 functional model saved as .keras, outputs [scores, boxes]."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(5)
    inputs = keras.Input((32, 32, 3), name="image")
    features = layers.AveragePooling2D(4)(layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs))
    boxes = layers.Reshape((64, 4), name="box_encodings")(layers.Conv2D(4 * 4, 1)(features))
    # A wide initializer: Glorot's small logits would give every anchor a score near 0.5.
    head = layers.Conv2D(4 * (num_classes + 1), 1, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=6))
    logits = layers.Reshape((64, num_classes + 1))(head(features))
    scores = layers.Activation("sigmoid", name="class_scores")(logits)
    keras.Model(inputs, [scores, boxes]).save(path)
    return path


def raw_ssd_frozen_graph(path: Path, num_classes: int = 4) -> Path:
    """The raw SSD as a TF1 frozen graph: input `image`, outputs `scores` [1, 64, C+1] and `boxes` [1, 64, 4]."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [1, 32, 32, 3], name="image")
        w = v1.get_variable("w", [3, 3, 3, 8], initializer=v1.random_normal_initializer(stddev=0.3, seed=1))
        features = tf.nn.avg_pool2d(tf.nn.relu(tf.nn.conv2d(x, w, 2, "SAME")), 4, 4, "VALID")
        box = v1.get_variable("box", [8, 16], initializer=v1.random_normal_initializer(stddev=0.3, seed=2))
        cls = v1.get_variable("cls", [8, 4 * (num_classes + 1)], initializer=v1.random_normal_initializer(stddev=1.0, seed=3))
        tf.reshape(tf.einsum("bhwc,cd->bhwd", features, box), [1, 64, 4], name="boxes")
        tf.sigmoid(tf.reshape(tf.einsum("bhwc,cd->bhwd", features, cls), [1, 64, num_classes + 1]), name="scores")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            frozen = v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), ["scores", "boxes"])
    path.write_bytes(frozen.SerializeToString())
    return path


EXPORT_INPUT = "normalized_input_image_tensor"
EXPORT_OUTPUTS = "TFLite_Detection_PostProcess,TFLite_Detection_PostProcess:1,TFLite_Detection_PostProcess:2,TFLite_Detection_PostProcess:3"


def ssd_export_graph(path: Path, num_classes: int = 3, size: int = 64, max_detections: int = 10, attrs: dict | None = None,
                     drop: tuple[str, ...] = (), quantization_aware: bool = False, checkpoint: bool = False) -> Path:
    """A replica of the TF Object Detection API's `export_tflite_ssd_graph.py` output (tflite_graph.pb):
    input `normalized_input_image_tensor` [1, size, size, 3] float in [-1, 1], raw outputs
    `raw_outputs/box_encodings` [1, N, 4] and `raw_outputs/class_predictions` [1, N, classes + 1]
    (sigmoid scores, background first), constant `anchors` [N, 4], and a `TFLite_Detection_PostProcess`
    node inside the GraphDef with the exporter's attributes (`attrs` overrides them, `drop` leaves some
    out). TensorFlow has no kernel for that node. Small random weights: the checks are structural.
    `quantization_aware`: FakeQuant nodes on the weights and activations, as quantization-aware
    training leaves them (the input has none: tflite_convert's --mean_values/--std_dev_values set it).
    `checkpoint`: the weights as variables in a TF1 checkpoint at `path` (a prefix) whose .meta graph
    holds the node; else a frozen GraphDef at `path`."""
    import tensorflow as tf

    v1 = tf.compat.v1
    cells = 4
    grid = (np.arange(cells) + 0.5) / cells
    anchors = np.array([[y, x, s, s] for y in grid for x in grid for s in (0.25, 0.5)], np.float32)
    count = len(anchors)
    rng = np.random.default_rng(5)
    graph = tf.Graph()
    with graph.as_default():
        fq = _fake_quant if quantization_aware else (lambda x, _low, _high: x)
        weight = (lambda name, value: v1.Variable(value, name=name)) if checkpoint else (lambda name, value: tf.constant(value, name=name))
        image = v1.placeholder(tf.float32, [1, size, size, 3], name=EXPORT_INPUT)
        w = fq(weight("conv/w", rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32)), -1.0, 1.0)
        features = tf.nn.avg_pool2d(fq(tf.nn.relu6(tf.nn.conv2d(image, w, 2, "SAME")), 0.0, 6.0), size // 2 // cells, size // 2 // cells, "VALID")
        features = fq(features, 0.0, 6.0)
        box_w = fq(weight("box/w", rng.normal(0, 0.3, (8, 2 * 4)).astype(np.float32)), -1.0, 1.0)
        cls_w = fq(weight("cls/w", rng.normal(0, 1.0, (8, 2 * (num_classes + 1))).astype(np.float32)), -3.0, 3.0)
        boxes = fq(tf.reshape(tf.einsum("bhwc,cd->bhwd", features, box_w), [1, count, 4]), -8.0, 8.0)
        scores = fq(tf.sigmoid(fq(tf.reshape(tf.einsum("bhwc,cd->bhwd", features, cls_w), [1, count, num_classes + 1]), -16.0, 16.0)), 0.0, 1.0)
        tf.identity(boxes, name="raw_outputs/box_encodings")
        tf.identity(scores, name="raw_outputs/class_predictions")
        tf.constant(anchors, name="anchors")
        if checkpoint:
            saver = v1.train.Saver()
            with v1.Session(graph=graph) as session:
                session.run(v1.global_variables_initializer())
                path.parent.mkdir(parents=True, exist_ok=True)
                saver.save(session, str(path))
    values = {"max_detections": max_detections, "max_classes_per_detection": 1, "detections_per_class": 100, "use_regular_nms": False,
              "nms_score_threshold": 1e-8, "nms_iou_threshold": 0.6, "num_classes": num_classes,
              "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0, **(attrs or {})}
    if checkpoint:  # the exporter's node in the saved graph, as the checkpoint's .meta
        meta_path = path.with_name(path.name + ".meta")
        meta = v1.MetaGraphDef()
        meta.ParseFromString(meta_path.read_bytes())
        _add_postprocess_node(meta.graph_def, values, drop, max_detections)
        meta_path.write_bytes(meta.SerializeToString())
        return path
    graph_def = graph.as_graph_def()
    _add_postprocess_node(graph_def, values, drop, max_detections)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph_def.SerializeToString())
    return path


def _add_postprocess_node(graph_def, values: dict, drop: tuple[str, ...], max_detections: int) -> None:  # noqa: ANN001
    """The TFLite_Detection_PostProcess node export_tflite_ssd_graph.py appends to its GraphDef."""
    from tensorflow.core.framework import attr_value_pb2, tensor_shape_pb2, types_pb2

    node = graph_def.node.add()
    node.op = node.name = "TFLite_Detection_PostProcess"
    node.input.extend(["raw_outputs/box_encodings", "raw_outputs/class_predictions", "anchors"])
    for key, value in values.items():
        if key in drop:
            continue
        if isinstance(value, bool):
            node.attr[key].CopyFrom(attr_value_pb2.AttrValue(b=value))
        elif isinstance(value, int):
            node.attr[key].CopyFrom(attr_value_pb2.AttrValue(i=value))
        else:
            node.attr[key].CopyFrom(attr_value_pb2.AttrValue(f=value))
    node.attr["_output_quantized"].CopyFrom(attr_value_pb2.AttrValue(b=True))
    node.attr["_support_output_type_float_in_quantized_op"].CopyFrom(attr_value_pb2.AttrValue(b=True))
    node.attr["_output_types"].list.type.extend([types_pb2.DT_FLOAT] * 4)
    shapes = ([1, max_detections, 4], [1, max_detections], [1, max_detections], [1])
    node.attr["_output_shapes"].list.shape.extend(
        tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in s]) for s in shapes
    )


def _fake_quant(x, low: float, high: float):  # noqa: ANN001, ANN202
    """What quantization-aware training leaves behind: a FakeQuantWithMinMaxVars with the learned range."""
    import tensorflow as tf

    return tf.quantization.fake_quant_with_min_max_vars(x, tf.constant(low), tf.constant(high))


def qat_classifier_graph(path: Path, input_range: bool = False, gap: bool = False) -> Path:
    """A TF1 frozen classifier trained quantization-aware: FakeQuant on weights and activations
    (`input_range`: on the input too; `gap`: one activation left without). Input `input` [1, 32, 32, 3],
    output `probs`."""
    import tensorflow as tf

    v1 = tf.compat.v1
    rng = np.random.default_rng(9)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [1, 32, 32, 3], name="input")
        if input_range:
            x = _fake_quant(x, -1.0, 1.0)
        w = _fake_quant(tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32)), -1.0, 1.0)
        y = tf.nn.relu6(tf.nn.conv2d(x, w, 2, "SAME"))
        y = tf.reduce_mean(y if gap else _fake_quant(y, 0.0, 6.0), [1, 2])
        w2 = _fake_quant(tf.constant(rng.normal(0, 0.3, (8, 5)).astype(np.float32)), -1.0, 1.0)
        tf.nn.softmax(_fake_quant(tf.matmul(y, w2), -4.0, 4.0), name="probs")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


DEEPLAB_CUT = ("--inputs", "sub_7", "--outputs", "ResizeBilinear_2")


def deeplab_export_graph(path: Path, classes: int = 4, crop: int = 64, int32: bool = False) -> Path:
    """A replica of DeepLab's export_model.py graph (frozen_inference_graph.pb): input `ImageTensor` uint8
    [1, ?, ?, 3]; preprocessing in the graph (Cast to float, resize to the crop size, `sub_7` =
    x / 127.5 - 1); a small network to logits at a quarter of the crop; `ResizeBilinear_2` back to the
    crop (its size from the preprocessed tensor); a slice to the image's own size; `ArgMax` and
    `SemanticPredictions` int64 (int32 with `int32`). Small random weights: the checks are structural."""
    import tensorflow as tf

    v1 = tf.compat.v1
    rng = np.random.default_rng(4)
    graph = tf.Graph()
    with graph.as_default():
        image = v1.placeholder(tf.uint8, [1, None, None, 3], name="ImageTensor")
        x = v1.image.resize_bilinear(tf.cast(image, tf.float32), [crop, crop], align_corners=True)
        x = tf.subtract(tf.multiply(x, 1 / 127.5), 1.0, name="sub_7")
        w1 = tf.constant(rng.normal(0, 0.4, (3, 3, 3, 8)).astype(np.float32))
        y = tf.nn.relu6(tf.nn.conv2d(x, w1, 2, "SAME", name="MobilenetV2/Conv/Conv2D"))
        w2 = tf.constant(rng.normal(0, 0.4, (3, 3, 8, 8)).astype(np.float32))
        y = tf.nn.relu6(tf.nn.conv2d(y, w2, 2, "SAME"))
        w3 = tf.constant(rng.normal(0, 0.6, (1, 1, 8, classes)).astype(np.float32))
        logits = tf.nn.bias_add(tf.nn.conv2d(y, w3, 1, "SAME"), tf.constant(rng.normal(0, 0.3, classes).astype(np.float32)),
                                name="logits/semantic/BiasAdd")
        up = v1.image.resize_bilinear(logits, tf.shape(x)[1:3], align_corners=True, name="ResizeBilinear_2")
        size = tf.shape(image)[1:3]
        up = tf.slice(up, [0, 0, 0, 0], tf.stack([1, tf.minimum(size[0], crop), tf.minimum(size[1], crop), classes]))
        labels = tf.argmax(up, 3, name="ArgMax", output_type=tf.int32 if int32 else tf.int64)
        tf.identity(labels, name="SemanticPredictions")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def qat_saved_model(folder: Path) -> Path:
    """A TF2 SavedModel as quantization-aware training with TF-MOT leaves it: FakeQuant on the input
    (its QuantizeLayer), per-channel FakeQuant on the convolution's weights, FakeQuant on the
    activations. Input [1, 32, 32, 3] float in -1..1, one [1, 5] softmax output."""
    import tensorflow as tf

    rng = np.random.default_rng(12)

    class Quantized(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
            self.w2 = tf.Variable(rng.normal(0, 0.3, (8, 5)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32)])
        def __call__(self, x):
            x = tf.quantization.fake_quant_with_min_max_vars(x, -1.0, 1.0)
            w = tf.quantization.fake_quant_with_min_max_vars_per_channel(self.w, -tf.ones(8), tf.ones(8), narrow_range=True)
            y = tf.quantization.fake_quant_with_min_max_vars(tf.nn.relu6(tf.nn.conv2d(x, w, 2, "SAME")), 0.0, 6.0)
            y = tf.reduce_mean(y, [1, 2])
            w2 = tf.quantization.fake_quant_with_min_max_vars(self.w2, -1.0, 1.0, narrow_range=True)
            return {"probs": tf.nn.softmax(tf.quantization.fake_quant_with_min_max_vars(tf.matmul(y, w2), -4.0, 4.0))}

    model = Quantized()
    tf.saved_model.save(model, str(folder), signatures=model.__call__)
    return folder

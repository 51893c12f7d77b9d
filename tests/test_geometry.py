"""Resize modes (geometry.py) and golden-file details: the Python half of the Kotlin parity contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tflgen.geometry import Rect, channels, fit, placement, preprocess
from tflgen.reference import Normalization, image_to_input
from tflgen.spec import ColorOrder, InputSpec, Quantization, ResizeMode

NORM = Normalization((127.5,) * 3, (127.5,) * 3)
SIZES = [(w, h) for w in (1, 7, 60, 97, 200, 641) for h in (1, 5, 60, 113, 480)]


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(("dtype", "quantization"), [("float32", None), ("uint8", Quantization(1 / 127.5, 127)), ("int8", Quantization(0.0078125, -1))])
def test_stretch_is_the_reference_preprocessing(dtype, quantization):
    rgb = _image(75, 130)
    spec = InputSpec("x", 32, 48, 3, dtype, quantization, ColorOrder.RGB, NORM, ResizeMode.STRETCH)
    tensor, where = preprocess(rgb, spec)
    q = (quantization.scale, quantization.zero_point) if quantization else None
    expected = image_to_input(rgb, spec.shape, np.dtype(dtype), NORM, q)
    assert tensor.dtype == expected.dtype and np.array_equal(tensor, expected)
    assert where.source == Rect(0, 0, 130, 75) and where.target == Rect(0, 0, 48, 32)


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize(("input_width", "input_height"), [(32, 32), (300, 300), (48, 32), (17, 64)])
def test_rectangles_are_centred_inside_and_keep_the_aspect(width, height, input_width, input_height):
    crop = placement(ResizeMode.CENTER_CROP, width, height, input_width, input_height)
    box = placement(ResizeMode.LETTERBOX, width, height, input_width, input_height)
    assert crop.target == Rect(0, 0, input_width, input_height) and box.source == Rect(0, 0, width, height)
    for rect, (outer_w, outer_h) in ((crop.source, (width, height)), (box.target, (input_width, input_height))):
        assert 1 <= rect.width <= outer_w and 1 <= rect.height <= outer_h
        assert rect.left == (outer_w - rect.width) // 2 and rect.top == (outer_h - rect.height) // 2
        assert rect.width == outer_w or rect.height == outer_h  # one side spans the whole
    # the aspect ratio is kept within a rounding of one pixel
    assert abs(crop.source.width * input_height / input_width - crop.source.height) <= max(1, input_height / input_width)
    assert abs(box.target.width * height / width - box.target.height) <= max(1, height / width)


def test_letterbox_pads_and_crop_cuts():
    rgb = _image(40, 80)
    spec = InputSpec("x", 20, 20, 3, "float32", None, ColorOrder.RGB, Normalization((0.0,) * 3, (1.0,) * 3), ResizeMode.LETTERBOX)
    tensor, where = preprocess(rgb, spec)
    assert where.target == Rect(0, 5, 20, 10)
    assert np.all(tensor[0, :5] == 0) and np.all(tensor[0, 15:] == 0) and tensor[0, 5:15].any()
    crop = placement(ResizeMode.CENTER_CROP, 80, 40, 20, 20)
    assert crop.source == Rect(20, 0, 40, 40)
    assert np.array_equal(fit(rgb, crop), fit(rgb[:, 20:60], placement(ResizeMode.STRETCH, 40, 40, 20, 20)))


@pytest.mark.parametrize("mode", list(ResizeMode))
def test_boxes_map_back_to_the_source(mode):
    where = placement(mode, 173, 61, 32, 32)
    t, s = where.target, where.source
    # the target rectangle, in 0..1 of the input, is the source rectangle in image pixels
    box = np.array([[t.top / 32, t.left / 32, (t.top + t.height) / 32, (t.left + t.width) / 32]], np.float32)
    left, top, right, bottom = where.box_to_image(box)[0]
    assert np.allclose([left, top, right, bottom], [s.left, s.top, s.left + s.width, s.top + s.height], atol=1e-4)
    # the whole input is clamped to the image
    assert np.array_equal(where.box_to_image(np.array([[-1, -1, 2, 2]], np.float32))[0], np.float32([0, 0, 173, 61]))


def test_gray_is_pils_luminance_and_bgr_reverses():
    from PIL import Image

    rgb = _image(30, 40, seed=3)
    assert np.array_equal(channels(rgb, ColorOrder.GRAY)[..., 0], np.asarray(Image.fromarray(rgb).convert("L")))
    assert np.array_equal(channels(rgb, ColorOrder.BGR), rgb[..., ::-1])


def test_json_floats_read_back_as_the_same_float32():
    from tflgen.golden import to_json

    values = np.random.default_rng(5).standard_normal(2000).astype(np.float32) * np.float32(1000)
    values = np.concatenate([values, np.float32([0.1, 1 / 3, 0.00390625, 1e-8, 3.4e38, -0.0])])
    text = to_json({"v": [float(v) for v in values]})
    read = np.array(json.loads(text)["v"], dtype=np.float32)
    assert np.array_equal(read, values)
    assert to_json({"b": 1.5, "a": [0.1]}) == b'{\n "a": [\n  0.1\n ],\n "b": 1.5\n}\n'


def test_shrink_keeps_small_images_and_bounds_large_ones():
    from tflgen.golden import shrink

    small = _image(100, 200)
    assert shrink(small) is small
    large = shrink(_image(900, 1600))
    assert large.shape == (360, 640, 3) and large.dtype == np.uint8

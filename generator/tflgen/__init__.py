"""tflgen: a TensorFlow model to a verified, quantized .tflite and an Android app."""

__version__ = "0.1.0"

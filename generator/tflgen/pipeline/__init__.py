"""Orchestrates the stages, one module per use case: `convert` (with `auto` for --quantize auto and
`keep_accuracy` for --keep-accuracy), `verify`, `metadata` and `app`. The CLI builds a typed request
(the `*Options` dataclasses, every value parsed) and calls here; a `Session` carries the source
model through a run, so that it is loaded once and its answers are computed once."""

from tflgen.pipeline.app import MODEL_FILE, MODEL_PATH, REPORT_DIR, AppOptions, AppResult, build_app
from tflgen.pipeline.convert import ConvertOptions, ConvertResult, convert_model, resolve_request
from tflgen.pipeline.metadata import MetadataOptions, MetadataResult, add_metadata
from tflgen.pipeline.session import Session
from tflgen.pipeline.verify import VerifyOptions, VerifyResult, verify_model

__all__ = [
    "MODEL_FILE", "MODEL_PATH", "REPORT_DIR", "AppOptions", "AppResult", "ConvertOptions", "ConvertResult", "MetadataOptions",
    "MetadataResult", "Session", "VerifyOptions", "VerifyResult", "add_metadata", "build_app", "convert_model", "resolve_request",
    "verify_model",
]

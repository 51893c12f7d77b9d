"""One command's run: the source opened once, and what its verifications ask of it computed once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tflgen.console import Reporter

if TYPE_CHECKING:
    from tflgen.sources import GraphFlags, SourceModel
    from tflgen.ssd import SsdParams
    from tflgen.verify import SourceRunner


class Session:
    """The source model of one command: opened at first use and then kept (`tflgen app` converts and
    verifies it; `--quantize auto` and `--keep-accuracy` verify many candidates against it). The
    source's answers per image and the images read for verification are kept for every verification."""

    def __init__(self, path: Path, flags: GraphFlags, reporter: Reporter) -> None:
        self.path = path
        self.flags = flags
        self.reporter = reporter
        self._source: SourceModel | None = None
        self._runner: SourceRunner | None = None
        self._images: dict[tuple, list[tuple[str, np.ndarray]]] = {}

    @property
    def source(self) -> SourceModel:
        """The source as TensorFlow loads it (a TF1 export graph: up to its post-process node)."""
        if self._source is None:
            from tflgen.sources import open_source

            self.reporter.info(f"Loading {self.path}")
            self._source = open_source(self.path, self.flags, self.reporter)
        return self._source

    def to_convert(self, ssd: SsdParams | None) -> SourceModel:
        """The source to convert: with TFLite_Detection_PostProcess appended for --ssd-anchors or kept
        from an export graph's own node (`ssd_source.with_postprocess`)."""
        from tflgen.ssd_source import with_postprocess

        return with_postprocess(self.source, ssd, self.reporter)

    @property
    def runner(self) -> SourceRunner:
        """The source for verifications, its answers cached per model input."""
        if self._runner is None:
            from tflgen.verify import SourceRunner

            self._runner = SourceRunner(self.source, self.reporter)
        return self._runner

    def images(self, folder: Path, count: int, channels: int) -> list[tuple[str, np.ndarray]]:
        """Up to `count` readable images of `folder` (--images), named relative to it; read once per run."""
        from tflgen.images import read_images

        key = (str(folder.resolve()), count, channels)
        if key not in self._images:
            read = read_images(folder, count, "--images", channels, self.reporter)
            self._images[key] = [(path.relative_to(folder).as_posix(), image) for path, image in read]
        return self._images[key]

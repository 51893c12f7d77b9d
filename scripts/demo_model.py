"""Build a small demo model and calibration images for the README's quick start.

Until tflgen ships its trained example models, the quick start converts this: a MobileNetV2
(alpha 0.35, 96x96, 10 classes) with seeded random weights and batch-norm statistics taken
from images, plus 32 generated photo-like images. It shows the pipeline working; its
predictions mean nothing.

    python scripts/demo_model.py demo     # writes demo/model.keras and demo/images/
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import models  # noqa: E402  (the same builders the tests use)

from tflgen.console import Reporter  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo")
    out.mkdir(parents=True, exist_ok=True)
    models.write_images(out / "images", 32)
    with Reporter().quiet_native():  # TensorFlow's start-up log
        models.mobilenet_v2().save(out / "model.keras")
    print(f"wrote {out / 'model.keras'} and {out / 'images'}/ (untrained demo model)")


if __name__ == "__main__":
    main()

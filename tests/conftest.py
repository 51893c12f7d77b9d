"""Session-wide fixtures: models and images are built once; the CLI runs in-process."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

import models

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One worker per core (scripts/test.sh): TensorFlow's kernels run on one thread in each, so that the
    # workers don't fight over the cores. Set before TensorFlow loads (the tests import it lazily).
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def images(work: Path) -> Path:
    return models.write_images(work / "images", 24)


@pytest.fixture(scope="session")
def mobilenet(work: Path):
    model = models.mobilenet_v2()
    path = work / "mobilenet.keras"
    model.save(path)
    return model, path


@pytest.fixture(scope="session")
def tiny(work: Path):
    """(model, path): the plumbing tests' classifier (MobileNet only where its ops matter)."""
    model = models.tiny_classifier()
    path = work / "tiny.keras"
    model.save(path)
    return model, path


@pytest.fixture(scope="session")
def mobilenet_saved_model(work: Path, mobilenet) -> Path:
    model, _ = mobilenet
    path = work / "mobilenet_saved_model"
    with contextlib.redirect_stdout(io.StringIO()):
        model.export(str(path))
    return path


@pytest.fixture(scope="session")
def segmenter(work: Path):
    model = models.segmentation_net()
    path = work / "segmenter.keras"
    model.save(path)
    return model, path


@pytest.fixture(scope="session")
def legacy_h5(work: Path) -> Path:
    return models.legacy_h5(work / "legacy.h5")


@pytest.fixture(scope="session")
def tf1(work: Path) -> dict:
    return models.tf1_graph(work / "tf1")


@pytest.fixture(scope="session")
def tf1_dynamic(work: Path) -> dict:
    return models.tf1_graph(work / "tf1_dynamic", dynamic=True)


@pytest.fixture(scope="session")
def sin_model(work: Path) -> Path:
    return models.sin_model(work / "sin_model")


@pytest.fixture(scope="session")
def dynamic_model(work: Path) -> Path:
    return models.dynamic_saved_model(work / "dynamic_model")


@pytest.fixture(scope="session")
def ssd_model(work: Path) -> Path:
    return models.ssd_saved_model(work / "ssd")


@pytest.fixture(scope="session")
def toolchain():
    """kotlinc, java and JUnit 4 (scripts/test.sh installs them); their absence fails the tests that need them."""
    from kotlin_toolchain import INSTALL_HINT, find_toolchain

    found = find_toolchain()
    if found is None:
        pytest.fail(f"kotlinc, java or JUnit 4 not found: {INSTALL_HINT}")
    return found


# Under pytest-xdist (scripts/test.sh: --dist loadscope) whole modules go to the workers in collection
# order: the longest go first, so that none of them starts last and runs alone.
LONGEST_FIRST = ("test_examples.py", "test_convert.py", "test_example_keep_accuracy.py", "test_kotlin.py", "test_example_apps.py", "test_verify.py",
                 "test_app.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the others keep their order

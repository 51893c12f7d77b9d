"""The Kotlin compiler and JUnit 4 that the Kotlin tests use, as scripts/test.sh installs them.

kotlinc: $KOTLINC, else the npm package `kotlin-compiler` in the repository's .cache/kotlin,
else `kotlinc` on the PATH. JUnit 4: $JUNIT_JARS (paths separated by ':'), else Debian's
junit4 package (/usr/share/java/junit4.jar and hamcrest-core.jar).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NPM_KOTLINC = REPO / ".cache" / "kotlin" / "node_modules" / "kotlin-compiler" / "bin" / "kotlinc"
DEBIAN_JUNIT = (Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar"))
# JUnitCore's output plus a line per test an assumption skipped (single-file Java program).
SKIP_REPORTING_RUNNER = Path(__file__).resolve().parent / "JUnitWithSkips.java"
# The JVM's quick compiler only: kotlinc and the short JUnit runs spend about half their CPU time in the
# optimizing JIT otherwise (measured: 263 files, 85 s of CPU by default, 48 s with this).
QUICK_JIT = "-XX:TieredStopAtLevel=1"
INSTALL_HINT = "run scripts/test.sh once (it installs kotlin-compiler from npm into .cache/kotlin and Debian's junit4)"


@dataclass(frozen=True)
class Toolchain:
    kotlinc: Path
    stdlib: Path  # kotlin-stdlib.jar of that compiler, for running the compiled classes
    junit: tuple[Path, ...]

    def compile(self, sources: list[Path], out: Path, timeout: float = 900) -> subprocess.CompletedProcess:
        """One kotlinc run over `sources` (main and test) into the class folder `out`; warnings are errors."""
        classpath = os.pathsep.join(str(p) for p in self.junit)
        command = [str(self.kotlinc), f"-J{QUICK_JIT}", "-Werror", "-jvm-target", "17", "-cp", classpath, "-d", str(out), *map(str, sources)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_java_env())

    def run_junit(self, classes: Path, resources: Path | Sequence[Path], *test_classes: str, timeout: float = 300) -> JUnitRun:
        """Run `test_classes` (in one JVM) with `resources` (folders: test resources, and main ones such as a raw
        SSD's anchors) on the classpath."""
        folders = (resources,) if isinstance(resources, Path) else tuple(resources)
        classpath = os.pathsep.join(str(p) for p in (classes, *folders, self.stdlib, *self.junit))
        command = ["java", QUICK_JIT, "-cp", classpath, str(SKIP_REPORTING_RUNNER), *test_classes]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_java_env())
        return JUnitRun.parse(done.returncode, done.stdout + done.stderr)

    def run_main(self, classes: Path, main_class: str, timeout: float = 300, resources: Sequence[Path] = ()) -> subprocess.CompletedProcess:
        classpath = os.pathsep.join(str(p) for p in (classes, *resources, self.stdlib, *self.junit))
        return subprocess.run(["java", "-cp", classpath, main_class], capture_output=True, text=True, timeout=timeout, env=_java_env())


@dataclass(frozen=True)
class JUnitRun:
    code: int
    output: str
    run: int  # tests run (those an assumption skipped included)
    failures: int

    @property
    def skipped(self) -> list[str]:
        """'<method>[<parameters>] <reason>' for each test an assumption skipped."""
        return re.findall(r"skipped: (.*)$", self.output, re.MULTILINE)  # after the dots JUnit prints per test

    @classmethod
    def parse(cls, code: int, output: str) -> JUnitRun:
        # JUnitCore ends with "OK (N tests)" or "Tests run: N,  Failures: M".
        if ok := re.search(r"^OK \((\d+) tests?\)", output, re.MULTILINE):
            return cls(code, output, int(ok.group(1)), 0)
        if failed := re.search(r"^Tests run: (\d+),\s+Failures: (\d+)", output, re.MULTILINE):
            return cls(code, output, int(failed.group(1)), int(failed.group(2)))
        return cls(code, output, 0, 0)


def find_toolchain() -> Toolchain | None:
    kotlinc = _kotlinc()
    junit = tuple(Path(p) for p in os.environ["JUNIT_JARS"].split(os.pathsep)) if os.environ.get("JUNIT_JARS") else DEBIAN_JUNIT
    if kotlinc is None or not all(p.is_file() for p in junit) or shutil.which("java") is None:
        return None
    stdlib = kotlinc.resolve().parent.parent / "lib" / "kotlin-stdlib.jar"
    if not stdlib.is_file():
        return None
    return Toolchain(kotlinc, stdlib, junit)


def _kotlinc() -> Path | None:
    if os.environ.get("KOTLINC"):
        return Path(os.environ["KOTLINC"])
    if NPM_KOTLINC.is_file():
        return NPM_KOTLINC
    found = shutil.which("kotlinc")
    return Path(found) if found else None


def _java_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)  # its "Picked up ..." line would land in every output
    return env

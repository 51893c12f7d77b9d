"""The one object through which stages report: messages, warnings, progress.

Stages never print. TensorFlow and LiteRT write to the process's file descriptors from C++
(absl logs, converter statistics on stdout); `Reporter.quiet_native()` sends those to a
buffer unless the user asked for `--verbose`, while our own progress bar keeps drawing on
the real terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter:
    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self._live_stream: IO[str] | None = None
        self.native_log = ""

    # Resolved at each call so that test harnesses that swap sys.stdout still see output.
    @property
    def out(self) -> Console:
        return Console(file=sys.stdout, highlight=False, soft_wrap=True)

    @property
    def err(self) -> Console:
        return Console(file=self._live_stream or sys.stderr, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        self.err.print(message)

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {message}")

    def alarm(self, message: str) -> None:
        """A warning the user must not miss (e.g. accuracy is unknown)."""
        self.err.rule("[bold red]WARNING[/bold red]", style="red")
        self.err.print(f"[bold red]{message}[/bold red]")
        self.err.rule(style="red")

    @contextlib.contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """Yields `advance(n)`; draws a bar on the terminal, nothing when output is piped."""
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
        ) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)

    @contextlib.contextmanager
    def quiet_native(self) -> Iterator[None]:
        """Redirect fds 1 and 2 (C++ logging) to a buffer unless verbose.

        The captured text is kept in `native_log` so that converter errors can be explained.
        """
        if self.verbose:
            yield
            return
        sys.stdout.flush()
        sys.stderr.flush()
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        # Our own console keeps writing to the real stderr while fd 2 points at the buffer.
        live = None
        if self._live_stream is None and _writes_to_fd(sys.stderr, 2):  # nested: keep the outer one
            live = os.fdopen(os.dup(saved[2]), "w", buffering=1)
        with tempfile.TemporaryFile(mode="w+b") as sink:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            previous_live, self._live_stream = self._live_stream, live or self._live_stream
            try:
                with _quiet_python_logs():
                    yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                for fd, copy in saved.items():
                    os.dup2(copy, fd)
                    os.close(copy)
                self._live_stream = previous_live
                if live is not None:
                    live.close()
                sink.seek(0)
                self.native_log = sink.read().decode("utf-8", "replace")


def _writes_to_fd(stream: Any, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _quiet_python_logs() -> Iterator[None]:
    names = ("tensorflow", "absl", "keras", "h5py")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


def import_tensorflow(reporter: Reporter) -> Any:
    """Import TensorFlow with its start-up noise silenced unless verbose."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if not reporter.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with reporter.quiet_native():
        import tensorflow as tf
    if not reporter.verbose:
        tf.get_logger().setLevel(logging.ERROR)
        try:
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
        except ImportError:  # absl ships with tensorflow; keep going if a build lacks it
            pass
    return tf

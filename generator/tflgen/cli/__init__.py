"""The thin Typer layer: parse options, call the pipeline, map errors to exit codes in one place.

Nothing heavy is imported at module level, so `tflgen --help` answers at once.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import typer

from tflgen import __version__
from tflgen.cli import options as opt
from tflgen.errors import EXIT_BAD_INPUT, UserError

EXIT_INTERNAL_ERROR = 3

app = typer.Typer(
    name="tflgen",
    help="TensorFlow model → verified, quantized .tflite → Android app.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tflgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    verbose: opt.Verbose = False,
    debug: opt.Debug = False,
) -> None:
    """TensorFlow model → verified, quantized .tflite → Android app."""


def _register() -> None:
    """The commands, in the order `tflgen --help` lists them (their modules import nothing heavy)."""
    from tflgen.cli import app_cmd, convert_cmd, inspect_cmd, metadata_cmd, verify_cmd

    app.command(name="app", no_args_is_help=True)(app_cmd.app_command)
    app.command(name="convert", no_args_is_help=True)(convert_cmd.convert)
    app.command(name="inspect", no_args_is_help=True)(inspect_cmd.inspect)
    app.command(name="metadata", no_args_is_help=True)(metadata_cmd.metadata)
    app.command(name="verify", no_args_is_help=True)(verify_cmd.verify)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code. Every error path ends here."""
    from tflgen.cli.options import RunFlags

    args = list(sys.argv[1:] if argv is None else argv)
    RunFlags.verbose = RunFlags.debug = False
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="tflgen", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except UserError as exc:
        debug = RunFlags.debug
        if debug:
            traceback.print_exc()
        _print_error(exc.message, exc.hint)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except KeyboardInterrupt:
        _print_error("interrupted", "nothing was written; run the command again")
        return 130
    except typer.TyperException as exc:  # usage errors from the parser
        if RunFlags.debug:
            traceback.print_exc()
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        context = getattr(exc, "ctx", None)
        where = context.command_path if context is not None else "tflgen"
        _print_error(message, f"see '{where} --help'")
        return getattr(exc, "exit_code", EXIT_BAD_INPUT)
    except Exception as exc:  # a bug in tflgen or a library: say so plainly, traceback only with --debug
        if RunFlags.debug:
            traceback.print_exc()
        _print_error(f"internal error: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}",
                     "rerun with --debug for the traceback and report it")
        return EXIT_INTERNAL_ERROR


def _print_error(message: str, hint: str) -> None:
    sys.stderr.write(f"error: {message}\nhint: {hint}\n")
    sys.stderr.flush()


def run() -> None:
    sys.exit(main())

"""The one error tree users see. The CLI maps it to exit codes in one place."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BUDGET_MISSED = 1
EXIT_BAD_INPUT = 2


class UserError(Exception):
    """Bad input: printed as one `error:` line and one `hint:` line, exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SourceError(UserError):
    """The model file or folder can't be opened as the kind it looks like."""


class OptionError(UserError):
    """An option's value is wrong or missing for this model."""


class CalibrationError(UserError):
    """Calibration images are missing, unreadable or don't fit the model."""


class ConversionError(UserError):
    """The TFLite converter refused the model, or produced something else than asked."""


class OutputError(UserError):
    """The output path can't be written as asked."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can be pages long)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]

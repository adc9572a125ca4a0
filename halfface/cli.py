"""One error and exit convention for every command of the toolkit (docs/architecture.md, "Errors and exit codes").

- exit 0: success;
- exit 2: a mistake the user can fix (bad command line, bad file, bad row): one line ``error: ...`` on stderr
  naming the file/row/value and what to do, never a traceback. argparse's own usage errors exit 2 too;
- exit 130: interrupted (Ctrl-C);
- other codes are a command's own documented outcomes (``stimuli build``: 1 when faces were not found;
  ``experiment run``: 3 ended with Escape, 4 cancelled in the dialog), returned by ``main`` or raised as a
  :class:`CommandFailed` (or a ``UserError`` subclass) whose ``exit_code`` says which;
- anything else is a bug and keeps its traceback.

Every package's user-error class derives from :class:`UserError`, so one ``except UserError`` catches all,
and :func:`run_main` wraps every command's ``main``: no command prints its own ``error:`` lines
(``tests/test_commands.py`` checks the sources). Standard library only.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 2, 130


class UserError(Exception):
    """A mistake in the command line or the inputs; ``str(err)`` names the file/row/value and the fix."""

    exit_code = EXIT_USER_ERROR  # a subclass that is a command's own documented outcome says its code


class CommandFailed(Exception):
    """Not a user mistake, but a documented failing outcome of a command (e.g. an audit bound broken).

    Printed like a user error (``error: ...``); the command exits ``exit_code`` (1 unless a subclass says).
    """

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def print_error(err: BaseException | str, file=None) -> int:
    """``error: <message>`` on stderr (one line per line of a multi-problem message); returns the exit code.

    The exit code is ``err.exit_code`` (:class:`UserError`: 2, :class:`CommandFailed`: 1), else 2.
    """
    file = sys.stderr if file is None else file
    for line in str(err).splitlines() or [type(err).__name__]:
        print(f"error: {line}", file=file)
    return getattr(err, "exit_code", EXIT_USER_ERROR)


def run_main(main_fn=None, *, also=(), interrupted="interrupted"):
    """Wrap a command's ``main``: user errors become one ``error:`` line and exit 2; Ctrl-C exits 130.

    Use as ``@run_main`` or ``@run_main(also=(ValueError,))`` (exceptions from libraries that stand
    for a user mistake). The wrapped function keeps its signature and returns its exit code; a
    :class:`CommandFailed` is printed the same way and exits with its own code; exceptions other than
    these and KeyboardInterrupt propagate with their traceback, because they are bugs. ``interrupted``
    is the line printed on Ctrl-C (say what was kept).
    """
    def wrap(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (UserError, CommandFailed, *also) as err:
                return print_error(err)
            except KeyboardInterrupt:
                print(interrupted, file=sys.stderr)
                return EXIT_INTERRUPTED
        return wrapper
    return wrap if main_fn is None else wrap(main_fn)


def output_dir(path, option: str = "--out") -> Path:
    """Create the output folder ``path`` (with its parents) before any work is done.

    A path that is a file, lies under a file, or cannot be created or written is a one-line
    :class:`UserError` naming it, instead of a traceback after minutes of computing.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{option} {path}: exists and is not a folder; give a folder for the outputs") from None
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot create this folder ({exc.strerror}); give another") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: this folder is not writable; give another")
    return path


def positive_int(text):
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def nonneg_int(text):
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def port(text: str) -> int:
    """argparse type: a TCP port 1-65535, or 0 for any free one (the socket module would raise OverflowError)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number: give 1-65535, or 0 for any free "
                                         "port") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give a port 1-65535, or 0 for any free port")
    return value


def print_commands(parser: argparse.ArgumentParser, file=None) -> int:
    """``python -m <package>`` without a command: the full help (every command, with examples); returns 0."""
    parser.print_help(file=sys.stdout if file is None else file)
    return EXIT_OK

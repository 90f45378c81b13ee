"""Entry point: builds the app, turns user errors into one line and exit status 2."""

from __future__ import annotations

import logging
import sys
import traceback

import typer

from .. import __version__
from ..core.threads import limit_malloc_arenas, reuse_freed_blocks

app = typer.Typer(
    name="neurolint",
    help="Assess and correct the quality of neural recordings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_STATE: dict = {"debug": False, "argv": []}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neurolint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Assess and correct the quality of neural recordings."""
    _STATE["debug"] = debug
    limit_malloc_arenas()  # parallel detectors hold less memory freed in thread arenas
    reuse_freed_blocks()  # large arrays reuse freed memory instead of faulting pages in
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="neurolint: %(levelname)s: %(message)s",
    )


# Verb groups register themselves on import; each module imports heavy packages lazily.
from . import bench as _bench  # noqa: E402
from . import check as _check  # noqa: E402
from . import demo as _demo  # noqa: E402
from . import fix as _fix  # noqa: E402
from . import info as _info  # noqa: E402
from . import report as _report  # noqa: E402
from . import simulate as _simulate  # noqa: E402
from . import train as _train  # noqa: E402

_demo.register(app)
_info.register(app)
_check.register(app)
_fix.register(app)
_report.register(app)
_simulate.register(app)
_bench.register(app)
_train.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 internal error, 2 bad input or usage)."""
    from ..core.errors import NeurolintError

    args = sys.argv[1:] if argv is None else list(argv)
    _STATE["argv"] = args
    debug = "--debug" in args
    try:
        result = app(args=args, standalone_mode=False, prog_name="neurolint")
        code = result if isinstance(result, int) else 0
    except NeurolintError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"neurolint: error: {exc}", err=True)
        code = 2
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        code = 1
    except OSError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"neurolint: error: {exc}; check the path and its permissions.", err=True)
        code = 2
    except Exception as exc:  # noqa: BLE001 - a bug: one line unless --debug
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            # Usage errors (typer ships its own copy of click, so match by shape).
            exc.show()
            return _finish(exc.exit_code, argv)
        if debug:
            traceback.print_exc()
        typer.echo(
            f"neurolint: internal error: {type(exc).__name__}: {exc} (run with --debug for the "
            "traceback and please report it).",
            err=True,
        )
        code = 1
    return _finish(code, argv)


def _finish(code: int, argv: list[str] | None) -> int:
    if argv is None:
        sys.exit(code)
    return code

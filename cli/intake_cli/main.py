# PYTHON_ARGCOMPLETE_OK
"""Entry point of the `intake` command. Each command group lives in its own module.

What ships is the user's CLI: `project`, `sessions` and `preview`, against the config API. The
development commands (`local`, `demo`) come from the `intake_dev` package of a source checkout
(`make install`), and are offered only when it can be imported: an installed wheel has none.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import argcomplete

# Each module exposes `register(subparsers)`; it sets `func` on its parsers.
COMMAND_MODULES = (
    "intake_cli.credentials",
    "intake_cli.dashboard",
    "intake_cli.preview",
    "intake_cli.project",
    "intake_cli.sessions",
)
DEV_COMMAND_MODULES = ("intake_dev.local", "intake_dev.demo")
# What a shell reports for a command that SIGPIPE ended (128 + 13): `cat`, `seq` and `git` end so
# when the reader goes away (`| head`), and `set -o pipefail` scripts can tell output was cut.
EXIT_CLOSED_PIPE = 141


class Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose unknown arguments are refused by the subcommand's own parser, so the
    error shows `usage: intake project set-config ...` rather than the top level's usage."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        extras = getattr(namespace, argparse._UNRECOGNIZED_ARGS_ATTR, None)
        if extras:
            delattr(namespace, argparse._UNRECOGNIZED_ARGS_ATTR)
            self.choices[values[0]].error(f"unrecognized arguments: {' '.join(extras)}")


class IntakeParser(argparse.ArgumentParser):
    """Every parser of `intake`: no abbreviated flags (`--tracker-lab` is not `--tracker-label`),
    and subcommands report their own errors. `add_subparsers` makes its parsers of this class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", Subcommands)


def package_version() -> str:
    try:
        return version("tracker-intake")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _dev_available() -> bool:
    try:
        return importlib.util.find_spec("intake_dev") is not None
    except (ImportError, ValueError):
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = IntakeParser(
        prog="intake",
        description="tracker intake: GitHub issues in, one worker session per issue out.",
    )
    parser.add_argument("--version", action="version", version=f"intake {package_version()}")
    parser.add_argument(
        "--api-url",
        help="the config API (default: $INTAKE_API_URL). execute-api URLs are signed with SigV4.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = COMMAND_MODULES + (DEV_COMMAND_MODULES if _dev_available() else ())
    for name in modules:
        importlib.import_module(name).register(subparsers)
    # `intake project list --api-url URL` as well as `intake --api-url URL project list`. SUPPRESS
    # keeps a value given before the subcommand when none is given after it.
    for leaf in _leaf_parsers(parser):
        if "--api-url" not in leaf._option_string_actions:
            leaf.add_argument("--api-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of every command (those without subcommands of their own)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.extend(_leaf_parsers(child) or [child])
    return found


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # within the try: the last of the output may be written only now
    except BrokenPipeError:
        # The reader went away (`intake sessions list demo | head -1`): end quietly, as Unix tools
        # do. Python's recipe: stdout to devnull, so the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    # Shell completion (`eval "$(register-python-argcomplete intake)"`): when the shell asks,
    # this prints the completions and exits; otherwise it does nothing.
    argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

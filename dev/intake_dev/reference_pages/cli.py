"""The `intake` command's page, from its argparse parser: every command, its usage and arguments."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import cast

from intake_cli import api_client, main, preview

from .markdown import cell, code, generated, heading, page, prose, table

USAGE_WIDTH = 100
# Actions that take no value: their flag is the whole argument.
_FLAG_ACTIONS = (
    argparse._StoreConstAction,
    argparse._StoreTrueAction,
    argparse._StoreFalseAction,
    argparse._AppendConstAction,
    argparse._CountAction,
    argparse._VersionAction,
)
_REPEATABLE_ACTIONS = (argparse._AppendAction, argparse._AppendConstAction, argparse._CountAction)


@dataclass(frozen=True)
class Command:
    """One parser of the command tree: `intake`, `intake project`, `intake project set-config`..."""

    parser: argparse.ArgumentParser
    help: str
    depth: int

    @property
    def name(self) -> str:
        return self.parser.prog

    @property
    def anchor(self) -> str:
        return command_anchor(self.name)

    @property
    def subcommands(self) -> list[Command]:
        return list(_children(self.parser, self.depth + 1))


def command_anchor(name: str) -> str:
    """`intake project set-config` -> `intake-project-set-config` (what mkdocs would make of it, too)."""
    return "-".join(name.split()).lower()


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    """The whole tree, depth first, in the order `intake --help` lists the commands."""
    found = []
    waiting = [Command(parser, "", 0)]
    while waiting:
        command = waiting.pop(0)
        found.append(command)
        waiting[:0] = command.subcommands
    return found


def _children(parser: argparse.ArgumentParser, depth: int) -> Iterator[Command]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, child in action.choices.items():
                if name in helps:  # an alias has no help of its own: listed under its command
                    yield Command(child, helps[name], depth)


def visible_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments `--help` shows, but the help flag itself and the subcommand choice."""
    return [
        action
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        and not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]


def cli_page(parser: argparse.ArgumentParser | None = None) -> str:
    tree = commands(parser or main.build_parser())
    return page(
        "# The intake CLI\n",
        generated("the command's parser (`intake_cli.main.build_parser()`)"),
        _intro(),
        table(["command", "what it does"], ([f"[{c.name}](#{c.anchor})", cell(c.help)] for c in tree[1:])),
        *(_section(command) for command in tree),
    )


def _intro() -> str:
    exits = [
        ["0", "done"],
        [str(api_client.EXIT_REFUSED), "the API refused the request: its message, and each field at fault as its flag"],
        [
            str(api_client.EXIT_USAGE),
            "bad arguments: an unknown flag or value, a missing argument, no API URL. Flags are never "
            "abbreviated: `--tracker-lab` is not `--tracker-label`",
        ],
        [
            str(api_client.EXIT_UNREACHABLE),
            "the API could not be reached (refused, timed out, no AWS credentials to sign with), or what answers "
            "at the URL is not the intake API",
        ],
        [str(main.EXIT_CLOSED_PIPE), "the reader of the output went away (`| head`), as a shell reports SIGPIPE"],
    ]
    return page(
        f"Point the CLI at the config API with `--api-url URL`, before or after the command, or set "
        f"{code(api_client.ENV_API_URL)}. An API Gateway `execute-api` URL is signed with SigV4 from your default "
        "AWS credentials; any other URL (the local stack's, for instance) is plain HTTP. Every command takes "
        "`-h`/`--help`.",
        "With `--json` a command prints JSON, and an error is JSON too, on standard output where the answer "
        'would have been: `{"error": {"kind", "message", ...}}`, its kind `usage`, `refused` or `unreachable`.',
        "**Exit codes**",
        table(["code", "meaning"], exits),
        f"`intake preview` reads GitHub, not the API: its {code(str(preview.EXIT_GITHUB))} means GitHub could not "
        f"be read, and {code(str(preview.EXIT_USAGE))} a flag the config rules refuse.",
    )


def _section(command: Command) -> str:
    parser = command.parser
    description = parser.description or ""
    return page(
        heading(min(2 + max(command.depth - 1, 0), 4), command.name, command.anchor),
        _development_note(parser),
        prose(command.help),
        prose(description) if description.strip() != command.help.strip() else "",
        "```text\n" + _usage(parser) + "```\n",
        _subcommands_table(command),
        _arguments_table(parser),
        prose(parser.epilog or ""),
    )


def _development_note(parser: argparse.ArgumentParser) -> str:
    module = getattr(parser.get_default("func"), "__module__", "") or ""
    if module not in main.DEV_COMMAND_MODULES:
        return ""
    return (
        '!!! note "A development command"\n'
        f"    It comes from {code(module)}, in a source checkout (`make install`): the installed wheel has no "
        f"{code(parser.prog)}.\n"
    )


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line, wrapped at a fixed width (not the terminal's), so the page is the same everywhere."""
    # Every formatter class argparse has takes a width; typeshed's protocol names only `prog`.
    formatter = cast(type[argparse.HelpFormatter], parser.formatter_class)(prog=parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip("\n") + "\n"


def _subcommands_table(command: Command) -> str:
    children = command.subcommands
    if not children or command.depth == 0:
        return ""
    return table(["command", "what it does"], ([f"[{c.name}](#{c.anchor})", cell(c.help)] for c in children))


def _arguments_table(parser: argparse.ArgumentParser) -> str:
    arguments = visible_arguments(parser)
    if not arguments:
        return ""
    formatter = parser.formatter_class(prog=parser.prog)
    rows = [
        [_names(a), _value(a), _default(a), "yes" if _repeatable(a) else "no", cell(_help(formatter, a))]
        for a in arguments
    ]
    return table(["argument", "value", "default", "repeatable", "description"], rows)


def _help(formatter: argparse.HelpFormatter, action: argparse.Action) -> str:
    """The help text as `--help` prints it (`%(default)s` filled in); none for an argument without."""
    return formatter._expand_help(action) if action.help else ""


def _names(action: argparse.Action) -> str:
    if action.option_strings:
        return ", ".join(code(option) for option in action.option_strings)
    return code(str(action.metavar or action.dest))


def _value(action: argparse.Action) -> str:
    if isinstance(action, _FLAG_ACTIONS) or (not action.option_strings and not action.choices):
        return ""
    if action.choices:
        return " or ".join(code(str(choice)) for choice in action.choices)
    return code(str(action.metavar or action.dest.upper()))


def _default(action: argparse.Action) -> str:
    if action.required or (not action.option_strings and action.nargs not in ("?", "*")):
        return "required"
    value = action.default
    if value in (None, argparse.SUPPRESS, []) or isinstance(action, _FLAG_ACTIONS):
        return ""
    return code(str(value) if not isinstance(value, PurePath) else value.as_posix())


def _repeatable(action: argparse.Action) -> bool:
    return isinstance(action, _REPEATABLE_ACTIONS) or action.nargs in ("*", "+", argparse.REMAINDER)

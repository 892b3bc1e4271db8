"""Every parser of `intake` (each command and subcommand, the development ones included) refuses
abbreviated flags and reports its own errors."""

from __future__ import annotations

import argparse

from intake_cli.main import IntakeParser, Subcommands, build_parser


def every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.extend(every_parser(child))
    return found


def test_no_parser_accepts_an_abbreviated_flag() -> None:
    # GIVEN the whole command tree
    parsers = every_parser(build_parser())
    # WHEN each parser is inspected  THEN none expands the start of a flag's name into the flag
    assert len(parsers) > 20
    assert [p.prog for p in parsers if p.allow_abbrev] == []


def test_every_subcommand_parser_is_an_intake_parser_reporting_its_own_errors() -> None:
    # GIVEN the whole command tree  WHEN its subcommand groups are inspected
    parsers = every_parser(build_parser())
    groups = [a for p in parsers for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    # THEN every parser is made by IntakeParser, and every group refuses unknown flags itself
    assert [p.prog for p in parsers if not isinstance(p, IntakeParser)] == []
    assert groups and all(isinstance(group, Subcommands) for group in groups)

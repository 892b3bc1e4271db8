"""The reference pages are generated from the code: every command, flag, operation, status, config
field, parameter, output, alarm and metric the code has is on its page, and nothing is written to
docs/ (mkdocs-gen-files adds the pages to the build only)."""

from __future__ import annotations

import argparse
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from mkdocs.structure.files import Files
from mkdocs_gen_files.editor import FilesEditor
from pydantic import BaseModel

from intake_cli import api_client, main
from intake_cli.main import build_parser
from intake_dev.docs_reference import PAGES, api_page, cli_page, config_page, template_page
from intake_dev.openapi import document
from intake_dev.reference_pages.api import METHODS, operation_anchor
from intake_dev.reference_pages.cli import commands, visible_arguments
from intake_dev.reference_pages.markdown import cell, section_of
from intake_dev.reference_pages.metrics import UnreadableMetric, emitted_metrics
from intake_dev.template import REPO_ROOT, load_template
from tracker_intake.api.models import ConfigUpdate
from tracker_intake.domain.config import GIT_ORIGIN_FORMS, NewProject, TrackerIntake, repo_from_git_origin
from tracker_intake.metrics_catalog import METRICS

SCRIPT = REPO_ROOT / "dev" / "intake_dev" / "docs_reference.py"
# The anchors the hand-written pages link to.
LINKED_COMMANDS = (
    "intake-project-set-config",
    "intake-local",
    "intake-preview",
    "intake-sessions-list",
    "intake-credentials-add",
    "intake-dashboard",
)


@pytest.fixture(scope="module")
def cli() -> str:
    return cli_page()


@pytest.fixture(scope="module")
def api() -> str:
    return api_page()


@pytest.fixture(scope="module")
def config() -> str:
    return config_page()


@pytest.fixture(scope="module")
def template() -> str:
    return template_page()


def cells(row: str) -> list[str]:
    """A Markdown table row's cells: split on `|`, but not an escaped one or one in a code span."""
    text = row.strip().removeprefix("|").removesuffix("|")
    found, current, fence, i = [], "", "", 0
    while i < len(text):
        ticks = re.match(r"`+", text[i:])
        if ticks:  # a run of backticks opens a code span, or closes the one it opened
            fence = "" if ticks.group(0) == fence else fence or ticks.group(0)
            current, i = current + ticks.group(0), i + len(ticks.group(0))
            continue
        if text[i] == "|" and not fence and not current.endswith("\\"):
            found.append(current.strip())
            current = ""
        else:
            current += text[i]
        i += 1
    return [*found, current.strip()]


def row_of(section: str, first_cell: str) -> list[str]:
    rows = [cells(line) for line in section.splitlines() if line.startswith(f"| {first_cell} |")]
    assert len(rows) == 1, f"{first_cell}: {len(rows)} rows"
    return rows[0]


# --- the CLI page ----------------------------------------------------------------------------


def test_every_command_and_subcommand_has_a_section_with_its_usage(cli: str) -> None:
    # GIVEN every parser of `intake`, the development commands included
    tree = commands(build_parser())
    assert {"intake project set-config", "intake local", "intake demo"} <= {c.name for c in tree}
    # THEN each has its own section, under a heading anchored on its words, with its usage line
    for command in tree:
        section = section_of(cli, command.anchor)
        assert f"usage: {command.name}" in section, command.name


def test_every_visible_flag_is_listed_under_its_command(cli: str) -> None:
    # GIVEN every argument `--help` shows, command by command
    for command in commands(build_parser()):
        section = section_of(cli, command.anchor)
        # THEN each of its flags (every spelling) or its positional name is in that command's table
        for action in visible_arguments(command.parser):
            for name in action.option_strings or [str(action.metavar or action.dest)]:
                assert f"`{name}`" in section, f"{command.name}: {name}"
    # AND the help flag, which every command takes, is said once
    assert "`-h`/`--help`" in cli


def test_an_argument_hidden_from_help_is_left_out(cli: str) -> None:
    # GIVEN `--api-url`, which every command accepts but only `intake` shows in its help
    hidden = [a for a in build_parser()._actions if "--api-url" in a.option_strings]
    assert hidden and hidden[0].help != argparse.SUPPRESS
    # THEN it is listed under `intake`, and not under a command that hides it
    assert "`--api-url`" in section_of(cli, "intake")
    assert "`--api-url`" not in section_of(cli, "intake-project-list")


def test_the_commands_other_pages_link_to_have_their_anchors(cli: str) -> None:
    # GIVEN the anchors the how-to guides and tutorials link to
    # THEN each is the anchor of a heading on the page
    for anchor in LINKED_COMMANDS:
        assert f"{{#{anchor}}}" in cli, anchor


def test_a_flag_s_default_choices_and_repetition_are_in_its_row(cli: str) -> None:
    # GIVEN `intake project set-config` and `intake preview`
    set_config = section_of(cli, "intake-project-set-config")
    preview = section_of(cli, "intake-preview")
    # THEN a repeatable flag says so, choices are listed, and a default is given where there is one
    assert row_of(set_config, "`--tracker-label`")[3] == "yes"
    assert row_of(set_config, "`--tracker-backlog`")[1] == "`new` or `all`"
    assert row_of(preview, "`--max-pages`")[2] == "`10`"
    assert row_of(preview, "`--repo`")[2] == "required"


def test_the_exit_codes_are_the_cli_s_own_constants(cli: str) -> None:
    # GIVEN the codes the CLI exits with
    codes = [0, api_client.EXIT_REFUSED, api_client.EXIT_USAGE, api_client.EXIT_UNREACHABLE, main.EXIT_CLOSED_PIPE]
    # THEN the page's exit-code table has a row for each, with its meaning
    for code in codes:
        assert row_of(cli, str(code))[1], code
    assert "`INTAKE_API_URL`" in cli and "`--json`" in cli


# --- the API page ----------------------------------------------------------------------------


def test_every_operation_lists_each_of_its_response_statuses(api: str) -> None:
    # GIVEN the OpenAPI document the API serves
    doc = document()
    operations = [(m, p, spec) for p, methods in doc["paths"].items() for m, spec in methods.items() if m in METHODS]
    assert len(operations) >= 15
    # THEN each operation has its section, and each status it can answer is a row there
    for method, path, spec in operations:
        section = section_of(api, operation_anchor(method, path))
        assert f"{method.upper()} {path}" in api
        for status, response in spec["responses"].items():
            assert row_of(section, f"`{status}`")[1] == cell(response["description"]), (method, path, status)


def test_an_operation_s_anchor_is_its_method_and_path_words(api: str) -> None:
    # GIVEN a path with a parameter in braces
    # WHEN its anchor is made THEN it is the lower-case method and the path's words, braces dropped
    assert operation_anchor("PUT", "/projects/{id}/config") == "put-projects-id-config"
    assert "### PUT /projects/{id}/config {#put-projects-id-config}" in api
    assert "### GET /projects {#get-projects}" in api


def test_every_parameter_and_body_field_is_listed_under_its_operation(api: str) -> None:
    # GIVEN every operation's parameters and request body
    doc = document()
    schemas = doc["components"]["schemas"]
    for path, methods in doc["paths"].items():
        for method, spec in methods.items():
            section = section_of(api, operation_anchor(method, path))
            body = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields = schemas[body["$ref"].rsplit("/", 1)[-1]]["properties"] if "$ref" in body else {}
            # THEN each parameter and each field of the body is a row of that operation's section
            for name in [p["name"] for p in spec.get("parameters", [])] + list(fields):
                assert row_of(section, f"`{name}`"), (method, path, name)


def test_every_schema_a_body_names_has_its_section(api: str) -> None:
    # GIVEN the schemas the operations' bodies name, and those they name in turn
    doc = document()
    schemas = doc["components"]["schemas"]
    named: set[str] = set()
    waiting = re.findall(r"#/components/schemas/(\w+)", str(doc["paths"]))
    while waiting:
        name = waiting.pop()
        if name not in named:
            named.add(name)
            waiting += re.findall(r"#/components/schemas/(\w+)", str(schemas[name]))
    assert {"TrackerIntake", "ErrorBody", "FieldProblem", "Author"} <= named
    # THEN each has a section, with a row for each of its fields
    for name in named:
        section = section_of(api, f"schema-{name.lower()}")
        for field in schemas[name].get("properties", {}):
            assert row_of(section, f"`{field}`"), (name, field)


def test_the_introduction_says_how_to_sign_and_what_a_refusal_answers(api: str) -> None:
    # GIVEN the page's introduction (up to the first operation)
    intro = api.split("## ", 1)[0]
    # THEN it names SigV4, the one route signed otherwise, and the refusal's shape
    assert "SigV4" in intro and "`POST /sessions/{issueId}/status`" in intro
    assert '`{"message", "errors": [{"field", "reason"}]}`' in intro
    assert "writes nothing" in intro


def test_a_pipe_in_a_cell_is_escaped_but_not_in_a_code_span() -> None:
    # GIVEN text with a pipe in prose and one in code
    # WHEN it is made a table cell THEN only the prose one is escaped (a code span keeps its own)
    assert cell("a | b `x|y`\n\nnext") == "a \\| b `x|y`<br>next"


# --- the config page -------------------------------------------------------------------------


def aliases(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def test_every_tracker_intake_field_has_a_row_with_its_rule(config: str) -> None:
    # GIVEN the trackerIntake section
    section = section_of(config, "trackerintake")
    # THEN each field of TrackerIntake has a row: JSON name, type, default and a rule
    for alias in aliases(TrackerIntake):
        _, kind, default, rule = row_of(section, f"`{alias}`")
        assert kind and default and rule, alias
    assert row_of(section, "`maxSessionsPerPoll`")[2] == "`10`"


def test_every_project_field_has_a_row_with_its_rule(config: str) -> None:
    # GIVEN the Project section
    section = section_of(config, "project")
    # THEN each field a project is created or updated with has a row with a rule, and says which body has it
    for alias in dict.fromkeys(aliases(NewProject) + aliases(ConfigUpdate)):
        _, kind, default, rule, carried = row_of(section, f"`{alias}`")
        assert kind and default and rule and carried, alias
    assert {"id", "name", "gitOrigin", "trackerIntake", "version"} <= set(aliases(NewProject) + aliases(ConfigUpdate))


def test_every_config_field_carries_its_rule_as_its_description() -> None:
    # GIVEN the models the API validates a project's config with
    # THEN every field has a description (the OpenAPI document publishes it, and the page shows it)
    for model in (TrackerIntake, NewProject, ConfigUpdate):
        assert [name for name, info in model.model_fields.items() if not info.description] == [], model.__name__


def test_the_git_origin_forms_listed_are_those_a_new_project_accepts(config: str) -> None:
    # GIVEN the gitOrigin forms the page lists
    section = section_of(config, "gitorigin-forms")
    for form in GIT_ORIGIN_FORMS:
        assert f"- `{form}`" in section
        # WHEN each is written out, with and without the optional suffix
        for origin in {form.replace("(.git)", ""), form.replace("(.git)", ".git")}:
            remote = origin.replace("owner/name", "acme/app")
            # THEN a new project takes it, and intake polls acme/app
            assert NewProject.model_validate({"id": "p", "gitOrigin": remote}).git_origin == remote
            assert repo_from_git_origin(remote) == "acme/app"


# --- the template page -----------------------------------------------------------------------


def test_every_parameter_output_and_alarm_has_a_row_with_its_description(template: str) -> None:
    # GIVEN template.yaml
    stack = load_template()
    alarms = {k: v["Properties"] for k, v in stack["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) >= 10
    # THEN each parameter, output and alarm is a row of its section, its description in the last cell
    for section, items, key in (
        ("parameters", stack["Parameters"], "Description"),
        ("outputs", stack["Outputs"], "Description"),
        ("alarms", alarms, "AlarmDescription"),
    ):
        for name, item in items.items():
            assert item.get(key), f"{name} has no {key} in template.yaml"
            assert row_of(section_of(template, section), f"`{name}`")[-1] == cell(str(item[key])), name


def test_an_alarm_s_row_says_what_it_watches_and_when_it_fires(template: str) -> None:
    # GIVEN the alarm on slow pickups (an extended statistic over several periods)
    _, metric, fires, _ = row_of(section_of(template, "alarms"), "`PickupSlowAlarm`")
    # THEN its metric, namespace and threshold are read from its properties
    assert "`PickupSeconds` in `TrackerIntake`" in metric
    assert fires.startswith("p95 > 300 over 300 s, 3 of 3 periods")


def test_the_catalog_explains_exactly_the_metrics_the_code_emits() -> None:
    # GIVEN the metric names the functions' code emits, and the catalog of their meanings
    emitted = {metric.name for metric in emitted_metrics()}
    # THEN each emitted metric is explained, and each explained metric is emitted
    assert emitted - set(METRICS) == set(), "emitted but not in tracker_intake/metrics_catalog.py"
    assert set(METRICS) - emitted == set(), "in the catalog but emitted nowhere"
    assert all(meaning.strip() for meaning in METRICS.values())


def test_every_emitted_metric_is_on_the_page_with_its_meaning_and_function(template: str) -> None:
    # GIVEN the metrics section and the namespace the functions publish in
    section = section_of(template, "metrics")
    assert "`TrackerIntake`" in section and "`service=tracker-intake`" in section
    # THEN each emitted metric is a row with its unit, its function and its meaning
    for metric in emitted_metrics():
        _, unit, function, meaning, _ = row_of(section, f"`{metric.name}`")
        assert unit == metric.unit and function and meaning == cell(METRICS[metric.name]), metric.name
    assert row_of(section, "`PickupSeconds`")[1:3] == ["Seconds", "launcher"]
    assert row_of(section, "`PollsDispatched`")[2] == "dispatcher"


def test_the_scan_reads_every_form_a_metric_name_takes(tmp_path: Path) -> None:
    # GIVEN a module emitting metrics in each form the scan knows, and a function calling it
    (tmp_path / "functions" / "worker").mkdir(parents=True)
    (tmp_path / "functions" / "worker" / "app.py").write_text("def handler():\n    record(metrics)\n")
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "emit.py").write_text(
        "NAMES = {1: 'FromDict', 2: 'AlsoFromDict'}\n"
        "def record(metrics, x=0):\n"
        "    metrics.add_metric('Plain', MetricUnit.Count, 1)\n"
        "    metrics.add_metric(name='Either' if x else 'Or', unit=MetricUnit.Seconds, value=1)\n"
        "    name = 'Local'\n"
        "    metrics.add_metric(name, MetricUnit.Count, 1)\n"
        "    metrics.add_metric(NAMES[x], MetricUnit.Count, 1)\n"
        "    with single_metric(name='Single', unit=MetricUnit.Count, value=1): pass\n"
    )
    # WHEN it is scanned
    found = emitted_metrics((tmp_path / "layer", tmp_path / "functions"), tmp_path / "functions")
    # THEN every name is found, with its unit and the function that calls its recorder
    names = ["Plain", "Either", "Or", "Local", "FromDict", "AlsoFromDict", "Single"]
    assert [m.name for m in found] == names
    assert {m.functions for m in found} == {("worker",)}
    assert [m.unit for m in found if m.name == "Or"] == ["Seconds"]


def test_a_metric_name_the_scan_cannot_read_stops_it_saying_where(tmp_path: Path) -> None:
    # GIVEN a metric whose name is computed
    (tmp_path / "emit.py").write_text("def record(metrics):\n    metrics.add_metric(pick(), 'Count', 1)\n")
    # WHEN it is scanned THEN the scan refuses, naming the line, rather than leaving the metric out
    with pytest.raises(UnreadableMetric, match=r"emit\.py:2"):
        emitted_metrics((tmp_path,), tmp_path / "functions")


# --- the generator -----------------------------------------------------------------------------


def test_importing_the_generator_writes_nothing(tmp_path: Path) -> None:
    # GIVEN an empty directory with no mkdocs.yml
    # WHEN the generator module is imported there
    imported = subprocess.run(
        [sys.executable, "-c", "import intake_dev.docs_reference"], cwd=tmp_path, capture_output=True, text=True
    )
    # THEN it succeeds and writes no file (writing through mkdocs-gen-files would look for mkdocs.yml)
    assert imported.returncode == 0, imported.stderr
    assert list(tmp_path.iterdir()) == []


def test_mkdocs_gen_files_running_the_script_adds_the_four_pages_to_the_build(tmp_path: Path) -> None:
    # GIVEN a build's file editor, as the gen-files plugin sets it up
    config = cast(Any, {"site_dir": str(tmp_path / "site"), "use_directory_urls": True})
    with FilesEditor(Files([]), config, str(tmp_path / "docs")) as editor:
        # WHEN the script runs as the plugin runs it (runpy.run_path)
        runpy.run_path(str(SCRIPT))
        generated = {file.src_uri for file in editor.files}
    # THEN the four pages the nav names are in the build, each saying it is generated
    nav = {"reference/cli.md", "reference/api.md", "reference/config.md", "reference/template.md"}
    assert generated == set(PAGES) == nav
    for name in PAGES:
        text = (tmp_path / "docs" / name).read_text(encoding="utf-8")
        assert text.startswith("# ") and "generated from" in text and "dev/intake_dev/docs_reference.py" in text

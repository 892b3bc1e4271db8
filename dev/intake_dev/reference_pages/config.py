"""The project config's page, from the pydantic models the API validates bodies with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial

from pydantic import BaseModel

from tracker_intake.api.models import ConfigUpdate
from tracker_intake.domain.config import GIT_ORIGIN_FORMS, NewProject, TrackerIntake

from .markdown import code, generated, heading, page, prose, table
from .schemas import FieldText, Schema, fields

# The bodies a project's fields arrive in, and how people send each.
PROJECT_BODIES: tuple[tuple[type[BaseModel], str], ...] = (
    (NewProject, "[POST /projects](api.md#post-projects)"),
    (ConfigUpdate, "[PUT /projects/{id}/config](api.md#put-projects-id-config)"),
)


def config_page() -> str:
    return page(
        "# Project config\n",
        generated(
            "the pydantic models the config API validates with (`NewProject`, `ConfigUpdate` and `TrackerIntake`, "
            "in `tracker_intake.domain.config` and `tracker_intake.api.models`)"
        ),
        "A project is created with [`POST /projects`](api.md#post-projects) "
        "([`intake project create`](cli.md#intake-project-create)), and its config replaced whole with "
        "[`PUT /projects/{id}/config`](api.md#put-projects-id-config) "
        "([`intake project set-config`](cli.md#intake-project-set-config), which reads the config and changes "
        "only the flags given). JSON field names are camelCase; a field not listed here is refused. A body that "
        "breaks a rule is refused with 422, naming the field, and nothing is written.",
        heading(2, "Project", "project"),
        _project_table(),
        heading(3, "The gitOrigin forms", "gitorigin-forms"),
        "The remotes intake derives `owner/name` from; any other is refused when a project is created.\n\n"
        + "".join(f"- {code(form)}\n" for form in GIT_ORIGIN_FORMS),
        heading(2, "trackerIntake", "trackerintake"),
        prose(str(TrackerIntake.model_json_schema().get("description", ""))),
        _table(_fields(TrackerIntake)),
    )


def _project_table() -> str:
    """The fields of every body a project arrives in, once each, with the bodies that carry it (and
    the rule of each body, where they differ: a new project's gitOrigin must be a GitHub remote)."""
    rows: dict[str, FieldText] = {}
    rules: dict[str, dict[str, str]] = {}
    for model, route in PROJECT_BODIES:
        for field in _fields(model):
            rows.setdefault(field.name, field)
            rules.setdefault(field.name, {})[route] = field.description
    for name, by_route in rules.items():
        if len(set(by_route.values())) > 1:
            rows[name] = replace(rows[name], description="<br>".join(f"{r}: {d}" for r, d in by_route.items()))
    # Required first: a project's id before what it is configured with.
    ordered = sorted(rows.values(), key=lambda field: not field.required)
    return _table(ordered, {name: list(by_route) for name, by_route in rules.items()})


def _table(rows: list[FieldText], carried: Mapping[str, list[str]] | None = None) -> str:
    headers = ["field", "type", "default", "rule"] + (["in"] if carried else [])
    return table(
        headers,
        (
            [code(f.name), f.type, f.default or ("required" if f.required else ""), f.description]
            + ([", ".join(carried[f.name])] if carried else [])
            for f in rows
        ),
    )


def _fields(model: type[BaseModel]) -> list[FieldText]:
    """The model's fields; the rule of each is its description (the API page has the patterns)."""
    schema = model.model_json_schema(by_alias=True)
    return fields(schema, partial(_named, schema.get("$defs", {})), lambda _field, _regex: "")


def _named(definitions: Mapping[str, Schema], name: str) -> str:
    """A referenced schema: `trackerIntake` has its own section, and an enum is its values."""
    if name == TrackerIntake.__name__:
        return "[`trackerIntake`](#trackerintake)"
    values = definitions.get(name, {}).get("enum")
    return " or ".join(code(str(value)) for value in values) if values else code(name)

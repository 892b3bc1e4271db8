"""The config API's page, from the OpenAPI document the API serves (`GET /openapi.json`)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from intake_dev.openapi import document

from .markdown import cell, code, generated, heading, page, prose, table
from .schemas import FieldText, Schema, fields, limits_text, ref_name, type_text

METHODS = ("get", "post", "put", "patch", "delete")
# A pattern longer than this is shown under its schema's table, not in a cell.
LONG_PATTERN = 80
SIGV4 = "awsSigv4"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: Mapping[str, Any]

    @property
    def title(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def anchor(self) -> str:
        return operation_anchor(self.method, self.path)

    @property
    def tag(self) -> str:
        return str((self.spec.get("tags") or ["other"])[0])


def operation_anchor(method: str, path: str) -> str:
    """`PUT /projects/{id}/config` -> `put-projects-id-config`."""
    return "-".join([method, *re.findall(r"[A-Za-z0-9]+", path)]).lower()


def schema_anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def link(name: str) -> str:
    return f"[{code(name)}](#{schema_anchor(name)})"


def operations(doc: Schema) -> list[Operation]:
    """Every operation, grouped by tag (in the order the document first names them), then by path."""
    found = [
        Operation(method, path, spec)
        for path, methods in doc.get("paths", {}).items()
        for method, spec in methods.items()
        if method in METHODS
    ]
    tags = list(dict.fromkeys(op.tag for op in found))
    return sorted(found, key=lambda op: (tags.index(op.tag), op.path, METHODS.index(op.method)))


def api_page(doc: Schema | None = None) -> str:
    doc = document() if doc is None else doc
    ops = operations(doc)
    schemas: Mapping[str, Schema] = doc.get("components", {}).get("schemas", {})
    return page(
        "# The config API\n",
        generated("the OpenAPI document the API serves (`GET /openapi.json`)"),
        _intro(doc, ops, schemas),
        table(["operation", "what it does"], ([f"[{op.title}](#{op.anchor})", cell(_summary(op))] for op in ops)),
        *_tag_sections(ops, doc.get("components", {})),
        _schemas_section(schemas, referenced_schemas(ops, schemas)),
    )


def _summary(op: Operation) -> str:
    return str(op.spec.get("summary", ""))


def _intro(doc: Schema, ops: list[Operation], schemas: Mapping[str, Schema]) -> str:
    schemes: Mapping[str, Schema] = doc.get("components", {}).get("securitySchemes", {})
    default = [name for requirement in doc.get("security", []) for name in requirement]
    own = [op for op in ops if "security" in op.spec]
    stage = (doc.get("servers") or [{"url": "/"}])[0]["url"]
    refusal = _refusal_schema(ops)
    auth = f"Every operation needs {' and '.join(_scheme_text(schemes[name]) for name in default)}"
    exceptions = [
        f"[{code(op.title)}](#{op.anchor}), which carries the "
        + " and ".join(code(schemes[name]["name"]) for name in _own_schemes(op))
        + " headers instead"
        for op in own
    ]
    return page(
        "The config API is `ApiFunction` behind API Gateway. Its base URL is the stack output `ApiUrl` "
        f"([Outputs](template.md#outputs)), which ends in the stage ({code(stage)}): the paths below go after it.",
        f"**Authentication.** {auth}" + (f", except {'; '.join(exceptions)}." if exceptions else ".") + " The "
        "[`intake` CLI](cli.md) signs its requests. The local stack ([`intake local`](cli.md#intake-local)) "
        "serves the same API over plain HTTP and checks no SigV4 signature (a status report's signature, it does).",
        "**JSON.** Bodies, in and out, are JSON (`application/json`) with camelCase field names; a body with a "
        "field its schema does not have is refused.",
        f"**Refusals.** Every refusal answers {code(_shape(schemas, refusal))} ({link(refusal)}): a sentence, and "
        "each field at fault with the reason. A refused request writes nothing. Each operation lists the "
        "statuses it can answer.",
    )


def _scheme_text(scheme: Schema) -> str:
    if scheme.get("x-amazon-apigateway-authtype") == SIGV4:
        return f"IAM auth: a SigV4 signature (service `execute-api`) in the {code(scheme['name'])} header"
    return f"the {code(scheme['name'])} header"


def _own_schemes(op: Operation) -> list[str]:
    """The security schemes an operation requires instead of the document's."""
    return [name for requirement in op.spec.get("security", []) for name in requirement]


def _own_security(op: Operation, schemes: Mapping[str, Schema]) -> str:
    names = _own_schemes(op)
    if not names:
        return ""
    rows = [
        [code(schemes[n]["name"]), str(schemes[n]["in"]), cell(str(schemes[n].get("description", "")))] for n in names
    ]
    return "**Authentication**: not SigV4, but these together\n\n" + table(["header", "in", "what it holds"], rows)


def _refusal_schema(ops: list[Operation]) -> str:
    """The schema every refusal's body has (ErrorBody)."""
    names = {
        ref_name(media.get("schema", {}))
        for op in ops
        for status, response in op.spec.get("responses", {}).items()
        if status.startswith(("4", "5"))
        for media in response.get("content", {}).values()
    }
    if len(names) != 1 or None in names:
        raise ValueError(f"the refusals do not share one body schema: {sorted(map(str, names))}")
    return str(names.pop())


def _shape(schemas: Mapping[str, Schema], name: str) -> str:
    """A schema's field names, nested as the JSON nests them: `{"message", "errors": [{"field", "reason"}]}`."""
    parts = []
    for field, prop in schemas[name].get("properties", {}).items():
        listed = prop.get("type") == "array"
        inner = ref_name(prop.get("items", {}) if listed else prop)
        if inner and "properties" in schemas[inner]:
            nested = _shape(schemas, inner)
            parts.append(f'"{field}": [{nested}]' if listed else f'"{field}": {nested}')
        else:
            parts.append(f'"{field}"')
    return "{" + ", ".join(parts) + "}"


def _tag_sections(ops: list[Operation], components: Schema) -> Iterator[str]:
    tag = None
    for op in ops:
        if op.tag != tag:
            tag = op.tag
            yield heading(2, tag.capitalize(), f"tag-{tag}")
        yield _operation(op, components)


def _operation(op: Operation, components: Schema) -> str:
    spec = op.spec
    return page(
        heading(3, op.title, op.anchor),
        f"**{cell(_summary(op))}**" if _summary(op) else "",
        prose(str(spec.get("description", ""))),
        _own_security(op, components.get("securitySchemes", {})),
        _parameters(spec),
        _request_body(spec, components.get("schemas", {})),
        _responses(spec),
    )


def _inline_pattern(regex: str) -> str:
    return f"pattern {code(regex)}"


def _parameters(spec: Schema) -> str:
    parameters = spec.get("parameters", [])
    if not parameters:
        return ""
    rows = [
        [
            code(p["name"]),
            str(p["in"]),
            type_text(p.get("schema", {}), link),
            "yes" if p.get("required") else "no",
            limits_text(p.get("schema", {}), _inline_pattern),
            cell(str(p.get("description") or p.get("schema", {}).get("description", ""))),
        ]
        for p in parameters
    ]
    return "**Parameters**\n\n" + table(["parameter", "in", "type", "required", "rule", "description"], rows)


def _request_body(spec: Schema, schemas: Mapping[str, Schema]) -> str:
    body = spec.get("requestBody")
    if not body:
        return ""
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    name = ref_name(schema)
    need = "required" if body.get("required") else "optional: an empty body is the same as `{}`"
    head = f"**Request body** ({need}): {link(name) if name else type_text(schema, link)}\n"
    if name is None:
        return head

    def pattern(_field: str, regex: str) -> str:
        return _inline_pattern(regex) if len(regex) <= LONG_PATTERN else f"a pattern: see {link(name)}"

    return page(head, _fields_table(fields(schemas[name], link, pattern)))


def _fields_table(rows: list[FieldText]) -> str:
    return table(
        ["field", "type", "required", "default", "rule", "description"],
        ([code(f.name), f.type, "yes" if f.required else "no", f.default, f.limits, f.description] for f in rows),
    )


def _responses(spec: Schema) -> str:
    responses: Mapping[str, Schema] = spec.get("responses", {})
    rows = [
        [code(status), cell(str(responses[status].get("description", ""))), _response_body(responses[status])]
        for status in sorted(responses, key=lambda s: (not s.isdigit(), s))
    ]
    return "**Responses**\n\n" + table(["status", "meaning", "body"], rows)


def _response_body(response: Schema) -> str:
    media = response.get("content", {}).get("application/json")
    return type_text(media.get("schema", {}), link) if media else ""


def referenced_schemas(ops: list[Operation], schemas: Mapping[str, Schema]) -> set[str]:
    """The component schemas the operations' bodies name, and those they name in turn."""
    found: set[str] = set()
    waiting = [name for op in ops for name in _refs(op.spec)]
    while waiting:
        name = waiting.pop()
        if name not in found and name in schemas:
            found.add(name)
            waiting.extend(_refs(schemas[name]))
    return found


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        name = ref_name(value)
        if name:
            yield name
        for inner in value.values():
            yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def _schemas_section(schemas: Mapping[str, Schema], names: set[str]) -> str:
    return page(
        heading(2, "Schemas", "schemas"),
        "The bodies the operations read and answer, and the schemas those name.",
        *(_schema(name, schemas[name]) for name in sorted(names)),
    )


def _schema(name: str, schema: Schema) -> str:
    long_patterns: dict[str, str] = {}

    def pattern(field: str, regex: str) -> str:
        if len(regex) <= LONG_PATTERN:
            return _inline_pattern(regex)
        long_patterns[field] = regex
        return "a pattern (below)"

    body = ""
    if "enum" in schema:
        body = "One of " + ", ".join(code(str(value)) for value in schema["enum"]) + "."
    elif "properties" in schema:
        body = _fields_table(fields(schema, link, pattern))
    return page(
        heading(3, name, schema_anchor(name)),
        prose(str(schema.get("description", ""))),
        body,
        _long_patterns(name, long_patterns),
    )


def _long_patterns(name: str, patterns: Mapping[str, str]) -> str:
    if not patterns:
        return ""
    lines = [f'??? note "The patterns of {name}"']
    for field, regex in patterns.items():
        lines += ["", f"    {code(field)}:", "", "    ```text", f"    {regex}", "    ```"]
    return "\n".join(lines) + "\n"

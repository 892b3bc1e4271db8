"""JSON Schema in words, for the API and config pages: a field's type, limits and default."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from .markdown import cell, code

Schema = Mapping[str, Any]
# How a page names a referenced schema (a link to its section, or its name).
Link = Callable[[str], str]
# How a page shows a field's pattern: (field, pattern) -> Markdown.
Pattern = Callable[[str, str], str]
_NULL = {"type": "null"}


@dataclass(frozen=True)
class FieldText:
    """One property of an object schema, each part as Markdown for a table cell."""

    name: str
    type: str
    required: bool
    default: str
    limits: str
    description: str


def ref_name(schema: Schema) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _options(schema: Schema) -> tuple[list[Schema], bool]:
    """The schema's alternatives other than null, and whether null is one of them."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return [schema], False
    rest = [option for option in options if option != _NULL]
    return rest, len(rest) != len(options)


def type_text(schema: Schema, link: Link) -> str:
    options, nullable = _options(schema)
    text = " or ".join(_one_type(option, link) for option in options)
    return f"{text} or null" if nullable else text


def _one_type(schema: Schema, link: Link) -> str:
    name = ref_name(schema)
    kind = schema.get("type")
    if name:
        return link(name)
    if "enum" in schema:
        return " or ".join(code(str(value)) for value in schema["enum"])
    if kind == "array":
        return f"list of {type_text(schema.get('items', {}), link)}"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind and "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind or "any")


def limits_text(schema: Schema, pattern: Callable[[str], str]) -> str:
    """The schema's bounds and pattern in words (`1-64 characters; pattern ...`)."""
    options, _ = _options(schema)
    return "; ".join(piece for option in options for piece in _limits(option, pattern))


def _limits(schema: Schema, pattern: Callable[[str], str]) -> list[str]:
    pieces = [
        _range(schema.get("minLength"), schema.get("maxLength"), " characters"),
        _range(schema.get("minimum"), schema.get("maximum"), ""),
        _range(schema.get("minItems"), schema.get("maxItems"), " items"),
        "unique" if schema.get("uniqueItems") else "",
        pattern(schema["pattern"]) if "pattern" in schema else "",
    ]
    items = schema.get("items")
    if isinstance(items, Mapping) and "$ref" not in items:
        each = _limits(items, pattern)
        pieces.append(f"each: {', '.join(each)}" if each else "")
    return [piece for piece in pieces if piece]


def _range(low: Any, high: Any, unit: str) -> str:
    low, high = _number(low), _number(high)
    if low is not None and high is not None:
        return f"{low}-{high}{unit}"
    if low is not None:
        return f"at least {low}{unit}"
    return f"at most {high}{unit}" if high is not None else ""


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def default_text(schema: Schema) -> str:
    return code(json.dumps(schema["default"], ensure_ascii=False)) if "default" in schema else ""


def _description(schema: Schema) -> str:
    """The schema's description, or (for `X | None`) the one its non-null alternative carries."""
    options, _ = _options(schema)
    found = [str(s["description"]) for s in [schema, *options] if s.get("description")]
    return found[0] if found else ""


def fields(schema: Schema, link: Link, pattern: Pattern) -> list[FieldText]:
    """The properties of an object schema, in its order."""
    required = set(schema.get("required", []))
    return [
        FieldText(
            name=name,
            type=type_text(prop, link),
            required=name in required,
            default=default_text(prop),
            limits=limits_text(prop, partial(pattern, name)),
            description=cell(_description(prop)),
        )
        for name, prop in schema.get("properties", {}).items()
    ]

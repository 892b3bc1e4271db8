"""A query's complexity as Linear computes it (https://linear.app/developers/rate-limiting,
"Understanding query complexity"): "Each property is 0.1 point, each object is 1 point and any
connection multiplies its children's points based on the given pagination argument, or the
default 50. The score is then rounded up to the nearest integer." The page's own examples hold:
`user(id) { name }` is 2, `user { createdIssues { nodes { id title createdAt } } }` is 66, and 14
with `first: 10`.

Here a field whose type is an object counts 1 plus its children; a connection (a `...Connection`
type) counts its children times its `first` (or `last`, else 50) and nothing itself; any other
field (a scalar or an enum, `__typename` included) counts 0.1. Fragments count as the fields
they bring. Points are kept in tenths so the sum is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

DEFAULT_PAGE = 50  # "the default 50" (https://linear.app/developers/pagination)
PROPERTY, OBJECT = 1, 10  # in tenths of a point


def complexity(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    """The operation's complexity, rounded up to a whole point."""
    root = schema.mutation_type if operation.operation == OperationType.MUTATION else schema.query_type
    assert root is not None
    tenths = _Counter(schema, fragments, variables).selection(root, operation.selection_set)
    return -(-tenths // 10)


class _Counter:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node)
            elif isinstance(node, InlineFragmentNode):
                total += self.selection(self._condition(parent, node.type_condition), node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                total += self.selection(self._condition(parent, fragment.type_condition), fragment.selection_set)
        return total

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> int:
        definition = parent.fields.get(node.name.value) if isinstance(parent, GraphQLObjectType) else None
        if definition is None or node.selection_set is None:
            return PROPERTY  # a scalar, an enum, __typename
        named = get_named_type(definition.type)
        children = self.selection(named, node.selection_set)
        if named.name.endswith("Connection"):
            return children * self._page_size(node)
        return OBJECT + children

    def _page_size(self, node: FieldNode) -> int:
        for argument in node.arguments:
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode) and self.variables.get(value.name.value) is not None:
                return int(self.variables[value.name.value])
        return DEFAULT_PAGE

    def _condition(self, parent: GraphQLNamedType, condition: Any) -> GraphQLNamedType:
        if condition is None:
            return parent
        found = self.schema.get_type(condition.name.value)
        return found if found is not None else parent

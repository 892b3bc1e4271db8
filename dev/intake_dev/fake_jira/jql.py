"""The JQL subset the adapter sends: a tokenizer, a recursive-descent parser and the checks Jira makes.

Grammar (https://support.atlassian.com/jira-software-cloud/docs/use-advanced-search-with-jira-query-language-jql/,
".../jql-keywords/", ".../jql-operators/"):

    query    := [or_expr] [ORDER BY sort ("," sort)*]
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr (AND not_expr)*
    not_expr := NOT not_expr | "(" or_expr ")" | clause
    clause   := field op value
    op       := = | != | < | > | <= | >= | ~ | !~ | IN | NOT IN | IS | IS NOT
    value    := string | word | "(" value ("," value)* ")" | EMPTY | NULL
    sort     := field [ASC | DESC]

Keywords are case-insensitive; a string is quoted with `"` or `'` (backslash escapes). The stand-in
parses every operator Jira has, then checks each clause against the fields it serves
(`fields.FIELDS`) the way Jira does: an unknown field, an operator the field does not support, a
value that does not exist, or a syntax error is a `JqlError`, which the server answers with a 400
in Jira's shape. The messages are the ones Jira gives (as Jira prints them to API clients).
"""

from __future__ import annotations

from dataclasses import dataclass

OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "~", "!~", "IN", "NOT IN", "IS", "IS NOT")
_VALID_OPERATORS = "'=', '!=', '~', '<=', '>=', '<', '>', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
_WORD_EXTRA = set("_.-@:/+*$#")
_RESERVED = {"AND", "OR", "NOT", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC", "IN", "IS"}


class JqlError(ValueError):
    """A query Jira refuses with 400 (`errorMessages`)."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "op", "(", ")", ",", "end"
    text: str
    position: int  # 1-based character, as Jira reports it

    def keyword(self) -> str | None:
        return self.text.upper() if self.kind == "word" and self.text.upper() in _RESERVED else None


@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool

    @property
    def empty(self) -> bool:
        return not self.quoted and self.text.upper() in ("EMPTY", "NULL")


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    values: tuple[Value, ...]
    is_list: bool
    position: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Clause | Not | And | Or


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order_by: tuple[Sort, ...]


# --- tokenizer -------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "(),":
            tokens.append(Token(char, char, i + 1))
            i += 1
        elif char in "\"'":
            token, i = _string(text, i)
            tokens.append(token)
        elif char in "=!<>~":
            token, i = _operator(text, i)
            tokens.append(token)
        elif char.isalnum() or char in _WORD_EXTRA:
            start = i
            while i < len(text) and (text[i].isalnum() or text[i] in _WORD_EXTRA):
                i += 1
            tokens.append(Token("word", text[start:i], start + 1))
        else:
            raise JqlError(f"Error in the JQL Query: The character '{char}' is a reserved JQL character. {_at(i + 1)}")
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    quote, chars, i = text[start], [], start + 1
    while i < len(text) and text[i] != quote:
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        chars.append(text[i])
        i += 1
    if i >= len(text):
        raise JqlError(f"Error in the JQL Query: The quoted string has not been completed. {_at(start + 1)}")
    return Token("string", "".join(chars), start + 1), i + 1


def _operator(text: str, start: int) -> tuple[Token, int]:
    two = text[start : start + 2]
    if two in ("!=", "<=", ">=", "!~"):
        return Token("op", two, start + 1), start + 2
    if text[start] == "!":
        raise JqlError(f"Error in the JQL Query: The character '!' is a reserved JQL character. {_at(start + 1)}")
    return Token("op", text[start], start + 1), start + 1


def _at(position: int) -> str:
    return f"(line 1, character {position})"


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def query(self) -> Query:
        where: Node | None = None
        if self.peek().kind != "end" and self.peek().keyword() != "ORDER":
            where = self.or_expr()
        order_by = self.order_by() if self.peek().keyword() == "ORDER" else ()
        if self.peek().kind != "end":
            token = self.peek()
            raise JqlError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{token.text}'. {_at(token.position)}"
            )
        return Query(where, order_by)

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.peek().keyword() == "OR":
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.peek().keyword() == "AND":
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expr(self) -> Node:
        token = self.peek()
        if token.keyword() == "NOT":
            self.take()
            return Not(self.not_expr())
        if token.kind == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")", "')'")
            return inner
        return self.clause()

    def clause(self) -> Clause:
        token = self.take()
        if token.kind not in ("word", "string") or token.keyword() is not None:
            raise JqlError(
                f"Error in the JQL Query: Expecting a field name but got '{token.text}'. {_at(token.position)}"
            )
        operator = self.operator()
        values, is_list = self.operand(operator)
        return Clause(token.text, operator, values, is_list, token.position)

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op":
            return token.text
        keyword = token.text.upper() if token.kind == "word" else ""
        if keyword == "IN":
            return "IN"
        if keyword in ("IS", "NOT"):
            follow = self.peek()
            wanted = "NOT" if keyword == "IS" else "IN"
            if follow.kind == "word" and follow.text.upper() == wanted:
                self.take()
                return f"{keyword} {wanted}"
            if keyword == "IS":
                return "IS"
        raise JqlError(
            f"Error in the JQL Query: Expecting operator but got '{token.text}'. "
            f"The valid operators are {_VALID_OPERATORS}. {_at(token.position)}"
        )

    def operand(self, operator: str) -> tuple[tuple[Value, ...], bool]:
        if self.peek().kind == "(":
            self.take()
            values = [self.value()]
            while self.peek().kind == ",":
                self.take()
                values.append(self.value())
            self.expect(")", "')'")
            return tuple(values), True
        return (self.value(),), False

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return Value(token.text, True)
        if token.kind == "word" and token.keyword() in (None, "EMPTY", "NULL"):
            if self.peek().kind == "(":
                raise JqlError(f"Error in the JQL Query: the stand-in serves no JQL functions ('{token.text}()').")
            return Value(token.text, False)
        raise JqlError(
            "Error in the JQL Query: Expecting either a value, list or function but got "
            f"'{token.text}'. {_at(token.position)}"
        )

    def order_by(self) -> tuple[Sort, ...]:
        self.take()
        by = self.take()
        if by.keyword() != "BY":
            raise JqlError(f"Error in the JQL Query: Expecting 'BY' but got '{by.text}'. {_at(by.position)}")
        sorts = [self.sort()]
        while self.peek().kind == ",":
            self.take()
            sorts.append(self.sort())
        return tuple(sorts)

    def sort(self) -> Sort:
        token = self.take()
        if token.kind not in ("word", "string") or token.keyword() is not None:
            raise JqlError(
                f"Error in the JQL Query: Expecting a field name but got '{token.text}'. {_at(token.position)}"
            )
        direction = self.peek().keyword()
        if direction in ("ASC", "DESC"):
            self.take()
        return Sort(token.text, direction == "DESC")

    def expect(self, kind: str, shown: str) -> None:
        token = self.take()
        if token.kind != kind:
            got = token.text or "end of query"
            raise JqlError(f"Error in the JQL Query: Expecting {shown} but got '{got}'. {_at(token.position)}")


def parse(text: str) -> Query:
    """The query as a tree, or `JqlError` with Jira's message."""
    return _Parser(tokenize(text)).query()

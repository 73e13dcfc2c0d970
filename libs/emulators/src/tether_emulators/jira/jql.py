"""The subset of JQL the emulator reads: clauses joined by ``AND``, then ``ORDER BY``.

A clause is ``field op value`` or ``field [NOT] IN (v1, v2)``; ``op`` is one of ``=``, ``!=``,
``>``, ``>=``, ``<``, ``<=``. Values are bare words or quoted strings. ``OR``, ``NOT`` before a
clause, parentheses and functions are refused as not supported (a 400, worded here). The
fields: ``project``, ``issuekey``/``key``, ``issuetype``/``type``, ``status``, ``reporter``,
``created``, ``updated`` and ``issue.property[<key>].<path>``
(https://support.atlassian.com/jira-software-cloud/docs/jql-fields/). Matching is ``match.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tether_emulators.jira.errors import JiraError

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in")
_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|>|<|~)"""
    r"""|(?P<punct>[(),])|(?P<word>[^\s"'(),=!<>~]+))"""
)
_PROPERTY = re.compile(r"issue\.property\[(?P<key>[^\]]+)\](?:\.(?P<path>[\w.]+))?", re.I)
_ALIASES = {"key": "issuekey", "id": "issuekey", "type": "issuetype"}


@dataclass(frozen=True)
class Clause:
    """``field op values``: ``field`` lower-cased and unaliased (``issue.property[k].p`` keeps
    its spelling); ``values`` has one item except for ``in``/``not in``."""

    field: str
    op: str
    values: tuple[str, ...]

    def property_path(self) -> tuple[str, list[str]] | None:
        """``(key, path)`` of an ``issue.property[key].path`` clause, else None."""
        found = _PROPERTY.fullmatch(self.field)
        if found is None:
            return None
        path = found.group("path")
        return found.group("key"), path.split(".") if path else []


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)


def _invalid(message: str) -> JiraError:
    return JiraError(400, f"Error in the JQL Query: {message}")


def _tokens(jql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(jql.rstrip()):
        found = _TOKEN.match(jql, position)
        if found is None or found.end() == position:
            raise _invalid(f"The character '{jql[position]}' is a reserved JQL character.")
        kind = str(found.lastgroup)
        text = found.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append((kind, text))
        position = found.end()
    return tokens


def parse(jql: str) -> Query:
    """The query ``jql`` means; a 400 in Jira's words when it does not parse."""
    tokens = _tokens(jql)
    words = [text.lower() if kind == "word" else "" for kind, text in tokens]
    order_at = next((i for i, w in enumerate(words) if w == "order"), len(tokens))
    clauses = _clauses(tokens[:order_at])
    order_by = _order_by(tokens[order_at:]) if order_at < len(tokens) else ()
    return Query(tuple(clauses), order_by)


def _clauses(tokens: list[tuple[str, str]]) -> list[Clause]:
    clauses: list[Clause] = []
    rest = tokens
    while rest:
        clause, rest = _clause(rest)
        clauses.append(clause)
        if rest:
            joiner = rest[0][1].lower()
            if joiner == "or":
                raise _invalid("OR is not supported by the emulator.")
            if joiner != "and" or len(rest) == 1:
                raise _invalid(f"Expecting either 'OR' or 'AND' but got '{rest[0][1]}'.")
            rest = rest[1:]
    return clauses


def _clause(tokens: list[tuple[str, str]]) -> tuple[Clause, list[tuple[str, str]]]:
    kind, field = tokens[0]
    if kind != "word" or field.lower() in ("not", "and", "or"):
        raise _invalid(f"Expecting a field name but got '{field}'.")
    field = _ALIASES.get(field.lower(), field.lower()) if "[" not in field else field
    if len(tokens) < 3:
        raise _invalid(f"Expecting operator and value after '{field}'.")
    op_kind, op = tokens[1]
    if op_kind == "word" and op.lower() in ("in", "not"):
        return _in_clause(field, tokens[1:])
    if op_kind != "op" or op == "~":
        raise _invalid(f"The operator '{op}' is not supported by the emulator.")
    value_kind, value = tokens[2]
    if value_kind not in ("word", "string"):
        raise _invalid(f"Expecting a value but got '{value}'.")
    return Clause(field, op, (value,)), tokens[3:]


def _in_clause(field: str, tokens: list[tuple[str, str]]) -> tuple[Clause, list[tuple[str, str]]]:
    negated = tokens[0][1].lower() == "not"
    if negated:
        tokens = tokens[1:]
        if not tokens or tokens[0][1].lower() != "in":
            raise _invalid("Expecting 'IN' after 'NOT'.")
    if len(tokens) < 2 or tokens[1] != ("punct", "("):
        raise _invalid("Expecting '(' after 'IN'.")
    values: list[str] = []
    rest = tokens[2:]
    while rest and rest[0] != ("punct", ")"):
        if rest[0][0] in ("word", "string"):
            values.append(rest[0][1])
        elif rest[0] != ("punct", ","):
            raise _invalid(f"Expecting a value but got '{rest[0][1]}'.")
        rest = rest[1:]
    if not rest or not values:
        raise _invalid("Expecting ')' to close the list of values.")
    return Clause(field, "not in" if negated else "in", tuple(values)), rest[1:]


def _order_by(tokens: list[tuple[str, str]]) -> tuple[tuple[str, bool], ...]:
    if len(tokens) < 3 or tokens[1][1].lower() != "by":
        raise _invalid("Expecting 'BY' after 'ORDER'.")
    order: list[tuple[str, bool]] = []
    rest = tokens[2:]
    while rest:
        field = _ALIASES.get(rest[0][1].lower(), rest[0][1].lower())
        descending, rest = False, rest[1:]
        if rest and rest[0][1].lower() in ("asc", "desc"):
            descending, rest = rest[0][1].lower() == "desc", rest[1:]
        order.append((field, descending))
        if rest and rest[0] == ("punct", ","):
            rest = rest[1:]
        elif rest:
            raise _invalid(f"Expecting ',' but got '{rest[0][1]}'.")
    return tuple(order)

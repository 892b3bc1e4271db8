"""Regular expressions the API both enforces and publishes in its OpenAPI document.

They are written in the subset Python and ECMAScript (JSON Schema's dialect) read alike: no
inline flags, no lookbehind, no named groups, and no `\\s`, whose meaning differs between the
two (Python counts U+0085 as whitespace, ECMAScript counts U+FEFF): whitespace is spelled out.
"""

from __future__ import annotations

# Exactly the characters Python's str.isspace() and str.strip() treat as whitespace, as the
# inside of a character class.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

# GitHub logins: alphanumerics and single hyphens, no leading or trailing hyphen, <= 39 chars.
LOGIN_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
# The characters of a repository name (GitHub replaces any other with '-').
REPO_CHARS = r"[A-Za-z0-9._-]"


def schema_pattern(pattern: str) -> str:
    """The pattern as JSON Schema states it: anchored at both ends (the validators fullmatch).

    `$(?![\\s\\S])` and not `$` alone: a Python validator (`jsonschema` searches with `re`) would
    let `$` match before a trailing newline, which the API refuses. ECMAScript reads both alike.
    """
    return rf"^(?:{pattern})$(?![\s\S])"

"""Print a SAM template as SAM's transform expands it (JSON): what CloudFormation is given.

Runs in `.tools`' Python, where SAM CLI installs the translator it uses (`sam validate`).
No AWS call: managed policies are named by ARN in the template, so the loader is never asked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoLookups:
    """A managed-policy loader that fails loudly: the template must not need IAM look-ups."""

    def load(self) -> dict[str, str]:
        raise RuntimeError("the template named a managed policy by name: use its ARN")


def expand(path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    """The template at `path` as SAM expands it, for these parameter values (else the defaults)."""
    template: dict[str, Any] = yaml_parse(path.read_text())
    # As `sam package` leaves it: local code folders become S3 objects (as `sam validate` does too).
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://packaged/{properties[key]}"
    expanded: dict[str, Any] = transform(template, parameters, NoLookups())
    return expanded


def main(argv: list[str]) -> int:
    parameters = dict(arg.split("=", 1) for arg in argv[1:])
    print(json.dumps(expand(Path(argv[0]), parameters), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Write the template as SAM expands it, for checkov (`make checkov`), with its skips kept.

SAM carries a function's Metadata to the function it makes, but an API's only to its RestApi,
not to the stage it makes: the stage's skips (and their reasons) are written on the API in
template.yaml and copied here onto its stage. Nothing else is changed.
Runs in `.tools`' Python, as `sam_transform.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sam_transform import expand


def carry_stage_skips(template: dict[str, Any]) -> dict[str, Any]:
    """Each API stage gets the checkov skips of the API it deploys."""
    resources = template["Resources"]
    for stage in resources.values():
        if stage["Type"] != "AWS::ApiGateway::Stage":
            continue
        api = resources.get(stage["Properties"]["RestApiId"].get("Ref"), {})
        skips = api.get("Metadata", {}).get("checkov")
        if skips is not None:
            stage.setdefault("Metadata", {})["checkov"] = skips
    return template


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(carry_stage_skips(expand(source, {})), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

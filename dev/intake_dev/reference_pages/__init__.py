"""The reference pages of the documentation site, each built from the code it describes.

Each builder is a plain function from the code to a Markdown page (tests read them too);
dev/intake_dev/docs_reference.py writes them into the site as mkdocs builds it.
"""

from __future__ import annotations

from .api import api_page
from .cli import cli_page
from .config import config_page
from .template import template_page

__all__ = ["api_page", "cli_page", "config_page", "template_page"]

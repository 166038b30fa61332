"""The one Jinja2 environment factory for every template in duban: portal, messages and the 通报.

Autoescape is chosen by the template's name, and is on unless the name says the output is not
HTML: `*.html.j2` (and every other `.j2`) escapes, `*.txt.j2` and `*.md.j2` do not. So a new
template is safe by default and a text one must say so in its name. (Starlette's default only
escapes names ending in .html/.htm/.xml, which no duban template does.)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

# Outputs that are not HTML: e-mail subjects and text bodies, the Markdown 通报. Their own rules
# apply there (escaping.terminal, escaping.markdown), never HTML escaping. Every other name, and a
# template made from a string, escapes.
TEXT_SUFFIXES = ("txt.j2", "md.j2", "txt", "md")
autoescape_for = jinja2.select_autoescape(
    enabled_extensions=("html.j2", "htm.j2", "xml.j2", "html", "htm", "xml"),
    disabled_extensions=TEXT_SUFFIXES,
    default_for_string=True,
    default=True,
)


def environment(directories: Path | Iterable[Path], **options: Any) -> jinja2.Environment:
    """A Jinja2 environment over these template folders, escaping every HTML template."""
    folders = [directories] if isinstance(directories, Path) else list(directories)
    if "autoescape" in options:
        raise TypeError("autoescape is decided by the template's name, not by the caller")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=autoescape_for,
        **options,
    )

"""User text that stays text inside Markdown (the 通报's Markdown file and e-mail body).

A unit's problem text or a task title may hold raw HTML (`<script>`, `<!--`), link syntax
(`[点我](javascript:…)`, `<javascript:…>`) or line breaks that start a heading or a list.
Each value is put on one line, HTML-significant characters become entities (CommonMark shows
them as the characters), and the characters that open emphasis, code, links, images and table
cells are backslash-escaped. Script schemes lose their colon's meaning as well, for renderers
that turn bare URLs into links.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]|])")
_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_SCRIPT_SCHEME = re.compile(r"\b(javascript|vbscript|data|file)\s*:", re.IGNORECASE)


def markdown_text(value: object) -> str:
    """The value as inline Markdown text: shown as written, never markup, never a link."""
    text = " ".join(str(value).splitlines())
    text = _ENTITY_LIKE.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _SCRIPT_SCHEME.sub(lambda m: f"{m.group(1)}\\:", text)

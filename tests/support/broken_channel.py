"""A channel plugin with a bug in it, as a site might install one: building it raises.

Used to reach the CLI's last-resort handler through a real extension point (DUBAN_MAIL_CHANNEL),
with no patching of our own code.
"""

from __future__ import annotations


class BrokenChannel:
    name = "broken"

    def __init__(self, settings: object) -> None:
        raise RuntimeError("插件内部错误：配置字典缺少 endpoint")

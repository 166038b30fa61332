"""Settings and default configuration files.

`Settings` is the one place where duban reads its environment (prefix
`DUBAN_`) and its TOML files; everything else receives a Settings object.
"""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]

"""The `duban` command line (Typer).

main.py holds the commands; each imports what it needs inside its body so
that `duban --help` and `duban status` start fast and never import Prefect.
"""

"""Output safety: one rule per kind of output that shows user- or file-supplied text.

templates.py  the one Jinja2 environment factory (HTML templates escape, text ones do not)
cells.py      spreadsheet cells (CSV, XLSX) that never start a formula
xml.py        text the DOCX 通报 can hold (XML refuses most control characters)
terminal.py   control characters made visible before text reaches a terminal
markdown.py   user text that stays text inside the Markdown 通报
"""

"""The web portal (FastAPI + Jinja2, server-rendered, zh-CN first) and the JSON API."""

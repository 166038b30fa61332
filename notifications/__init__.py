"""Messages to units and leaders: rendering (Jinja2 templates beside it) and channels.

The outbox table lives in `models.notification`; this package is the only
code that renders messages and talks SMTP or writes .eml files.
"""

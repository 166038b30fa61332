"""Importing task-list notices (text, Word, spreadsheets) into plans, tasks and assignments."""

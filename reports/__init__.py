"""Compiling supervision results (通报): HTML, XLSX, DOCX, Markdown and charts."""

"""Data that is on every machine without a download: text from the Python standard library's own sources."""

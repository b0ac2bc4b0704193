"""Reusable Textual widgets: they take plain data and never do I/O."""

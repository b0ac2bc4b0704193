"""Textual screens and modals: they coordinate workers, sources and widgets, and hold no SQL or HTTP."""

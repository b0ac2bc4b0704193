"""Graphs of the "core" corpus project: only langgraph needed."""

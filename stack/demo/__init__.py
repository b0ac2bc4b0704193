"""The demo LangGraph project the stack serves (graphs, chat model, tool cache), its showcase runs, and a tiny model."""

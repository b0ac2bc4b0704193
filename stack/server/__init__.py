"""The LangGraph server's API: health, runs, assistants, time travel, busy threads."""

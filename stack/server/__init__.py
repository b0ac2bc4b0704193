"""The LangGraph server's API: runs, assistants, time travel, busy threads."""

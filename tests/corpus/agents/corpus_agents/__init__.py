"""Graphs of the "agents" corpus project: langchain agents, a supervisor and a swarm (requirements.txt)."""

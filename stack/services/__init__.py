"""The stack's services: Postgres, Redis, vLLM, the LangGraph server, processes and the supervisor that runs them."""

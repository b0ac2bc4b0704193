"""A `langgraph-supervisor` supervisor handing off to two `create_agent` workers, each with a tool."""

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph_supervisor import create_supervisor

from corpus_agents.scripted_model import ScriptedModel, call, last_human, last_tool


@tool
def search(query: str) -> str:
    """Search the web."""
    return f"3 results for {query}"


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def worker(tool_name: str, args_of):
    def decide(messages):
        if last_tool(messages) == tool_name:
            return AIMessage(content=f"{tool_name} says {messages[-1].content}")
        return call(tool_name, args_of(last_human(messages)), messages)
    return decide


researcher = create_agent(ScriptedModel(decide=worker("search", lambda q: {"query": q})), tools=[search],
                          name="researcher", system_prompt="You research.")
mathematician = create_agent(ScriptedModel(decide=worker("add", lambda q: {"a": len(q), "b": 2})), tools=[add],
                             name="mathematician", system_prompt="You compute.")


def supervise(messages):
    since_human = messages[[i for i, m in enumerate(messages) if m.type == "human"][-1]:]
    visited = {m.name for m in since_human if m.type == "tool" and m.name.startswith("transfer_to_")}
    if "transfer_to_researcher" not in visited:
        return call("transfer_to_researcher", {}, messages)
    if "transfer_to_mathematician" not in visited:
        return call("transfer_to_mathematician", {}, messages)
    return AIMessage(content=f"answer to {last_human(messages)!r} is ready")


graph = create_supervisor([researcher, mathematician], model=ScriptedModel(decide=supervise),
                          prompt="You route work to the researcher, then the mathematician.").compile()

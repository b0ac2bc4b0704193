"""A `langgraph-swarm` swarm: alice hands off to bob, who answers with a tool; the next turn stays with bob."""

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph_swarm import create_handoff_tool, create_swarm

from corpus_agents.scripted_model import ScriptedModel, call, last_human, last_tool


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


def alice_decides(messages):
    return call("transfer_to_bob", {}, messages)


def bob_decides(messages):
    if last_tool(messages) == "multiply":
        return AIMessage(content=f"bob: the product is {messages[-1].content}")
    return call("multiply", {"a": len(last_human(messages)), "b": 3}, messages)


alice = create_agent(ScriptedModel(decide=alice_decides),
                     tools=[create_handoff_tool(agent_name="bob", description="Hand over to bob for maths")],
                     name="alice", system_prompt="You are alice.")
bob = create_agent(ScriptedModel(decide=bob_decides), tools=[multiply], name="bob", system_prompt="You are bob.")
graph = create_swarm([alice, bob], default_active_agent="alice").compile()

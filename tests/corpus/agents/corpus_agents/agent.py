"""`langchain.agents.create_agent` with two tools; booking asks a human for approval with interrupt()."""

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.types import interrupt

from corpus_agents.scripted_model import ScriptedModel, call, last_human, last_tool


@tool
def lookup_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def book_trip(city: str) -> str:
    """Book a trip to a city, once a human approved it."""
    answer = interrupt({"action": "book_trip", "city": city})
    return f"booked {city}" if answer == "approve" else f"not booked ({answer})"


def decide(messages):
    city = last_human(messages).split()[-1]
    tool_name = last_tool(messages)
    if tool_name is None:
        return call("lookup_weather", {"city": city}, messages)
    if tool_name == "lookup_weather":
        return call("book_trip", {"city": city}, messages)
    return AIMessage(content=f"done: {messages[-1].content}")


agent = create_agent(ScriptedModel(decide=decide), tools=[lookup_weather, book_trip],
                     system_prompt="You plan trips.", name="trip_agent")

"""A MessagesState chat graph: one model node answering the conversation (a local echo model, no network)."""

from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langgraph.graph import END, START, MessagesState, StateGraph


class EchoModel(BaseChatModel):
    """Answers with what the user said last and how many turns there were: deterministic."""

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        turns = sum(1 for m in messages if m.type == "human")
        reply = AIMessage(content=f"turn {turns}: you said {messages[-1].content!r}")
        return ChatResult(generations=[ChatGeneration(message=reply)])


model = EchoModel()


def chatbot(state: MessagesState) -> dict:
    return {"messages": [model.invoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("chatbot", chatbot)
builder.add_edge(START, "chatbot")
builder.add_edge("chatbot", END)
graph = builder.compile()

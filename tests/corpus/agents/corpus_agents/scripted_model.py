"""A deterministic chat model that calls tools: what a test project uses instead of a hosted model.

Each agent gets a `ScriptedModel` with a `decide(messages) -> AIMessage` rule that reads the conversation, so the
same conversation always gets the same answer, in any process and any number of runs."""

from typing import Any, Callable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class ScriptedModel(BaseChatModel):
    decide: Callable[[list[BaseMessage]], AIMessage]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.decide(messages))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


def call(name: str, args: dict, messages: list[BaseMessage]) -> AIMessage:
    """A tool call whose id depends only on the conversation's length."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{name}_{len(messages)}"}])


def last_human(messages: list[BaseMessage]) -> str:
    return next((str(m.content) for m in reversed(messages) if m.type == "human"), "")


def last_tool(messages: list[BaseMessage]) -> str | None:
    """The name of the tool whose result is the conversation's last message, if it is one."""
    return messages[-1].name if messages and messages[-1].type == "tool" else None

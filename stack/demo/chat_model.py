"""Chat model selection for the demo graph.

`get_chat_model()` returns `ChatOpenAI` pointed at the stack's vLLM server when `LGCONSOLE_VLLM_URL` is set,
and otherwise a `ScriptedChatModel`: a deterministic stand-in whose reply depends only on the input messages,
so the demo (and its tests) run with no model server at all. `model_backend()` says in words which one is used;
the console shows that string so nobody mistakes scripted text for a real model's output.

Environment:
    LGCONSOLE_VLLM_URL      base URL of the vLLM OpenAI-compatible server, e.g. http://127.0.0.1:8000
    LGCONSOLE_VLLM_MODEL    served model name (vLLM's --served-model-name, or its --model)
    LGCONSOLE_VLLM_API_KEY  only if vLLM was started with --api-key (never shown anywhere)
"""

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from lgconsole.stack.demo.tiny_model import TINY_MODEL_NAME

VLLM_URL_ENV = "LGCONSOLE_VLLM_URL"
VLLM_MODEL_ENV = "LGCONSOLE_VLLM_MODEL"
VLLM_API_KEY_ENV = "LGCONSOLE_VLLM_API_KEY"

# Pause between streamed tokens of the scripted model, so token streaming is visible in the console.
SCRIPTED_TOKEN_DELAY_S = 0.02

_ROLE_PATTERN = re.compile(r"\byou are the (\w+)", re.IGNORECASE)
_ROLE_LINES = {
    "supervisor": "split the task into research, code and review.",
    "researcher": "found three relevant sources and summarised them.",
    "coder": "drafted a small implementation with tests.",
    "reviewer": "checked the plan for risks and missing cases.",
    "critic": "the parts fit together; the tests could cover failures better.",
}


def _vllm_base_url(raw_url: str) -> str:
    """`http://host:8000`, `http://host:8000/` and `http://host:8000/v1` all become `http://host:8000/v1`."""
    url = raw_url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url + "/v1"


def model_backend() -> str:
    """Which chat model the demo uses, in words (no secrets)."""
    raw_url = os.environ.get(VLLM_URL_ENV, "").strip()
    if not raw_url:
        return "scripted (no vLLM configured)"
    server = _vllm_base_url(raw_url)[: -len("/v1")]
    model_name = os.environ.get(VLLM_MODEL_ENV, "").strip()
    model_text = f"model {model_name}" if model_name else f"model not set: set {VLLM_MODEL_ENV}"
    if model_name == TINY_MODEL_NAME:
        model_text += ", random weights: its text is noise"
    return f"vLLM at {server} ({model_text})"


def get_chat_model() -> BaseChatModel:
    """`ChatOpenAI` against vLLM when `LGCONSOLE_VLLM_URL` is set, else the deterministic scripted model."""
    raw_url = os.environ.get(VLLM_URL_ENV, "").strip()
    if not raw_url:
        return ScriptedChatModel(token_delay_s=SCRIPTED_TOKEN_DELAY_S)

    from langchain_openai import ChatOpenAI  # imported lazily: only needed with a model server

    options: dict[str, Any] = {
        "base_url": _vllm_base_url(raw_url),
        "api_key": os.environ.get(VLLM_API_KEY_ENV) or "EMPTY",
        "temperature": 0,
        "max_tokens": 256,
        "timeout": 120,
        "max_retries": 1,
        # vLLM reports token usage on a stream only when asked (ChatOpenAI asks by itself for OpenAI's own URL only):
        # the console's trace counts the tokens of every call, streamed or not
        "stream_usage": True,
    }
    model_name = os.environ.get(VLLM_MODEL_ENV, "").strip()
    if model_name:  # ChatOpenAI rejects model=None; without it, it asks for its own default model
        options["model"] = model_name
    return ChatOpenAI(**options)


class ScriptedChatModel(BaseChatModel):
    """A deterministic chat model: the same input messages always give the same reply and message id.

    The reply names the role found in the system prompt ("You are the coder ..."), quotes the last human
    message and ends with a short hash of the whole input. Streaming yields the reply word by word.
    """

    token_delay_s: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "lgconsole-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": "scripted"}

    def reply_for(self, messages: list[BaseMessage]) -> tuple[str, str]:
        """The (text, message id) the model answers to `messages`."""
        transcript = "\n".join(f"{message.type}:{message.text}" for message in messages)
        digest = hashlib.sha256(transcript.encode("utf-8")).hexdigest()
        system_text = " ".join(message.text for message in messages if message.type == "system")
        role_match = _ROLE_PATTERN.search(system_text)
        role = role_match.group(1).lower() if role_match else "assistant"
        human_texts = [message.text for message in messages if message.type == "human"]
        first_line = human_texts[-1].strip().split("\n", 1)[0] if human_texts else ""
        topic = " ".join(first_line.split())[:60] or "the conversation"
        line = _ROLE_LINES.get(role, "answered the question.")
        text = f"{role.capitalize()} on {topic!r}: {line} [ref {digest[:8]}]"
        return text, f"scripted-{digest[:24]}"

    def _tokens(self, text: str) -> list[str]:
        return re.findall(r"\S+\s*", text)

    def usage(self, messages: list[BaseMessage], text: str) -> dict[str, int]:
        """Token usage as a model reports it, counting the scripted model's own tokens (words): the console's trace
        then shows counts for the demo too."""
        prompt = sum(len(self._tokens(message.text)) for message in messages)
        completion = len(self._tokens(text))
        return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}

    def _result(self, messages: list[BaseMessage]) -> ChatResult:
        text, message_id = self.reply_for(messages)
        message = AIMessage(content=text, id=message_id, response_metadata={"model_name": "scripted"},
                            usage_metadata=self.usage(messages, text))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        text, message_id = self.reply_for(messages)
        tokens = self._tokens(text)
        usage = self.usage(messages, text)
        for index, token in enumerate(tokens):
            is_last = index == len(tokens) - 1
            chunk = AIMessageChunk(
                content=token,
                id=message_id,
                chunk_position="last" if is_last else None,
                response_metadata={"model_name": "scripted"} if is_last else {},
                usage_metadata=usage if is_last else None,
            )
            yield ChatGenerationChunk(message=chunk)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._result(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._result(messages)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # langchain-core reports each chunk to the callbacks itself (it calls `_stream` without a run_manager).
        # No sleeping here: the sync path is for scripts and tests; the graph's nodes are async.
        yield from self._chunks(messages)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if self.token_delay_s > 0:
                await asyncio.sleep(self.token_delay_s)
            yield chunk

"""Contexts (the named deployments of [contexts.NAME], and `local`, the managed stack) as `lgconsole contexts` and the
console's picker list them, and what `up`/`down` may do in one: they start and stop only the services it manages."""

from __future__ import annotations

from dataclasses import dataclass

from lgconsole.stack.services.service import SERVICE_NAMES, redact_url

from lgconsole.console.config import LOCAL_CONTEXT, Config, select_context


@dataclass(frozen=True)
class ContextSummary:
    """One context as listed: where each service is (URLs without their passwords), never a credential."""

    name: str
    current: bool
    urls: dict[str, str]  # service -> its URL (redacted), "managed" when the context runs it, "none" when unset
    prometheus: str
    managed: tuple[str, ...]  # the services `up` would start in this context
    state_dir: str

    @property
    def server(self) -> str:
        return self.urls["langgraph"]

    def to_json(self) -> dict:
        return {"name": self.name, "current": self.current, "server": self.server, "services": dict(self.urls),
                "prometheus": self.prometheus, "managed": list(self.managed), "state_dir": self.state_dir}


def managed_services(config: Config) -> tuple[str, ...]:
    """The services the context runs itself: those without an external URL (vLLM only when a model is set)."""
    return tuple(name for name in SERVICE_NAMES
                 if not getattr(config, name).url and (name != "vllm" or config.vllm.model))


def summarise(config: Config) -> ContextSummary:
    managed = managed_services(config)
    urls = {}
    for name in SERVICE_NAMES:
        url = getattr(config, name).url
        urls[name] = redact_url(url) if url else "managed" if name in managed else "none"
    return ContextSummary(config.context, False, urls, redact_url(config.prometheus.url) or "none", managed,
                          config.state_dir)


def context_summaries(config: Config) -> list[ContextSummary]:
    """Every context of the config's file, `local` first, the one `config` is marked current."""
    local = config.local or config
    out = []
    for name in [LOCAL_CONTEXT, *local.contexts]:
        summary = summarise(config if name == config.context else select_context(local, name))
        out.append(ContextSummary(**{**summary.__dict__, "current": name == config.context}))
    return out


def stack_verb_refusal(config: Config, verb: str) -> str | None:
    """Why `up`/`down` (or the demo) has nothing to do in this context, in one line; None when it may go on."""
    if config.context == LOCAL_CONTEXT or managed_services(config):
        return None
    return (f"context {config.context!r} runs no service itself (every one is external), so `{verb}` has nothing "
            f"to {'stop' if verb == 'down' else 'start'}; the managed stack is the context 'local' (--context local)")

"""The `:` command line: parse what the user typed into an action the app runs (plain Python, tested alone)."""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_NAMES = ("postgres", "redis", "vllm", "langgraph")
SERVICE_VERBS = ("start", "stop", "restart", "logs")
STACK_VERBS = ("up", "down")
APP_VERBS = ("help", "quit", "q")


@dataclass(frozen=True)
class Command:
    verb: str  # screen name, service verb, stack verb or app verb
    service: str | None = None


class CommandError(ValueError):
    """One line saying what was wrong and what is accepted."""


def parse_command(text: str, screens: tuple[str, ...]) -> Command:
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("empty command")
    verb, args = words[0].lower(), words[1:]
    if verb in screens and not args:
        return Command(verb)
    if verb in SERVICE_VERBS:
        if len(args) != 1:
            raise CommandError(f"usage: {verb} SERVICE ({', '.join(SERVICE_NAMES)})")
        service = _match_service(args[0])
        return Command(verb, service)
    if verb in STACK_VERBS + APP_VERBS and not args:
        return Command("quit" if verb == "q" else verb)
    known = [*screens, *SERVICE_VERBS, *STACK_VERBS, "help", "quit"]
    raise CommandError(f"unknown command {text.strip()!r}; try: {', '.join(known)}")


def _match_service(word: str) -> str:
    word = word.lower()
    matches = [s for s in SERVICE_NAMES if s.startswith(word)]
    if len(matches) == 1:
        return matches[0]
    if word in SERVICE_NAMES:
        return word
    raise CommandError(f"unknown service {word!r}; services: {', '.join(SERVICE_NAMES)}")

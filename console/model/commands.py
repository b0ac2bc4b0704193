"""The `:` command line: parse what the user typed into an action the app runs (plain Python, tested alone)."""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_VERBS = ("start", "stop", "restart", "logs")
STACK_VERBS = ("up", "down")
APP_VERBS = ("help", "quit", "q")
CONTEXT_VERBS = ("ctx", "context")  # k9s's `:ctx`: alone, the picker; with a name, that context


@dataclass(frozen=True)
class Command:
    verb: str  # screen name, service verb, stack verb, app verb or "ctx"
    service: str | None = None
    context: str | None = None  # `:ctx NAME`: the context named (checked by the app, which knows the config)


class CommandError(ValueError):
    """One line saying what was wrong and what is accepted."""


def parse_command(text: str, screens: tuple[str, ...], services: tuple[str, ...]) -> Command:
    """`screens` and `services` are the names the app has (the services from stack/, through console/sources)."""
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("empty command")
    verb, args = words[0].lower(), words[1:]
    if verb in screens and not args:
        return Command(verb)
    if verb in SERVICE_VERBS:
        if len(args) != 1:
            raise CommandError(f"usage: {verb} SERVICE ({', '.join(services)})")
        service = _match_service(args[0], services)
        return Command(verb, service)
    if verb in STACK_VERBS + APP_VERBS and not args:
        return Command("quit" if verb == "q" else verb)
    if verb in CONTEXT_VERBS:
        if len(args) > 1:
            raise CommandError("usage: ctx [NAME] (alone: pick one from the list)")
        return Command("ctx", context=args[0] if args else None)
    known = [*screens, *SERVICE_VERBS, *STACK_VERBS, "ctx", "help", "quit"]
    raise CommandError(f"unknown command {text.strip()!r}; try: {', '.join(known)}")


def _match_service(word: str, services: tuple[str, ...]) -> str:
    word = word.lower()
    matches = [s for s in services if s.startswith(word)]
    if len(matches) == 1:
        return matches[0]
    if word in services:
        return word
    raise CommandError(f"unknown service {word!r}; services: {', '.join(services)}")

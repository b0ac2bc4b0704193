"""`lgconsole token | env`: the managed LangGraph server's token (the one place it is printed) and the shell lines
that point a client (langgraph-sdk, your own application) at the stack's server with it."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys

from lgconsole.console.config import Config


def add_auth_commands(subparsers) -> None:
    subparsers.add_parser("token", help="print the LangGraph server's token (for LANGGRAPH_API_KEY or "
                                        "Authorization: Bearer); `up --rotate-token` replaces it")
    subparsers.add_parser("env", help="print the export lines a client needs: LANGGRAPH_URL and LANGGRAPH_API_KEY "
                                      "(eval \"$(lgconsole env)\")")


def cmd_token(config: Config, args, out=sys.stdout) -> int:
    from lgconsole.stack.server.credentials import read_token, token_path

    if config.langgraph.url:
        print("lgconsole: the LangGraph server at LANGGRAPH_URL / [langgraph] url is not run by lgconsole: its "
              "credentials are the ones you configured ([langgraph] api_key, bearer_token, headers)", file=sys.stderr)
        return 1
    if not _token_guarded(config):
        print('lgconsole: this stack\'s LangGraph server takes no lgconsole token ([langgraph] auth = "none", or '
              "the project's own auth in its langgraph.json)", file=sys.stderr)
        return 1
    token = read_token(token_path(config.state_path))
    if token is None:
        print(f"lgconsole: no token in {config.state_path} yet: `lgconsole up` makes it", file=sys.stderr)
        return 1
    print(token, file=out)
    return 0


def cmd_env(config: Config, args, out=sys.stdout) -> int:
    """The key line runs `lgconsole token` when evaluated, so the token itself is printed by `token` only."""
    from lgconsole.stack.services.service import redact_url

    from lgconsole.console.sources.urls import langgraph_credentials, langgraph_url

    url = langgraph_url(config)
    print(f"export LANGGRAPH_URL={shlex.quote(redact_url(url) or url)}", file=out)
    credentials = langgraph_credentials(config)
    if credentials.guarded:
        print(f'export LANGGRAPH_API_KEY="$({token_command(config, args)})"', file=out)
    elif credentials.http_headers():
        print("# and the credentials of [langgraph] api_key / bearer_token / headers (not printed)", file=out)
    return 0


def _token_guarded(config: Config) -> bool:
    """Whether the managed server takes lgconsole's token: as the last `up` started it, else as configured."""
    from lgconsole.stack.services.service import StackSpec
    from lgconsole.stack.services.supervisor import build_services

    try:
        server = build_services(StackSpec.load(config.state_path)).get("langgraph")
    except FileNotFoundError:
        return config.langgraph.auth != "none"
    return server is not None and server.token_guarded()


def token_command(config: Config, args: argparse.Namespace) -> str:
    """`lgconsole token` for this same stack, whatever the shell's current dir (and PATH), also in a shell where
    LANGGRAPH_URL is exported already (it would make the server an external one to lgconsole)."""
    words = ["LANGGRAPH_URL="]
    words += ["lgconsole"] if shutil.which("lgconsole") else [sys.executable, "-m", "lgconsole.console"]
    if getattr(args, "config", None):
        words += ["--config", str(args.config.expanduser().resolve())]
    words += ["--state-dir", str(config.state_path), "token"]
    return " ".join([words[0], *(shlex.quote(w) for w in words[1:])])

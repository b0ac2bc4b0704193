"""`lgconsole contexts`: the config's contexts (local, the managed stack, and each [contexts.NAME]) with their server,
which one is current, and what each runs itself. URLs are shown without passwords; no credential is printed."""

from __future__ import annotations

import sys

from lgconsole.console.config import Config


def add_contexts_command(sub) -> None:
    contexts = sub.add_parser("contexts", help="list the contexts (named deployments of the config): name, server, "
                                               "the current one (--context NAME or LGCONSOLE_CONTEXT picks one)")
    contexts.add_argument("--json", action="store_true", help="machine-readable list")


def cmd_contexts(config: Config, args, out=None) -> int:
    from lgconsole.console.contexts import context_summaries

    out = out or sys.stdout  # as it is now (SafeStream while the command runs), not as it was at import
    summaries = context_summaries(config)
    if args.json:
        from lgconsole.console.cli.output import print_json

        print_json({"current": config.context, "contexts": [s.to_json() for s in summaries]}, out)
        return 0
    width = max(len(s.name) for s in summaries)
    print(f"{'CURRENT':<8}{'NAME':<{width + 2}}{'SERVER':<40}  MANAGED", file=out)
    for s in summaries:
        managed = ", ".join(s.managed) or "nothing (all external)"
        print(f"{'*' if s.current else '':<8}{s.name:<{width + 2}}{s.server:<40}  {managed}", file=out)
    return 0

"""`lgconsole doctor`: the Triage page as text, worst first; exit 0 healthy, 5 warnings, 6 critical (for cron; the
codes in console/cli/exit_codes.py, distinct from a failed or mistyped command)."""

from __future__ import annotations

import sys

from lgconsole.console.config import Config

MARKS = {"critical": "CRIT", "warning": "WARN", "info": "info"}
TITLE_CHARS, LINE_CHARS = 200, 240  # a finding quotes errors and names from users' graphs: whole in --json only


def add_doctor_command(sub) -> None:
    doctor = sub.add_parser("doctor", help="what is wrong with the stack, worst first (exit 0 ok, 5 warnings, "
                                           "6 critical)")
    doctor.add_argument("--json", action="store_true", help="machine-readable findings")
    doctor.add_argument("-v", "--verbose", action="store_true", help="evidence and actions for info findings too")


def cmd_doctor(config: Config, args, out=sys.stdout) -> int:
    from lgconsole.console.model.triage import exit_code
    from lgconsole.console.rows.thread_text import cut
    from lgconsole.console.sources.triage import TriageSource

    from lgconsole.console.cli.exit_codes import doctor_exit
    from lgconsole.console.sources.runtime_preflight import runtime_findings

    findings = runtime_findings(config) + TriageSource(config).findings()
    code = doctor_exit(exit_code(findings))
    if args.json:
        from lgconsole.console.cli.output import print_json

        print_json({"exit_code": code, "findings": [f.to_json() for f in findings]}, out)
        return code
    if not [f for f in findings if f.severity != "info"]:
        print("all well: no warnings, nothing critical", file=out)
    for f in findings:  # one headline per problem; under it what explains it, each a line, cut and escaped
        print(f"{MARKS[f.severity]}  {cut(f.title, TITLE_CHARS)}", file=out)
        if f.severity != "info" or args.verbose:
            print(f"      {cut(f.explanation, LINE_CHARS)}", file=out)
            for line in f.evidence:
                print(f"      · {cut(line, LINE_CHARS)}", file=out)
            if f.action:
                print(f"      → {cut(f.action, LINE_CHARS)}", file=out)
    return code

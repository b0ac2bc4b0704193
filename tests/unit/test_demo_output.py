"""`lgconsole demo` prints before the console opens (a service's error, the demo runs' lines): through the one
escaping writer like every other command, while the console itself keeps the real terminal."""

from __future__ import annotations

import sys

from hostile_values import HOSTILE_TEXTS, terminal_unsafe
from lgconsole.console.cli import main as cli_main
from lgconsole.console.cli import stack as cli_stack
from lgconsole.console.cli.output import SafeStream


def test_what_demo_prints_before_the_console_is_escaped_and_the_console_gets_the_real_terminal(
        monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    def failing_bring_up(config, wait=True, out=None):
        for text in HOSTILE_TEXTS:
            print(f"postgres: crashed: {text}")
            print(f"postgres: {text}", file=sys.stderr)
        return 1

    monkeypatch.setattr(cli_stack, "bring_up", failing_bring_up)
    assert cli_main.main(["--state-dir", str(tmp_path / "state"), "demo", "--model", "scripted"]) == 1
    out, err = capsys.readouterr()
    assert "postgres: crashed" in out and not terminal_unsafe(out + err)

    streams = []
    monkeypatch.setenv("LANGGRAPH_URL", "http://127.0.0.1:9")  # (the runs are replaced: nothing is asked of it)
    monkeypatch.setattr(cli_stack, "bring_up", lambda config, wait=True, out=None: 0)
    monkeypatch.setattr("lgconsole.stack.demo.runs.start_demo_runs", lambda url: [])
    monkeypatch.setattr(cli_main, "cmd_console", lambda config, args, triage_first=True:
                        streams.append(sys.stdout) or 0)
    assert cli_main.main(["--state-dir", str(tmp_path / "state"), "demo", "--model", "scripted"]) == 0
    assert streams and not isinstance(streams[0], SafeStream)

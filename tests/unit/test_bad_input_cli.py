"""Bad input to the real `lgconsole` (a process each, as a user types it; no service is started): each case is one
line on stderr naming the problem, its own exit code (console/cli/exit_codes.py), no traceback, and the state dir
as it was (nothing half-started)."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gpu_fixtures import fixture_text
from lgconsole.console.cli import exit_codes

REPO = Path(__file__).resolve().parents[2]
DEEP = '{"a":' * 1000 + "1" + "}" * 1000
INF_SCRAPE = fixture_text("busy").replace('vllm:num_requests_running{engine="0",model_name="tiny-llama"} 7.0',
                                          'vllm:num_requests_running{engine="0",model_name="tiny-llama"} +Inf')
SPEC = json.dumps({"state_dir": "STATE", "services": {"postgres": {"port": 1}, "redis": {"port": 2},
                                                      "vllm": {}, "langgraph": {"port": 3}}})

# (name, argv (STATE: the state dir, CONFIG: a config file of `toml`), files in the state dir, toml, stdin,
#  exit code, what the one line on stderr says)
CASES = [
    ("config not UTF-8", ["--config", "CONFIG", "status"], {}, b"\xff\xfe[ui]\n", None, exit_codes.CONFIG,
     "not a text file (byte 0 is not UTF-8)"),
    ("config is a directory", ["--config", "STATE", "status"], {}, None, None, exit_codes.CONFIG, "is a directory"),
    ("state_dir ~nosuchuser", ["--config", "CONFIG", "status"], {}, b'state_dir = "~nosuchuser"\n', None,
     exit_codes.CONFIG, "no user 'nosuchuser'"),
    ("--state-dir ~nosuchuser", ["--state-dir", "~nosuchuser", "status"], {}, None, None, exit_codes.CONFIG,
     "no user 'nosuchuser'"),
    ("--state-dir is a file", ["--state-dir", "CONFIG", "status"], {}, b"", None, exit_codes.CONFIG,
     "lgconsole.toml is a file, not a directory"),
    ("refresh_seconds = -1", ["--config", "CONFIG", "status"], {}, b"[ui]\nrefresh_seconds = -1\n", None,
     exit_codes.CONFIG, "[ui] refresh_seconds: must be at least 0.1, got -1"),
    ("refresh_seconds = 0", ["--config", "CONFIG", "status"], {}, b"[ui]\nrefresh_seconds = 0\n", None,
     exit_codes.CONFIG, "must be at least 0.1"),
    ("refresh_seconds = nan", ["--config", "CONFIG", "status"], {}, b"[ui]\nrefresh_seconds = nan\n", None,
     exit_codes.CONFIG, "expected a finite number, got nan"),
    ("extra_args = [1, 2]", ["--config", "CONFIG", "status"], {}, b"[vllm]\nextra_args = [1, 2]\n", None,
     exit_codes.CONFIG, "[vllm] extra_args[0]: expected a string, got 1"),
    ("bin_dir missing", ["--config", "CONFIG", "status"], {}, b'[redis]\nbin_dir = "/nonexistent/bin"\n', None,
     exit_codes.CONFIG, "[redis] bin_dir: /nonexistent/bin is not a directory"),
    ("--input nested 1000 deep", ["run", "demo", "--input", DEEP], {}, None, None, exit_codes.USAGE,
     "--input is nested too deeply (at most 100 levels"),
    ("--set nested 1000 deep", ["fork", "T", "--checkpoint", "C", "--set", "task=" + DEEP], {}, None, None,
     exit_codes.USAGE, "--set task is nested too deeply"),
    ("--input NaN", ["run", "demo", "--input", '{"task": NaN}'], {}, None, None, exit_codes.USAGE,
     "--input is not valid JSON: NaN is not JSON"),
    ("--input @missing file", ["run", "demo", "--input", "@/nonexistent/in.json"], {}, None, None,
     exit_codes.USAGE, "--input @/nonexistent/in.json: no such file"),
    ("--input - twice", ["run", "demo", "--input", "-", "--context", "-"], {}, None, b"{}", exit_codes.USAGE,
     "--context -: stdin was already read for --input"),
    ("--input - of 10 MB (read, then no stack)", ["run", "demo", "--input", "-"], {}, None,
     json.dumps({"task": "x" * 10_000_000}).encode(), exit_codes.FAILED, "no stack in"),
    ("prune --older-than 142857143w", ["prune", "--older-than", "142857143w"], {}, None, None, exit_codes.USAGE,
     "longer than any checkpoint can be old"),
    ("prune --older-than 0.0001m", ["prune", "--older-than", "0.0001m"], {}, None, None, exit_codes.USAGE,
     "out of range: an age from 1s to 36500d"),
    ("logs -n 0", ["logs", "postgres", "-n", "0"], {}, None, None, exit_codes.USAGE, "0 lines: give 1 to 100,000"),
    ("logs -n -5", ["logs", "postgres", "-n", "-5"], {}, None, None, exit_codes.USAGE, "-5 lines: give 1 to"),
    ("gpu --window inf", ["gpu", "--window", "inf"], {}, None, None, exit_codes.USAGE, "give 0 to 600 seconds"),
    ("state.json truncated", ["status"], {"state.json": b'{"supervisor": {"pid": 1, "sta'}, None, None,
     exit_codes.FAILED, "state.json: truncated or not JSON"),
    ("state.json wrong type", ["status"], {"state.json": b"[1, 2, 3]"}, None, None, exit_codes.FAILED,
     "state.json: holds a list"),
    ("state.json empty", ["down"], {"state.json": b""}, None, None, exit_codes.FAILED, "state.json: empty"),
    ("state.json binary", ["status"], {"state.json": b"\xff\xfe\x00\x01"}, None, None, exit_codes.FAILED,
     "state.json: binary"),
    ("spec.json truncated", ["threads"], {"spec.json": b'{"services": {"postgres": {"po'}, None, None,
     exit_codes.FAILED, "spec.json: truncated or not JSON"),
    ("secrets.json binary", ["threads"], {"spec.json": SPEC.encode(), "secrets.json": b"\x00\xff"}, None, None,
     exit_codes.FAILED, "secrets.json: binary"),
]


def _metrics_server(body: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            data = body.encode() if self.path == "/metrics" else b"{}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_cli(argv: list[str], state_dir: Path, config: Path | None = None, stdin: bytes | None = None,
            env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [str(state_dir) if a == "STATE" else str(config) if a == "CONFIG" else a for a in argv]
    if "--state-dir" not in argv and "--config" not in argv:
        argv = ["--state-dir", str(state_dir), *argv]
    clean = {k: v for k, v in __import__("os").environ.items()
             if k not in ("POSTGRES_URL", "REDIS_URL", "LANGGRAPH_URL", "VLLM_URL", "LGCONSOLE_STATE_DIR",
                          "LGCONSOLE_CONFIG")}
    return subprocess.run([sys.executable, "-m", "lgconsole.console", *argv], input=stdin or b"",
                          capture_output=True, timeout=60, cwd=state_dir, env={**clean, **(env or {})})


def _listing(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else b"" for p in sorted(path.rglob("*"))}


@pytest.mark.parametrize("name, argv, files, toml, stdin, code, says", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_its_exit_code(tmp_path, name, argv, files, toml, stdin, code, says):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    for file, content in files.items():
        (state_dir / file).write_bytes(content.replace(b"STATE", str(state_dir).encode()))
    config = None
    if toml is not None:
        config = tmp_path / "lgconsole.toml"
        config.write_bytes(toml)
    before = _listing(state_dir)
    done = run_cli(argv, state_dir, config, stdin)
    err = done.stderr.decode(errors="replace")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err[-2000:]
    assert done.returncode == code and says in err, (done.returncode, err)
    assert _listing(state_dir) == before  # nothing half-started: no logs, no socket, no rewritten file


def test_a_metrics_line_of_inf_is_named_by_gpu_and_doctor_says_what_is_wrong(tmp_path):
    server = _metrics_server(INF_SCRAPE)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        gpu = run_cli(["gpu", "--url", url, "--window", "0"], tmp_path)
        doctor = run_cli(["doctor"], tmp_path, env={"VLLM_URL": url})
    finally:
        server.shutdown()
    out = gpu.stdout.decode()
    assert gpu.returncode == 0 and gpu.stderr == b"", gpu.stderr
    assert "running n/a" in out and "ignored, not a usable number: vllm:num_requests_running=inf" in out
    assert b"Traceback" not in doctor.stderr + doctor.stdout and doctor.stderr == b""
    # 9 requests queue: a warning; the Postgres and LangGraph server lgconsole would run are not up: critical
    assert doctor.returncode == exit_codes.DOCTOR_CRITICAL
    assert "9 requests waiting at vLLM" in doctor.stdout.decode()
    assert "CRIT  The stack is not running" in doctor.stdout.decode()


def test_a_reader_that_goes_away_ends_the_command_with_141(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "postgres.log").write_text("".join(f"line {i}\n" for i in range(100_000)))
    for follow in ([], ["-f"]):
        proc = subprocess.Popen([sys.executable, "-m", "lgconsole.console", "--state-dir", str(tmp_path), "logs",
                                 "postgres", "-n", "100000", *follow], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.read(10)
        proc.stdout.close()  # as `| head -c 10` does
        assert proc.wait(timeout=30) == exit_codes.CLOSED_PIPE
        assert proc.stderr.read() == b""
        proc.stderr.close()


def test_exit_codes_are_distinct_and_the_readme_lists_each():
    codes = [code for code, _ in exit_codes.MEANINGS]
    assert len(set(codes)) == len(codes)
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    assert [int(line.split("|")[1]) for line in section.splitlines() if line.startswith("| ") and
            line.split("|")[1].strip().isdigit()] == codes

"""Log rotation with real processes: a service writing far past the limit through its logger keeps every line across
N rotated files, also when it is killed; the log view's follower and `lgconsole logs -f` read across the rotations;
a stack brought up with `[logs] max_bytes` rotates its services' logs."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from lgconsole.console.sources.stack import follow_log
from lgconsole.stack.services import process
from lgconsole.stack.services.log_rotation import LogLimits, log_files, rotated
from stackutil import REPO, lgconsole, own_stack, wait_for

pytestmark = pytest.mark.integration

LINES = 40_000
WRITER = f"""
import sys
for i in range({LINES}):
    sys.stdout.write("line %06d %s\\n" % (i, "x" * (i % 50)))
    if i % 997 == 0:
        sys.stdout.flush()
        sys.stderr.write("stderr %06d\\n" % i)
        sys.stderr.flush()
sys.stdout.flush()
"""


def lines_of(path) -> list[str]:
    text = b"".join(f.read_bytes() for f in log_files(path)).decode()
    return [line for line in text.splitlines() if line.startswith("line ")]


def wait_for_logger_end(path, timeout: float = 30.0) -> None:
    """The logger ends once it read the pipe to its end: then the last line is in the file."""
    wait_for(lambda: lines_of(path)[-1:] == [f"line {LINES - 1:06d} {'x' * ((LINES - 1) % 50)}"], timeout,
             what="the last line in the log")


def test_a_service_writing_past_the_limit_keeps_every_line_in_n_rotated_files(tmp_path):
    path = tmp_path / "logs" / "writer.log"
    child = process.spawn(process.LaunchSpec([sys.executable, "-c", WRITER], path), LogLimits(200_000, 20))
    assert child.wait(timeout=60) == 0
    wait_for_logger_end(path)
    files = log_files(path)
    total = sum(f.stat().st_size for f in files)
    assert total > 1_400_000 and len(files) == total // 200_000 + 1  # ~1.5 MB: 7 rotated files and the current
    assert lines_of(path) == [f"line {i:06d} {'x' * (i % 50)}" for i in range(LINES)]  # all, in order, once
    text = b"".join(f.read_bytes() for f in files).decode()
    stderr = [line for line in text.splitlines() if line.startswith("stderr ")]
    assert stderr == [f"stderr {i:06d}" for i in range(0, LINES, 997)] and "lgconsole starts:" in text
    for f in files[:-1]:
        assert f.read_bytes().endswith(b"\n") and f.stat().st_size < 200_000 + 100
    assert not rotated(path, 21).exists()


def test_a_killed_service_loses_nothing_it_wrote_and_older_files_beyond_keep_go(tmp_path):
    path = tmp_path / "svc.log"
    script = "import sys, time\nfor i in range(10**9):\n    print('n', i, flush=True)\n    time.sleep(0.0001)\n"
    child = process.spawn(process.LaunchSpec([sys.executable, "-c", script], path), LogLimits(20_000, 3))
    wait_for(lambda: rotated(path, 3).exists() and not rotated(path, 3).read_text().startswith("\n---"), 60,
             what="more rotations than kept files")
    process.stop(process.ref_for(child.pid), grace=0, child=child)  # SIGTERM, then the group
    time.sleep(0.5)
    numbers = [int(line.split()[1]) for f in log_files(path) for line in f.read_text().splitlines()
               if line.startswith("n ")]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # nothing lost between files
    assert numbers[0] > 0 and not rotated(path, 4).exists()  # the oldest files went


def test_the_log_view_and_logs_follow_read_every_line_across_rotations(tmp_path):
    state = tmp_path / "state"
    path = state / "logs" / "redis.log"
    path.parent.mkdir(parents=True)
    path.write_text("before\n")
    (tmp_path / "lgconsole.toml").write_text(f'state_dir = "{state}"\n')
    follow = subprocess.Popen([sys.executable, "-m", "lgconsole.console", "--config", str(tmp_path / "lgconsole.toml"),
                               "logs", "redis", "-f", "-n", "1"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(line.rstrip("\n") for line in follow.stdout))
    reader.start()
    stop = threading.Event()
    try:
        seen: list[str] = []

        def view() -> None:
            for batch in follow_log(path, 1, stop.is_set, poll_s=0.05):
                seen.extend(batch)

        viewer = threading.Thread(target=view)
        viewer.start()
        time.sleep(1.5)  # both are following
        child = process.spawn(process.LaunchSpec([sys.executable, "-c", WRITER], path), LogLimits(100_000, 30))
        assert child.wait(timeout=60) == 0
        wait_for_logger_end(path)
        expected = [f"line {i:06d} {'x' * (i % 50)}" for i in range(LINES)]
        wait_for(lambda: [s for s in seen if s.startswith("line ")][-1:] == expected[-1:], 30,
                 what="the view's last line")
        stop.set()
        viewer.join(timeout=5)
        assert len(log_files(path)) > 15
        assert [s for s in seen if s.startswith("line ")] == expected
        t0 = time.monotonic()
        wait_for(lambda: printed[-1:] == expected[-1:], 60, what="`logs -f`'s last line")
        print(f"`logs -f` printed the last line {time.monotonic() - t0:.1f}s after the view")
    finally:  # also when an assertion fails: no `logs -f` or viewer thread outlives the test
        stop.set()
        follow.kill()
        follow.wait(timeout=10)
        reader.join(timeout=10)
    assert printed[0] == "before" and [s for s in printed if s.startswith("line ")] == expected


def test_a_stack_with_a_small_log_limit_rotates_its_services_logs():
    with own_stack('[logs]\nmax_bytes = 4000\nkeep = 2\n') as config:
        logs = config.paths.logs
        wait_for(lambda: (logs / "langgraph.log.1").exists(), 60, what="the server's log rotated")
        assert not (logs / "langgraph.log.3").exists()
        current = [line for line in (logs / "langgraph.log").read_text().splitlines() if line.strip()]
        result = lgconsole("logs", "langgraph", "-n", "20", config=config.state_path / "lgconsole.toml")
        assert result.returncode == 0 and len(result.stdout.splitlines()) > min(len(current), 19)  # .1's lines too
        assert all(f.stat().st_size < 8000 for f in log_files(logs / "langgraph.log"))
        assert (logs / "supervisor.log").exists()  # the supervisor's own output goes through a logger too


def test_output_written_after_the_supervisor_died_still_reaches_the_log(tmp_path):
    """The logger is no thread of the supervisor: a service a dead supervisor left running (to be adopted) goes on
    logging."""
    path = tmp_path / "svc.log"
    service = "import time\nfor i in range(30):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"
    starter = ("import sys\nfrom pathlib import Path\nfrom lgconsole.stack.services import process\n"
               "from lgconsole.stack.services.log_rotation import LogLimits\n"
               f"child = process.spawn(process.LaunchSpec([sys.executable, '-c', {service!r}], Path({str(path)!r})), "
               "LogLimits(10_000, 3))\nprint(child.pid)\n")
    started = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stderr  # the "supervisor" has exited; its service runs on
    wait_for(lambda: "tick 29" in path.read_text(), 30, what="the service's last line")
    ticks = [line for line in path.read_text().splitlines() if line.startswith("tick")]
    assert ticks == [f"tick {i}" for i in range(30)]

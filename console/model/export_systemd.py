"""`lgconsole export systemd`: a unit per managed service and a target that starts them all, as text.

Each unit runs the supervisor's own command line for its service, restarts it on failure, orders it after what it
needs, holds it "activating" until the supervisor's health probe passes (ExecStartPost), and logs to journald. The
environment (URLs with passwords) lives in 0600 environment files next to the units, never in a unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from lgconsole.console.model.export_stack import REQUIRES, UNIT_PREFIX, WANTS, ExportError, HostService

TARGET = f"{UNIT_PREFIX}stack.target"
ENV_DIR_NAME = "lgconsole-env"  # beside the units; systemd reads only files ending in a unit suffix there


@dataclass(frozen=True)
class ExportFile:
    """One file of an export: its name (relative to --out), its text, and whether it holds secrets (0600)."""

    name: str
    text: str
    secret: bool = False


def exec_line(argv: tuple[str, ...] | list[str]) -> str:
    """A command line as systemd reads it: `%` and `$` escaped (no specifier or variable expansion happens to our
    arguments), arguments with blanks, quotes or backslashes double-quoted."""
    return " ".join(_exec_arg(arg) for arg in argv)


def _exec_arg(arg: str) -> str:
    if "\n" in arg or "\r" in arg:
        raise ExportError(f"a command argument holds a line break, which a unit file cannot carry: {arg[:40]!r}")
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and arg != ";" and not any(c in arg for c in " \t\"'\\"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def env_file_text(service: HostService) -> str:
    lines = [f"# environment of {service.unit} (written by `lgconsole export systemd`; mode 0600: it holds passwords)"]
    for key, value in sorted(service.env.items()):
        if not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise ExportError(f"{service.name}: environment variable name {key!r} cannot go in an environment file")
        if "\n" in value or "\r" in value:
            raise ExportError(f"{service.name}: the value of {key} holds a line break")
        lines.append(f'{key}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "\n".join(lines) + "\n"


def unit_text(service: HostService, env_file: str, present: set[str], system: bool) -> str:
    """The unit of one service; `present`: the names of the services exported with it (dependencies on others are
    left out)."""
    requires = [f"{UNIT_PREFIX}{d}.service" for d in REQUIRES.get(service.name, ()) if d in present]
    wants = [f"{UNIT_PREFIX}{d}.service" for d in WANTS.get(service.name, ()) if d in present]
    unit = [
        "[Unit]",
        f"Description=lgconsole stack: {service.name}",
        f"PartOf={TARGET}",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=10",
    ]
    if requires or wants:
        unit.append(f"After={' '.join(requires + wants)}")
    if requires:
        unit.append(f"Requires={' '.join(requires)}")
    if wants:
        unit.append(f"Wants={' '.join(wants)}")
    if system:
        unit.append("After=network.target")
    body = [
        "",
        "[Service]",
        "Type=simple",
        f"WorkingDirectory={service.cwd}",
        f"EnvironmentFile={env_file}",
    ]
    # with User=, the set-up steps still run as root ("+"): initdb and the state dir's modes need it
    privileged = "+" if service.user and system else ""
    if service.user and system:
        body.append(f"User={service.user}")
    if service.prepare:
        body.append(f"ExecStartPre={privileged}{exec_line(service.prepare)}")
    body.append(f"ExecStart={exec_line(service.argv)}")
    if service.ready:
        body.append(f"ExecStartPost={privileged}{exec_line(service.ready)}")
    body += [
        "Restart=on-failure",
        "RestartSec=2",
        f"TimeoutStartSec={int(service.start_timeout) + 30}",
        f"TimeoutStopSec={int(service.stop_timeout)}",
        f"KillSignal={service.stop_signal}",
        "KillMode=control-group",  # workers a server forks (vLLM's engine) stop with it
        "UMask=0077",
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier={UNIT_PREFIX}{service.name}",
    ]
    header = [f"# {service.unit}: written by `lgconsole export systemd`; ExecStart is the command `lgconsole up` runs"]
    return "\n".join(header + unit + body) + "\n"


def target_text(services: list[HostService], system: bool) -> str:
    wanted = " ".join(s.unit for s in services)
    return "\n".join([
        f"# {TARGET}: the whole stack; `systemctl{'' if system else ' --user'} enable --now {TARGET}`",
        "[Unit]",
        "Description=lgconsole stack (Postgres, Redis, vLLM, LangGraph server)",
        f"Wants={wanted}",
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if system else 'default.target'}",
    ]) + "\n"


def systemd_files(services: list[HostService], env_dir: str, system: bool = False) -> list[ExportFile]:
    """The units, the target and the environment files (`env_dir`: where the units find them, absolute)."""
    if not services:
        raise ExportError("no managed service to export: every service of this stack is external or disabled")
    present = {s.name for s in services}
    files = []
    for service in services:
        env_file = f"{env_dir.rstrip('/')}/{service.name}.env"
        files.append(ExportFile(service.unit, unit_text(service, env_file, present, system)))
        files.append(ExportFile(f"{ENV_DIR_NAME}/{service.name}.env", env_file_text(service), secret=True))
    files.append(ExportFile(TARGET, target_text(services, system)))
    return files


def instructions(unit_dir: str, system: bool, written: bool) -> str:
    """What to run once the files are in `unit_dir`, as the command prints it."""
    ctl = "systemctl" if system else "systemctl --user"
    lines = [
        f"units written to {unit_dir}; then:" if written else
        f"to install: lgconsole export systemd --out {unit_dir} (writes the 0600 environment files too); then:",
        f"  {ctl} daemon-reload",
        f"  {ctl} enable --now {TARGET}     # start now and at every boot",
        f"  journalctl {'' if system else '--user '}-u '{UNIT_PREFIX}*' -f       # the services' logs",
    ]
    if not system:
        lines.append("  loginctl enable-linger \"$USER\"   # user units start at boot, without a login session")
    lines.append("stop the lgconsole supervisor first (`lgconsole down`): the units use the same ports and data")
    return "\n".join(lines)

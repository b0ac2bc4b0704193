"""`lgconsole export systemd | compose | k8s`: the stack for an engine people already run, to stdout or as files.

Printed, a file that holds secrets is shown by its keys only; with `--out DIR` it is written with mode 0600.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lgconsole.console.cli import exit_codes
from lgconsole.console.config import Config

ENGINES = ("systemd", "compose", "k8s")


def add_export_command(sub) -> None:
    export = sub.add_parser("export", help="write the stack for systemd, Docker Compose or Kubernetes")
    export.add_argument("engine", choices=ENGINES,
                        help="systemd: units running the commands `up` runs; compose: compose.yaml with the server "
                             "image; k8s: Deployments and Services for the server and vLLM")
    export.add_argument("--out", type=Path, metavar="DIR",
                        help="write the files into DIR (secrets 0600) instead of printing them; for systemd user "
                             "units: ~/.config/systemd/user")
    export.add_argument("--image", default=None, metavar="TAG",
                        help="compose, k8s: the server image `langgraph build -t TAG` made (default "
                             "lgconsole-server:latest)")
    export.add_argument("--system", action="store_true",
                        help="systemd: system units (/etc/systemd/system, multi-user.target) instead of user units; "
                             "the default when run as root")


def cmd_export(config: Config, args) -> int:
    from lgconsole.console.model.export_stack import ExportError

    try:
        files, after = _files(config, args)
    except ExportError as exc:
        print(f"lgconsole: export {args.engine}: {exc}", file=sys.stderr)
        return exit_codes.FAILED
    if args.out is None:
        from lgconsole.console.sources.exports import known_secrets

        _print(files, known_secrets(config))
        if after:
            print(after, file=sys.stderr)
        return exit_codes.OK
    written = _write(files, args.out)
    print(f"wrote {', '.join(written)} in {args.out}")
    if after:
        print(after)
    return exit_codes.OK


def _files(config: Config, args):
    from lgconsole.console.sources import exports

    image = args.image or exports.DEFAULT_SERVER_IMAGE
    if args.engine == "systemd":
        from lgconsole.console.model.export_systemd import ENV_DIR_NAME, instructions, systemd_files

        system = args.system or os.geteuid() == 0
        unit_dir = args.out or Path("/etc/systemd/system" if system else Path.home() / ".config/systemd/user")
        services, _ = exports.host_services(config)
        files = systemd_files(services, str(Path(unit_dir).absolute() / ENV_DIR_NAME), system=system)
        return files, instructions(str(unit_dir), system, written=args.out is not None)
    stack = exports.container_stack(config, image)
    if args.engine == "compose":
        from lgconsole.console.model.export_compose import compose_files

        secrets = exports.container_secrets(config) if args.out is not None else {}
        return compose_files(stack, secrets), ("" if args.out else
                                               "the .env with the stack's passwords is written with --out DIR only")
    from lgconsole.console.model.export_k8s import k8s_files

    return k8s_files(stack), ""


def _print(files, secrets: list[str]) -> None:
    """The files as text: a secrets file by its keys only; the others masked against every secret the stack knows,
    not by the generic policy, whose URL and key patterns would mask the `${POSTGRES_PASSWORD}` references a compose
    file must keep (the text carries no secret value by construction; --out writes the same text)."""
    from lgconsole.console.cli.output import print_unmasked
    from lgconsole.console.model.masking import mask_known

    shown = [f for f in files if not f.secret]
    for f in files:
        if f.secret:
            keys = [line.split("=", 1)[0] for line in f.text.splitlines() if "=" in line and not line.startswith("#")]
            if keys:
                print(f"# {f.name} (0600, written with --out): " + ", ".join(f"{k}=***" for k in keys))
            continue
        if len(shown) > 1:
            print(f"# ---- {f.name} ----")
        print_unmasked(mask_known(f.text, secrets).rstrip("\n"))


def _write(files, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        path = out / f.name
        path.parent.mkdir(mode=0o700 if f.secret else 0o755, parents=True, exist_ok=True)
        mode = 0o600 if f.secret else 0o644
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(f.text)
        os.chmod(tmp, mode)  # the umask may have taken bits a unit file needs (0644)
        os.replace(tmp, path)
        written.append(f.name)
    return written

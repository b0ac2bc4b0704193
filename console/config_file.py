"""Reading the config file: a regular file or a pipe (`--config <(gen-config)`), as UTF-8 TOML; every way it cannot
be read is a one-line ConfigError."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from lgconsole.console.config import CONFIG_NAME, ConfigError


def read_toml(path: Path, source: str) -> dict:
    """The config file's TOML; every way it cannot be read is a one-line ConfigError."""
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # `--config <(…)`, a named pipe, a device
            data = read_pipe(path, source)
        else:
            data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory; --config takes the TOML file (e.g. {path / CONFIG_NAME})") \
            from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not a text file (byte {exc.start} is not UTF-8); TOML is UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: nested too deeply") from None


def read_pipe(path: Path, source: str, wait_s: float = 3.0, limit: int = 1 << 20) -> bytes:
    """A config from a pipe (`--config <(gen-config)`): what its writer writes; a pipe nothing writes to within
    `wait_s`, or more than `limit` bytes (a device such as /dev/zero), is a one-line error instead of a hang."""
    import select

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        chunks: list[bytes] = []
        size = 0
        while True:
            if not select.select([fd], [], [], wait_s)[0]:
                raise ConfigError(f"{source}: not a regular file, and nothing was written to it within {wait_s:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ConfigError(f"{source}: not a regular file, and more than {limit >> 20} MiB came from it")
    finally:
        os.close(fd)

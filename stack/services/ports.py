"""Loopback port checks: is a port free, pick a free one."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on host:port and we could bind it ourselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        if sock.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR; without it a port with connections in TIME_WAIT would look taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK, avoid: set[int] | frozenset[int] = frozenset()) -> int:
    """A port the kernel reports free right now (another process could still take it before use)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port
    raise OSError("could not find a free loopback port")


def listening(port: int, host: str = LOOPBACK, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def listen_addresses(port: int) -> list[str]:
    """The local addresses on which something listens on TCP `port` (from /proc/net/tcp and tcp6; Linux),
    e.g. ["127.0.0.1"] or ["0.0.0.0", "::"]. Empty when nothing listens or /proc cannot be read."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(table) as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) < 4 or cols[3] != "0A":  # 0A: LISTEN
                continue
            address, _, hex_port = cols[1].partition(":")
            if int(hex_port, 16) == port and len(address) == width:
                found.append(_proc_address(address))
    return found


def _proc_address(hex_address: str) -> str:
    """/proc/net's address (32-bit words in host byte order, little-endian here) as text."""
    import ipaddress

    raw = bytes.fromhex(hex_address)
    ordered = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(ordered))


def beyond_loopback(addresses: list[str]) -> list[str]:
    """The addresses that other hosts can reach (everything but 127.0.0.0/8, ::1 and their mapped forms)."""
    import ipaddress

    out = []
    for text in addresses:
        address = ipaddress.ip_address(text)
        mapped = getattr(address, "ipv4_mapped", None)
        if not (mapped or address).is_loopback:
            out.append(text)
    return out

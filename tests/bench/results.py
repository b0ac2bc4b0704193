"""The benchmarks' numbers as markdown tables, rewritten in place in README.md between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` (so `make bench` regenerates the README's numbers; the text around them is left alone)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_block(name: str, text: str, readme: Path = README) -> bool:
    """Replace the block named `name` in the README with `text`; False (and nothing written) when the README has no
    such block."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    body = readme.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(body):
        return False
    readme.write_text(pattern.sub(lambda _: f"{start}\n{text.strip()}\n{end}", body, count=1))
    return True

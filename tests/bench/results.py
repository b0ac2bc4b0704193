"""The benchmarks' numbers: bench_peers' table (printed, and as markdown rewritten in place in README.md between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, so `make bench` regenerates the README's numbers; the text around
them is left alone) and issue 15's targets, met or not."""

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


CLI_FLOOR = "python + psycopg, connect, one query, print; measured in turns with it"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.markdown: list[list[str]] = []  # README's table: what, lgconsole, peer, / peer, floor, / floor
        self.targets: list[list[str]] = []  # issue 15's targets: what, measured, target, met

    def section(self, title: str) -> None:
        self.rows.append((title, "", "", "", ""))
        self.markdown.append([f"**{title}**", "", "", "", "", ""])

    def add(self, what: str, ours: float | None, peer: float | None, peer_name: str, unit: str = "ms",
            inverse: bool = False, note: str = "", floor: float | None = None, floor_name: str = CLI_FLOOR) -> None:
        def fmt(v):
            if v is None:
                return "n/a"
            return f"{v:,.0f}" if unit in ("ev/s",) or v >= 100 else f"{v:,.1f}" if v >= 10 else f"{v:,.2f}"

        if ours is None or peer is None or not peer or not ours:
            ratio = "n/a"
        else:
            ratio = f"{(peer / ours) if inverse else (ours / peer):.2f}"
        floor_ratio = f"{ours / floor:.2f}" if floor and ours else "n/a"
        self.markdown.append([what, f"{fmt(ours)} {unit}", f"{fmt(peer)} {unit} ({peer_name})" if peer else "-",
                              ratio if peer else "-", f"{fmt(floor)} {unit} ({floor_name})" if floor else "-",
                              floor_ratio if floor else "-"])
        if floor and ours:
            note = f"{ours / floor:.2f}x the floor ({fmt(floor)} {unit}: {floor_name}){'; ' + note if note else ''}"
        self.rows.append((f"  {what}", f"{fmt(ours)} {unit}", f"{fmt(peer)} {unit}" if peer is not None else "n/a",
                          ratio, f"{peer_name}{'; ' + note if note else ''}"))

    def target(self, what: str, value: float | None, goal: str, met: bool) -> None:
        self.targets.append([what, "n/a" if value is None else f"{value:,.2f}", goal, "yes" if met else "no"])

    def markdown_text(self) -> str:
        return markdown_table(["what", "lgconsole", "peer", "lgconsole / peer", "floor", "lgconsole / floor"],
                              self.markdown) + "\n\n" + markdown_table(["target", "measured", "goal", "met"],
                                                                         self.targets)

    def print(self) -> None:
        w = max(len(r[0]) for r in self.rows)
        print(f"\n{'':<{w}}  {'lgconsole':>13}  {'peer':>13}  {'ratio':>6}  peer / note")
        for what, ours, peer, ratio, note in self.rows:
            if not ours:
                print(what)
            else:
                print(f"{what:<{w}}  {ours:>13}  {peer:>13}  {ratio:>6}  {note}")
        print("\ntargets (issue 15):")
        for what, value, goal, met in self.targets:
            print(f"  {what:<{w}}  {value:>13}  {goal:<16} {'met' if met == 'yes' else 'NOT met'}")

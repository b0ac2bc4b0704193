"""The Live screen read as a user reads it: the timeline's rows (depth, label), the header line, the steps nested
under a step, the top-level steps. Shared by the screen tests on recorded runs and the integration tests."""

from __future__ import annotations

from lgconsole.console.screens.live import LiveScreen


def tree_rows(screen: LiveScreen) -> list[tuple[int, str]]:
    """The timeline as a user sees it: (depth, label) per row, in order."""
    rows = []

    def walk(node, depth):
        for child in node.children:
            rows.append((depth, str(child.label)))
            walk(child, depth + 1)

    walk(screen.query_one("Timeline").root, 0)
    return rows


def live_header(screen: LiveScreen) -> str:
    return str(screen.query_one("#live-info").render())


def nested_under(rows: list[tuple[int, str]], parent: str) -> list[str]:
    """The node names of the rows right under the (last) row of `parent`."""
    start = max(i for i, (depth, label) in enumerate(rows) if depth == 0 and label.split()[2] == parent)
    out = []
    for depth, label in rows[start + 1:]:
        if depth == 0:
            break
        out.append(label.split()[2])
    return out


def root_names(rows: list[tuple[int, str]]) -> list[str]:
    return [label.split()[2] for depth, label in rows if depth == 0]

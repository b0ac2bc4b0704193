"""Start the demo graph's showcase runs on a LangGraph server: one waiting on approval, one approved, one failing."""

from __future__ import annotations

from dataclasses import dataclass

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line

DEMO_GRAPH = "demo"


@dataclass
class DemoRun:
    thread_id: str
    label: str
    status: str  # the thread status after the run: interrupted | idle | error


def start_demo_runs(url: str, timeout: float = 120.0) -> list[DemoRun]:
    """Run the showcase threads to their resting state and return what each ended as."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url, timeout)
    plans = [
        ("waits for approval", {"task": "Summarise last night's failed batch jobs"}, None),
        ("approved and finished", {"task": "Draft the on-call handover"}, {"approved": True, "note": "ship it"}),
        ("fails in coder", {"task": "Refactor the retry loop", "fail_at": "coder"}, None),
    ]
    runs = []
    try:
        for label, payload, answer in plans:
            thread = client.threads.create(metadata={"lgconsole_demo": label, "graph_id": DEMO_GRAPH})
            tid = thread["thread_id"]
            client.runs.wait(tid, DEMO_GRAPH, input=payload, raise_error=False)
            if answer is not None:
                client.runs.wait(tid, DEMO_GRAPH, command={"resume": answer}, raise_error=False)
            runs.append(DemoRun(tid, label, client.threads.get(tid)["status"]))
    except Exception as exc:  # httpx / sdk errors: one line for the CLI
        raise StackError(f"demo runs on {url}: {one_line(exc)}") from None
    finally:
        client.close()
    return runs

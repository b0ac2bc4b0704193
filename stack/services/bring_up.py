"""How the supervisor brings services up side by side: which unready needs hold a service back, slow set-up steps
(initdb, CREATE DATABASE) in threads of their own that wake the loop when done, and the health probes' imports done
beside the loop instead of inside its first probe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from lgconsole.stack.services.service import Service, ServiceState


def unready_needs(svc: Service, states: Mapping[str, ServiceState], services: Mapping[str, Service]) -> list[str]:
    """The services `svc` needs that are not healthy yet, except those its own process waits for while they are
    being started by this supervisor (persistence.py waits for Postgres): it is launched alongside those. One that
    failed or crashed holds it back as before, and so does an external one (it is only probed)."""
    unready = []
    for dep in svc.needs():
        other = services.get(dep)
        if other is None or not other.enabled or states.get(dep) == ServiceState.HEALTHY:
            continue
        # (waits_for_itself reads the project's langgraph.json: asked only while a managed need is starting)
        if states.get(dep) == ServiceState.STARTING and not other.external and dep in svc.waits_for_itself():
            continue
        unready.append(dep)
    return unready


class SetupSteps:
    """Slow set-up steps, one thread each, keyed by (service, step). `wake` is set whenever one finishes, so the
    loop that waits on it goes on at once instead of at its next tick."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self._jobs: dict[tuple[str, str], tuple[threading.Thread, list[BaseException]]] = {}

    def running(self, service: str, step: str, work: Callable[[], object]) -> bool:
        """True while `work` runs (started by the first call for this key), False once it is done; what it raised
        is raised here, on the caller's (the loop's) thread, where errors are reported as before."""
        key = (service, step)
        job = self._jobs.get(key)
        if job is None:
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    work()
                except BaseException as exc:  # handed to the loop's thread
                    errors.append(exc)
                finally:
                    self.wake.set()

            thread = threading.Thread(target=run, name=f"{step}-{service}", daemon=True)
            self._jobs[key] = (thread, errors)
            thread.start()
            return True
        thread, errors = job
        if thread.is_alive():
            return True
        del self._jobs[key]
        if errors:
            raise errors[0]
        return False

    def pending(self, service: str, step: str) -> bool:
        """Whether the step was started and its outcome not yet collected by `running`."""
        return (service, step) in self._jobs

    def join(self, timeout: float) -> None:
        """Wait for every step still running (an initdb stopped halfway would leave a cluster that never starts)."""
        for thread, _ in list(self._jobs.values()):
            thread.join(timeout=timeout)


def warm_up_probes(services: Iterable[Service]) -> None:
    """What the enabled services' health probes need, imported and built in start order (Service.warm_up); run in a
    thread while the services start."""
    for svc in services:
        if svc.enabled:
            try:
                svc.warm_up()
            except Exception:  # only a head start: the probe itself reports what is wrong
                pass

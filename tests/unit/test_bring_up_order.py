"""The order the supervisor brings services up in (stack/services/bring_up.py): the LangGraph server is launched
alongside the Postgres it waits for itself, never waits for vLLM (nor for Redis under `dev`), and still waits for a
Postgres that failed or that it only probes; slow set-up steps run beside the loop. Also the RESP reader of the
supervisor's own Redis probe."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.config import load_config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.bring_up import SetupSteps, unready_needs
from lgconsole.stack.services.redis import _read_replies
from lgconsole.stack.services.service import ServiceState
from lgconsole.stack.services.supervisor import build_services


def services_for(tmp_path: Path, text: str = "", env: dict | None = None) -> dict:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (tmp_path / "lgconsole.toml").write_text(f'state_dir = "{state}"\n{text}')
    return build_services(build_stack_spec(load_config(tmp_path / "lgconsole.toml", env=env or {})))


def states(**given_states: ServiceState) -> dict[str, ServiceState]:
    return {"postgres": ServiceState.STOPPED, "redis": ServiceState.STOPPED, "vllm": ServiceState.DISABLED,
            **given_states}


def test_the_server_starts_alongside_a_postgres_being_initialised(tmp_path):
    services = services_for(tmp_path)
    server = services["langgraph"]
    assert unready_needs(server, states(postgres=ServiceState.STARTING, redis=ServiceState.STOPPED), services) == []


@pytest.mark.parametrize("state", [ServiceState.FAILED, ServiceState.CRASHED, ServiceState.STOPPED,
                                   ServiceState.DEGRADED])
def test_the_server_waits_for_a_postgres_that_is_not_coming_up(tmp_path, state):
    services = services_for(tmp_path)
    assert unready_needs(services["langgraph"], states(postgres=state), services) == ["postgres"]


def test_the_server_waits_for_an_external_postgres_until_its_probe_passes(tmp_path):
    services = services_for(tmp_path, env={"POSTGRES_URL": "postgresql://u:p@db.example:5432/x"})
    assert services["postgres"].external
    assert unready_needs(services["langgraph"], states(postgres=ServiceState.STARTING), services) == ["postgres"]
    assert unready_needs(services["langgraph"], states(postgres=ServiceState.HEALTHY), services) == []


def test_a_project_with_its_own_checkpointer_waits_for_a_healthy_postgres(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "langgraph.json").write_text(json.dumps({
        "graphs": {"agent": "./agent.py:graph"}, "checkpointer": {"path": "./saver.py:make"}}))
    services = services_for(tmp_path, f'[project]\npath = "{project}"\n')
    assert services["langgraph"].waits_for_itself() == ()
    assert unready_needs(services["langgraph"], states(postgres=ServiceState.STARTING), services) == ["postgres"]


def test_the_server_never_waits_for_vllm_and_under_dev_not_for_redis(tmp_path):
    services = services_for(tmp_path, '[vllm]\nmodel = "some/model"\n')
    assert services["vllm"].enabled
    waiting = unready_needs(services["langgraph"], states(postgres=ServiceState.HEALTHY, redis=ServiceState.FAILED,
                                                          vllm=ServiceState.STARTING), services)
    assert waiting == []


def test_the_pg_runtime_waits_for_postgres_and_redis_to_be_healthy(tmp_path):
    services = services_for(tmp_path, '[langgraph]\nruntime = "pg"\n')
    server = services["langgraph"]
    assert server.needs() == ("postgres", "redis") and server.waits_for_itself() == ()
    assert unready_needs(server, states(postgres=ServiceState.STARTING, redis=ServiceState.STARTING),
                         services) == ["postgres", "redis"]


OLD_DEPENDS_ON = ("postgres", "redis", "vllm")  # what the server waited for before: every one of them healthy


@given(pg=st.sampled_from(list(ServiceState)), redis=st.sampled_from(list(ServiceState)),
       vllm=st.sampled_from(list(ServiceState)), external_pg=st.booleans(), runtime=st.sampled_from(["dev", "pg"]))
def test_the_server_waits_for_no_more_than_before_and_skips_only_what_it_waits_for_itself(
        tmp_path_factory, pg, redis, vllm, external_pg, runtime):
    tmp_path = tmp_path_factory.mktemp("order")
    services = services_for(tmp_path, f'[langgraph]\nruntime = "{runtime}"\n[vllm]\nmodel = "m"\n',
                            env={"POSTGRES_URL": "postgresql://u:p@db:5432/x"} if external_pg else None)
    now = {"postgres": pg, "redis": redis, "vllm": vllm}
    before = [d for d in OLD_DEPENDS_ON if services[d].enabled and now[d] != ServiceState.HEALTHY]
    waiting = unready_needs(services["langgraph"], now, services)
    assert set(waiting) <= set(before)
    for dep in set(before) - set(waiting):  # each one the server no longer waits for has its reason
        launched_alongside = (dep == "postgres" and runtime == "dev" and not external_pg
                              and pg == ServiceState.STARTING)
        assert dep == "vllm" or (dep == "redis" and runtime == "dev") or launched_alongside, dep


def test_a_set_up_step_runs_beside_the_loop_and_wakes_it_when_done():
    steps, release = SetupSteps(), threading.Event()
    assert steps.running("postgres", "prepare", release.wait) is True
    assert steps.running("postgres", "prepare", release.wait) is True and steps.pending("postgres", "prepare")
    release.set()
    assert steps.wake.wait(5)
    while steps.running("postgres", "prepare", release.wait):  # the thread may still be finishing
        pass
    assert not steps.pending("postgres", "prepare")


def test_a_failed_set_up_step_raises_on_the_loops_thread():
    steps = SetupSteps()

    def initdb() -> None:
        raise StackError("postgres: initdb failed in /x: boom")

    steps.running("postgres", "prepare", initdb)
    steps.join(timeout=5)
    with pytest.raises(StackError, match="initdb failed"):
        steps.running("postgres", "prepare", initdb)
    assert not steps.pending("postgres", "prepare")  # the next start tries again


# --- the RESP reader of the supervisor's own Redis probe --------------------------------------------------------

class ChunkedSocket:
    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.sizes = data, sizes

    def recv(self, _limit: int) -> bytes:
        size = self.sizes.pop(0) if self.sizes else len(self.data)
        chunk, self.data = self.data[:max(1, size)], self.data[max(1, size):]
        return chunk


line_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)
replies = st.lists(st.one_of(
    st.tuples(st.just("+"), line_text), st.tuples(st.just("-"), line_text),
    st.tuples(st.just("$"), st.binary(max_size=300)), st.tuples(st.just("null"), st.just(b""))), min_size=1, max_size=5)


def encode(reply) -> bytes:
    kind, value = reply
    if kind in "+-":
        return kind.encode() + value.encode() + b"\r\n"
    if kind == "null":
        return b"$-1\r\n"
    return b"$%d\r\n%s\r\n" % (len(value), value)


def expected(reply) -> str:
    kind, value = reply
    if kind in "+-":
        return kind + value
    return value.decode(errors="replace") if kind == "$" else ""


@given(replies=replies, sizes=st.lists(st.integers(1, 64), max_size=50))
def test_replies_read_in_any_chunking_are_the_replies_sent(replies, sizes):
    sock = ChunkedSocket(b"".join(map(encode, replies)), sizes)
    assert _read_replies(sock, len(replies)) == [expected(r) for r in replies]


@given(replies=replies, cut=st.integers(1, 400))
def test_a_connection_closed_early_is_an_error_not_a_hang(replies, cut):
    data = b"".join(map(encode, replies))
    sock = ChunkedSocket(data[:max(0, len(data) - cut)], [])  # then recv gives b"": the peer closed
    with pytest.raises(ValueError):
        _read_replies(sock, len(replies))

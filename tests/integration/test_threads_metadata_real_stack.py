"""Threads by metadata and page by page on the real stack: `lgconsole threads --meta KEY=VALUE` (repeatable, with
--limit/--offset) and the Threads screen's source, given the filter box's `KEY=VALUE` words, paging through every
matching thread once."""

from __future__ import annotations

import json
import uuid

import pytest

from lgconsole.console.sources.threads import ThreadsSource
from lgconsole.console.sources.urls import langgraph_url
from stackutil import lgconsole

pytestmark = pytest.mark.integration
USERS = ("ana", "ana", "bo", "ana", "bo")


@pytest.fixture(scope="module")
def tagged_threads(live_stack):
    """Five demo threads run to their approval, tagged with one batch id and a user each."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(langgraph_url(live_stack), 120)
    batch = uuid.uuid4().hex[:8]
    made = []
    try:
        for n, user in enumerate(USERS):
            tid = client.threads.create(metadata={"lgc_batch": batch, "user_id": user, "graph_id": "demo"})["thread_id"]
            client.runs.wait(tid, "demo", input={"task": f"tagged {n}", "delay": 0}, raise_error=False)
            made.append((tid, user))
    finally:
        client.close()
    return live_stack, batch, made


def _threads(config, *args):
    result = lgconsole("threads", *args, "--json", config=config.state_path / "lgconsole.toml")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_threads_meta_filters_by_every_key_given_and_pages(tagged_threads):
    config, batch, made = tagged_threads
    every = _threads(config, "--meta", f"lgc_batch={batch}")
    assert every["total"] == 5 and {t["thread_id"] for t in every["threads"]} == {tid for tid, _ in made}
    ana = _threads(config, "--meta", f"lgc_batch={batch}", "--meta", "user_id=ana")
    assert ana["total"] == 3 and {t["thread_id"] for t in ana["threads"]} == {tid for tid, u in made if u == "ana"}
    pages = [_threads(config, "--meta", f"lgc_batch={batch}", "--limit", "2", "--offset", str(offset))
             for offset in (0, 2, 4)]
    ids = [t["thread_id"] for page in pages for t in page["threads"]]
    assert [len(page["threads"]) for page in pages] == [2, 2, 1] and sorted(ids) == sorted(tid for tid, _ in made)
    assert all(page["total"] == 5 for page in pages)
    assert _threads(config, "--meta", f"lgc_batch={batch}", "--meta", "user_id=nobody")["total"] == 0


def test_a_bad_meta_word_is_one_line(tagged_threads):
    config, _, _ = tagged_threads
    result = lgconsole("threads", "--meta", "step:=three", config=config.state_path / "lgconsole.toml")
    assert result.returncode == 2 and "must be JSON" in result.stderr.strip().splitlines()[-1]


def test_the_screens_source_pages_through_the_filtered_threads_once(tagged_threads):
    config, batch, made = tagged_threads
    source = ThreadsSource(config, page_size=2)
    try:
        seen, offset = [], 0
        while True:
            page = source.read_threads("", f"user_id=ana lgc_batch={batch}", "-last_activity", offset=offset)
            seen += [s.thread_id for s in page.summaries]
            if len(page.summaries) < 2:
                break
            offset += len(page.summaries)
        assert sorted(seen) == sorted(tid for tid, u in made if u == "ana") and len(seen) == len(set(seen))
        assert source.count_threads("", f"lgc_batch={batch}") == 5
        narrowed = source.read_threads("", f"lgc_batch={batch} {made[2][0][-12:]}", "-last_activity")
        assert [s.thread_id for s in narrowed.summaries] == [made[2][0]]  # id words and metadata together
    finally:
        source.close()

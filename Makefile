# Fengchao: `make demo` runs the platform with the small demo district; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
ONLY ?=

# Python >= 3.12: pyenv's 3.12 if present (see .python-version), else the first suitable interpreter.
PYTHON_FOR_VENV := $(shell for p in $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3 python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: demo test bench setup lint messages clean-demo

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON_FOR_VENV)" || { echo "Fengchao needs Python 3.12 or newer (none found)"; exit 1; }
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

fengchao/static/vendor/.copied: node_modules/.installed scripts/vendor_static.mjs
	node scripts/vendor_static.mjs
	touch $@

PO_FILES := $(wildcard fengchao/locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

fengchao/locale/%.mo: fengchao/locale/%.po $(VENV)/.installed
	$(PY) scripts/compile_messages.py

setup: $(VENV)/.installed fengchao/static/vendor/.copied $(MO_FILES)

demo: setup
	PORT=$(PORT) $(PY) scripts/demo.py

test: setup
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py $(if $(ONLY),--only $(ONLY))

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

messages: setup
	cd fengchao && DEBUG=1 ../$(PY) ../manage.py makemessages -l zh_Hans -l zh_Hant -l en --no-obsolete \
		-i 'static/vendor/*' -i 'test_settings.py'
	cd fengchao && DEBUG=1 ../$(PY) ../manage.py makemessages -d djangojs -l zh_Hans -l zh_Hant -l en --no-obsolete \
		-i 'static/vendor/*'
	DEBUG=1 $(PY) scripts/compile_messages.py

clean-demo:
	rm -rf var/fengchao.sqlite3* var/media

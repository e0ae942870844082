# The README's two commands: `make demo` and `make test`.  Each does its own set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt requirements.txt | cksum | cut -d' ' -f1)
COLLECTIONS := .collections/ansible_collections/ansible/windows/MANIFEST.json

export PATH := $(BIN):$(PATH)
# The simulated Windows host is a connection plugin that lives with the tests.
SIM := ANSIBLE_CONNECTION_PLUGINS=$(CURDIR)/tests/simulated/plugins/connection
DEMO_INVENTORY := tests/simulated/inventory/hosts.yml

.PHONY: setup demo test unit
setup: $(STAMP) $(COLLECTIONS)

$(STAMP): requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

$(COLLECTIONS): tests/tools/install_collections.py | $(STAMP)
	$(BIN)/python tests/tools/install_collections.py --repo .

demo: setup
	@echo "== Simulated Windows host (no real machine is touched): state in .sim/"
	$(SIM) WCOW_SIM_STATE_DIR=$(CURDIR)/.sim/demo $(BIN)/ansible-playbook -i $(DEMO_INVENTORY) site.yml

test: setup unit

unit: setup
	$(BIN)/python -m pytest -q tests

# The README's two commands: `make demo` and `make test`.  Each does its own set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt requirements.txt | cksum | cut -d' ' -f1)
COLLECTIONS := .collections/ansible_collections/ansible/windows/MANIFEST.json

export PATH := $(BIN):$(PATH)
# Plain logs in CI and in terminals alike (molecule and ansible-lint colour by default).
export NO_COLOR := 1
export ANSIBLE_NOCOLOR := 1

# `make test` runs these in order and stops at the first that fails.
STAGES := unit wire ps-grammar lint sanity package molecule
TIMES := build/test-times.txt
WINDOWS_SCENARIO := extensions/molecule/windows
WINDOWS_EXAMPLE_INVENTORY := $(CURDIR)/$(WINDOWS_SCENARIO)/inventory/example.yml

# $(call timed,STAGE,COMMAND): run COMMAND, print its wall time and record it in $(TIMES).
define timed
@mkdir -p $(dir $(TIMES)); echo "== $(1)"; start=$$(date +%s.%N); rc=0; ( $(2) ) || rc=$$?; \
secs=$$(awk "BEGIN { printf \"%.1f\", $$(date +%s.%N) - $$start }"); \
status=$$([ $$rc -eq 0 ] && echo ok || echo FAILED); \
printf '%-12s %6ss  %s\n' "$(1)" "$$secs" "$$status" | tee -a $(TIMES); exit $$rc
endef

.PHONY: setup demo try try-reset test unit wire ps-grammar lint sanity package molecule bench
setup: $(STAMP) $(COLLECTIONS)

$(STAMP): requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

$(COLLECTIONS): tests/tools/install_collections.py | $(STAMP)
	$(BIN)/python tests/tools/install_collections.py --repo .

# site.yml twice against fresh simulated hosts, releases from a fake GitHub on 127.0.0.1.
demo: setup
	$(BIN)/python tests/tools/demo.py

# Your own playbook against the simulated hosts and the fake GitHub; their state stays in build/try/.
# make try PLAYBOOK=play.yml [INVENTORY=inventory.yml] [ARGS='-e containerd_version=2.1.5 --diff']
try: setup
	@test -n "$(PLAYBOOK)" || { echo "make try: say which playbook, e.g. make try PLAYBOOK=playbooks/site.yml" >&2; exit 2; }
	$(BIN)/python tests/tools/try_playbook.py "$(PLAYBOOK)" $(if $(INVENTORY),--inventory "$(INVENTORY)") -- $(ARGS)

try-reset:
	rm -rf build/try

# One stage at a time even under `make -j`: the stages share two cores.
test: setup
	@rm -f $(TIMES)
	@for stage in $(STAGES); do $(MAKE) --no-print-directory $$stage || exit 1; done
	@echo "== make test passed; wall time per stage:"; cat $(TIMES)

# pytest: unit tests, the simulated-host integration tests and the grammar check's tests.
# --dist worksteal: xdist's default `load` hands each worker one run of consecutive tests first, so
# one worker got every (slow) tests/integration test and ran them alone while the other finished
# the fast unit tests and idled; worksteal lets the idle worker take half of the other's queue.
unit: setup
	$(call timed,unit,$(BIN)/python -m pytest -q -n 2 --dist worksteal tests --ignore=tests/wire)

# ansible's real winrm plugin + pywinrm (NTLM+encryption, Basic+HTTPS) to a loopback WinRS listener.
wire: setup
	$(call timed,wire,$(BIN)/python -m pytest -q -n 2 tests/wire)

# Every shipped .ps1 parses (no PowerShell here); prints file:line:column of each error.
ps-grammar: setup
	$(call timed,ps-grammar,$(BIN)/python tests/tools/ps_grammar.py)

# ansible-lint, production profile (.ansible-lint), offline.
lint: setup
	$(call timed,lint,$(BIN)/ansible-lint)

# ansible-test sanity from a copy under build/sanity/ansible_collections/wcow/buildkit.
sanity: setup
	$(call timed,sanity,$(BIN)/python tests/tools/sanity.py)

# Build the tarball, install it, ansible-doc every module and syntax-check wcow.buildkit.site.
package: setup
	$(call timed,package,$(BIN)/python tests/tools/check_package.py)

# The simulated scenario end to end; the windows scenario (real VMs) is only syntax-checked.
# Molecule probes for an optional `default` scenario (for shared state) and logs the miss as CRITICAL on every
# passing run; we have none on purpose, so those two lines are dropped (pipefail keeps molecule's exit status).
MOLECULE_PROBE_NOISE := ^CRITICAL +'[^']*/default/molecule.yml' glob failed|default scenario not found, disabling shared state
molecule: setup
	$(call timed,molecule,set -o pipefail; { $(BIN)/molecule test -s simulated \
	  && MOLECULE_INVENTORY=$(WINDOWS_EXAMPLE_INVENTORY) $(BIN)/molecule syntax -s windows \
	  && for playbook in $(WINDOWS_SCENARIO)/create.yml extensions/molecule/shared/*.yml; do \
	       $(BIN)/ansible-playbook --syntax-check -i $(WINDOWS_EXAMPLE_INVENTORY) $$playbook || exit 1; done; } 2>&1 \
	  | grep -Ev "$(MOLECULE_PROBE_NOISE)")

# Figures, not assertions: round trips, bytes and wall time per win_containerd call; site.yml per host.
bench: setup
	$(BIN)/python tests/bench/round_trips.py --latency-ms 50
	$(BIN)/python tests/bench/site_round_trips.py
	$(BIN)/python tests/bench/wire_vs_double.py

# Two commands for a fresh machine: `make run` and `make test`. Every target is idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-stamp
LIB_DIR := ignite_store/server/lib
JARS_STAMP := $(LIB_DIR)/.pom-stamp
APT_INSTALL := ./scripts/apt-install.sh

.PHONY: help setup venv jars java redis chromium fonts gettext messages po node run test unit check lint test-faults bench bench-quick bench-ab clean-data

help:
	@echo "make run         set everything up, then serve http://127.0.0.1:8000 (Ctrl-C stops it all)"
	@echo "make test        set everything up, then run the test suite against real Ignite and Redis"
	@echo "make unit        the fast lane: tests marked unit, no Java, Redis or Chromium (under 30 s)"
	@echo "make check       ruff, import contracts (lint-imports) and mypy on chat/ ignite_store/ chatsite/"
	@echo "make test-faults long fault scenarios (docs/reliability.md)"
	@echo "make bench | bench-quick   benchmark -> docs/performance.md (BENCH_ARGS='--scenarios 1,6 --profile --history-messages 200000')"
	@echo "make bench-ab    Daphne's CPU per message against BENCH_OLD (default 27a2a95), side by side"
	@echo "make po          update locale/*/LC_MESSAGES/*.po from the code (PO_LANGS='-l ja' starts a new language)"
	@echo "make lint | clean-data | setup | venv | jars | redis | chromium | fonts | messages"

setup: venv jars redis chromium fonts messages

venv: $(VENV_STAMP)
$(VENV_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

java:
	@command -v java >/dev/null && command -v mvn >/dev/null || $(APT_INSTALL) openjdk-17-jdk-headless maven

jars: $(JARS_STAMP)
$(JARS_STAMP): ignite_store/server/pom.xml | java
	rm -rf $(LIB_DIR)
	mvn -q -B -f ignite_store/server/pom.xml dependency:copy-dependencies -DoutputDirectory=lib
	@touch $@

redis:
	@command -v redis-server >/dev/null || $(APT_INSTALL) redis-server redis-tools

chromium:
	@test -x /usr/bin/chromium || $(APT_INSTALL) chromium
	@fc-list 2>/dev/null | grep -qi "color emoji" || $(APT_INSTALL) fonts-noto-color-emoji  # reactions in screenshots

# Hangul in the browser tests' screenshots (headless Chromium has no CJK font of its own).
fonts:
	@fc-list :lang=ko 2>/dev/null | grep -q . || $(APT_INSTALL) fonts-noto-cjk

gettext:
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null || $(APT_INSTALL) gettext

# The committed locale/*/LC_MESSAGES/*.po compiled to .mo (git-ignored), again whenever a .po changes.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)
messages: $(MO_FILES)
%.mo: %.po | gettext
	msgfmt --check-format -o $@ $<

# What makemessages reads: the apps, templates and static/chat (tests/i18n runs the same to find unmarked strings).
PO_LANGS ?= --all
PO_IGNORE := --ignore=.venv --ignore=var --ignore=bench --ignore=tests --ignore=docs --ignore=test-artifacts --ignore=node_modules
po: venv gettext
	DJANGO_DEBUG=1 $(PY) manage.py makemessages $(PO_LANGS) -d django --no-obsolete $(PO_IGNORE)
	DJANGO_DEBUG=1 $(PY) manage.py makemessages $(PO_LANGS) -d djangojs --no-obsolete $(PO_IGNORE)

node:
	@command -v node >/dev/null && command -v npm >/dev/null || $(APT_INSTALL) nodejs npm

# Every figure of docs/performance.md: the scenarios and peers (it rewrites the page's generated section),
# then each scenario of its own module at two sizes 10x apart (results in bench/results/). About 1.5 hours.
bench: venv jars redis node
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.rooms --rooms 50,500
	$(PY) -m bench.api --limits 5,50 --bodies 10,100
	$(PY) -m bench.changes --sizes 100,1000
	$(PY) -m bench.search --sizes 100000,1000000 --heap 3g --region-mb 6144 \
		--json bench/results/$$(date +%Y%m%d-%H%M%S)-search.json
	$(PY) -m bench.tx_profile

bench-quick: venv jars redis node
	$(PY) -m bench --quick $(BENCH_ARGS)

# Daphne's CPU per message against an older commit's server, side by side (docs/performance.md).
BENCH_OLD ?= 27a2a95
bench-ab: venv jars redis
	@rm -rf .bench-old && git worktree prune && git worktree add --detach .bench-old $(BENCH_OLD) >/dev/null
	@ln -s ../.venv .bench-old/.venv && ln -s ../../../ignite_store/server/lib .bench-old/ignite_store/server/lib
	$(PY) -m bench.daphne_ab --old .bench-old $(BENCH_ARGS); rc=$$?; git worktree remove --force .bench-old; exit $$rc

run: setup
	./scripts/run-local.sh

test: setup
	@start=$$(date +%s); $(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS); rc=$$?; \
	echo "make test: pytest exited $$rc after $$(( $$(date +%s) - start ))s"; exit $$rc

# Tests marked `unit`: no server is started, and tests/conftest.py fails any that reaches for one.
unit: venv messages
	@start=$$(date +%s); FUZZ_EXAMPLES=150 $(VENV)/bin/pytest -m unit $(PYTEST_ARGS); rc=$$?; \
	echo "make unit: pytest exited $$rc after $$(( $$(date +%s) - start ))s"; exit $$rc

check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test-faults: setup
	@start=$$(date +%s); $(VENV)/bin/pytest -m slow $(PYTEST_ARGS); rc=$$?; \
	echo "make test-faults: pytest exited $$rc after $$(( $$(date +%s) - start ))s"; exit $$rc

lint: venv
	$(VENV)/bin/ruff check .

clean-data: venv
	-DJANGO_DEBUG=1 $(PY) manage.py ignite_node stop
	-test -f var/redis/redis.pid && kill "$$(cat var/redis/redis.pid)"
	rm -rf var/ignite var/redis

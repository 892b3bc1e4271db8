# tracker intake: `make` lists the targets. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
TOOLS := .tools
BIN := $(VENV)/bin
WHEELHOUSE := .wheelhouse
REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= $(REGION)

# (The invoke-<function> targets are a pattern rule: declared phony, make would skip them.)
.PHONY: help install tools test lint typecheck template-check checkov unit build deploy deploy-guided demo local load \
        bench clean docs docs-serve mutation browser dashboard dashboard-check dashboard-test built samlocal-deps lambda-image

help: ## list the targets
	@grep -E '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-20s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# The wheels of the runtime dependencies, fetched now so the packaging test installs the
	@# service into a clean venv with no network (tests talk to loopback only).
	rm -rf $(WHEELHOUSE) && $(BIN)/python -m pip wheel --quiet --wheel-dir $(WHEELHOUSE) .
	@touch $@

# Debian packages a check needs and this machine lacks, with apt, as root (no recommends). Without
# root it stops with one sentence saying what to install.
apt_install = if [ "$$(id -u)" -ne 0 ]; then \
	echo "make: this check needs the Debian packages $(1), and installing them needs root: run 'sudo apt-get install --no-install-recommends $(1)' (or make as root), then make again"; exit 1; fi; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(1)

# SAM's own tools pin boto3 and pydantic, so they live in their own environment.
$(TOOLS)/bin/.installed:
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet aws-sam-cli cfn-lint
	@touch $@

# checkov pins boto3, pydantic and many more, so it has an environment of its own as well.
CHECKOV := .checkov
CHECKOV_VERSION := 3.3.30
$(CHECKOV)/.installed-$(CHECKOV_VERSION):
	rm -rf $(CHECKOV) && $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@touch $@

install: $(BIN)/.installed ## create .venv with the service, dev tools and the `intake` command
tools: $(TOOLS)/bin/.installed ## install sam and cfn-lint into .tools (separate from .venv)

# Debian's Chromium and its driver, for the dashboard's browser tests (browsers cannot be
# downloaded by test tools here). Installed only when missing.
browser: ## install chromium and chromium-driver (apt) when they are missing
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		($(call apt_install,chromium chromium-driver fonts-liberation))

# The dashboard's sources are in dashboard/ (Node is needed only there); its built bundle is
# committed in cli/intake_cli/web, where the CLI and the local stack serve it from.
dashboard/node_modules/.installed: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	@touch $@

dashboard: install dashboard/node_modules/.installed ## rebuild the dashboard: API types from /openapi.json, then the bundle
	$(BIN)/python -m intake_dev.openapi dashboard/openapi.json
	cd dashboard && npx openapi-typescript openapi.json -o src/api-types.ts && npx tsc --noEmit && npx vite build

dashboard-check: dashboard ## fail if the committed bundle or API types differ from what their sources build
	@git diff --exit-code --stat -- dashboard/openapi.json dashboard/src/api-types.ts cli/intake_cli/web || \
		(echo "the committed dashboard differs from its sources: run make dashboard and commit"; exit 1)
	@test -z "$$(git status --porcelain -- cli/intake_cli/web)" || \
		(git status --porcelain -- cli/intake_cli/web; echo "the bundle has files not committed: run make dashboard and commit"; exit 1)

dashboard-test: dashboard/node_modules/.installed ## the dashboard's component tests (vitest)
	cd dashboard && npx vitest run

lint: install ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The handlers are all named app.py, so each is checked on its own. Test folders import their
# helpers as top-level modules (pytest's rootdir-relative imports), so each is checked on its own
# too; the shared rigs, reliability, security and bench as packages.
TEST_DIRS := unit integration e2e load packaging contract browser template built samlocal docs trackers
typecheck: install ## mypy (strict, pydantic plugin) on the packages, every handler, tests and bench
	$(BIN)/mypy
	for f in functions/*/app.py; do $(BIN)/mypy --follow-imports=silent $$f || exit 1; done
	for d in $(TEST_DIRS); do MYPYPATH=layers/intake:cli:dev:tests:tests/$$d $(BIN)/mypy tests/$$d || exit 1; done
	MYPYPATH=layers/intake:cli:dev:tests $(BIN)/mypy -m fakes -m harness -m conftest -p reliability -p security -p bench

template-check: tools ## cfn-lint and sam validate --lint on template.yaml
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --region $(REGION)

# On the template as SAM expands it (what CloudFormation is given: the roles, the stage...). A
# finding fails the run unless template.yaml skips it on the resource, with its reason.
checkov: tools $(CHECKOV)/.installed-$(CHECKOV_VERSION) ## checkov on the expanded template: every finding fixed or skipped with a reason
	$(TOOLS)/bin/python tests/template/for_checkov.py template.yaml .aws-sam/checkov/template.json
	$(CHECKOV)/bin/checkov -f .aws-sam/checkov/template.json --framework cloudformation --compact --quiet --skip-download

unit: install ## the unit tests alone (tests/unit: in-memory fakes, seconds); make test runs every test
	$(BIN)/pytest tests/unit -q

# Mutation testing of four domain modules with the unit tests that import them (mutmut; the list is
# [tool.mutmut] in pyproject.toml). mutmut names a mutant after its file's path and puts its
# mutants/ copy first on sys.path, so it runs in .mutation/, where the package sits at the top as
# tracker_intake: the tests then import the mutated copy, not layers/intake's (the editable
# install's). Untested mutants count as survivors; equivalent ones are set aside, each with its
# reason, in tests/unit/mutation_equivalents.toml. Scores: CONTRIBUTING.md, "Mutation testing".
MUTATION_CHILDREN ?= 2
mutation: install ## mutation testing (mutmut) of eligibility, backoff, issue, dispatch: fails under 90 % a module (minutes)
	rm -rf .mutation && mkdir .mutation
	cp -R layers/intake/tracker_intake .mutation/tracker_intake
	cp pyproject.toml .mutation/ && ln -s ../tests .mutation/tests
	cd .mutation && ../$(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) > mutmut.log 2>&1 || \
		(tail -c 3000 mutmut.log; echo; echo "mutmut failed: .mutation/mutmut.log"; exit 1)
	$(BIN)/python -m intake_dev.mutation_score .mutation/mutants tests/unit/mutation_equivalents.toml --minimum 90

test: install tools browser samlocal-deps ## the whole check CI runs: ruff, mypy, cfn-lint, sam validate, checkov, the dashboard, pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --region $(REGION)
	$(MAKE) --no-print-directory checkov
	$(MAKE) --no-print-directory dashboard-check dashboard-test built docs
	INTAKE_PY312="$(PY312)" $(BIN)/pytest -q

# Lambda's runtime is Python 3.12: sam build needs it on PATH (pyenv's, when there is one).
PY312 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))

# The layer is built twice, for arm64 and x86_64 (layers/intake/Makefile, pip, no Docker): the
# Architecture parameter picks one at deploy time. --parallel builds the resources side by side.
build: tools ## sam build (with Python 3.12: pyenv's if present, else python3.12 on PATH)
	@test -n "$(PY312)" || (echo "sam build needs Python 3.12 (pyenv install 3.12, or python3.12 on PATH)"; exit 1)
	PATH="$(abspath $(TOOLS))/bin:$(dir $(PY312)):$$PATH" $(TOOLS)/bin/sam build --parallel

# What Lambda's Python runtime brings besides the standard library: boto3 (the layer leaves it
# out). tests/built runs each built handler on that and the layer built for this machine's
# processor alone, in Python 3.12, and reads the other layer's compiled modules for their machine.
.aws-sam/lambda-runtime/.installed: build
	rm -rf .aws-sam/lambda-runtime && $(PY312) -m pip install --quiet --target .aws-sam/lambda-runtime boto3
	@touch $@

built: .aws-sam/lambda-runtime/.installed ## sam build, plus the runtime's boto3, for tests/built

deploy-guided: build ## the first deploy: sam deploy --guided (saves your answers to samconfig.toml)
	$(TOOLS)/bin/sam deploy --guided

deploy: build ## deploy again, non-interactively, with samconfig.toml (stack tracker-intake)
	$(TOOLS)/bin/sam deploy

# `intake local --container-address ADDR` writes SAM_ENV: the functions then use its embedded AWS
# and GitHub stand-in (and so do SAM's own start-up calls). INVOKE_IMAGE: a base image built
# here instead of AWS's (make lambda-image), for machines that cannot pull it.
SAM_ENV ?= .intake-local/sam-env.json
INVOKE_IMAGE ?=
# Functions are arm64 when deployed; locally they run on this machine's processor.
LOCAL_ARCH ?= $(shell uname -m | sed -e 's/aarch64/arm64/')
invoke-%: build ## invoke-dispatcher|poller|launcher|api: sam local invoke with events/<name>.json (needs a container engine)
	$(if $(wildcard $(SAM_ENV)),AWS_ENDPOINT_URL=$$($(PYTHON) -c 'import json,sys; print(json.load(open(sys.argv[1]))["Parameters"]["AWS_ENDPOINT_URL"])' $(SAM_ENV)) AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local) \
	$(TOOLS)/bin/sam local invoke $$(echo $* | sed -E 's/^(.)/\U\1/')Function --event events/$*.json --skip-pull-image \
		--parameter-overrides Architecture=$(LOCAL_ARCH) \
		$(if $(wildcard $(SAM_ENV)),--env-vars $(SAM_ENV)) $(if $(INVOKE_IMAGE),--invoke-image $(INVOKE_IMAGE))

# Debian's podman serves `sam local invoke` where no Docker engine runs (tests/samlocal).
# Without recommends, podman's network stack would be the CNI plugins: tests/samlocal writes
# netavark's network file, so netavark is named, with what podman recommends for running as root.
samlocal-deps: ## install podman, runc, debootstrap and iptables (apt) when they are missing
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null && \
		command -v iptables >/dev/null || \
		($(call apt_install,podman runc debootstrap iptables netavark aardvark-dns catatonit fuse-overlayfs slirp4netns uidmap))

LAMBDA_IMAGE := localhost/tracker-intake/lambda-python:3.12
lambda-image: samlocal-deps ## build a stand-in for Lambda's python3.12 base image into podman (root; Debian, not Amazon Linux)
	@test -n "$(PY312)" || (echo "the image needs Python 3.12 (pyenv install 3.12)"; exit 1)
	bash dev/lambda-image/build.sh $(LAMBDA_IMAGE) $(PY312) .aws-sam/lambda-image

# The documentation site (mkdocs-material): docs/ and mkdocs.yml; the reference pages are generated
# from the code as it builds (dev/intake_dev/docs_reference.py). Strict: a warning (a broken link or
# anchor, a page not in the navigation) fails the build. Material's banner about MkDocs 2.0 is
# silenced: mkdocs is pinned below 2.0 in pyproject.toml.
export NO_MKDOCS_2_WARNING := 1
docs: install ## build the documentation site into site/ (strict: a broken link or anchor fails)
	$(BIN)/mkdocs build --strict --site-dir site

DOCS_PORT ?= 8000
docs-serve: install ## serve the documentation site on http://127.0.0.1:8000/ (DOCS_PORT=N for another), rebuilt as you edit
	@$(BIN)/python -c "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
		sys.exit(0 if s.connect_ex(('127.0.0.1', $(DOCS_PORT))) else 1)" || \
		(echo "make docs-serve: port $(DOCS_PORT) on 127.0.0.1 is in use: stop what holds it, or make docs-serve DOCS_PORT=8001"; exit 1)
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

demo: install ## the offline walk-through: GitHub issues become sessions, no AWS or token needed
	$(BIN)/intake demo

local: install ## run the whole service on this machine (intake local --offline)
	$(BIN)/intake local --offline

# `make test` runs the same test scaled down (50 projects x 30 issues); BENCHMARKS.md has both.
load: install ## the full-size load test: 1,000 projects x 100 issues on moto's server (long: see BENCHMARKS.md)
	INTAKE_LOAD_PROJECTS=1000 INTAKE_LOAD_ISSUES=100 INTAKE_LOAD_PARTITION_QUERY=1 INTAKE_LOAD_PROGRESS=1 \
		$(BIN)/pytest tests/load/test_load.py -q -p no:cacheprovider --timeout=0

bench: install ## benchmarks: writes bench/results.json, prints a table (BENCHMARKS.md)
	$(BIN)/python -m bench.run

clean: ## remove the environments and build output
	rm -rf $(VENV) $(TOOLS) $(CHECKOV) $(WHEELHOUSE) site .aws-sam .mypy_cache .ruff_cache .pytest_cache

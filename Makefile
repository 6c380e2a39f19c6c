# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run reset test lint bench clean system-deps deploy destroy console

# Progress goes to stderr, so `make bench` prints nothing but figures on stdout.
$(STAMP): requirements.txt requirements-dev.txt
	@echo "installing into $(VENV)..." >&2
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) >&2 || { \
	  echo "python3-venv is missing; installing it (needs root)" >&2; \
	  { apt-get update && apt-get install -y python3-venv; } >&2 && $(PY) -m venv $(VENV); }
	@$(BIN)/python -m pip install -q --upgrade pip >&2
	@$(BIN)/python -m pip install -q -r requirements-dev.txt >&2
	@rm -f $(VENV)/.installed-* && touch $@

# The console's browser code: npm installs what console/package-lock.json pins (Node.js and npm
# from Debian when the machine has none), esbuild bundles it into chalicelib/web/console_static.
CONSOLE_MODULES := console/node_modules/.package-lock.json
CONSOLE_BUILT := chalicelib/web/console_static/manifest.json

$(CONSOLE_MODULES): console/package.json console/package-lock.json
	@command -v npm >/dev/null || { echo "installing Node.js and npm for the console (needs root)" >&2; \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; } >&2; }
	@cd console && npm ci --no-audit --no-fund --loglevel=error >&2
	@touch $@

$(CONSOLE_BUILT): $(CONSOLE_MODULES) console/build.mjs $(wildcard console/src/*)
	@node console/build.mjs

console: $(CONSOLE_BUILT)

run: $(STAMP) console
	$(BIN)/python -m devstack.run

# The local stack's data (.local/state) survives a restart; this forgets it.
reset: $(STAMP)
	$(BIN)/python -m devstack.state

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint infra/template.yaml

# The browser tests drive Debian's Chromium through its ChromeDriver (root installs them), with a
# Japanese font so the screenshots of Japanese pages show their words.
system-deps:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver -a -d /usr/share/fonts/opentype/ipafont-gothic || { \
	  echo "installing chromium, chromium-driver and a Japanese font for the browser tests..." >&2; \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver \
	    fonts-ipafont-gothic; } >&2; }

test: lint system-deps console
	$(BIN)/python -m pytest

# An installation in the AWS account (and region) your credentials point at; see README.
STAGE ?= dev
PREFIX ?= sodate
STACK ?= $(PREFIX)
SENDER ?=
PUBLIC_URL ?=
KEEP_DATA ?= 1

deploy: $(STAMP) console
	$(BIN)/python -m infra.deploy --stage '$(STAGE)' --prefix '$(PREFIX)' --stack '$(STACK)' \
	  --sender '$(SENDER)' --public-url '$(PUBLIC_URL)'

destroy: $(STAMP)
	$(BIN)/python -m infra.destroy --stage '$(STAGE)' --prefix '$(PREFIX)' --stack '$(STACK)' \
	  $(if $(filter 0 no false,$(KEEP_DATA)),--drop-data)

bench: $(STAMP) console
	@$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache .hypothesis console/node_modules \
	  chalicelib/web/console_static

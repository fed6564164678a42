# The two commands: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENDOR := app/static/vendor/bpmn-js
VENDOR_STAMP := $(VENDOR)/.installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install browser-deps test-sqlite test-postgres lint-imports clean reliability bench

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

install: $(STAMP) $(VENDOR_STAMP)

# Browser tests drive Debian's Chromium through Playwright (a browser download never works
# here), with a CJK font so that screenshots show the Chinese text.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BROWSER_STAMP := $(VENV)/.browser-stamp
$(BROWSER_STAMP): $(STAMP)
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-wqy-microhei; \
	fi
	touch $@

browser-deps: $(BROWSER_STAMP)

# The case page draws its BPMN diagram with the bpmn-js viewer from npm (package-lock.json),
# copied under app/static (gitignored): nothing is loaded from a CDN at run time.
$(VENDOR_STAMP): package.json package-lock.json assets/designer-modeler.js
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp node_modules/bpmn-js/dist/bpmn-viewer.production.min.js node_modules/bpmn-js/dist/assets/diagram-js.css \
		node_modules/bpmn-js/dist/assets/bpmn-js.css $(VENDOR)/
	cp -R node_modules/bpmn-js/dist/assets/bpmn-font $(VENDOR)/
	# The report pages draw their charts with Apache ECharts (same package.json).
	rm -rf app/static/vendor/echarts && mkdir -p app/static/vendor/echarts
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE app/static/vendor/echarts/
	# The process designer: bpmn-js Modeler with bpmn-js-properties-panel, bundled by esbuild.
	rm -rf app/static/vendor/designer && mkdir -p app/static/vendor/designer
	node_modules/.bin/esbuild assets/designer-modeler.js --bundle --minify --format=iife --target=es2019 \
		--log-level=warning --outfile=app/static/vendor/designer/modeler.js
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css app/static/vendor/designer/
	touch $@

## make run: set up, migrate, load the demo district and a month of simulated ratings (their bad
## ratings open cases), serve http://127.0.0.1:5000 with the timer sweep running in the server
run: install
	$(BIN)/hcp db upgrade
	$(BIN)/hcp seed-demo
	$(BIN)/hcp simulate --days 30 --per-day 200
	HCP_SWEEP_IN_WEB=true $(BIN)/hcp run --host $(HOST) --port $(PORT)

## make test: set up, check the layering, run the suite on SQLite and on PostgreSQL
test: install browser-deps lint-imports test-sqlite test-postgres

lint-imports: install
	$(BIN)/lint-imports --no-cache

test-sqlite: install
	$(BIN)/python -m pytest

# PostgreSQL runs when it answers on 127.0.0.1:5432; under CI (CI=true) it must answer.
test-postgres: install
	@if $(BIN)/python -m tests.postgres_probe "$(PG_TEST_URL)"; then \
		HCP_TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI: PostgreSQL does not answer at $(PG_TEST_URL); the suite must run on it" >&2; exit 1; \
	else \
		echo "PostgreSQL does not answer at $(PG_TEST_URL): suite ran on SQLite only"; \
	fi

## make reliability: the long runs of issue 10 on PostgreSQL at PG_TEST_URL (the suite runs short
## versions): 100 SIGKILLs of web and worker processes, the database cut off for 30 s
reliability: install
	$(BIN)/python -m tests.reliability.crash_harness --postgres "$(PG_TEST_URL)" --kills 100
	$(BIN)/python -m tests.reliability.outage_drill --postgres "$(PG_TEST_URL)" --outage 30

## make bench: every benchmark of bench/ at the issues' sizes (hours), on SQLite and on PostgreSQL at
## PG_TEST_URL when it answers (under CI=true it must); the figures go into docs/performance.md.
## BENCH_ARGS passes options to bench/run_all.py, e.g. make bench BENCH_ARGS=--quick
bench: install
	$(BIN)/python bench/run_all.py --postgres "$(PG_TEST_URL)" $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .import_linter_cache node_modules app/static/vendor

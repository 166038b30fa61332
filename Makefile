# duban — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export DUBAN_HOME ?= $(CURDIR)/var

# Debian packages (PostgreSQL server, CJK font, Chromium): installed once, when missing.
SYSTEM := $(VENV)/.system-stamp

.PHONY: install system run test test-sqlite lint format complexity lock bench bench-quick clean reliability mutate slow

install: $(STAMP) $(SYSTEM)

system: $(SYSTEM)

$(SYSTEM): scripts/system-packages
	scripts/system-packages
	@mkdir -p $(VENV) && touch $(SYSTEM)

# Reinstall only when the dependencies change; constraints.txt pins every version.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The embedded default: SQLite under ./var, the sample directory and notice, demo users, then the
# portal and the scheduler on http://127.0.0.1:8000 (Ctrl+C stops them). DEV_MODE allows the default secret.
DEMO_PASSWORD ?= duban-demo-2022
run: install
	$(BIN)/duban init
	$(BIN)/duban units import config/units/rugao.yaml
	$(BIN)/duban import samples/rugao-2022-minor-protection.txt --plan-key rugao-2022
	$(BIN)/duban users add office --name 李文 --role office_admin --password $(DEMO_PASSWORD) --exists-ok
	$(BIN)/duban users add jiaoyu --name 张敏 --role unit --unit 市教育局 --password $(DEMO_PASSWORD) --exists-ok
	$(BIN)/duban users add leader --name 陈刚 --role leader --password $(DEMO_PASSWORD) --exists-ok
	$(BIN)/duban status
	@echo "门户 / portal: http://127.0.0.1:8000/  用户 / users: office (办公室 李文), jiaoyu (市教育局 张敏), leader (领导 陈刚)  密码 / password: $(DEMO_PASSWORD)"
	@$(MAKE) --no-print-directory prefect-ui
	DUBAN_DEV_MODE=1 $(BIN)/duban serve --host 127.0.0.1 --port 8000

# Where the Prefect UI is, when a Prefect server is used (PREFECT_API_URL set, or PREFECT_UI_URL): each
# flow run's log there says what it did (flows/figures.py). Embedded (neither set): nothing to say.
.PHONY: prefect-ui
prefect-ui:
	@api="$${PREFECT_API_URL%/}"; ui="$${PREFECT_UI_URL:-$${api%/api}}"; \
	if [ -n "$$ui" ]; then \
	  echo "Prefect 界面 / Prefect UI: $${ui%/}/runs  （每次运行的日志写明开启轮次、催报、督办、发送消息）"; \
	fi

# The whole suite, on SQLite and on a throwaway PostgreSQL server when its binaries exist, on two
# workers (pytest-xdist; each has its own PostgreSQL server and Chromium). PYTEST_ARGS=-n0: one.
PYTEST_ARGS ?= -n 2
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: install
	$(BIN)/python -m pytest -k "not postgresql" $(PYTEST_ARGS)

# Lint and type-check (configured in pyproject.toml): ruff's rules and its formatter's verdict, then
# mypy (strict on models/, intake/, notifications/, config/), then the complexity limit below.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/complexity

# Rewrite the code the way `make lint` wants it: ruff's safe fixes, then the formatter (last, so
# that what the fixes wrote is formatted too).
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# No function over cyclomatic complexity 15 (radon) outside tests/ and the migrations; CI runs it.
complexity: install
	$(BIN)/python scripts/complexity

# Re-resolve the newest allowed versions into constraints.txt (needs the package index).
lock:
	rm -rf /tmp/duban-lock && $(PYTHON) -m venv /tmp/duban-lock
	/tmp/duban-lock/bin/pip install --quiet '.[dev]'
	/tmp/duban-lock/bin/pip freeze --exclude duban > constraints.txt
	rm -rf /tmp/duban-lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# The long checks kept out of `make test` (pytest -m slow): the year-long simulated cycle.
slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Benchmarks (bench/): every measure beside its baseline from the same run, medians of several runs,
# on SQLite and PostgreSQL; one Markdown table on stdout, JSON and Markdown under build/bench/.
bench: install
	$(BIN)/python -m bench --postgres

bench-quick: install
	$(BIN)/python -m bench --quick --postgres

# The reliability suite at full size (kill -9, slow and dropping relays, concurrent commands, damaged
# files); `make test` runs the same scenarios with a few runs each.
reliability: install
	DUBAN_RELIABILITY=full $(BIN)/python -m pytest -m reliability tests/reliability $(PYTEST_ARGS)

# Mutation testing of the core modules (not in CI; tens of minutes): one mutant at a time in a copy of the
# tree, each against its module's short SQLite test selection. MODULES=models/lights.py narrows it.
mutate: install
	$(BIN)/python scripts/mutate.py -v $(MODULES)


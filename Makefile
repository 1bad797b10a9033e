# s3gate: `make run` starts the demo gateway, `make test` runs every check CI runs.
# Both set themselves up (idempotent, cheap when already done).

VENV       := .venv
PY         := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
WASM       := target/wasm32-wasip1/release/s3gate.wasm
POLICY_BIN := target/release/s3gate-policy
DEMO_DATA  := .demo/data
PYTEST_ARGS ?=

.PHONY: setup build run test lint unit e2e validate-envoy clean

setup: $(VENV_STAMP)
	@rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1
	@rustup component add clippy rustfmt >/dev/null 2>&1 || rustup component add clippy rustfmt

# (Re)install the pinned Python tools only when requirements.txt changes.
$(VENV_STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Cargo decides what is stale; these are cheap when nothing changed.
build: setup
	cargo build --release --target wasm32-wasip1 -p s3gate
	cargo build --release -p s3gate-policy

# Foreground; Ctrl-C stops every child. Ports: S3GATE_PORT, S3GATE_ADMIN_PORT,
# S3GATE_POLICY_PORT, S3GATE_UPSTREAM_PORT.
run: build
	$(PY) scripts/gen_demo_data.py $(DEMO_DATA)
	$(PY) scripts/stack.py --data $(DEMO_DATA) --run-dir .demo/run

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	# The host layer only builds for wasm32: lint that target too.
	cargo clippy --target wasm32-wasip1 --lib -- -D warnings

unit: setup
	cargo test --workspace

e2e: build
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)

test: lint unit e2e

validate-envoy: build
	$(PY) scripts/render_envoy.py .demo/envoy.validate.yaml --wasm $(WASM) --validate

clean:
	rm -rf .demo $(VENV)

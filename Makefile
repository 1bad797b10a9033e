# s3gate: `make run` starts the demo gateway, `make test` runs every check CI runs.
# Both set themselves up (idempotent, cheap when already done).

VENV       := .venv
PY         := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
WASM       := target/wasm32-wasip1/release/s3gate.wasm
POLICY_BIN := target/release/s3gate-policy
DEMO_DATA  := .demo/data
PYTEST_ARGS ?=
# A second S3 upstream for the hostile end-to-end tests (scripts/stack.py --upstream-store);
# its path names the version, so a bump installs afresh. Keep in step with stack.py S3S_FS_BIN.
S3S_FS_VERSION := 0.14.1
S3S_FS     := target/tools/s3s-fs-$(S3S_FS_VERSION)/bin/s3s-fs
# What runs against s3s-fs too: the tests of what a hostile principal may reach.
E2E_S3S_FS := tests/e2e/test_hostile.py tests/e2e/test_visibility.py tests/e2e/test_trailing_slash.py

.PHONY: setup build run test lint unit e2e s3s-fs fuzz validate-envoy check-policies test-policies oci-image bench bench-build bench-policy bench-instructions clean

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
	# The shim only builds for wasm32: lint that target too.
	cargo clippy --target wasm32-wasip1 -p s3gate -- -D warnings

unit: setup
	cargo test --workspace

# Built once (about 3 minutes), then kept: cargo install is skipped while the binary exists.
s3s-fs: $(S3S_FS)
$(S3S_FS):
	CARGO_TARGET_DIR=target/tools/build cargo install --locked --quiet \
		--root target/tools/s3s-fs-$(S3S_FS_VERSION) --features binary s3s-fs@$(S3S_FS_VERSION)

e2e: build $(S3S_FS)
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)
	S3GATE_S3S_FS_BIN=$(S3S_FS) $(VENV)/bin/pytest --upstream-store s3s-fs $(E2E_S3S_FS) $(PYTEST_ARGS)

test: lint unit test-policies e2e

# The property tests of core/tests/ (properties, tables, masks, jsonl) with FUZZ_CASES cases each (`make unit` runs a few
# hundred to a few thousand), optimised; about 1.5 minutes on 2 cores. Failing inputs are kept
# in core/tests/*.proptest-regressions, which every later run replays first: commit them.
FUZZ_CASES ?= 100000
fuzz: setup
	PROPTEST_CASES=$(FUZZ_CASES) cargo test --release -p s3gate-core --test properties --test tables --test masks --test jsonl --test transform

# `envoy --mode validate` on every shipped Envoy configuration (envoy/*.yaml, and those in
# deploy/'s ConfigMaps), with test certificates for the TLS ones; `make e2e` runs the same checks.
validate-envoy: build
	@mkdir -p .demo
	$(PY) scripts/render_envoy.py .demo/envoy.validate.yaml --wasm $(WASM) --validate
	$(VENV)/bin/pytest tests/e2e/test_operations.py tests/e2e/test_deploy.py tests/e2e/test_otel_access_log.py \
		-q -p no:cacheprovider -k "every_shipped_envoy_config or shipped_configurations \
		or configmap_passes_envoy_validate or otel_example_passes_envoy_validate"

# Checks a policy folder as the service does at start (POLICIES=DIR for another one), and
# against the Envoy configuration its gateway runs (ENVOY=FILE; ENVOY= skips the cross-check):
# data sources' upstreams, the plugin's clusters, buckets. The demo's principals have no secret
# of their own: like `make run`, it gives them the demo's shared S3GATE_DEFAULT_SECRET unless
# the environment sets one, so the demo checks clean.
POLICIES ?= policies/
ENVOY ?= envoy/envoy.yaml
check-policies: setup
	cargo build --release --quiet -p s3gate-policy
	S3GATE_DEFAULT_SECRET=$${S3GATE_DEFAULT_SECRET-immuta} $(POLICY_BIN) --check --policies $(POLICIES) $(if $(ENVOY),--envoy $(ENVOY))

# The demo's policy tests (policies/tests/): each case a principal, a path and what the
# policies must decide; a failing case names itself.
test-policies: setup
	cargo build --release --quiet -p s3gate-policy
	S3GATE_DEFAULT_SECRET=$${S3GATE_DEFAULT_SECRET-immuta} $(POLICY_BIN) test --policies $(POLICIES) policies/tests/*.yaml

# The filter as an OCI image in the layout Istio (WasmPlugin / TrafficExtension) and Envoy
# Gateway (EnvoyExtensionPolicy) pull: one layer holding plugin.wasm. Built with umoci (Debian
# package, installed on first use) into target/oci/s3gate (an OCI image layout; push it with
# `skopeo copy oci:target/oci/s3gate:TAG docker://REGISTRY/s3gate:TAG`), then checked.
OCI_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
oci-image: build
	@command -v umoci >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci; }
	$(PY) scripts/oci_image.py --wasm $(WASM) --out target/oci/s3gate --tag $(OCI_TAG)

# Not part of `make test`: s3gate against Envoy without the filter, a minimal wasm filter and
# nginx reached directly, plus criterion micro-benchmarks; see docs/benchmarks.md.
# BENCH_DURATION=3s for a smoke run. The bench crates build in target/bench (own workspace).
bench-build: build
	@test -x /usr/sbin/nginx && command -v wrk >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk; }
	@# wrk cannot HEAD (it waits for the announced body); oha does. Built once.
	@test -x target/bench/tools/bin/oha || CARGO_TARGET_DIR=target/bench/tools-build \
		cargo install --locked --root target/bench/tools oha@1.16.0
	cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release --target wasm32-wasip1 -p s3gate-bench-minimal
	@# The same filter with feature `levers`, for `bench/run.py --levers` (not run by default).
	cd bench && CARGO_TARGET_DIR=../target/bench/levers cargo build --release --target wasm32-wasip1 -p s3gate-bench-minimal --features levers
	cd bench && CARGO_TARGET_DIR=../target/bench cargo bench -p s3gate-bench --no-run
	@# The generated CSV of the transform benchmarks, written to files for bench/tables.py.
	cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release -p s3gate-bench --example table
	@# The policy service's load generator (bench/policy.py).
	cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release -p s3gate-bench-policy-load

# The policy service alone under a cold-start burst (distinct keys, one core): lookups/s and
# p99, docs/benchmarks.md "Policy service". BENCH_POLICY_ARGS as for bench/policy.py.
bench-policy: build
	@command -v taskset >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux; }
	cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release -p s3gate-bench-policy-load
	$(PY) bench/policy.py $(BENCH_POLICY_ARGS)

bench: bench-build
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/policy.py $(BENCH_POLICY_ARGS)

# Whole-Envoy instructions per cached GET under callgrind, per variant: repeatable where timed
# runs are not (docs/benchmarks.md, "Instructions per request"). BENCH_ARGS as for
# bench/instructions.py (e.g. --method HEAD, --compare NAME=PATH).
bench-instructions: bench-build
	@command -v valgrind >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
	$(PY) bench/instructions.py $(BENCH_ARGS)

clean:
	rm -rf .demo $(VENV)

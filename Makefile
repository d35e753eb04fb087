# The only commands anyone needs. `make demo` and `make test` work on a fresh Debian machine.
SHELL := /bin/bash
CARGO ?= cargo
APT_PACKAGES := libgdal-dev libproj-dev libclang-dev pkg-config gdal-bin proj-bin chromium fonts-noto-cjk
VENV := .venv

.PHONY: deps build demo demo-models test lint bench bench-micro bench-data bench-aux fuzz references clean

# Installs the system libraries (Debian's GDAL 3.6 / PROJ 9.1) and Chromium with CJK fonts (the
# report's browser test, tests/tests/report_browser.rs) when they are missing.
deps:
	@if ! pkg-config --exists gdal proj 2>/dev/null || ! command -v ogr2ogr >/dev/null || ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v chromium >/dev/null || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
		echo "installing system packages: $(APT_PACKAGES)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(CARGO) build --release -p gep-cli

# Runs the whole job on the embedded real data: 26 mountain counties, their townships and villages.
demo: build
	./target/release/gep run fixtures/demo/gep.toml
	@echo
	@echo "results: fixtures/demo/out/ (extent.csv, zones.csv, checks.csv, accounts.csv, gep.csv, manifest.json)"

# A COARSE DEMONSTRATION of the regulating services (water conservation, soil retention,
# carbon and oxygen, climate regulation) as quantity × price on the real coarse rasters of
# fixtures/aux_zhejiang/ with example inputs and the example parameter set.
demo-models: build
	./target/release/gep run fixtures/demo/models.toml
	@echo
	@echo "results: fixtures/demo/out-models/ (accounts.csv with quantity, unit, price, price year and source per service; quantities.csv; sensitivity.csv) — a coarse demonstration with example inputs and prices"

test: deps
	$(CARGO) test --workspace --no-fail-fast
	@# The pure-Rust crates must stay free of GDAL and PROJ (linkable without a C toolchain).
	@for c in gep-core gep-zonal gep-report; do \
		if $(CARGO) tree -p $$c -e normal --prefix none | grep -Eq '^(gdal|proj)'; then \
			echo "error: $$c depends on GDAL or PROJ"; exit 1; \
		fi; \
	done; echo "gep-core, gep-zonal, gep-report: no GDAL/PROJ in their dependency trees"
	@if $(CARGO) tree -p gep-engine --no-default-features -e normal --prefix none | grep -Eq '^(gdal|proj|gep-io)'; then \
		echo "error: gep-engine without its gdal feature depends on GDAL or PROJ"; exit 1; \
	fi; $(CARGO) check -q -p gep-engine --no-default-features && echo "gep-engine --no-default-features: pure Rust, builds"
	@# Callers that only tally need no polygon clipping (geo's boolean operations).
	@if $(CARGO) tree -p gep-zonal --no-default-features -e normal --prefix none | grep -Eq '^geo v'; then \
		echo "error: gep-zonal without geometry-checks still depends on geo"; exit 1; \
	fi; $(CARGO) check -q -p gep-zonal --no-default-features && echo "gep-zonal --no-default-features: tally without geo, builds"

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

bench-data: deps
	$(CARGO) run --release -p xtask -- bench-data --res 30
	$(CARGO) run --release -p xtask -- bench-data --res 10

# The whole benchmark: the gep-zonal micro-benchmarks, then bench/run.sh (full `gep run` vs
# exactextract 0.3 vs a GDAL decode floor, 30 m and 10 m, threads 1 and 2; then the land cover
# + five continuous rasters against the floor of all six, and gep's models against InVEST on
# the Willamette inputs) -> bench/RESULTS.md. Generates the rasters when missing;
# BENCH_RES="30" for the 30 m half only.
bench: bench-micro bench/.venv/.ok
	bench/run.sh

# Only the issue-12 rows (five continuous rasters, models vs InVEST), written into their section
# of bench/RESULTS.md; BENCH_AUX_RES="30" for 30 m only. The 10 m rasters take ≈ 6 GB.
bench-aux: deps
	BENCH_ONLY=aux bench/run.sh

bench-micro: deps
	$(CARGO) bench -p gep-zonal

# exactextract's own venv. Built on Debian's python3 with its system site-packages so that
# exactextract reads rasters and vectors through the python3-gdal bindings (its fastest path).
bench/.venv/.ok:
	@if ! [ -x /usr/bin/time ] || ! /usr/bin/python3 -c 'import osgeo, venv' 2>/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq time python3-gdal python3-venv; \
	fi
	/usr/bin/python3 -m venv --system-site-packages bench/.venv
	bench/.venv/bin/pip install -q exactextract==0.3.0
	touch $@

# Fuzzes the gep-core parsers and the exact coverage, FUZZ_SECONDS (default 60) per target, on
# stable Rust (no sanitizer). Not part of `make test` or CI; see fuzz/README.md.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

clean:
	$(CARGO) clean

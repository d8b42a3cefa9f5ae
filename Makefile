# Thin wrapper: dependencies, build, run, test. CMake does the real work.
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= 2
DATA_DIR  ?= ./var
LISTEN    ?= 127.0.0.1:4566

.PHONY: all deps test-deps build run test test-asan unit bench clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p $(DATA_DIR)
	$(BUILD_DIR)/bin/annexd --data-dir $(DATA_DIR) --listen $(LISTEN)

# Every test: unit, real-client integration, crash and bench smoke; then, in
# a sanitized build, the unit tests and the integration tests labelled
# "sanitized" (hostile clients, crashes) against an ASan+UBSan annexd.
# Each stage's time is printed as it ends and again at the end.
STAGES := $(abspath $(BUILD_DIR))/stage-times.txt
test:
	@mkdir -p $(BUILD_DIR) && : > $(STAGES)
	@ANNEX_STAGE_LOG=$(STAGES) scripts/stage.sh deps $(MAKE) --no-print-directory test-deps
	@ANNEX_STAGE_LOG=$(STAGES) scripts/stage.sh build $(MAKE) --no-print-directory build
	@ANNEX_STAGE_LOG=$(STAGES) scripts/stage.sh tests sh -c 'cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)'
	@ANNEX_STAGE_LOG=$(STAGES) $(MAKE) --no-print-directory test-asan
	@echo "== make test: every stage passed"; cat $(STAGES)

test-asan: deps
	@[ -f $(ASAN_DIR)/build.ninja ] || cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DANNEX_SANITIZE=ON
	@scripts/stage.sh asan-build cmake --build $(ASAN_DIR) -j $(JOBS) --target annex_unit_tests annexd annexctl annex-clockshift
	@scripts/stage.sh asan-tests sh -c 'cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS) -L "unit|sanitized"'

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

bench: test-deps build
	tests/bench/run_bench.sh
	tests/bench/image_bench.sh
	tests/bench/sync_bench.sh
	tests/bench/events_bench.sh
	tests/bench/logs_bench.sh
	tests/bench/supervisor_bench.sh
	tests/bench/authz_bench.sh
	tests/bench/registry_bench.sh
	tests/bench/ecs_bench.sh
	tests/bench/rds_bench.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)

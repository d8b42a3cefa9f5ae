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

# Every test: unit, real-client integration, crash and bench smoke; then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test: test-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan

test-asan: deps
	@[ -f $(ASAN_DIR)/build.ninja ] || cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DANNEX_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS) --target annex_unit_tests
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

bench: test-deps build
	tests/bench/run_bench.sh
	tests/bench/image_bench.sh
	tests/bench/sync_bench.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)

# Two commands on a fresh machine: `make demo` and `make test`. Both install what is missing.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
NHITS := $(BUILD_DIR)/bin/nhits
DEB_PACKAGES := cmake ninja-build g++ pkg-config ccache libopenblas-dev nlohmann-json3-dev libcli11-dev libgtest-dev zlib1g-dev libdnnl-dev libcpp-httplib-dev curl python3 python3-venv prometheus libonnx-dev libprotobuf-dev libb64-0d
JOBS ?= $(shell nproc)

.PHONY: all deps configure build peers test test-slow demo clean

all: build

# Installs the Debian packages that are not installed yet (needs root, as in CI).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD_DIR)/build.ninja: | deps
	cmake --preset $(PRESET)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build --preset $(PRESET) -j $(JOBS)

# The real peers some tests drive (Triton's client and perf_analyzer, ONNX Runtime), from PyPI
# into the build folder; without PyPI those tests skip.
peers: configure
	tools/install_test_peers.sh $(BUILD_DIR)

test: build peers
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE slow

test-slow: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L slow

demo: build
	$(NHITS) demo

clean:
	rm -rf build out

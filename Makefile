# Foley-VAE. The README's quick start is `make studio` and `make test`; both create .venv from nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)
# torch is pinned in the same pip command as everything else so pip never pulls a CUDA build.
PIP_INSTALL := $(PIP) install --disable-pip-version-check -q "torch==2.13.0"
PORT ?= 8000

.PHONY: studio test test-all sysdeps venv lint typecheck bench data soak bundled-model zoo mclt-models examples clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e ".[all]"
	@# aisfx (sound-effect embeddings for evaluation) pins old numpy/librosa; we use only its bundled CNN
	$(PIP) install --disable-pip-version-check -q --no-deps aisfx
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP)

# System packages (Debian/Ubuntu). Installed only when running as root; otherwise printed.
SYSDEPS := libsndfile1 libportaudio2 jackd2 libjack-jackd2-dev chromium espeak-ng sox ffmpeg cmake g++
sysdeps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	else echo "optional system packages (install as root): $(SYSDEPS)"; fi

studio: $(STAMP)
	$(VENV)/bin/foleyvae studio --port $(PORT)

test: sysdeps $(STAMP)
	FOLEYVAE_REQUIRE_ALL=$${FOLEYVAE_REQUIRE_ALL:-0} $(PY) -m pytest -q -x --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	for b in benchmarks/*.py; do case $$b in *soak_live.py|*/_*.py) continue;; esac; $(PY) $$b || exit 1; done  # soak: make soak; _*.py: helpers

data: $(STAMP)
	$(VENV)/bin/foleyvae data fetch minetest -o data/raw/minetest

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# The bundled model's recipe (CPU is fine; MIN = training minutes).
MIN ?= 60
bundled-model: $(STAMP)
	scripts/bundled_model.sh $(MIN)

# The model zoo (footsteps, impacts, water, electromagnetic, scifi), each fine-tuned from `foley` for ZOO_MIN minutes.
ZOO_MIN ?= 20
zoo: $(STAMP)
	scripts/zoo.sh $(ZOO_MIN)

# issue #12, the long reliability runs: atheris on every fuzz target for FUZZ_S seconds each (counts in
# benchmarks/results/fuzz_long.json), the kill tests with KILL_REPEAT times the random kills, issue #25's studio checks
# at full size (the real 1000 s FLAC bomb, 5000 slow connections), then the 10-minute live soak on a private JACK
# dummy server (benchmarks/results/soak_live.json).
FUZZ_S ?= 120
KILL_REPEAT ?= 5
soak: sysdeps $(STAMP)
	rm -f benchmarks/results/fuzz_long.json
	FOLEYVAE_FUZZ_SECONDS=$(FUZZ_S) FOLEYVAE_REQUIRE_ALL=1 $(PY) -m pytest -q -s --timeout 0 tests/reliability/test_atheris.py
	FOLEYVAE_KILL_REPEAT=$(KILL_REPEAT) FOLEYVAE_REQUIRE_ALL=1 $(PY) -m pytest -q --timeout 0 tests/reliability/test_kill.py \
		tests/training/test_training.py -k "kill" -m "slow or not slow"
	FOLEYVAE_SOAK=1 FOLEYVAE_REQUIRE_ALL=1 $(PY) -m pytest -q -s --timeout 0 tests/studio/test_hardening.py \
		tests/studio/test_hardening_net.py -k "bomb or slow"
	$(PY) benchmarks/soak_live.py --minutes 10

# The four MCLT models (after bundled-model has prepared data/datasets/foley), MCLT_MIN training minutes each.
MCLT_MIN ?= 20
mclt-models: $(STAMP)
	scripts/mclt_models.sh $(MCLT_MIN)

# The listening page docs/examples (foleyvae examples; --quick for two examples per table).
examples: $(STAMP)
	$(VENV)/bin/foleyvae examples -o docs/examples --force

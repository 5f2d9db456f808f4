# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up .venv/ first (Python 3.10 + the locked dependencies).

VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast test-e2e lint lock clean notebook benchmarks benchmarks-check

setup:
	@bash scripts/setup.sh

demo: setup
	$(BIN)/seqgen run --task lcd --config demo

# Two pytest-xdist workers, one test file each at a time (a file's module
# fixtures, such as its model server, are built once): about as many as the
# two cores the suite is measured on. Files go out longest first, in the order
# tests/conftest.py gives them. `pytest FILE` alone runs in one process.
PARALLEL := -n 2 --dist loadfile --no-loadscope-reorder

test: setup
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: setup
	$(BIN)/python -m pytest $(PARALLEL) -m "not e2e"

test-e2e: setup
	$(BIN)/python -m pytest $(PARALLEL) -m e2e

# Every number in BENCHMARKS.md and README.md against benchmarks/results/ (seconds; the tests run it too).
benchmarks-check: setup
	$(BIN)/python -m benchmarks.report_check

# The full benchmarks behind BENCHMARKS.md (hours; serving.py measures the demo's model).
benchmarks: demo
	$(BIN)/python -m benchmarks.lcd_demo
	$(BIN)/python -m benchmarks.lcd_quality
	$(BIN)/python -m benchmarks.lcd_held_out
	$(BIN)/python -m benchmarks.art_quality
	$(BIN)/python -m benchmarks.ablation
	$(BIN)/python -m benchmarks.pipeline_speed
	$(BIN)/python -m benchmarks.data_generation
	$(BIN)/python -m benchmarks.sequences_quality
	$(BIN)/python -m benchmarks.sequences_read
	$(BIN)/python -m benchmarks.serving --out benchmarks/results
	$(BIN)/python -m benchmarks.shuffle_memory

# Jupyter on the run inspector; SEQGEN_PIPELINE_ROOT picks the run (default: the LCD demo's).
notebook: setup
	$(BIN)/jupyter lab notebooks/inspect_run.ipynb

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Re-resolve requirements/lock.txt from requirements/requirements.in.
lock: setup
	$(BIN)/uv pip compile --python $(BIN)/python --python-version 3.10 \
		requirements/requirements.in -o requirements/lock.txt

clean:
	rm -rf $(VENV) runs .pytest_cache

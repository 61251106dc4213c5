# Two entry points: `make demo` runs the flow end to end, `make test` runs every test.
# Both create and fill .venv on first use (torch CPU wheel first, then the package).

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
JOBS   ?= 2

.PHONY: venv demo test quick lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Xilinx ap_int headers for the HLS C-simulation (pure Python wheel, never imported)
	$(BIN)/python -m pip install --quiet --no-deps hls4ml==1.3.0
	touch $(STAMP)

venv: $(STAMP)

DEMO := out/demo
demo: $(STAMP)
	@echo "== 1/7 train a HadamRNN on the copy task (delay 20, n = 64, binary W, 4-bit U/V)"
	$(BIN)/hadamhw train --task copy --seq-len 20 --hidden 64 --steps 800 --lr 3e-3 \
	    --val-every 200 -o $(DEMO)/copy.pt
	@echo "== 2/7 lower to the integer IR (12-bit state)"
	$(BIN)/hadamhw lower $(DEMO)/copy.pt -o $(DEMO)/copy.ir.json
	@echo "== 3/7 float vs integer model on the test set"
	$(BIN)/hadamhw eval $(DEMO)/copy.ir.json --checkpoint $(DEMO)/copy.pt
	@echo "== 4/7 generate Verilog (fully parallel: one time step per cycle)"
	$(BIN)/hadamhw generate $(DEMO)/copy.ir.json --target verilog -o $(DEMO)/rtl
	@echo "== 5/7 cocotb + Verilator: AXI-Stream test bench with gaps and back-pressure"
	$(BIN)/hadamhw sim $(DEMO)/rtl --sequences 20
	@echo "== 6/7 direct Verilator harness: the whole copy-task test set, bit-exact"
	$(BIN)/hadamhw sim $(DEMO)/rtl --batch --task-data --sequences 2000
	@echo "== 7/7 synthesis report (Yosys, ECP5): LUTs, FFs, zero multipliers"
	$(BIN)/hadamhw report $(DEMO)/rtl --fpga ecp5
	@echo "demo done: artifacts in $(DEMO)/"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

quick: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow and not sim and not synth and not hls"

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build out runs .pytest_cache

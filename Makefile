# Two entry points: `make demo` runs the flow end to end, `make test` runs every test.
# Both create and fill .venv on first use (torch CPU wheel first, then the package).

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
JOBS   ?= 2

.PHONY: venv demo demo-report test quick lint clean

# A download cut off mid-wheel (CI once saw ruff stop at 7.6 of 10.6 MB six times running)
# must not fail the run: pip retries each connection and resumes each download, and the
# whole install is tried again, four times in all, with a growing pause.
PIP_FLAGS := --quiet --retries 10 --timeout 60
define pip_install
echo "pip install $(1)"; for attempt in 1 2 3 4; do \
    $(BIN)/python -m pip install $(PIP_FLAGS) $(1) && break; \
    if [ $$attempt = 4 ]; then echo "pip install $(1): failed 4 times" >&2; exit 1; fi; \
    echo "pip install $(1): attempt $$attempt failed; again in $$((attempt * 20)) s" >&2; \
    sleep $$((attempt * 20)); \
done
endef

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	@$(call pip_install,--upgrade pip)
	@$(call pip_install,--resume-retries 20 torch==2.13.0)
	@$(call pip_install,--resume-retries 20 -c constraints.txt -e '.[dev]')
	# Xilinx ap_int headers for the HLS C-simulation (pure Python wheel, never imported)
	@$(call pip_install,--resume-retries 20 --no-deps hls4ml==1.3.0)
	touch $(STAMP)

venv: $(STAMP)

DEMO      := out/demo
# Synthesis of the demo: the generic 4-LUT flow is the fastest; DEMO_FPGA=ecp5 DEMO_PNR=--pnr
# adds technology mapping, place and route and Fmax (about 10 more minutes on 2 cores).
DEMO_FPGA ?= generic
DEMO_PNR  ?=
DEMO_CORE := hadamhw:rnn:hadamrnn
demo: $(STAMP)
	@mkdir -p $(DEMO) && date +%s > $(DEMO)/.started
	@echo "== 1/8 train a HadamRNN on sequential digits (8x8 images, one pixel per step; n = 32)"
	$(BIN)/hadamhw train --task digits --hidden 32 --epochs 30 --batch-size 32 --lr 3e-3 \
	    --threads 1 -o $(DEMO)/digits.pt
	@echo "== 2/8 lower to the integer IR (12-bit state)"
	$(BIN)/hadamhw lower $(DEMO)/digits.pt -o $(DEMO)/digits.ir.json
	@echo "== 3/8 float vs integer model on the test set"
	$(BIN)/hadamhw eval $(DEMO)/digits.ir.json --checkpoint $(DEMO)/digits.pt --json \
	    > $(DEMO)/eval.json
	@echo "== 4/8 generate Verilog (one time step per cycle), its test bench and FuseSoC core"
	$(BIN)/hadamhw generate $(DEMO)/digits.ir.json --target verilog -o $(DEMO)/rtl
	@echo "== 5/8 cocotb + cocotbext-axi on Verilator: five traffic patterns, a mid-stream reset"
	$(BIN)/hadamhw sim $(DEMO)/rtl --sequences 20 --json > $(DEMO)/cocotb.json
	@echo "== 6/8 direct Verilator harness: every test image, bit-exact"
	$(BIN)/hadamhw sim $(DEMO)/rtl --batch --task-data --sequences 360 --json > $(DEMO)/batch.json
	@echo "== 7/8 FuseSoC: the core's own sim target (self-checking test bench on Icarus)"
	@if command -v iverilog > /dev/null; then \
	    cd $(DEMO) && $(BIN)/fusesoc --cores-root rtl run --target sim $(DEMO_CORE) \
	        > fusesoc-sim.log 2>&1; status=$$?; grep -E "PASS|FAIL|MISMATCH" fusesoc-sim.log; \
	    exit $$status; \
	else echo "skipped: Icarus Verilog (iverilog) is not installed"; fi
	@echo "== 8/8 Yosys ($(DEMO_FPGA)): LUTs, FFs, zero multipliers"
	$(BIN)/hadamhw report $(DEMO)/rtl --fpga $(DEMO_FPGA) $(DEMO_PNR) --json > $(DEMO)/report.json
	@echo "== summary (artifacts in $(DEMO)/)"
	@$(BIN)/python tools/demo_summary.py --design $(DEMO)/rtl --eval $(DEMO)/eval.json \
	    --cocotb $(DEMO)/cocotb.json --batch $(DEMO)/batch.json --report $(DEMO)/report.json \
	    --seconds $$(( $$(date +%s) - $$(cat $(DEMO)/.started) ))

# The large report: an n = 64 copy-task model (delay 20) on ECP5, placed and routed; Yosys
# alone takes 10-17 min on 2 cores.
DEMO_LARGE := out/demo-report
demo-report: $(STAMP)
	@mkdir -p $(DEMO_LARGE)
	$(BIN)/hadamhw train --task copy --seq-len 20 --hidden 64 --steps 800 --lr 3e-3 \
	    --val-every 200 --threads 1 -o $(DEMO_LARGE)/copy.pt
	$(BIN)/hadamhw lower $(DEMO_LARGE)/copy.pt -o $(DEMO_LARGE)/copy.ir.json
	$(BIN)/hadamhw eval $(DEMO_LARGE)/copy.ir.json --checkpoint $(DEMO_LARGE)/copy.pt
	$(BIN)/hadamhw generate $(DEMO_LARGE)/copy.ir.json --target verilog -o $(DEMO_LARGE)/rtl
	$(BIN)/hadamhw report $(DEMO_LARGE)/rtl --fpga ecp5 --pnr --markdown \
	    | tee $(DEMO_LARGE)/report.md

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

quick: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow and not sim and not synth and not hls"

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build out runs .pytest_cache

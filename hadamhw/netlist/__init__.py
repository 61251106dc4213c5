"""The typed netlist of the datapath, between the integer IR and the HDL.

- nodes: the node set, each node with its integer interval (width and signedness follow);
- adders: constant products as adder nodes (CSD trees, da4ml's CMVM solution);
- single_cycle: the builder of the single-cycle architecture;
- dense: the dense baseline (single-cycle sections, the rotation as one adder tree per row);
- stage: the stage fold (one Pease bank, k cycles per step, its control as nodes);
- evaluate: the int64 evaluator (a second executable form of the integer semantics);
- passes: netlist -> netlist transformations (dead nodes, width tightening, pipelining);
- verilog: the datapath printed as a Verilog-2005 module, node by node;
- shells: the single-cycle netlist printed into the Verilog templates' sections (what
  `hadamhw generate` prints for the single-cycle core); shells_dense and shells_stage do
  the same for the dense baseline and the stage fold.

Layers: hadamhw.ir <- hadamhw.netlist <- hadamhw.backends (this package never imports a
backend). docs/architecture.md is the map.
"""

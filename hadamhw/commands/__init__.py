"""Sub-commands of `hadamhw`; each module has `register(subparsers)`.

The order here is the order of `hadamhw --help`.
"""

COMMAND_MODULES = [
    "hadamhw.commands.train",
    "hadamhw.commands.info",
    "hadamhw.commands.lower",
    "hadamhw.commands.evaluate",
    "hadamhw.commands.generate",
    "hadamhw.commands.sim",
    "hadamhw.commands.csim",
    "hadamhw.commands.prove",
    "hadamhw.commands.report",
    "hadamhw.commands.sweep",
    "hadamhw.commands.import_ref",
    "hadamhw.commands.data",
    "hadamhw.commands.board",
]

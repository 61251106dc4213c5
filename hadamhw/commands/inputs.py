"""What a command's input path is (hadamhw.inputs, below the API, which uses it too)."""

from hadamhw.inputs import (
    CHECKPOINT,
    DESIGN,
    FOLDER,
    IR,
    MISSING,
    OTHER,
    expect_checkpoint,
    expect_design,
    expect_model,
    input_kind,
)

__all__ = ["CHECKPOINT", "DESIGN", "FOLDER", "IR", "MISSING", "OTHER", "expect_checkpoint",
           "expect_design", "expect_model", "input_kind"]

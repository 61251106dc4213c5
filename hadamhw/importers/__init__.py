"""Importers: checkpoints trained by other code, converted into hadamhw checkpoints."""

from hadamhw.importers.reference import (
    ImportResult,
    ReferenceConfig,
    convert_reference,
    import_reference,
    read_reference_config,
    read_reference_state_dict,
    reference_codes,
)

__all__ = [
    "ImportResult",
    "ReferenceConfig",
    "convert_reference",
    "import_reference",
    "read_reference_config",
    "read_reference_state_dict",
    "reference_codes",
]

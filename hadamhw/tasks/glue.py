"""GLUE SST-2 and QQP: BERT WordPiece ids through a word embedding, one logit, BCE.

The reference's set-up (deel-ai-papers/hadamRNN, config/glue): BinadamSSMwithEmbeddings over
the bert-base-uncased vocabulary (30,522 ids, [PAD] = 0 held at a zero embedding), embedding
256, T = 128, readout at the last step, BCE with logits, 4-bit U and V; SST-2 with n = 128
(HadamRNN), QQP with n = 512 and BASIC_BLOCK 7 (Block-HadamRNN, m = 128). The data file comes
from `hadamhw data glue` (hadamhw.tasks.glue_data): GLUE's dev set is its test split, whose
first half tests and second half validates, as for IMDB.

The rows are post-padded (the text first, then [PAD]), so the steps are the file's: a shorter
T would cut the text, not the padding.
"""

from __future__ import annotations

from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.tasks import GLUE_TASKS
from hadamhw.tasks.imdb import TokenFileTask

DEFAULT_EMBEDDING_DIM = 256  # the reference's INPUT_SIZE for both tasks


class GlueTask(TokenFileTask):
    def __init__(self, name: str, data: str | Path | None, seq_len: int | None = None,
                 seed: int = 0, embedding_dim: int = DEFAULT_EMBEDDING_DIM) -> None:
        if name not in GLUE_TASKS:
            raise HadamhwError(f"unknown GLUE task {name!r}; choose one of "
                               f"{', '.join(GLUE_TASKS)}")
        super().__init__(name, data, seq_len, seed, embedding_dim)

    def build_command(self, name: str) -> str:
        return f"hadamhw data glue --task {name} --from-tsv DIR --vocab vocab.txt -o {name}.npz"

    def checked_seq_len(self, seq_len: int | None, steps: int, data) -> int:
        if seq_len not in (None, steps):
            raise HadamhwError(f"--seq-len {seq_len}: the data file {data} has {steps} steps, "
                               "fixed when it was built (rows are padded after the text); "
                               f"rebuild it with 'hadamhw data glue --seq-len {seq_len}' or "
                               "leave --seq-len out")
        return steps

    def kept_steps(self, steps: int, seq_len: int) -> slice:
        return slice(0, steps)

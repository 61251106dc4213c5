"""`hadamhw import-ref`: reference HadamRNN state dict + YAML config -> hadamhw checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.inputs import IR, input_kind
from hadamhw.commands.options import SEED, SEQ_LEN
from hadamhw.commands.paths import check_output_file, user_path
from hadamhw.errors import HadamhwError


def register(sub) -> None:
    from hadamhw.tasks import TASKS

    p = sub.add_parser(
        "import-ref", help="convert a checkpoint of the reference HadamRNN code",
        description="Convert a state dict trained with the reference implementation "
                    "(deel-ai-papers/hadamRNN, single-layer BinadamSSM or "
                    "BinadamSSMwithEmbeddings) plus its YAML experiment config into a hadamhw "
                    "checkpoint that lower, eval, generate and sim accept.")
    p.add_argument("state_dict", type=user_path,
                   help="the reference model's state dict (torch.save file)")
    p.add_argument("--config", type=user_path, required=True, metavar="CONFIG.yaml",
                   help="the reference experiment config it was trained with (MODEL section)")
    p.add_argument("-o", "--output", type=user_path, required=True,
                   help="checkpoint to write (model.pt)")
    p.add_argument("--input", choices=("real", "onehot"), default=None,
                   help="real: float input vectors (default); onehot: token ids that the "
                        "reference fed as one-hot vectors of INPUT_SIZE (copy task). "
                        "Embedding models take token ids without this option")
    p.add_argument("--task", choices=TASKS, default=None,
                   help="record this hadamhw task in the checkpoint so that lowering can "
                        "calibrate on its data (otherwise lowering needs --calib-data); "
                        "default: the task the config's DATASET names (CopyMemory: copy with "
                        "one-hot input; IMDB: imdb, with --data; GLUE with TASK sst2 / qqp: "
                        "that task, with --data)")
    p.add_argument("--seq-len", type=SEQ_LEN, default=None,
                   help="copy task delay T (default: DATASET.SEQ_LENGTH - 20 of a CopyMemory "
                        "config, else 100); imdb: steps kept (default DATASET.SEQ_LENGTH)")
    p.add_argument("--seed", type=SEED, default=0, help="task seed (default 0)")
    p.add_argument("--data", type=user_path, default=None,
                   help="folder with MNIST IDX files (MNIST tasks), or the imdb / sst2 / qqp "
                        ".npz file ('hadamhw data')")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def run(args) -> int:
    from hadamhw.checkpoint import save_checkpoint
    from hadamhw.importers.reference import describe, import_reference

    check_output_file(args.output, "checkpoint", example="model.pt")
    if input_kind(args.state_dict) == IR:
        raise HadamhwError(f"{args.state_dict}: is an integer IR file, not a state dict of the "
                           "reference code; 'hadamhw import-ref' takes a torch.save file of "
                           "deel-ai-papers/hadamRNN, and an IR goes straight to 'hadamhw eval', "
                           "'generate' or 'sim'")
    result = import_reference(args.state_dict, args.config, input_kind=args.input,
                              task=args.task, seq_len=args.seq_len, seed=args.seed,
                              data=args.data)
    save_checkpoint(args.output, result.model, result.task, {}, result.provenance)
    if args.json:
        print(json.dumps({"output": args.output, "config": result.model.config.to_dict(),
                          "task": result.task, "notes": result.notes}, indent=2))
    else:
        print(describe(result))
        print(f"wrote {Path(args.output)}")
    return 0

"""`hadamhw data`: build the data files that tasks read (IMDB, GLUE SST-2 and QQP as .npz)."""

from __future__ import annotations

import sys

DEFAULT_SEQ_LEN = 500  # the reference's T (also in hadamhw.tasks.imdb_data; kept light here)
DEFAULT_NUM_WORDS = 10_000
GLUE_SEQ_LEN = 128  # the reference's (also in hadamhw.tasks.glue_data)


def register(sub) -> None:
    p = sub.add_parser("data", help="build task data files (IMDB, GLUE)",
                       description="Build the data files that tasks read.")
    kinds = p.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    imdb = kinds.add_parser(
        "imdb", help="IMDB reviews -> padded token ids (.npz) for --task imdb",
        description="Build the .npz file of --task imdb (x_train, y_train, x_test, y_test, "
                    "num_words; no pickle inside) from the Stanford aclImdb text release "
                    "(https://ai.stanford.edu/~amaas/data/sentiment/, unpacked), with Keras's "
                    "numbering: 0 padding, 1 start, 2 unknown word, 3 unused, then words by "
                    "frequency in the training reviews; reviews pre-truncated and pre-padded "
                    "to --seq-len.")
    source = imdb.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-aclimdb", metavar="DIR",
                        help="the unpacked aclImdb folder (train/pos, train/neg, test/pos, "
                             "test/neg)")
    source.add_argument("--from-pickle", metavar="PKL",
                        help="the reference's imdb_data.pkl (needs --trust-pickle: unpickling "
                             "runs code from the file)")
    imdb.add_argument("--trust-pickle", action="store_true",
                      help="allow --from-pickle to unpickle the file; only for a file you trust")
    imdb.add_argument("--seq-len", type=int, default=DEFAULT_SEQ_LEN,
                      help=f"steps per review T (default {DEFAULT_SEQ_LEN})")
    imdb.add_argument("--num-words", type=int, default=DEFAULT_NUM_WORDS,
                      help=f"vocabulary size including the 4 reserved ids (default "
                           f"{DEFAULT_NUM_WORDS})")
    imdb.add_argument("-o", "--output", required=True, help="the .npz file to write")
    imdb.set_defaults(func=run_imdb)
    _register_glue(kinds)


def _register_glue(kinds) -> None:
    from hadamhw.tasks import GLUE_TASKS

    glue = kinds.add_parser(
        "glue", help="GLUE SST-2 / QQP TSVs -> padded BERT WordPiece ids (.npz) for --task "
                     "sst2 / qqp",
        description="Build the .npz file of --task sst2 or qqp (the format of 'hadamhw data "
                    "imdb') from the GLUE release's train.tsv and dev.tsv (the test split has "
                    "no labels: dev.tsv becomes the test split, as in the reference). Texts "
                    "are tokenized offline with the WordPiece vocabulary given (bert-base-"
                    "uncased's vocab.txt, lower-cased): [CLS] text [SEP], a QQP pair as "
                    "[CLS] question1 [SEP] [SEP] question2 [SEP], truncated to --seq-len and "
                    "padded with [PAD] after the text. Needs the 'tokenizers' package.")
    glue.add_argument("--task", choices=GLUE_TASKS, required=True,
                      help="sst2 (sentence, label) or qqp (question1, question2, "
                           "is_duplicate)")
    glue.add_argument("--from-tsv", metavar="DIR", required=True,
                      help="the GLUE task folder (SST-2 or QQP) with train.tsv and dev.tsv")
    glue.add_argument("--vocab", metavar="VOCAB.txt", required=True,
                      help="WordPiece vocabulary, one token a line (bert-base-uncased's "
                           "vocab.txt: 30,522 tokens; [PAD] on line 1, with [UNK], [CLS], "
                           "[SEP])")
    glue.add_argument("--seq-len", type=int, default=GLUE_SEQ_LEN,
                      help=f"steps per example T, [CLS] and [SEP] included (default "
                           f"{GLUE_SEQ_LEN}, the reference's)")
    glue.add_argument("--skip-bad-rows", action="store_true",
                      help="drop rows whose column count differs from the header's (as the "
                           "reference's Hugging Face loader drops rows with missing fields) "
                           "instead of stopping at the first")
    glue.add_argument("-o", "--output", required=True, help="the .npz file to write")
    glue.set_defaults(func=run_glue)


def run_imdb(args) -> int:
    from hadamhw.errors import HadamhwError
    from hadamhw.tasks import imdb_data

    if args.from_pickle:
        if not args.trust_pickle:
            raise HadamhwError(f"{args.from_pickle}: a pickle can run arbitrary code when "
                               "loaded; pass --trust-pickle if you trust this file, or build "
                               "the data from the text release with --from-aclimdb DIR")
        print(f"warning: unpickling {args.from_pickle} (--trust-pickle): this runs any code "
              "the file holds", file=sys.stderr)
        arrays = imdb_data.from_pickle(args.from_pickle, args.seq_len, args.num_words)
    else:
        if args.trust_pickle:
            raise HadamhwError("--trust-pickle applies to --from-pickle only")
        arrays = imdb_data.from_aclimdb(args.from_aclimdb, args.seq_len, args.num_words)
    imdb_data.save_npz(arrays, args.output)
    print(imdb_data.summary(arrays))
    print(f"wrote {args.output}")
    return 0


def run_glue(args) -> int:
    from hadamhw.commands.paths import check_output_file
    from hadamhw.tasks import glue_data, imdb_data

    # before the tokenization (a minute for QQP): a bad -o must not cost it
    check_output_file(args.output, "data file", example=f"{args.task}.npz")
    arrays, record = glue_data.from_glue_tsv(args.task, args.from_tsv, args.vocab,
                                             args.seq_len, args.skip_bad_rows)
    imdb_data.validate(arrays, args.output)
    imdb_data.save_npz(arrays, args.output)
    print(glue_data.summary(arrays, record))
    print(f"wrote {args.output}")
    return 0

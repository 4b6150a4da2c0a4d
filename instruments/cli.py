"""``survey-instrument``: check instrument files and import XLSForm workbooks.

    survey-instrument check FILE...
    survey-instrument publish FILE
    survey-instrument import-xlsform FORM.xlsx -o OUT.yaml [--key K] [--version V]

Errors are printed one per line on stderr and the exit status is 1; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .loader import InstrumentError, load_instrument, publish_instrument

__all__ = ["main"]


def _check(files: Sequence[str]) -> int:
    status = 0
    for file in files:
        try:
            inst = load_instrument(file)
        except InstrumentError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            status = 1
            continue
        for warning in inst.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        state = "published" if inst.published else "draft"
        print(f"{file}: OK ({inst.key} v{inst.version}, {state}, {inst.content_hash})")
    return status


def _publish(file: str) -> int:
    try:
        inst, new = publish_instrument(file)
    except InstrumentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    what = "published" if new else "already published"
    print(f"{file}: {inst.key} v{inst.version} {what} ({inst.content_hash})")
    return 0


def _import(args: argparse.Namespace) -> int:
    from .xlsform import XLSFormError, import_xlsform

    notes: list[str] = []
    try:
        text = import_xlsform(args.form, key=args.key, version=args.version, notes=notes)
    except XLSFormError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    out = Path(args.output)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"{out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    print(f"{out}: written")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="survey-instrument", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="load and check instrument files")
    check.add_argument("files", nargs="+", metavar="FILE")
    pub = sub.add_parser("publish", help="record a version as published (it may never change)")
    pub.add_argument("file", metavar="FILE")
    imp = sub.add_parser("import-xlsform", help="turn an XLSForm workbook into an instrument file")
    imp.add_argument("form", metavar="FORM.xlsx")
    imp.add_argument("-o", "--output", required=True, metavar="OUT.yaml")
    imp.add_argument("--key", help="instrument key (default: form_id or the file name)")
    imp.add_argument("--version", type=int, default=None, help="version number (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.files)
        if args.command == "publish":
            return _publish(args.file)
        return _import(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        print(f"survey-instrument: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

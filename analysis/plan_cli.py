"""``survey-plan``: simulate a wave before fieldwork — can its design settle 99%?

::

    survey-plan FRAME.csv --design census|srs|two-stage [--n N]
                [--buildings B --per-building M]
                [--expected RATE | --expected-column COL]
                [--response-rate 0.9] [--icc 0.05] [--method korn-graubard]
                [--level 0.95] [--target 0.99] [--replicates 1000] [--seed 0]
                [--goal 0.8] [--search] [--format table|json|csv]

FRAME.csv has one row per building: ``community``, ``building``, ``households`` (and the
column named by ``--expected-column`` with each community's expected rate, e.g. the last
wave's). Prints per community the probability of 达标 (met), 未达标 (not met) and 待定
(undetermined), the expected completes and interval width; with ``--search`` also the
smallest sample (srs: households, two-stage: buildings) that settles the verdict with
probability ``--goal``. See docs/methodology.md, "Planning a wave by simulation".

Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys

PROG = "survey-plan"
EXIT_INPUT = 2
EXIT_INTERNAL = 1
COLUMNS = (
    "community",
    "households",
    "buildings",
    "expected",
    "sample",
    "completes",
    "p_met",
    "p_not_met",
    "p_undetermined",
    "width",
)


def build_parser() -> argparse.ArgumentParser:
    from analysis.intervals import METHODS
    from analysis.simulate import DESIGNS

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("frame", help="CSV, one row per building: community, building, households")
    p.add_argument("--design", choices=DESIGNS, required=True)
    p.add_argument("--n", type=int, help="srs: households per community")
    p.add_argument("--buildings", type=int, help="two-stage: buildings per community")
    p.add_argument("--per-building", type=int, help="two-stage: households per building")
    rate = p.add_mutually_exclusive_group(required=True)
    rate.add_argument("--expected", type=float, help="expected rate in every community")
    rate.add_argument("--expected-column", help="frame column with each community's rate")
    p.add_argument("--response-rate", type=float, default=0.9)
    p.add_argument("--icc", type=float, default=0.05, help="intra-building correlation")
    p.add_argument("--method", choices=METHODS, default="korn-graubard")
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--goal", type=float, default=0.8, help="probability of a settled verdict")
    p.add_argument("--search", action="store_true", help="find the smallest design reaching --goal")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 bad input, 1 internal error)."""
    args = build_parser().parse_args(argv)
    try:
        text = run(args)
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        from analysis.errors import AnalysisInputError

        if isinstance(e, AnalysisInputError | OSError | ValueError):
            return _fail(
                e.describe(header_lines=1) if isinstance(e, AnalysisInputError) else str(e)
            )
        return _fail(f"internal error: {type(e).__name__}: {e}", EXIT_INTERNAL)
    sys.stdout.write(text)
    return 0


def _fail(message: str, status: int = EXIT_INPUT) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"{PROG}: error: {first}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> str:
    """Read the frame, simulate (and search), format."""
    import pandas as pd

    from analysis.errors import AnalysisInputError
    from analysis.simulate import WaveDesign, simulate_wave, smallest_design

    try:
        frame = pd.read_csv(args.frame)
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{args.frame} is empty") from None
    except pd.errors.ParserError as e:
        raise AnalysisInputError(f"{args.frame} is not a valid CSV: {e}") from None
    expected = args.expected
    if args.expected_column is not None:
        if args.expected_column not in frame.columns:
            raise AnalysisInputError("not in the frame", column=args.expected_column)
        expected = (
            frame.groupby("community")[args.expected_column].first().to_dict()
            if "community" in frame.columns
            else 0.0
        )
    design = WaveDesign(
        args.design, n=args.n, buildings=args.buildings, per_building=args.per_building
    )
    options = dict(
        response_rate=args.response_rate,
        icc=args.icc,
        method=args.method,
        level=args.level,
        target=args.target,
        replicates=args.replicates,
        seed=args.seed,
    )
    result = simulate_wave(frame, expected=expected, design=design, **options)
    rows = [{c: getattr(p, c) for c in COLUMNS} for p in result.communities]
    if args.search:
        found = smallest_design(frame, expected=expected, design=design, goal=args.goal, **options)
        for row, s in zip(rows, found, strict=True):
            row["smallest"] = s.sample
            row["smallest_p_settled"] = s.plan.p_settled
    return _format(rows, args)


def _format(rows: list[dict], args) -> str:
    if args.format == "json":
        settings = {
            k: getattr(args, k)
            for k in (
                "design",
                "n",
                "buildings",
                "per_building",
                "response_rate",
                "icc",
                "method",
                "level",
                "target",
                "replicates",
                "seed",
                "goal",
            )
        }
        return (
            json.dumps({"settings": settings, "communities": rows}, ensure_ascii=False, default=str)
            + "\n"
        )
    if args.format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    return _table(rows, args)


def _table(rows: list[dict], args) -> str:
    head = [
        "community",
        "households",
        "sample",
        "completes",
        "达标 met",
        "未达标 not met",
        "待定 undet.",
        "width",
    ]
    if args.search:
        head.append(f"smallest for {args.goal:.0%}")
    lines = [head]
    for r in rows:
        line = [
            str(r["community"]),
            str(r["households"]),
            str(r["sample"]),
            f"{r['completes']:.1f}",
            _pct(r["p_met"]),
            _pct(r["p_not_met"]),
            _pct(r["p_undetermined"]),
            _pct(r["width"]),
        ]
        if args.search:
            line.append("unreachable" if r["smallest"] is None else str(r["smallest"]))
        lines.append(line)
    widths = [max(_width(line[i]) for line in lines) for i in range(len(head))]
    text = "\n".join(
        "  ".join(
            cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=True)
        ).rstrip()
        for line in lines
    )
    note = (
        f"\n{args.replicates} simulated waves, design {args.design}, response rate "
        f"{args.response_rate:.0%}, intra-building correlation {args.icc:g}, target "
        f"{args.target:.0%}, method {args.method}\n"
    )
    return text + note


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

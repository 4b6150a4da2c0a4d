"""µs per response of the sync's per-response Python: ``instruments.code_response`` (the
skip-logic pass), parsing the payload and its content hash.

    .venv/bin/python benchmarks/code_response_bench.py [--responses 20000] [--repeat 7]
        [--only code|parse|hash|all]

Two sets of seeded inputs for the packaged household form (入户模拟问卷: 25 items, one
constraint, 24 skip conditions):

- ``code``: answers built here — every respondent passes the screening and consents, then
  gives a random valid answer to every item — timed through ``code_response`` alone (the
  figure benchmarks/README.md has compared since the expressions were compiled);
- ``parse``, ``hash``, ``all``: whole payloads as the tablet sends them (sync_bench.py's:
  the demo simulator's answers, a timing per answer, device, position), timed through
  ``canvass.payloads.parse_response``, the parsed submission's ``content_hash``, and
  parse + hash + ``code_response`` together (what ``canvass.sync._check_answers`` adds to
  the database work for every new response). Parsing runs outside the app, so the
  questionnaire registry is not asked for its geopoint items (none in this form).

CPU time (``time.process_time``) is what to compare on a shared machine; the wall time and
the load average are printed too. The code timed is the code next to this script (its
repository root is put first on ``sys.path``), so a copy of the script in an older
checkout times the older code.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import instruments  # noqa: E402


def answers_for(inst: instruments.Instrument, rng: random.Random) -> dict:
    out: dict = {}
    for item in inst.items:
        kind = str(item.type)
        if kind == "note":
            continue
        if kind == "yesno":
            out[item.name] = (
                "yes" if item.name.startswith(("screen", "consent")) else rng.choice(["yes", "no"])
            )
        elif kind == "single":
            out[item.name] = rng.choice(inst.choice_codes(item))
        elif kind == "multiple":
            out[item.name] = rng.sample(list(inst.choice_codes(item)), k=rng.randint(1, 3))
        elif kind == "number":
            out[item.name] = rng.randint(0, 50)
        elif kind == "text":
            out[item.name] = rng.choice(["小区停车难", "", "希望多装路灯"])
    return {k: v for k, v in out.items() if v not in ("", [])}


def timed(work, n: int, repeat: int) -> tuple[list[float], list[float]]:
    """µs per item (wall, CPU) of ``repeat`` runs of ``work()`` over ``n`` items."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append((time.perf_counter() - start) / n * 1e6)
        cpu.append((time.process_time() - start_cpu) / n * 1e6)
    return wall, cpu


def line(label: str, wall: list[float], cpu: list[float]) -> str:
    return (
        f"{label:<34} CPU µs best {min(cpu):6.1f}  median {statistics.median(cpu):6.1f}"
        f"  max {max(cpu):6.1f}   (wall median {statistics.median(wall):6.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--only", choices=("code", "parse", "hash", "all"), action="append",
        help="time only these (repeatable; default: every one)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.responses < 1 or args.repeat < 1:
        raise SystemExit("--responses and --repeat must be at least 1")
    wanted = set(args.only or ("code", "parse", "hash", "all"))
    inst = instruments.load_directory(instruments.FORMS_DIR)["household"]
    load_before = open("/proc/loadavg").read().split()[:3]
    print(
        f"household form, {args.responses} responses × {args.repeat} runs "
        f"({Path(instruments.__file__).parent.parent})"
    )
    if "code" in wanted:
        rng = random.Random(20261130)
        batch = [answers_for(inst, rng) for _ in range(args.responses)]
        bad = [
            c.errors for c in (instruments.code_response(inst, a) for a in batch[:50]) if c.errors
        ]
        if bad:
            raise SystemExit(f"the generated answers are refused: {bad[0]}")

        def code() -> None:
            for answers in batch:
                instruments.code_response(inst, answers)

        print(line("code_response (generated answers)", *timed(code, len(batch), args.repeat)))
    if wanted & {"parse", "hash", "all"}:
        sys.path.insert(1, str(ROOT / "benchmarks"))
        from sync_bench import Payloads

        from survey_app.canvass.payloads import parse_response

        payloads = Payloads()
        raw = [payloads.response(i + 1) for i in range(args.responses)]
        parsed = [parse_response(p) for p in raw]
        bad = [c.errors for c in (instruments.code_response(inst, s.answers) for s in parsed[:50])]
        if any(bad):
            raise SystemExit(f"the simulated answers are refused: {[b for b in bad if b][0]}")
        today = "2026-11-30"

        def parse() -> None:
            for data in raw:
                parse_response(data)

        def hashes() -> None:
            for sub in parsed:
                sub.content_hash  # noqa: B018 - computed on every access (or cached: timed)

        def everything() -> None:
            for data in raw:
                sub = parse_response(data)
                sub.content_hash  # noqa: B018
                instruments.code_response(inst, sub.answers, today=today)

        if "parse" in wanted:
            print(line("parse_response (sync payloads)", *timed(parse, len(raw), args.repeat)))
        if "hash" in wanted:
            # Fresh submissions for every run: a hash kept on the object must not count.
            wall, cpu = [], []
            for _ in range(args.repeat):
                parsed = [parse_response(p) for p in raw]
                w, c = timed(hashes, len(parsed), 1)
                wall += w
                cpu += c
            print(line("content_hash", wall, cpu))
        if "all" in wanted:
            print(line("parse + hash + code_response", *timed(everything, len(raw), args.repeat)))
    load_after = open("/proc/loadavg").read().split()[:3]
    print(f"load average: {' '.join(load_before)} before, {' '.join(load_after)} after")
    print("compare: benchmarks/README.md, 'code_response_bench.py'")


if __name__ == "__main__":
    main()

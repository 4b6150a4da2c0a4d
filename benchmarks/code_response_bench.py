"""µs per response of ``instruments.code_response`` — the skip-logic pass of the sync path.

    .venv/bin/python benchmarks/code_response_bench.py [--responses 20000] [--repeat 7]

Answers are built here (seeded) for the packaged household form (入户模拟问卷: 25 items,
one constraint, 24 skip conditions): every respondent passes the screening and consents,
then gives a random valid answer to every item, as the sync receives them. Prints the
best and median µs per response over ``--repeat`` runs, and what it compares with
(the figures in benchmarks/README.md, "code_response_bench.py").
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import instruments


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    inst = instruments.load_directory(instruments.FORMS_DIR)["household"]
    rng = random.Random(20261130)
    batch = [answers_for(inst, rng) for _ in range(args.responses)]
    bad = [
        c.errors for c in map(lambda a: instruments.code_response(inst, a), batch[:50]) if c.errors
    ]
    if bad:
        raise SystemExit(f"the generated answers are refused: {bad[0]}")
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for answers in batch:
            instruments.code_response(inst, answers)
        wall.append((time.perf_counter() - start) / len(batch) * 1e6)
        cpu.append((time.process_time() - start_cpu) / len(batch) * 1e6)
    print(
        f"code_response, household form, {args.responses} responses × {args.repeat} runs "
        f"({instruments.__file__})"
    )
    for what, per in (("wall", wall), ("CPU", cpu)):
        print(
            f"µs per response ({what}): best {min(per):.1f}, "
            f"median {statistics.median(per):.1f}, max {max(per):.1f}"
        )
    print(f"load average: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print("compare: benchmarks/README.md, 'code_response_bench.py' (before/after compiling)")


if __name__ == "__main__":
    main()

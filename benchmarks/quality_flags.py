"""How often the quality flags fire on honest interviews (false alarms), and how often the
canvasser test catches a fabricating canvasser (power). Prints figures; docs/quality.md
quotes them.

Honest interviews come from the demo simulator (``survey_app.demo.simulate``) at rates near
the 99% target: a canvasser does 30 interviews; a community has 4 canvassers.

    .venv/bin/python benchmarks/quality_flags.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta

import instruments
from survey_app.demo.simulate import Rates, simulated_answers
from survey_app.fieldwork import quality_rules as rules
from survey_app.fieldwork.quality_rules import Interview, Thresholds

HOUSEHOLD = instruments.load_directory(instruments.FORMS_DIR)["household"]
NOON = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


def interviews(rng, rates, n, canvasser, community, start_id, answers=None):
    return [
        Interview(
            id=start_id + i,
            canvasser_id=canvasser,
            community_id=community,
            household_id=start_id + i,
            building_id=1,
            answers=answers(rng) if answers else simulated_answers(rng, rates),
            started_at=NOON + timedelta(minutes=15 * i),
            submitted_at=NOON + timedelta(minutes=15 * i + 5),
        )  # fmt: skip
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(11)
    honest = Rates(awareness=0.98, support=0.99, satisfaction=0.97)
    print(f"honest canvassers: 30 interviews each, 知晓 98% 支持 99% 满意 97%; {args.runs} runs")

    for repeat_min in (3, 4, 5, 6):
        t = Thresholds(repeat_min=repeat_min)
        hit = sum(bool(rules.repeated_patterns(interviews(rng, honest, 30, 1, 1, 0), HOUSEHOLD, t))
                  for _ in range(args.runs))  # fmt: skip
        print(
            f"  repeated_pattern, repeat_min={repeat_min}: {100 * hit / args.runs:.1f}% of honest canvassers flagged"
        )

    t = Thresholds()
    strict = Thresholds(straightline_ignore=())
    ivs = interviews(rng, honest, args.runs, 1, 1, 0)
    default = sum(bool(rules.straight_lined(HOUSEHOLD, iv.answers, t)) for iv in ivs)
    every = sum(bool(rules.straight_lined(HOUSEHOLD, iv.answers, strict)) for iv in ivs)
    print(f"  straight_line: {100 * default / len(ivs):.1f}% of honest interviews flagged "
          f"(uniform 满意 ignored); {100 * every / len(ivs):.1f}% if uniform 满意 counted")  # fmt: skip

    false_alarm = 0
    for _ in range(args.runs):
        community = []
        for k in range(4):
            community += interviews(rng, honest, 30, k, 1, 1000 * k)
        false_alarm += bool(rules.outliers(community, HOUSEHOLD, t))
    print(
        f"  rate/说不清 outlier (Fisher, Bonferroni 0.05/8): {100 * false_alarm / args.runs:.1f}% "
        "of honest 4-canvasser communities have any canvasser flagged"
    )

    print("power: one canvasser fills in 30 forms at home, all 满意; 3 honest canvassers × 30")
    for level in (0.90, 0.80, 0.70):
        real = Rates(awareness=0.95, support=0.95, satisfaction=level)
        caught = 0
        for _ in range(args.runs):
            community = []
            for k in range(3):
                community += interviews(rng, real, 30, k, 1, 1000 * k)
            community += interviews(rng, real, 30, 9, 1, 9000,
                                    answers=lambda r: simulated_answers(r, Rates(1, 1, 1)))  # fmt: skip
            caught += any(o.canvasser_id == 9 and o.code == "rate_outlier"
                          for o in rules.outliers(community, HOUSEHOLD, t))  # fmt: skip
        print(
            f"  residents at {100 * level:.0f}% 满意: rate_outlier flags the fabricating canvasser "
            f"in {100 * caught / args.runs:.1f}% of communities"
        )


if __name__ == "__main__":
    main()

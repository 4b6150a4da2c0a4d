"""``survey-plan``: output formats and one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.plan_cli import main


@pytest.fixture
def frame(tmp_path):
    path = tmp_path / "frame.csv"
    pd.DataFrame(
        {
            "community": ["桃园社区"] * 3 + ["枫桥社区"] * 2,
            "building": ["1", "2", "3", "1", "2"],
            "households": [40, 60, 50, 30, 34],
            "last": [0.95, 0.95, 0.95, 0.999, 0.999],
        }
    ).to_csv(path, index=False)
    return path


def test_json_has_one_row_per_community(frame, capsys):
    assert (
        main(
            [
                str(frame),
                "--design",
                "srs",
                "--n",
                "100",
                "--expected-column",
                "last",
                "--replicates",
                "200",
                "--format",
                "json",
                "--search",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    rows = {r["community"]: r for r in out["communities"]}
    assert set(rows) == {"桃园社区", "枫桥社区"}
    assert rows["枫桥社区"]["sample"] == 64  # only 64 households: all of them
    for r in rows.values():
        assert r["p_met"] + r["p_not_met"] + r["p_undetermined"] == pytest.approx(1.0)
    assert out["settings"]["replicates"] == 200


def test_table_and_csv(frame, capsys):
    assert (
        main([str(frame), "--design", "census", "--expected", "0.99", "--replicates", "100"]) == 0
    )
    table = capsys.readouterr().out
    assert "达标 met" in table and "桃园社区" in table
    assert (
        main(
            [
                str(frame),
                "--design",
                "two-stage",
                "--buildings",
                "2",
                "--per-building",
                "20",
                "--expected",
                "0.99",
                "--replicates",
                "100",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("community,households,buildings")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--design", "srs", "--expected", "0.9"], "needs n"),
        (["--design", "census", "--expected", "2"], "not between 0 and 1"),
        (["--design", "census", "--expected-column", "nope"], "column 'nope'"),
        (["--design", "census", "--expected", "0.9", "--replicates", "5"], "at least 100"),
    ],
)
def test_bad_input_one_line(frame, capsys, args, message):
    assert main([str(frame), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_and_empty_file(tmp_path, capsys):
    assert main([str(tmp_path / "none.csv"), "--design", "census", "--expected", "0.9"]) == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main([str(empty), "--design", "census", "--expected", "0.9"]) == 2
    assert "empty" in capsys.readouterr().err

"""``survey-estimate``: the DESIGN.md contract, and one-line errors for bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from scipy import stats

from analysis.cli import main
from tests.analysis.conftest import REFERENCE

KEYS = [
    "indicator",
    "domain",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "deff",
    "n_eff",
    "verdict",
    "needed_n",
]
ARGS = [
    "--weight",
    "w",
    "--strata",
    "street",
    "--cluster",
    "building",
    "--by",
    "community",
    "--indicator",
    "y1",
    "--indicator",
    "y2",
]


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_contract(capsys):
    status, out, err = run(capsys, REFERENCE / "respondents.csv", *ARGS, "--format", "json")
    assert status == 0 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"design", "results"}
    rows = doc["results"]
    assert len(rows) == 2 * 6
    assert all(list(r)[: len(KEYS)] == KEYS for r in rows)
    assert [r["domain"] for r in rows if r["indicator"] == "y1"] == [
        None,
        "C1",
        "C2",
        "C3",
        "C4",
        "C5",
    ]
    assert {r["verdict"] for r in rows} <= {"met", "not_met", "undetermined"}
    c5 = next(r for r in rows if r["indicator"] == "y1" and r["domain"] == "C5")
    # all yes in 3 buildings (df 2): Clopper–Pearson on n* = 73 / deff_used · (t_72/t_2)²
    ratio = stats.t.ppf(0.025, 72) / stats.t.ppf(0.025, 2)
    n_star = 73 / c5["deff_used"] * ratio**2
    assert (c5["estimate"], c5["deff"], c5["why"]) == (1, None, "all_yes_df")
    assert c5["deff_used"] > 1 and c5["deff_source"] == "wave"
    assert c5["ci_low"] == pytest.approx(0.025 ** (1 / n_star), rel=1e-12)
    assert all(r["verdict_method"] == "korn-graubard" for r in rows)
    assert doc["design"]["method"] == "korn-graubard" and doc["design"]["target"] == 0.99


def test_options_reach_the_estimate(capsys):
    argv = [
        REFERENCE / "respondents.csv",
        *ARGS,
        "--method",
        "beta",
        "--level",
        "0.9",
        "--target",
        "0.9",
        "--lonely-psu",
        "certainty",
        "--fpc",
        "N_street",
    ]
    status, out, _ = run(capsys, *argv)
    design = json.loads(out)["design"]
    assert status == 0
    assert (design["method"], design["level"], design["target"]) == ("beta", 0.9, 0.9)
    assert (design["lonely_psu"], design["fpc"]) == ("certainty", "N_street")


def test_csv_and_table(capsys):
    status, out, _ = run(capsys, REFERENCE / "respondents.csv", *ARGS, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and len(rows) == 12 and list(rows[0])[: len(KEYS)] == KEYS
    assert rows[0]["domain"] == ""
    status, out, _ = run(capsys, REFERENCE / "respondents.csv", *ARGS, "--format", "table")
    assert status == 0 and "undetermined" in out and "(all)" in out and "95% CI" in out


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "community,w,y\nA,1,1\nA,2,0\nB,1,1\n"


@pytest.mark.parametrize(
    ("text", "argv", "expected"),
    [
        (GOOD, ["--indicator", "nope"], "column 'nope': not in"),
        (
            "community,w,y\nA,1,1\nA,2,2\n",
            [],
            "column 'y': value 2 is not 0, 1 or blank (data row 2, file line 3)",
        ),
        (
            "community,w,y\nA,1,yes\n",
            [],
            "column 'y': value 'yes' is not 0, 1 or blank (data row 1, file line 2)",
        ),
        (
            "community,w,y\nA,1,1\nA,-1,0\n",
            [],
            "column 'w': weight is -1, not a number ≥ 0 (data row 2, file line 3)",
        ),
        (
            "community,w,y\nA,1,1\nA,,0\n",
            [],
            "column 'w': weight is missing (data row 2, file line 3)",
        ),
        ("community,w,y\nA,1,1\n,1,0\n", [], "column 'community': blank domain value"),
        ("", [], "the file is empty"),
        ("community,w,y\n", [], "no data rows"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, text, argv, expected):
    path = write(tmp_path, text)
    base = ["--weight", "w", "--by", "community"]
    if "--indicator" not in argv:
        base += ["--indicator", "y"]
    status, out, err = run(capsys, path, *base, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("survey-estimate: error: ")
    assert expected in err


def test_blank_by_value_names_the_row(tmp_path, capsys):
    path = write(tmp_path, "community,w,y\nA,1,1\nB,1,0\n ,1,1\n")
    _, _, err = run(capsys, path, "--weight", "w", "--by", "community", "--indicator", "y")
    assert "(data row 3, file line 4)" in err


@pytest.mark.parametrize("blank", [" ", None])
def test_blank_by_value_in_parquet_names_the_same_row(tmp_path, capsys, blank):
    """Parquet's domain column is dictionary-encoded: its labels are checked once each,
    with the same message and row as the CSV's text."""
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.DataFrame({"community": ["A", "B", blank, "A"], "w": [1.0] * 4,
                  "y": [1, 0, 1, 1]}).to_parquet(path, index=False)  # fmt: skip
    status, _, err = run(capsys, path, "--weight", "w", "--by", "community", "--indicator", "y")
    assert status == 2 and "blank domain value" in err and "data row 3" in err


def test_identifiers_stay_text(tmp_path, capsys):
    path = write(tmp_path, "community,w,y\n001,1,1\n002,1,0\n001,2,1\n")
    _, out, _ = run(capsys, path, "--weight", "w", "--by", "community", "--indicator", "y")
    assert [r["domain"] for r in json.loads(out)["results"]] == [None, "001", "002"]


def test_blank_indicator_means_not_asked(tmp_path, capsys):
    path = write(tmp_path, "community,w,y\nA,1,1\nA,1,\nB,1,0\n")
    _, out, _ = run(capsys, path, "--weight", "w", "--by", "community", "--indicator", "y")
    assert [r["n"] for r in json.loads(out)["results"]] == [2, 1, 1]


def test_no_traceback_from_the_console_script(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x00\x01\x02binary\xff\xfe")
    run_ = subprocess.run(
        [sys.executable, "-m", "analysis.cli", str(path), "--weight", "w", "--indicator", "y"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run_.returncode != 0
    assert "Traceback" not in run_.stderr and run_.stderr.count("\n") == 1


def test_two_stage_and_population_options(capsys, tmp_path):
    stages = REFERENCE / "stages.csv"
    argv = [stages, "--weight", "w", "--strata", "street", "--by", "community"]
    argv += ["--cluster", "building", "--cluster", "household", "--fpc", "N_b", "--fpc", "M_h"]
    status, out, err = run(capsys, *argv, "--indicator", "y1")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["design"]["cluster2"] == "household" and doc["design"]["fpc2"] == "M_h"
    row = doc["results"][0]
    for key in ("why", "verdict_method", "finite_population", "needed_n_met", "needed_status"):
        assert key in row
    # a known domain size: the exact finite interval, and what the unheard allow
    data = tmp_path / "c.csv"
    data.write_text("w,y,c,N\n" + "1,1,C1,64\n" * 63 + "1,0,C1,64\n", encoding="utf-8")
    argv = [data, "--weight", "w", "--by", "c", "--indicator", "y", "--population", "N"]
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    c1 = json.loads(out)["results"][1]
    assert (c1["verdict"], c1["why"], c1["finite_population"]) == ("not_met", "exact_finite", True)
    assert c1["rate_if_unheard_yes"] == pytest.approx(63 / 64) and c1["needed_n"] is None
    status, out, err = run(capsys, *argv[:-1], "nope")
    assert status == 2 and "nope" in err and "Traceback" not in err
    status, out, err = run(
        capsys,
        stages,
        "--weight",
        "w",
        "--indicator",
        "y1",
        "--cluster",
        "a",
        "--cluster",
        "b",
        "--cluster",
        "c",
    )
    assert status == 2 and "--cluster" in err


@pytest.mark.parametrize("numeric_ids", [False, True])
def test_parquet_gives_byte_identical_json(capsys, tmp_path, numeric_ids):
    import pandas as pd

    data = pd.read_csv(REFERENCE / "respondents.csv")
    if numeric_ids:  # identifiers stored as numbers: read as their text, as from a CSV
        data["building"] = data["building"].str[1:].astype(int)
    csv_path, parquet_path = tmp_path / "d.csv", tmp_path / "d.parquet"
    data.to_csv(csv_path, index=False)
    data.to_parquet(parquet_path, index=False)
    args = [*ARGS, "--indicator", "y3"]
    status, from_csv, err = run(capsys, csv_path, *args)
    assert status == 0, err
    status, from_parquet, err = run(capsys, parquet_path, *args)
    assert status == 0, err
    assert from_parquet == from_csv


def test_parquet_errors_are_one_line(capsys, tmp_path):
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.DataFrame({"w": [1.0], "y": [1]}).to_parquet(path)
    status, _, err = run(capsys, path, "--weight", "w", "--indicator", "nope")
    assert status == 2 and "column 'nope'" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet at all\n")
    status, _, err = run(capsys, bad, "--weight", "w", "--indicator", "y")
    assert status == 2 and "not a Parquet file" in err and "Traceback" not in err


def test_the_parser_does_not_import_scipy():
    code = (
        "import sys; from analysis.cli import build_parser; build_parser(); "
        "print('scipy' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

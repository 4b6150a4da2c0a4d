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
        (GOOD, ["--indicator", "y", "--indicator", "y"], "--indicator 'y': given twice"),
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


def _routes(path, argv):
    """(the pandas-free route's output, the pandas route's) for the same arguments."""
    from analysis import cli

    args = cli.build_parser().parse_args([str(path), *map(str, argv)])
    assert cli.read_coded(args) is not None, "expected the pandas-free route"
    return cli.run(args), cli._run_pandas(args)


def _messy(seed=3, rows=3000):
    """A design where labels come in no particular order, a PSU label recurs in two
    strata, a domain cuts across PSUs, a stratum has one PSU, one indicator has blanks
    and one is blank in a whole stratum, and a domain answers yes to everything."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    street = rng.choice(["S9", "S10", "S2", "Sé", "S1"], rows, p=[0.3, 0.3, 0.2, 0.19, 0.01])
    building = np.array([f"B{b}" for b in rng.integers(0, 12, rows)], dtype=object)
    building[street == "S1"] = "B0"  # S1: one PSU; B0 also in other streets
    community = rng.choice(["Cz", "C10", "C2", "Ca"], rows)
    y1 = (rng.uniform(size=rows) < 0.96).astype(float)
    y1[community == "Ca"] = 1.0
    y2 = np.where(rng.uniform(size=rows) < 0.1, np.nan, (rng.uniform(size=rows) < 0.9) * 1.0)
    y3 = np.where(street == "S2", np.nan, (rng.uniform(size=rows) < 0.99) * 1.0)
    return pd.DataFrame({"street": street, "building": building, "community": community,
                         "w": rng.lognormal(4, 0.5, rows).round(3),
                         "y1": y1, "y2": y2, "y3": y3})  # fmt: skip


@pytest.mark.parametrize(
    "design",
    [
        ["--strata", "street", "--cluster", "building", "--by", "community"],
        ["--cluster", "building", "--by", "community"],
        ["--strata", "street", "--by", "community"],
        ["--strata", "street", "--cluster", "building"],
        ["--by", "community"],
        ["--strata", "street", "--cluster", "street", "--by", "community"],
    ],
)
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--method", "beta", "--lonely-psu", "certainty"],
        ["--method", "wilson", "--level", "0.9"],
    ],
)
def test_pandas_free_route_is_byte_identical_to_the_pandas_route(tmp_path, design, options):
    """survey-estimate reads plain designs with pyarrow and sums dictionary codes
    (analysis.estimation.estimate_coded): the same bytes as the DataFrame route
    (analysis.estimate), from CSV and from Parquet, in every format."""
    data = _messy()
    csv_path, parquet_path = tmp_path / "d.csv", tmp_path / "d.parquet"
    data.to_csv(csv_path, index=False)
    data.to_parquet(parquet_path, index=False)
    argv = ["--weight", "w", *design, *options]
    argv += ["--indicator", "y1", "--indicator", "y2", "--indicator", "y3"]
    outputs = set()
    for path in (csv_path, parquet_path):
        for fmt in ("json", "csv", "table"):
            fast, slow = _routes(path, [*argv, "--format", fmt])
            assert fast == slow
        outputs.add(fast)
    assert len(outputs) == 1  # CSV and Parquet alike


def test_pandas_free_route_on_the_reference_data():
    fast, slow = _routes(REFERENCE / "respondents.csv", [*ARGS, "--indicator", "y3"])
    assert fast == slow and json.loads(fast)["results"]


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("community,w,y\nA,1,1\nA,2,2\n", []),  # not 0/1
        ("community,w,y\nA,1,yes\n", []),  # text
        ("community,w,y\nA,1,1\nA,-1,0\n", []),  # negative weight
        ("community,w,y\nA,1,1\nA,,0\n", []),  # no weight
        ("community,w,y\nA,1,1\n,1,0\n", []),  # blank domain
        ("community,w,y\nA,1,1\n ,1,0\n", []),  # blank domain (spaces)
        ("community,w,y,b\nA,1,1,x\nA,1,0,\n", ["--cluster", "b"]),  # blank PSU
        ("community,w,y\nA,1,true\n", []),  # true/false
        ("community,w,y\n", []),  # no rows
        ("community,w,y,N\nA,1,1,3\n", ["--population", "N"]),  # the pandas route's options
    ],
)
def test_what_the_pandas_free_route_leaves_to_the_pandas_route(tmp_path, text, argv):
    """Every input with a problem to report (and the options it does not cover) goes the
    pandas way, whose messages name the column and row."""
    from analysis import cli

    path = write(tmp_path, text)
    args = cli.build_parser().parse_args(
        [str(path), "--weight", "w", "--by", "community", "--indicator", "y", *argv]
    )
    assert cli.read_coded(args) is None


def test_survey_estimate_does_not_import_pandas(tmp_path):
    """pandas is a third of a 1,000,000-row run's start-up: a plain design never imports
    it, from CSV or Parquet (pyarrow's to_numpy and read_table would)."""
    import pandas as pd

    data = pd.read_csv(REFERENCE / "respondents.csv")
    data.to_parquet(tmp_path / "d.parquet", index=False)
    for path in (REFERENCE / "respondents.csv", tmp_path / "d.parquet"):
        code = (
            "import sys, io, contextlib; from analysis.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main({[str(path), *ARGS]!r})\n"
            "print(status, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'statsmodels'}), 'scipy.stats' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.split() == ["0", "[]", "False"], out.stdout


@pytest.mark.parametrize("spread", [50, 10**12])  # a table over the range; a sort
def test_factorize_first_numbers_as_pandas_does(spread):
    import numpy as np
    import pandas as pd

    from analysis.totals import factorize_first

    key = np.random.default_rng(spread % 97).integers(-spread, spread, 5000)
    code, first = factorize_first(key)
    expected, uniques = pd.factorize(key)
    assert np.array_equal(code, expected)
    assert np.array_equal(key[first], uniques)
    assert all(np.flatnonzero(key == key[f])[0] == f for f in first[:200])
    assert [len(x) for x in factorize_first(np.zeros(0, dtype=np.int64))] == [0, 0]


@pytest.mark.parametrize("nested", [True, False])
def test_pandas_free_route_with_row_groups_and_unused_labels(tmp_path, nested):
    """Parquet in many row groups (chunks with their own dictionaries), a categorical
    written with categories nobody has and out of order, 0/1 as int8 with blanks: the
    same bytes as the pandas route. ``nested``: buildings each in one street and one
    community (the PSUs are the labels) or not."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = _messy(seed=11, rows=5000)
    if nested:
        data["street"] = "S" + data["building"].str[1:]
        data["community"] = "C" + data["building"].str[1:]
    data["community"] = pd.Categorical(
        data["community"], categories=["zz", *sorted(set(data["community"]), reverse=True)]
    )
    data["y2"] = data["y2"].astype("Int8")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=600)
    argv = ["--weight", "w", "--strata", "street", "--cluster", "building", "--by", "community"]
    argv += ["--indicator", "y1", "--indicator", "y2", "--indicator", "y3"]
    fast, slow = _routes(path, argv)
    assert fast == slow
    assert "zz" not in {r["domain"] for r in json.loads(fast)["results"]}


def test_arrow_chunks_to_numpy_without_pandas():
    """Sliced chunks (offsets), blanks, int8 indices (widened: a million codes do not fit
    in int8), a zero-copy single chunk."""
    import numpy as np
    import pyarrow as pa

    from analysis.cli import _array

    whole = pa.array([1, None, 0, 1, None, 1, 0, 0, 1, 1], pa.int8())
    chunks = [whole.slice(1, 4), whole.slice(5, 5)]
    values, low, high = _array(chunks, 9, np.float64)
    expected = [np.nan, 0, 1, np.nan, 1, 0, 0, 1, 1]
    assert np.array_equal(values, expected, equal_nan=True) and (low, high) == (0, 1)
    ints, *_ = _array([pa.array([1, 0, 1], pa.int8())] * 2, 6, np.float64)
    assert ints.dtype == np.int8 and list(ints) == [1, 0, 1] * 2
    codes, *_ = _array([pa.array([5, 0, 127], pa.int8())], 3, np.int32, ints=False)
    assert codes.dtype == np.int32 and list(codes) == [5, 0, 127]
    w = pa.array([0.5, 2.0])
    assert np.shares_memory(
        _array([w], 2, np.float64, ints=False)[0], np.frombuffer(w.buffers()[1])
    )

"""``survey-estimate``: design-based estimates from a CSV export (DESIGN.md contract).

::

    survey-estimate DATA.csv|DATA.parquet --weight COL [--strata COL]
                    [--cluster COL [--cluster COL]] [--by COL]
                    --indicator COL [--indicator COL ...]
                    [--method korn-graubard|beta|logit|wilson|mean]
                    [--level 0.95] [--target 0.99] [--format json|csv|table]
                    [--fpc COL [--fpc COL]] [--population COL]
                    [--lonely-psu adjust|certainty|fail]

``--format json`` prints ``{"design": {...}, "results": [{indicator, domain, n, estimate,
se, ci_low, ci_high, df, deff, n_eff, verdict, needed_n, flags, why, verdict_method, ...},
...]}``: one row per indicator per domain plus one per indicator with ``"domain": null``
(whole sample). Two ``--cluster`` give a two-stage design, with one ``--fpc`` per stage.

Bad input exits with status 2 and one line on stderr naming the column and the first bad
row, counted both as a 1-based data row (header not counted) and as a file line.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
import threading
from pathlib import Path

PROG = "survey-estimate"
EXIT_INPUT = 2
EXIT_INTERNAL = 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from analysis.options import LONELY_PSU, METHODS  # no numpy/scipy: keep start-up light

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="CSV file, one row per respondent, with a header line")
    p.add_argument("--weight", required=True, help="weight column (≥ 0)")
    p.add_argument("--strata", help="stratum column, e.g. street")
    p.add_argument(
        "--cluster",
        action="append",
        help="PSU column, e.g. building (nested in strata); give it twice for two stages",
    )
    p.add_argument("--by", help="domain column, e.g. community")
    p.add_argument(
        "--indicator", action="append", required=True, help="0/1 column (blank: not asked)"
    )
    p.add_argument("--method", choices=METHODS, default="korn-graubard")
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--format", choices=("json", "csv", "table"), default="json")
    p.add_argument(
        "--fpc",
        action="append",
        help="column with the number of PSUs in the population stratum (one per --cluster)",
    )
    p.add_argument("--population", help="column with the domain's households N (known size)")
    p.add_argument("--lonely-psu", choices=LONELY_PSU, default="adjust")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 bad input, 1 internal error)."""
    args = build_parser().parse_args(argv)
    try:
        text = run(args)
    except _InputProblem as e:
        return _fail(str(e), EXIT_INPUT)
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        from analysis.errors import AnalysisInputError, LonelyPSUError

        if isinstance(e, AnalysisInputError):
            return _fail(e.describe(header_lines=1), EXIT_INPUT)
        if isinstance(e, LonelyPSUError | ValueError):
            return _fail(str(e), EXIT_INPUT)
        return _fail(f"internal error: {type(e).__name__}: {e}", EXIT_INTERNAL)
    sys.stdout.write(text)
    return 0


class _InputProblem(Exception):
    pass


def _fail(message: str, status: int) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"{PROG}: error: {first}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> str:
    """Read, check, estimate and format; raises on bad input.

    A one-stage design without ``--fpc`` or ``--population`` whose columns read cleanly
    (numbers as numbers, identifiers as text with no blanks) goes from pyarrow's
    dictionary-encoded columns to the sums without pandas (:func:`read_coded`,
    :func:`analysis.estimation.estimate_coded`; importing pandas alone is a third of a
    1,000,000-row run). Anything else — and every input with a problem to report — takes
    the pandas route, whose messages name the column and row.
    """
    coded = _reading_while_importing(read_coded, args)
    if coded is None:
        return _run_pandas(args)
    from analysis.estimation import estimate_coded

    column, codes = coded
    result = estimate_coded(
        column, codes, cluster=args.cluster[0] if args.cluster else None, **_options(args)
    )
    return FORMATS[args.format](result)


#: pandas' default missing-value markers (``read_csv``'s ``na_values``), so that the
#: pyarrow reader finds the blanks the pandas route finds.
NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")  # fmt: skip


def read_coded(args: argparse.Namespace):
    """The data as (``column(name)`` → float array, :class:`analysis.totals._Codes`) read
    with pyarrow alone, or None when the pandas route must do it (two stages, ``--fpc``,
    ``--population``, a reader error, a column that is not plain numbers or text, a blank
    identifier, a value the checks would reject). Raises for a missing file or column."""
    path = _data_path(args)
    ids, wanted = _wanted(args)
    if len(args.cluster or []) > 1 or args.fpc or args.population:
        return None
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = _parquet_schema(path, args, wanted)
        text = (pa.string(), pa.large_string())
        for kind in (schema.field(c).type for c in ids):
            if kind not in text and not (pa.types.is_dictionary(kind) and kind.value_type in text):
                return None  # numbers as identifiers: the pandas route writes their text
        # ParquetFile, not read_table: read_table goes through pyarrow.dataset, whose
        # import pulls in pandas (0.3 s).
        with pq.ParquetFile(path, read_dictionary=ids) as file:
            table = file.read(columns=wanted)
    else:
        import pyarrow as pa
        import pyarrow.csv as pv

        _csv_header(path, args, wanted)
        text = pa.dictionary(pa.int32(), pa.string())
        options = pv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(ids, text),  # "001" stays "001"
            null_values=list(NA_VALUES),
            strings_can_be_null=True,
        )
        # Blocks of up to 64 MB instead of 1 MB: a 32 MB file comes as one chunk, so the
        # columns need no gathering and the dictionaries no unifying (0.07 s of 0.40 s at
        # 1,000,000 rows; the parse was no faster on 31 blocks than on one).
        size = path.stat().st_size
        blocks = pv.ReadOptions(block_size=min(max(size + 1, 1 << 20), 64 << 20))
        try:
            table = pv.read_csv(path, read_options=blocks, convert_options=options)
        except Exception:  # noqa: BLE001 - ragged rows etc.: the pandas route says where
            return None
    return _coded(table, args, ids)


def _coded(table, args, ids):
    import numpy as np
    import pyarrow as pa

    from analysis.totals import codes_from_arrays, factorize_first

    n = table.num_rows
    if n == 0:
        return None
    table = table.unify_dictionaries()
    numbers = {}
    for name in dict.fromkeys([args.weight, *args.indicator]):
        kind = table.schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return None  # text, true/false, …: the pandas route names the value
        as_is = name != args.weight  # 0/1 indicators may stay integers, weights are floats
        numbers[name], low, high = _array(table.column(name).chunks, n, np.float64, as_is)
        if name == args.weight and not (low >= 0 and np.isfinite(numbers[name].sum())):
            return None  # negative, blank or infinite
        if name in args.indicator and not (low >= 0 and high <= 1):
            return None
    for name in args.indicator:
        y = numbers[name]
        if y.dtype.kind == "f" and not np.all(np.isnan(y) | (y == 0) | (y == 1)):
            return None  # 0.5: only floats can hold it
    coded = {}
    for name in ids:
        column = table.column(name)
        kind = column.type
        if not (
            pa.types.is_dictionary(kind)
            and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type))
            and column.null_count == 0
        ):
            return None  # numbers as identifiers, blanks: the pandas route
        chunks = column.chunks
        labels = chunks[0].dictionary.to_pylist() if chunks else []
        codes = _array([c.indices for c in chunks], n, np.int32, ints=False)[0]  # ≥ 32 bits
        if name not in (args.strata, args.by):  # the PSU column
            # PSU labels numbered in order of first appearance (as pandas.factorize)
            first = np.full(len(labels), n, dtype=codes.dtype)  # one dtype: ufunc.at's
            np.minimum.at(first, codes, np.arange(n, dtype=codes.dtype))  # fast path
            first = first.astype(np.int64)
            if np.all(first[1:] > first[:-1]) and first[-1] < n:
                # the dictionary is already in that order, every label used (a CSV's,
                # or a Parquet file's written from text): the codes as they are
                coded[name] = (codes, labels, first)
            else:
                code, first = factorize_first(codes)
                coded[name] = (code, [labels[i] for i in codes[first]], first)
            continue
        seen = np.zeros(len(labels), dtype=bool)
        seen[codes] = True
        used = np.flatnonzero(seen)
        if name == args.by and any(not labels[i].strip() for i in used):
            return None  # a blank domain: the pandas route names its row
        # strata and domains in label order
        order = sorted(used.tolist(), key=labels.__getitem__)
        if order == list(range(len(labels))):  # sorted already, every label used
            coded[name] = (codes, labels)
            continue
        rank = np.full(len(labels), -1, dtype=np.int32)
        rank[order] = np.arange(len(order))
        coded[name] = (rank[codes], [labels[i] for i in order])
    cluster = args.cluster[0] if args.cluster else None
    psus = coded.get(cluster)
    if cluster is not None and cluster in (args.strata, args.by):
        psus = _first_appearance(psus)
    codes = codes_from_arrays(n, coded.get(args.strata), psus, coded.get(args.by))
    return numbers.__getitem__, codes


def _array(chunks, n: int, dtype, ints: bool = True):
    """Arrow number chunks as one numpy array, read from the buffers (pyarrow's
    ``to_numpy`` goes through its pandas conversion, which imports pandas: 0.3 s), with
    the least and the greatest value present (blanks left out). With ``ints``, integers
    without blanks stay integers (w·y is the same either way); blanks make floats with
    NaN. A single chunk of the right type without blanks is not copied."""
    import numpy as np

    kinds = []
    for a in chunks:
        kinds.append(
            np.dtype({"double": "float64", "float": "float32"}.get(str(a.type), str(a.type)))
        )
    blanks = any(a.null_count for a in chunks)
    if blanks or any(k.kind == "f" for k in kinds) and dtype == np.float64:
        dtype = np.float64
    elif ints and kinds and all(k == kinds[0] for k in kinds) and kinds[0].kind in "iu":
        dtype = kinds[0]  # e.g. int8 0/1 indicators: an eighth of the memory
    out, at = None, 0
    for a, kind in zip(chunks, kinds, strict=True):
        validity, data = a.buffers()[:2]
        if len(a) == 0 or data is None:
            continue
        values = np.frombuffer(data, dtype=kind, count=a.offset + len(a))[a.offset :]
        if len(chunks) == 1 and not a.null_count and kind == dtype:
            out = values
        else:
            if out is None:
                out = np.empty(n, dtype=dtype)
            out[at : at + len(a)] = values
            if a.null_count:
                bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
                blank = bits[a.offset : a.offset + len(a)] == 0
                np.copyto(out[at : at + len(a)], np.nan, where=blank)
        at += len(a)
    if out is None:
        return np.zeros(0, dtype=dtype), np.nan, np.nan
    # the least and greatest value present (NaN only when every value is blank)
    return out, np.fmin.reduce(out), np.fmax.reduce(out)


def _first_appearance(coded):
    """Sorted codes renumbered in order of first appearance (a column that is both the
    PSU and the stratum or domain)."""
    from analysis.totals import factorize_first

    codes, labels = coded
    code, first = factorize_first(codes)
    return code, [labels[i] for i in codes[first]]


def _reading_while_importing(read, args: argparse.Namespace):
    """``read(args)`` while a thread imports the statistics (scipy.special): pyarrow's
    parse releases the GIL, so the two overlap on a second core."""
    loader = threading.Thread(target=importlib.import_module, args=("analysis.estimation",))
    loader.start()
    try:
        return read(args)
    finally:
        loader.join()


def _run_pandas(args: argparse.Namespace) -> str:
    """The route through a pandas DataFrame and :func:`analysis.estimate`."""
    import pandas  # noqa: F401 - needed by both threads below; import it once, first

    data = _reading_while_importing(read_data, args)
    import analysis

    if args.by is not None:
        _no_blank(data, args.by)
    result = analysis.estimate(
        data, cluster=args.cluster, fpc=args.fpc, population=args.population, **_options(args)
    )
    return FORMATS[args.format](result)


def _options(args) -> dict:
    """The estimation options both routes (coded arrays, pandas) take as they are given."""
    return {
        "indicators": args.indicator,
        "weight": args.weight,
        "strata": args.strata,
        "by": args.by,
        "method": args.method,
        "level": args.level,
        "target": args.target,
        "lonely_psu": args.lonely_psu,
    }


def _data_path(args) -> Path:
    path = Path(args.data)
    if not path.is_file():
        raise _InputProblem(f"{args.data}: no such file")
    with path.open("rb") as f:
        start = f.read(4096)
    if not start.strip():
        raise _InputProblem(f"{args.data}: the file is empty")
    return path


def _csv_header(path: Path, args, wanted) -> None:
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    for col in wanted:
        if col not in header:
            raise _InputProblem(
                f"column {col!r}: not in {args.data} (columns: {', '.join(map(str, header))})"
            )


def _parquet_schema(path: Path, args, wanted):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise _InputProblem(f"{args.data}: not a Parquet file ({err})") from None
    for col in wanted:
        if col not in schema.names:
            raise _InputProblem(
                f"column {col!r}: not in {args.data} (columns: {', '.join(schema.names)})"
            )
    return schema


def read_data(args: argparse.Namespace):
    """Read only the needed columns; design identifiers as text ("001" stays "001")."""
    import pandas as pd

    path = _data_path(args)
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path, args)
    ids, wanted = _wanted(args)
    _csv_header(path, args, wanted)
    try:
        # Arrow-backed columns skip pandas' string conversion (a third of the read time).
        data = pd.read_csv(path, engine="pyarrow", usecols=wanted, dtype_backend="pyarrow")
    except Exception:  # noqa: BLE001 - ragged rows etc.: the python engine says where
        data = pd.read_csv(path, usecols=wanted, low_memory=False)
    columns = {c: data[c] if c in ids else _as_numbers(data[c]) for c in data.columns}
    data = pd.DataFrame(columns, copy=False)  # no copies of a million-row column
    # Identifiers must stay text ("001" is not 1): re-read any that came out as numbers.
    numeric_ids = [c for c in ids if not pd.api.types.is_string_dtype(data[c])]
    if numeric_ids:
        text = pd.read_csv(path, usecols=numeric_ids, dtype=str, keep_default_na=False)
        for c in numeric_ids:
            data[c] = text[c].where(text[c].str.strip() != "")
    if len(data) == 0:
        raise _InputProblem(f"{args.data}: no data rows after the header")
    return data


def _wanted(args) -> tuple[list[str], list[str]]:
    """The design identifier columns, and every column to read."""
    if args.cluster and len(args.cluster) > 2:
        raise _InputProblem("--cluster: give it once, or twice for a two-stage design")
    if args.fpc and len(args.fpc) > max(len(args.cluster or []), 1):
        raise _InputProblem("--fpc: give at most one per --cluster (stage)")
    twice = [c for c in dict.fromkeys(args.indicator) if args.indicator.count(c) > 1]
    if twice:  # (pandas used to stop here with "Categorical categories must be unique")
        raise _InputProblem(f"--indicator {twice[0]!r}: given twice")
    ids = [c for c in (args.strata, *(args.cluster or []), args.by) if c]
    numbers = [*(args.fpc or []), *([args.population] if args.population else [])]
    return ids, list(dict.fromkeys([args.weight, *args.indicator, *ids, *numbers]))


def _read_parquet(path: Path, args):
    """A Parquet file: only the needed columns, identifiers dictionary-encoded (pandas
    categoricals), as text like the CSV reader gives them — the same JSON either way."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, wanted = _wanted(args)
    schema = _parquet_schema(path, args, wanted)
    text_ids = [
        c
        for c in ids
        if pa.types.is_string(schema.field(c).type)
        or pa.types.is_large_string(schema.field(c).type)
    ]
    table = pq.read_table(path, columns=wanted, read_dictionary=text_ids)
    columns = {}
    for name in wanted:
        column = table.column(name)
        if name in ids:
            if pa.types.is_dictionary(column.type):
                values = column.to_pandas()  # categorical: codes, not a million strings
                # categories in text order, as the CSV reader's labels sort
                columns[name] = values.cat.reorder_categories(sorted(values.cat.categories))
            else:  # numbers as identifiers: their text, as in a CSV ("7", not 7.0)
                values = column.to_pandas()
                text = (
                    values.astype("Int64").astype(str)
                    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all()
                    else values.astype(str)
                )
                columns[name] = text.where(values.notna())
        else:
            columns[name] = _as_numbers(column.to_pandas())
    data = pd.DataFrame(columns, copy=False)
    if len(data) == 0:
        raise _InputProblem(f"{args.data}: no data rows")
    return data


def _as_numbers(values):
    """Numeric columns as float arrays (NaN for blanks); anything else left for the checks.

    true/false are not 0/1: they become text so that the check names them.
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(str)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return values


def _no_blank(data, column: str) -> None:
    import numpy as np
    import pandas as pd

    from analysis.errors import AnalysisInputError

    values = data[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Parquet's dictionary-encoded identifiers: test each distinct label once, not
        # each row's text (at 10,000,000 rows that text was 1.3 s of a 7 s run).
        labels = pd.Series(values.cat.categories).astype(str).str.strip() == ""
        codes = values.cat.codes.to_numpy()
        blank = (codes < 0) | np.append(labels.to_numpy(dtype=bool), False)[codes]
    else:
        blank = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    bad = np.flatnonzero(blank)
    if len(bad):
        raise AnalysisInputError(
            "blank domain value (every row needs one for --by)", column=column, row=int(bad[0]) + 1
        )


def to_json(result) -> str:
    """One JSON object; one line per result row (readable, and json's fast C encoder)."""
    doc = result.to_dict()
    rows = ",\n  ".join(json.dumps(r, ensure_ascii=False) for r in doc["results"])
    design = json.dumps(doc["design"], ensure_ascii=False)
    return f'{{"design": {design},\n "results": [\n  {rows}\n ]}}\n'


def to_csv(result) -> str:
    frame = result.to_frame()
    frame["flags"] = [";".join(f) for f in frame["flags"]]
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def to_table(result) -> str:
    d = result.design
    pct = int(round(d.level * 100))
    head = (
        f"method {d.method} (verdicts: {d.verdict_method}), {pct}% intervals, "
        f"target {d.target:.4g}; {d.n_strata} strata, {d.n_psu} PSUs"
    )
    cols = [
        "indicator",
        "domain",
        "n",
        "estimate",
        f"{pct}% CI",
        "se",
        "df",
        "deff",
        "n_eff",
        "verdict",
        "why",
        "needed_n",
        "flags",
    ]
    lines = []
    for r in result.rows:
        lines.append(
            [
                str(r.indicator),
                "(all)" if r.domain is None else str(r.domain),
                str(r.n),
                _pct(r.estimate),
                f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}]",
                _num(r.se, 4),
                str(r.df),
                _num(r.deff, 2),
                _num(r.n_eff, 1),
                r.verdict,
                r.why or "-",
                _needed(r),
                ",".join(r.flags),
            ]
        )
    widths = [max(len(c), *(len(x[i]) for x in lines)) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [head, fmt.format(*cols), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*x).rstrip() for x in lines]
    return "\n".join(out) + "\n"


def _needed(r) -> str:
    """More completes and what they would show, or why there is no such number."""
    if r.needed_n_met is not None:
        return f"{r.needed_n_met} to show met"
    if r.needed_n_not_met is not None:
        return f"{r.needed_n_not_met} to confirm not_met"
    return {"settled": "-", "beyond_population": "beyond N", "more": "-"}.get(
        r.needed_status, r.needed_status
    )


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.2f}%"


def _num(x: float, digits: int) -> str:
    return "-" if x != x else f"{x:.{digits}f}"


FORMATS = {"json": to_json, "csv": to_csv, "table": to_table}


if __name__ == "__main__":
    sys.exit(main())

"""Many rows into one table at once — on PostgreSQL through psycopg itself.

SQLAlchemy sends many rows as one multi-row ``INSERT … VALUES (…), (…) …`` on every
database ("insertmanyvalues"). On SQLite that is the fastest way. On PostgreSQL the
statement changes with the number of rows and is longer than psycopg's query cache
takes (4 KB), so psycopg re-tokenises every placeholder in Python on every execution
and the server parses and plans 10,000 parameters afresh (issue 16: 21% of a batch
sync's time). Here PostgreSQL gets one short single-row statement instead, sent for all
rows in psycopg's pipeline mode (``executemany``: one round trip, the statement
prepared once per connection and reused) — or ``COPY … FROM STDIN`` with the new ids
read back by their key (``SURVEY_PG_BULK=copy``; measured in benchmarks/README.md).

On SQLite the rows go to the sqlite3 cursor too, as one multi-row ``INSERT … RETURNING``
(or ``executemany`` when nothing is returned): SQLAlchemy's execution costs ~20 µs a
statement and a dict walk per row on top of SQLite's own work — a single submission
runs five or six of them. Values there go through the columns' own SQLAlchemy bind
processors (dates as SQLAlchemy's SQLite text, JSON as its JSON), so the stored bytes
are SQLAlchemy's.

Values are adapted as SQLAlchemy would: JSON columns as JSON (``None`` as JSON
``null``, SQLAlchemy's default), scalar column defaults filled in for missing keys.
A unique violation is raised as SQLAlchemy's ``IntegrityError``, so callers retry as
they do for a statement run by SQLAlchemy. The caller owns the transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, DateTime, Table
from sqlalchemy import insert as sa_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

# auto (COPY from COPY_FROM rows on, else executemany) | executemany (pipelined, prepared)
# | copy | values (SQLAlchemy's multi-row INSERT, as before): for the benchmarks
MODE = os.environ.get("SURVEY_PG_BULK", "auto")
COPY_FROM = 16
_PIPELINE = "survey_app.bulk.pipeline"


def insert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    returning: tuple[str, ...] = (),
    on_conflict: str = "",
) -> list[tuple] | None:
    """INSERT ``rows`` (dicts with the same keys) into ``table``. With ``returning``
    (column names), returns ``(id, *returning)`` for every new row, in no set order.
    ``on_conflict``: an ``ON CONFLICT …`` clause (PostgreSQL only; not with COPY)."""
    return send(connection, table, rows, returning=returning, on_conflict=on_conflict)()


def send(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    returning: tuple[str, ...] = (),
    on_conflict: str = "",
) -> Callable[[], list[tuple] | None]:
    """:func:`insert`, returning a function that waits for the new rows: inside
    :func:`pipeline` on PostgreSQL, several INSERTs go out before the first is waited
    for (one round trip for all of them)."""
    if not rows:
        return lambda: [] if returning else None
    if _sqlite_direct(connection, table, tuple(rows[0])):
        result = _sqlite(connection, table, rows, returning, on_conflict)
        return lambda: result
    if not through_driver(connection):
        result = _sqlalchemy(connection, table, rows, returning, on_conflict)
        return lambda: result
    columns, defaults, is_json = _shape(table, tuple(rows[0]))
    # As on SQLite: every value taken at once, the few JSON ones wrapped.
    take, wrap = itemgetter(*columns), _json_wrapper()
    convert = [i for i, j in enumerate(is_json) if j]
    params = []
    for row in rows:
        values = list(take(row)) if len(columns) > 1 else [take(row)]
        for i in convert:
            values[i] = wrap(values[i], _json_dumps)
        if defaults:
            values.extend(defaults)
        params.append(values)
    piped = connection.info.get(_PIPELINE, False)
    mode = MODE
    if mode == "auto":
        mode = "copy" if len(rows) >= COPY_FROM else "executemany"
    if on_conflict or piped:  # COPY can do neither
        mode = "executemany"
    cursor = connection.connection.driver_connection.cursor()
    try:
        if mode == "copy":
            result = _copy(cursor, table, rows, params, returning)
            cursor.close()
            return lambda: result
        sql = _insert_sql(table.name, _all_columns(table, tuple(rows[0])), returning,
                          on_conflict)  # fmt: skip
        if len(params) == 1:  # no pipeline to set up for one row
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params, returning=bool(returning))
    except _driver_integrity_error() as err:
        cursor.close()
        raise IntegrityError(f"INSERT INTO {table.name}", None, err) from err
    if not returning:
        if not piped:
            cursor.close()
        return lambda: None

    def fetch() -> list[tuple]:
        out: list[tuple] = []
        try:
            while True:
                out.extend(cursor.fetchall())
                if not cursor.nextset():
                    return out
        except _driver_integrity_error() as err:
            raise IntegrityError(f"INSERT INTO {table.name}", None, err) from err
        finally:
            cursor.close()

    return fetch


@contextmanager
def pipeline(connection: Connection, *, enabled: bool = True) -> Iterator[None]:
    """On PostgreSQL, the INSERTs sent inside go out in one psycopg pipeline: each waits
    only when its new rows are asked for (:func:`send`), the others not at all before
    the block ends. (Never COPY inside: a pipeline cannot.) Elsewhere it does nothing."""
    if not enabled or not through_driver(connection):
        yield
        return
    connection.info[_PIPELINE] = True
    try:
        with connection.connection.driver_connection.pipeline():
            yield
    except _driver_integrity_error() as err:
        raise IntegrityError("INSERT (pipeline)", None, err) from err
    finally:
        connection.info.pop(_PIPELINE, None)


def through_driver(connection: Connection) -> bool:
    """Whether :func:`insert` goes through the driver (PostgreSQL) or SQLAlchemy."""
    return connection.dialect.name == "postgresql" and MODE != "values"


def takes_on_conflict(connection: Connection) -> bool:
    """Whether :func:`insert` takes an ``on_conflict`` clause on this connection (the
    driver paths: PostgreSQL's, and SQLite's, whose upsert is spelled the same)."""
    return MODE != "values" and connection.dialect.name in ("postgresql", "sqlite")


def _sqlite_direct(connection: Connection, table: Table, keys: tuple[str, ...]) -> bool:
    return (
        MODE != "values"
        and connection.dialect.name == "sqlite"
        and _sqlite_shape(table, keys, connection.dialect) is not None
    )


# SQLite ≥ 3.32 takes 32,766 parameters a statement; stay well below.
SQLITE_MAX_PARAMS = 30_000


def _sqlite(connection, table, rows, returning, on_conflict) -> list[tuple] | None:
    columns, processors = _sqlite_shape(table, tuple(rows[0]), connection.dialect)
    keys = columns[: len(processors)]
    defaults = list(_shape(table, keys)[1])
    # Most columns need no conversion: take every value at once, convert the few that do.
    convert = [(i, _last_value(p) if memo else p) for i, (p, memo) in enumerate(processors)
               if p is not None]  # fmt: skip
    take = itemgetter(*keys)
    params = []
    for row in rows:
        values = list(take(row)) if len(keys) > 1 else [take(row)]
        for i, process in convert:
            values[i] = process(values[i])
        params.append(values + defaults if defaults else values)
    cursor = connection.connection.driver_connection.cursor()
    try:
        if not returning:
            cursor.executemany(_sqlite_sql(table.name, columns, (), on_conflict, 1), params)
            return None
        out: list[tuple] = []
        step = max(1, SQLITE_MAX_PARAMS // len(columns))
        for start in range(0, len(params), step):
            chunk = params[start : start + step]
            sql = _sqlite_sql(table.name, columns, returning, on_conflict, len(chunk))
            cursor.execute(sql, [value for values in chunk for value in values])
            out.extend(cursor.fetchall())
        return _returned(table, returning, out, connection.dialect)
    except _sqlite_integrity_error() as err:
        raise IntegrityError(f"INSERT INTO {table.name}", None, err) from err
    finally:
        cursor.close()


def _returned(table, returning, out, dialect) -> list[tuple]:
    """The RETURNING rows with SQLAlchemy's result processing of each column (a date
    read back as text becomes a datetime, as SQLAlchemy's own RETURNING gives)."""
    processors = _result_processors(table, returning, dialect)
    if not any(processors):
        return out
    return [
        (row[0], *(p(v) if p else v for p, v in zip(processors, row[1:], strict=True)))
        for row in out
    ]


@lru_cache(maxsize=256)
def _result_processors(table: Table, returning: tuple[str, ...], dialect) -> tuple:
    return tuple(
        table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        for name in returning
    )


@lru_cache(maxsize=256)  # keyed by the engine's dialect too: tests make many engines
def _sqlite_shape(table: Table, keys: tuple[str, ...], dialect) -> tuple[tuple, tuple] | None:
    """The columns to insert (the row keys, then the columns with scalar defaults) and each
    key's SQLAlchemy bind processor; None when a missing column has a default that
    SQLAlchemy computes (a callable or SQL expression): that table takes SQLAlchemy's path."""
    for column in table.c:
        if column.name not in keys and column.default is not None and not column.default.is_scalar:
            return None
    processors = tuple(_sqlite_processor(table.c[key].type, dialect) for key in keys)
    return _all_columns(table, keys), processors


def _sqlite_processor(type_, dialect) -> tuple[Callable[[Any], Any] | None, bool]:
    """A column's bind processor on SQLite, and whether to memoise its last value (a date:
    a batch's rows share ``received_at``, ``at``, ``created_at`` — one datetime object).
    SQLAlchemy's JSON processor calls ``json.dumps``, which walks ``JSONEncoder.encode``
    and ``iterencode`` and builds a C encoder each time; a dict or list (what the sync
    stores) is written here by one such encoder made once, with ``json.dumps``'s
    defaults: the same text. Everything else (None, JSON.NULL, null()) stays SQLAlchemy's."""
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if process is None:
        return None, False
    if isinstance(type_, DateTime):
        return process, True
    if (
        isinstance(type_, JSON)
        and _JSON_ITER is not None
        and dialect._json_serializer is None
        and impl._str_impl.bind_processor(dialect) is None
    ):
        return _json_text(process), False
    return process, False


try:
    from json.encoder import c_make_encoder, encode_basestring_ascii
except ImportError:  # pragma: no cover - a Python without the C accelerator
    c_make_encoder = None
# ``json.dumps(value)``'s encoder (ensure_ascii, allow_nan, separators ", " and ": ",
# TypeError for what JSON cannot hold), but without the circular-reference markers: a
# shared markers dict would be shared by threads (gthread workers); values parsed from
# JSON cannot be circular, and a circular one still fails (RecursionError, not ValueError).
_JSON_ITER = (
    c_make_encoder(  # markers, default, encoder, indent, separators, sort, skip, nan
        None,
        json.JSONEncoder().default,
        encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    if c_make_encoder is not None
    else None
)


def _json_text(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(value, _join="".join, _encode=_JSON_ITER):
        kind = value.__class__
        if kind is dict or kind is list:
            return _join(_encode(value, 0))
        return fallback(value)

    return process


def _last_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process``, remembering its last value and text (one INSERT's column: made per call)."""
    last: list = [None, None]

    def memo(value):
        if value is last[0] and value is not None:
            return last[1]
        text = process(value)
        last[0], last[1] = value, text
        return text

    return memo


@lru_cache(maxsize=64)  # a statement per row count: a batch's sizes, a submission's 1
def _sqlite_sql(name: str, columns: tuple[str, ...], returning: tuple[str, ...],
                on_conflict: str, rows: int) -> str:  # fmt: skip
    one = f"({', '.join(['?'] * len(columns))})"
    sql = (
        f"INSERT INTO {_quote(name)} ({', '.join(map(_quote, columns))})"
        f" VALUES {', '.join([one] * rows)}"
    )
    if on_conflict:
        sql += f" {on_conflict}"
    if returning:
        sql += f" RETURNING id, {', '.join(map(_quote, returning))}"
    return sql


@cache
def _sqlite_integrity_error() -> type[Exception]:
    import sqlite3

    return sqlite3.IntegrityError


def _copy(cursor, table: Table, rows, params, returning) -> list[tuple] | None:
    columns = _all_columns(table, tuple(rows[0]))
    with cursor.copy(
        f"COPY {_quote(table.name)} ({', '.join(map(_quote, columns))}) FROM STDIN"
    ) as copy:
        for values in params:
            copy.write_row(values)
    if not returning:
        return None
    # The new rows, read back by the first returning column (unique, or new in this
    # transaction: the caller's rows are the only ones with these values).
    first = returning[0]
    cursor.execute(
        f"SELECT id, {', '.join(map(_quote, returning))} FROM {_quote(table.name)}"
        f" WHERE {_quote(first)} = ANY(%s)",
        [list({row[first] for row in rows})],
    )
    return cursor.fetchall()


def _sqlalchemy(connection, table, rows, returning, on_conflict) -> list[tuple] | None:
    if on_conflict:
        raise ValueError("on_conflict: PostgreSQL only (use the dialect's insert elsewhere)")
    statement = _sa_statement(table, returning)
    result = connection.execute(statement, list(rows))
    return [tuple(r) for r in result] if returning else None


@cache
def _sa_statement(table: Table, returning: tuple[str, ...]):
    """Built once: building a statement costs more than running it. Not
    ``sort_by_parameter_order``: without a sentinel column SQLAlchemy then inserts row by
    row on SQLite; callers match the returned rows by their ``returning`` columns."""
    statement = sa_insert(table)
    if returning:
        statement = statement.returning(table.c.id, *(table.c[name] for name in returning))
    return statement


@cache
def _shape(table: Table, keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple, tuple[bool, ...]]:
    """The row keys, the values of the scalar defaults of the columns not among them, and
    which of the keys are JSON columns."""
    defaults = tuple(
        column.default.arg
        for column in table.c
        if column.name not in keys and column.default is not None and column.default.is_scalar
    )
    json = tuple(isinstance(table.c[key].type, JSON) for key in keys)
    return keys, defaults, json


@cache
def _all_columns(table: Table, keys: tuple[str, ...]) -> tuple[str, ...]:
    return keys + tuple(
        column.name
        for column in table.c
        if column.name not in keys and column.default is not None and column.default.is_scalar
    )


@cache
def _insert_sql(name: str, columns: tuple[str, ...], returning: tuple[str, ...],
                on_conflict: str) -> str:  # fmt: skip
    sql = (
        f"INSERT INTO {_quote(name)} ({', '.join(map(_quote, columns))})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )
    if on_conflict:
        sql += f" {on_conflict}"
    if returning:
        sql += f" RETURNING id, {', '.join(map(_quote, returning))}"
    return sql


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@cache
def _json_wrapper() -> type:
    from psycopg.types.json import Json

    return Json


def _json_dumps(value: Any) -> str:
    """psycopg's JSON text, ``json.dumps(value)``: dicts and lists by the encoder made once."""
    kind = value.__class__
    if _JSON_ITER is not None and (kind is dict or kind is list):
        return "".join(_JSON_ITER(value, 0))
    return json.dumps(value)


@cache
def _driver_integrity_error() -> type[Exception]:
    import psycopg

    return psycopg.IntegrityError

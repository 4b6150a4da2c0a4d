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

Values are adapted as SQLAlchemy would: JSON columns as JSON (``None`` as JSON
``null``, SQLAlchemy's default), scalar column defaults filled in for missing keys.
A unique violation is raised as SQLAlchemy's ``IntegrityError``, so callers retry as
they do for a statement run by SQLAlchemy. The caller owns the transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import JSON, Table
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
    if not through_driver(connection):
        result = _sqlalchemy(connection, table, rows, returning, on_conflict)
        return lambda: result
    columns, defaults, json = _shape(table, tuple(rows[0]))
    params = [
        tuple(_json(row[c]) if j else row[c] for c, j in zip(columns, json, strict=True)) + defaults
        for row in rows
    ]
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


def _json(value: Any):
    from psycopg.types.json import Json

    return Json(value)


@cache
def _driver_integrity_error() -> type[Exception]:
    import psycopg

    return psycopg.IntegrityError

"""Running indicator totals per wave × indicator × building (the PSU).

Result pages must answer within 200 ms with a million responses stored, so they never
re-read responses: every accepted response adds its 0/1 indicator values here, in the
same transaction that stores it. ``analysis.estimate_from_totals`` works from these sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from . import bulk
from .models import Building, Community, Household, IndicatorTotal, Response


def add_response(
    *,
    session: Session,
    response: Response,
    values: Mapping[str, int | None],
    sign: int = 1,
) -> None:
    """Add (``sign=1``) or remove (``sign=-1``, e.g. a rejected response) one response's
    indicator ``values`` (1 positive, 0 not, None not applicable) to the running totals.
    The caller owns the transaction."""
    rows = _psu_rows(session, response, values, sign)
    if not rows:
        return
    session.connection().execute(_upsert(session.get_bind().dialect.name), rows)


def _psu_rows(session: Session, response: Response, values, sign: int) -> list[dict]:
    if response.household_id is None:
        return []
    household = session.get(Household, response.household_id)
    building = session.get(Building, household.building_id)
    community = session.get(Community, building.community_id)
    return [
        {
            "wave_id": response.wave_id,
            "indicator": key,
            "community_id": community.id,
            "street_id": community.street_id,
            "building_id": building.id,
            "n": sign,
            "positive": sign * int(value),
        }
        for key, value in values.items()
        if value is not None
    ]


def add_responses(
    *,
    session: Session,
    items: Sequence[tuple[int, int, Mapping[str, int | None]]],
    psu: Mapping[int, tuple[int, int, int]] | None = None,
) -> None:
    """Add many responses at once — ``(wave_id, household_id, values)`` each — with one
    upsert of their per-PSU sums (the batch sync's path: one statement, not one per
    response). Same meaning as calling :func:`add_response` for each. ``psu`` maps each
    household to its (building, community, street) when the caller has read them already.
    The caller owns the transaction."""
    if not items:
        return
    if psu is None:
        household_ids = {household_id for _, household_id, _ in items}
        psu = {
            hh_id: (building_id, community_id, street_id)
            for hh_id, building_id, community_id, street_id in session.exec(
                select(Household.id, Building.id, Community.id, Community.street_id)
                .join(Building, Household.building_id == Building.id)
                .join(Community, Building.community_id == Community.id)
                .where(Household.id.in_(household_ids))
            ).all()
        }
    # Each building's (indicator, value) pairs counted by Counter.update (in C: a batch
    # is 500 responses × 15 indicators), then summed per indicator.
    pairs: dict[tuple[int, int], Counter] = {}
    places: dict[int, tuple[int, int]] = {}
    for wave_id, household_id, values in items:
        building_id, community_id, street_id = psu[household_id]
        counter = pairs.get((wave_id, building_id))
        if counter is None:
            counter = pairs[(wave_id, building_id)] = Counter()
        counter.update(values.items())
        places[building_id] = (community_id, street_id)
    sums: dict[tuple[int, str, int], list[int]] = {}
    for (wave_id, building_id), counter in pairs.items():
        for (key, value), count in counter.items():
            if value is None:
                continue
            cell = sums.setdefault((wave_id, key, building_id), [0, 0])
            cell[0] += count
            cell[1] += count * int(value)
    rows = [
        {
            "wave_id": wave_id,
            "indicator": key,
            "community_id": places[building_id][0],
            "street_id": places[building_id][1],
            "building_id": building_id,
            "n": n,
            "positive": positive,
        }
        for (wave_id, key, building_id), (n, positive) in sorted(sums.items())
    ]
    connection = session.connection()
    if bulk.takes_on_conflict(connection):
        # One short statement for every cell through the driver (survey_app.bulk): on
        # PostgreSQL prepared and pipelined, on SQLite the sqlite3 cursor's executemany.
        bulk.insert(connection, IndicatorTotal.__table__, rows, on_conflict=_ADD)
        return
    connection.execute(_upsert(connection.dialect.name), rows)


_ADD = (
    "ON CONFLICT (wave_id, indicator, building_id) DO UPDATE SET"
    " n = indicatortotal.n + excluded.n, positive = indicatortotal.positive + excluded.positive"
)


@cache
def _upsert(dialect: str):
    """The totals upsert, built once per dialect and run for many parameter sets: an
    ON CONFLICT statement built anew is compiled anew (≈ 1.5 ms), and a multi-row VALUES
    changes shape with every batch."""
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(IndicatorTotal)
    return insert.on_conflict_do_update(
        index_elements=["wave_id", "indicator", "building_id"],
        set_={
            "n": IndicatorTotal.n + insert.excluded.n,
            "positive": IndicatorTotal.positive + insert.excluded.positive,
        },
    )

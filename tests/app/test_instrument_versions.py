"""Published questionnaire versions are served from the database, side by side."""

import pytest
from sqlmodel import select

import instruments
from survey_app.errors import ServiceError
from survey_app.instrument_registry import get_instrument
from survey_app.models import InstrumentVersion
from survey_app.setup.questionnaires import ensure_published

SOURCE = (instruments.FORMS_DIR / "household.yaml").read_text(encoding="utf-8")


def _version(n: int, title: str = "入户模拟问卷") -> str:
    text = SOURCE.replace("\nversion: 1\n", f"\nversion: {n}\n", 1)
    return text.replace("  zh: 入户模拟问卷\n", f"  zh: {title}\n", 1)


def test_two_versions_of_one_key_are_served_side_by_side(app, session):
    v1 = instruments.load_instrument(instruments.FORMS_DIR / "household.yaml")
    v2 = instruments.loads_instrument(_version(2), "v2.yaml")
    with app.app_context():
        ensure_published(session=session, instrument=v1)
        ensure_published(session=session, instrument=v2, source=_version(2))
        session.commit()
        # The files on disk know only version 1; version 2 comes from the database.
        app.extensions["instruments"].pop("household")
        assert get_instrument("household", "1").content_hash == v1.content_hash
        assert get_instrument("household", "2").content_hash == v2.content_hash
        assert get_instrument("household").version == 2
        assert get_instrument("household", "3") is None
    rows = session.exec(select(InstrumentVersion)).all()
    assert {r.version for r in rows} == {"1", "2"} and all(r.source for r in rows)


def test_an_edited_file_under_a_published_version_is_refused(app, session):
    v1 = instruments.load_instrument(instruments.FORMS_DIR / "household.yaml")
    edited_text = _version(1, title="入户模拟问卷(修改)")
    edited = instruments.loads_instrument(edited_text, "edited.yaml")
    assert edited.content_hash != v1.content_hash
    with app.app_context():
        ensure_published(session=session, instrument=v1)
        with pytest.raises(ServiceError, match="已发布"):
            ensure_published(session=session, instrument=edited, source=edited_text)

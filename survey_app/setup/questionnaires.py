"""Publishing questionnaire versions: a published version never changes."""

from __future__ import annotations

from sqlmodel import Session, select

from ..errors import ServiceError
from ..models import InstrumentVersion


def ensure_published(*, session: Session, instrument) -> InstrumentVersion:
    """Store ``instrument``'s version once; refuse if that version was published with
    different content (its content hash differs): the file must get a new version."""
    version = str(instrument.version)
    row = session.exec(
        select(InstrumentVersion).where(
            InstrumentVersion.key == instrument.key, InstrumentVersion.version == version
        )
    ).first()
    if row is not None:
        if row.content_hash != instrument.content_hash:
            raise ServiceError(
                f"问卷 {instrument.key} 的版本 {version} 已发布,内容不能再改;请提高版本号后再发布。"
            )
        return row
    row = InstrumentVersion(
        key=instrument.key,
        version=version,
        content_hash=instrument.content_hash,
        content=instrument.to_client_dict(),
    )
    session.add(row)
    session.flush()
    return row

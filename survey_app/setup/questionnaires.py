"""Publishing questionnaire versions: a published version never changes."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from ..errors import ServiceError
from ..models import InstrumentVersion


def _file_source(instrument) -> str | None:
    try:
        return Path(instrument.source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def ensure_published(
    *, session: Session, instrument, source: str | None = None, actor_id: int | None = None
) -> InstrumentVersion:
    """Store ``instrument``'s version once with its full source (YAML); refuse if that
    version was published with different content (its content hash differs): the file
    must get a new version number."""
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
        if row.source is None:
            row.source = source or _file_source(instrument)
            session.add(row)
        return row
    row = InstrumentVersion(
        key=instrument.key,
        version=version,
        content_hash=instrument.content_hash,
        content=instrument.to_client_dict(),
        source=source or _file_source(instrument),
        title=instrument.title.zh,
        published_by=actor_id,
    )
    session.add(row)
    session.flush()
    return row

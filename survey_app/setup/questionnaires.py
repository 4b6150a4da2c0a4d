"""Questionnaires: upload (YAML, or XLSForm through ``instruments.xlsform``), check,
preview, publish as immutable versions.

A published version (``InstrumentVersion``) keeps its full YAML source and content hash and
never changes: publishing a file whose version number is already published with other
content is refused with a message telling to raise the version. Any number of versions of
one key coexist; the app serves each from the database
(``instrument_registry.get_instrument(key, version)``).

Between upload and publish the checked YAML waits as a *draft* in the instance folder
(``questionnaire_drafts/<token>.yaml``): the admin previews it exactly as the tablet will
show it, then publishes it.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

import instruments
from instruments import xlsform

from .. import audit
from ..errors import NotFound, ServiceError
from ..instrument_registry import version_sort_key
from ..models import InstrumentVersion

MAX_SOURCE = 2 * 1024 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class QuestionnaireError(ServiceError):
    """A questionnaire that cannot be published: ``problems`` says where and why."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems[:3]))


@dataclass(frozen=True)
class Draft:
    """A checked questionnaire waiting to be previewed and published."""

    source: str  # YAML text
    instrument: instruments.Instrument
    filename: str

    @property
    def key(self) -> str:
        return self.instrument.key

    @property
    def version(self) -> str:
        return str(self.instrument.version)


def _problem_text(problem: instruments.Problem, filename: str) -> str:
    at = f"{filename}:{problem.line}" if problem.line else filename
    return f"{at}: {problem.where}: {problem.reason}"


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise QuestionnaireError(["文件编码无法识别,请保存为 UTF-8。"])


def parse_upload(
    *, data: bytes, filename: str, key: str | None = None, version: str | int | None = None
) -> Draft:
    """Check an uploaded questionnaire; raise ``QuestionnaireError`` listing every problem
    (file, line, item, reason)."""
    if not data:
        raise QuestionnaireError(["文件为空。"])
    if len(data) > MAX_SOURCE:
        raise QuestionnaireError([f"文件超过 {MAX_SOURCE // 1024 // 1024} MB。"])
    if data.startswith(b"PK\x03\x04"):
        source = _from_xlsform(data, filename, key, version)
    else:
        source = _decode(data)
    try:
        instrument = instruments.loads_instrument(source, filename)
    except instruments.InstrumentError as err:
        raise QuestionnaireError([_problem_text(p, filename) for p in err.problems]) from None
    return Draft(source=source, instrument=instrument, filename=filename)


def _from_xlsform(data: bytes, filename: str, key: str | None, version) -> str:
    number = None
    if version not in (None, ""):
        if not str(version).strip().isdigit():
            raise QuestionnaireError([f"版本号 {version!r} 应为正整数。"])
        number = int(str(version).strip())
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(filename).stem or "form"
        path = Path(tmp) / f"{re.sub(r'[^A-Za-z0-9_-]', '_', stem)}.xlsx"
        path.write_bytes(data)
        try:
            return xlsform.import_xlsform(path, key=key or None, version=number)
        except xlsform.XLSFormError as err:
            problems = [e.replace(str(path), filename) for e in err.errors]
            raise QuestionnaireError(problems) from None


def _drafts_dir(instance_path: Path) -> Path:
    path = Path(instance_path) / "questionnaire_drafts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_draft(draft: Draft, *, instance_path: Path) -> str:
    """Keep a checked draft for preview; returns its token."""
    token = secrets.token_urlsafe(18)
    (_drafts_dir(instance_path) / f"{token}.yaml").write_text(draft.source, encoding="utf-8")
    (_drafts_dir(instance_path) / f"{token}.name").write_text(draft.filename, encoding="utf-8")
    return token


def load_draft(token: str, *, instance_path: Path) -> Draft:
    if not _TOKEN.match(token or ""):
        raise NotFound("找不到该问卷草稿。")
    folder = _drafts_dir(instance_path)
    try:
        source = (folder / f"{token}.yaml").read_text(encoding="utf-8")
        filename = (folder / f"{token}.name").read_text(encoding="utf-8")
    except OSError:
        raise NotFound("找不到该问卷草稿(可能已发布或已过期)。") from None
    return parse_upload(data=source.encode("utf-8"), filename=filename)


def drop_draft(token: str, *, instance_path: Path) -> None:
    folder = _drafts_dir(instance_path)
    for suffix in (".yaml", ".name"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def ensure_published(
    *, session: Session, instrument, source: str | None = None, actor_id: int | None = None
) -> InstrumentVersion:
    """Store ``instrument``'s version once with its full source (YAML); refuse if that
    version was published with different content (its content hash differs): the file
    must get a new version number."""
    row, _created = _publish(session, instrument, source, actor_id)
    return row


def _file_source(instrument) -> str | None:
    try:
        return Path(instrument.source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _publish(session: Session, instrument, source: str | None, actor_id: int | None):
    version = str(instrument.version)
    row = session.exec(
        select(InstrumentVersion).where(
            InstrumentVersion.key == instrument.key, InstrumentVersion.version == version
        )
    ).first()
    if row is not None:
        if row.content_hash != instrument.content_hash:
            raise ServiceError(
                f"问卷 {instrument.key} 的版本 {version} 已发布,内容不能再改;"
                "请提高版本号(version)后再发布。"
            )
        if row.source is None:
            row.source = source or _file_source(instrument)
            session.add(row)
        return row, False
    row = InstrumentVersion(
        key=instrument.key,
        version=version,
        content_hash=instrument.content_hash,
        content=instrument.to_client_dict(),
        source=source or _file_source(instrument),
        title=instrument.title.zh[:200],
        published_by=actor_id,
    )
    session.add(row)
    session.flush()
    return row, True


def publish(
    *, session: Session, draft: Draft, actor_id: int | None = None
) -> tuple[InstrumentVersion, bool]:
    """Publish a checked draft; (row, False) when that exact version was already there."""
    row, created = _publish(session, draft.instrument, draft.source, actor_id)
    if created:
        audit.record(
            session=session,
            action="publish",
            entity="questionnaire",
            entity_id=row.id,
            user_id=actor_id,
            detail={"key": row.key, "version": row.version, "hash": row.content_hash},
        )
    session.commit()
    return row, created


def publish_packaged(*, session: Session, forms: dict) -> list[InstrumentVersion]:
    """Publish the packaged forms (``instruments/forms``) that are marked published in
    their register, once each (run on ``db-upgrade``)."""
    rows = []
    for inst in forms.values():
        if inst.published:
            rows.append(_publish(session, inst, None, None)[0])
    session.commit()
    return rows


def list_versions(*, session: Session) -> list[InstrumentVersion]:
    rows = session.exec(select(InstrumentVersion)).all()
    return sorted(rows, key=lambda r: (r.key, version_sort_key(r.version)), reverse=False)


def get_version(*, session: Session, key: str, version: str) -> InstrumentVersion:
    row = session.exec(
        select(InstrumentVersion).where(
            InstrumentVersion.key == key, InstrumentVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"找不到问卷 {key} 第 {version} 版。")
    return row

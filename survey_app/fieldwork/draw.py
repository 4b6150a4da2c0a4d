"""Drawing a wave's sample and releasing its reserve replicates.

The statistics are :mod:`analysis.sampling` (pure, reproducible from the seed); this
module reads the frame (active households of the wave's communities), records the draw
on one :class:`Assignment` per drawn household (replicate, inclusion probability, stratum,
PSU) and the frame's sizes and hash with the wave.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete
from sqlmodel import Session, select

from analysis import sampling

from .. import audit
from ..errors import ServiceError
from ..models import (
    Assignment,
    Building,
    Community,
    Design,
    Household,
    Visit,
    Wave,
    WaveCommunity,
    WaveStatus,
)
from ..models._types import utcnow


@dataclass(frozen=True)
class DesignChoice:
    """The analyst's choice of design and its sizes."""

    design: str
    seed: int
    per_community: int | None = None
    share: float | None = None
    buildings: int | None = None
    per_building: int | None = None
    pps: bool = True
    reserves: int = 2
    reserve_size: int | None = None

    def options(self) -> dict:
        out = {
            "per_community": self.per_community,
            "share": self.share,
            "buildings": self.buildings,
            "per_building": self.per_building,
            "pps": self.pps,
            "reserves": self.reserves,
            "reserve_size": self.reserve_size,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class _Frame:
    household: np.ndarray
    community: np.ndarray
    building: np.ndarray
    code: np.ndarray
    building_code: dict
    community_code: dict


def _frame(session: Session, wave: Wave) -> _Frame:
    ids = [
        wc.community_id
        for wc in session.exec(select(WaveCommunity).where(WaveCommunity.wave_id == wave.id))
    ]
    if not ids:
        raise ServiceError("本轮没有覆盖任何社区。")
    rows = session.exec(
        select(Household.id, Household.community_id, Household.building_id, Household.code)
        .where(Household.community_id.in_(ids), Household.active)
        .order_by(Household.id)
    ).all()
    if not rows:
        raise ServiceError("所选社区的住户名册为空:请先导入住户。")
    buildings = dict(
        session.exec(select(Building.id, Building.code).where(Building.community_id.in_(ids))).all()
    )
    communities = dict(
        session.exec(select(Community.id, Community.code).where(Community.id.in_(ids))).all()
    )
    h, c, b, k = (np.array(x, dtype=object) for x in zip(*rows, strict=True))
    return _Frame(h, c, b, k, buildings, communities)


def frame_hash(frame: _Frame) -> str:
    digest = hashlib.sha256()
    for row in zip(frame.household, frame.building, frame.code, strict=True):
        digest.update("\t".join(map(str, row)).encode() + b"\n")
    return digest.hexdigest()


def sample_wave(
    *,
    session: Session,
    wave: Wave,
    choice: DesignChoice,
    upload: bytes | None = None,
    user_id: int | None = None,
) -> int:
    """Draw the draft wave's sample (replacing an earlier draw of this draft); returns
    the households in the main sample."""
    if wave.status != WaveStatus.DRAFT:
        raise ServiceError("只有草稿状态的轮次可以抽样。", status=409)
    if choice.design not in sampling.DESIGNS:
        raise ServiceError(
            f"未知的抽样设计“{choice.design}”:可选 census、srs、systematic、two-stage、upload。"
        )
    frame = _frame(session, wave)
    if choice.design == Design.UPLOAD:
        if upload is None:
            raise ServiceError(
                "上传样本需要一个文件(community_code,household_code[,probability])。"
            )
        drawn = _uploaded(frame, upload)
    else:
        try:
            drawn = sampling.draw(
                frame.community,
                frame.building,
                frame.code,
                design=choice.design,
                seed=choice.seed,
                per_stratum=choice.per_community,
                share=choice.share,
                clusters=choice.buildings,
                per_cluster=choice.per_building,
                pps=choice.pps,
                reserves=0 if choice.design == Design.CENSUS else choice.reserves,
                reserve_size=choice.reserve_size,
            )
        except ValueError as err:
            raise ServiceError(_say(str(err))) from err
    discard_sample(session=session, wave=wave)
    prob = drawn.probabilities(1)
    rows = []
    two_stage = choice.design == Design.TWO_STAGE
    for i, row in enumerate(drawn.rows.tolist()):
        community = int(frame.community[row])
        building = frame.building[row]
        rows.append(
            {
                "wave_id": wave.id,
                "household_id": int(frame.household[row]),
                "community_id": community,
                "canvasser_id": None,
                "replicate": int(drawn.replicate[i]),
                "released": bool(drawn.replicate[i] == 1),
                "inclusion_prob": None if np.isnan(prob[i]) else float(prob[i]),
                "psu_prob": float(drawn.psu_prob[i]) if two_stage else 1.0,
                "pool_size": int(drawn.pool_size[i]),
                "stratum": frame.community_code[community],
                "psu": frame.building_code[building] if two_stage else str(frame.code[row]),
                "created_at": utcnow(),
            }
        )
    session.connection().execute(Assignment.__table__.insert(), rows)
    for wc in session.exec(select(WaveCommunity).where(WaveCommunity.wave_id == wave.id)):
        wc.households = int(drawn.stratum_size.get(wc.community_id, 0))
        wc.buildings = int(drawn.stratum_psus.get(wc.community_id, 0))
        session.add(wc)
    options = choice.options()
    if choice.design == Design.UPLOAD:  # "pps": unequal probabilities given (no fpc then)
        options = {"pps": drawn.given_prob is not None and len(set(drawn.given_prob.tolist())) > 1}
    elif choice.design != Design.TWO_STAGE:
        options.pop("pps", None)
    wave.design, wave.seed, wave.design_options = choice.design, choice.seed, options
    wave.released, wave.sampled_at, wave.frame_hash = 1, utcnow(), frame_hash(frame)
    session.add(wave)
    main = int((drawn.replicate == 1).sum())
    audit.record(session=session, action="wave.sample", entity="wave", entity_id=wave.id, user_id=user_id,
                 detail={"design": choice.design, "seed": choice.seed, **choice.options(),
                         "main": main, "drawn": len(rows), "frame_hash": wave.frame_hash})  # fmt: skip
    session.commit()
    return main


def discard_sample(*, session: Session, wave: Wave) -> None:
    """Forget a draft's draw (its assignments have no visits: the wave never opened)."""
    ids = select(Assignment.id).where(Assignment.wave_id == wave.id)
    if session.exec(select(Visit.id).where(Visit.assignment_id.in_(ids))).first() is not None:
        raise ServiceError("本轮已有走访记录,不能重新抽样。", status=409)
    session.exec(delete(Assignment).where(Assignment.wave_id == wave.id))
    wave.released, wave.design, wave.seed, wave.frame_hash = 0, None, None, None


def release_next(*, session: Session, wave: Wave, user_id: int | None = None) -> int:
    """Release the next reserve replicate of every community; returns the households
    added. Every released household's inclusion probability is updated (k/N grows)."""
    if wave.status not in (WaveStatus.DRAFT, WaveStatus.OPEN):
        raise ServiceError("只有草稿或进行中的轮次可以启用备用样本。", status=409)
    if wave.released < 1:
        raise ServiceError("本轮还没有抽样。", status=409)
    rows = session.exec(select(Assignment).where(Assignment.wave_id == wave.id)).all()
    nxt = wave.released + 1
    added = [a for a in rows if a.replicate == nxt]
    if not added:
        raise ServiceError("没有更多备用样本可以启用。", status=409)
    pool = np.array(
        [(a.community_id, a.psu if wave.design == Design.TWO_STAGE else "") for a in rows],
        dtype=object,
    )
    prob = sampling.inclusion_probabilities(
        np.array([f"{c}|{p}" for c, p in pool], dtype=object),
        np.array([a.pool_size or 1 for a in rows]),
        np.array([a.psu_prob or 1.0 for a in rows]),
        np.array([a.replicate for a in rows]),
        nxt,
    )
    for a, p in zip(rows, prob.tolist(), strict=True):
        if a.replicate <= nxt:
            a.released, a.inclusion_prob = True, float(p)
            session.add(a)
    wave.released = nxt
    session.add(wave)
    audit.record(session=session, action="wave.release", entity="wave", entity_id=wave.id,
                 user_id=user_id, detail={"replicate": nxt, "added": len(added)})  # fmt: skip
    session.commit()
    return len(added)


def _uploaded(frame: _Frame, data: bytes):
    """``community_code,household_code[,probability]`` rows → a :class:`sampling.Draw`.
    Probabilities must be equal within a building (the estimates sum by building)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    need = {"community_code", "household_code"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise ServiceError("样本文件需要列 community_code、household_code(可选 probability)。")
    index = {
        (frame.community_code[int(c)], str(k)): i
        for i, (c, k) in enumerate(zip(frame.community, frame.code, strict=True))
    }
    rows, probs = [], []
    for line, rec in enumerate(reader, start=2):
        key = ((rec.get("community_code") or "").strip(), (rec.get("household_code") or "").strip())
        if key not in index:
            raise ServiceError(f"第 {line} 行:住户 {key[0]} {key[1]} 不在本轮的住户名册中。")
        rows.append(index[key])
        raw = (rec.get("probability") or "").strip()
        if raw:
            try:
                probs.append(float(raw))
            except ValueError:
                raise ServiceError(f"第 {line} 行,probability 列:应为 0 到 1 之间的数。") from None
        else:
            probs.append(None)
    if any(p is None for p in probs) and not all(p is None for p in probs):
        raise ServiceError("probability 列要么每行都填,要么都不填。")
    given = None if probs and probs[0] is None else np.array(probs, dtype=float)
    if given is not None:
        by_building: dict = {}
        for r, p in zip(rows, given.tolist(), strict=True):
            if by_building.setdefault(frame.building[r], p) != p:
                raise ServiceError("同一楼栋内的选择概率必须相同(估计按楼栋汇总)。")
    try:
        return sampling.uploaded(frame.community, np.array(rows), given)
    except ValueError as err:
        raise ServiceError(_say(str(err))) from err


_SAY = {
    "the frame has no households": "住户名册为空。",
    "the uploaded sample has no households": "样本文件没有住户。",
    "a household appears twice in the uploaded sample": "样本文件中有重复的住户。",
    "selection probabilities must be in (0, 1], one per household": "选择概率应在 0 与 1 之间。",
    "srs needs either a number per community or a share": "简单随机抽样需要每社区户数或抽样比例(二选一)。",
    "systematic needs either a number per community or a share": "系统抽样需要每社区户数或抽样比例(二选一)。",
    "the number per community must be at least 1": "每社区户数至少为 1。",
    "the share must be in (0, 1]": "抽样比例应在 0 与 1 之间。",
    "two-stage needs buildings ≥ 1 and households per building ≥ 1": "两阶段抽样需要楼栋数和每楼栋户数(都至少为 1)。",
    "reserves must be ≥ 0 and reserve_size ≥ 1": "备用样本组数不能为负,每组至少 1 户。",
}


def _say(message: str) -> str:
    return _SAY.get(message, message)

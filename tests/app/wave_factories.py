"""A city set up from files for the wave tests: geography, a household frame imported
through ``flask import-households`` and canvassers made with ``create-user``."""

from __future__ import annotations

from sqlmodel import Session

from survey_app.models import Community, District, Street

PASSWORD = "secret-pass-1"


def make_city(
    session: Session, runner, tmp_path, buildings=None, canvassers=None
) -> list[Community]:
    """Street S1 with communities C01 (4 buildings × 16 households = 64) and C02
    (5 buildings × 10 = 50), a canvasser or two in each, the household form published."""
    buildings = buildings or {"C01": [16, 16, 16, 16], "C02": [10] * 5}
    canvassers = canvassers or {"C01": ["can1", "can2"], "C02": ["can3"]}
    district = District(code="D1", name="文明区")
    session.add(district)
    session.flush()
    street = Street(code="S1", name="东街道", district_id=district.id)
    session.add(street)
    session.flush()
    communities = []
    for i, code in enumerate(buildings):
        community = Community(code=code, name=f"社区{i + 1}", street_id=street.id)
        session.add(community)
        communities.append(community)
    session.commit()
    lines = ["community_code,building,household_code"]
    for code, sizes in buildings.items():
        for b, m in enumerate(sizes):
            lines += [f"{code},{b + 1}栋,{b + 1}-{h + 1:02d}" for h in range(m)]
    frame = tmp_path / "frame.csv"
    frame.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-households", str(frame)])
    assert result.exit_code == 0, result.output
    for code, names in canvassers.items():
        for name in names:
            result = runner.invoke(
                args=["create-user", "--username", name, "--role", "canvasser", "--community", code,
                      "--password", PASSWORD],
            )  # fmt: skip
            assert result.exit_code == 0, result.output
    with runner.app.app_context():
        from survey_app.instrument_registry import get_instrument
        from survey_app.setup.questionnaires import ensure_published

        ensure_published(session=session, instrument=get_instrument("household"))
    session.commit()
    return communities


def questionnaire(app) -> str:
    with app.app_context():
        from survey_app.instrument_registry import get_instrument

        return f"household:{get_instrument('household').version}"


def cli(runner, *args) -> str:
    result = runner.invoke(args=["waves", *map(str, args)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output.strip()

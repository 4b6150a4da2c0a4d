"""A city set up from files for the wave tests: geography and the household frame through
setup's ``geography import`` and ``households import``, canvassers with ``create-user``."""

from __future__ import annotations

from sqlmodel import Session, select

from survey_app.models import Community

PASSWORD = "secret-pass-1"


def make_city(
    session: Session, runner, tmp_path, buildings=None, canvassers=None
) -> list[Community]:
    """Street S1 with communities C01 (4 buildings × 16 households = 64) and C02
    (5 buildings × 10 = 50), from files through setup's commands (``geography import``,
    ``households import``), a canvasser or two in each (``create-user``), the household
    form published."""
    buildings = buildings or {"C01": [16, 16, 16, 16], "C02": [10] * 5}
    canvassers = canvassers or {"C01": ["can1", "can2"], "C02": ["can3"]}
    geo = tmp_path / "geography.csv"
    geo.write_text(
        "district_code,district_name,street_code,street_name,community_code,community_name\n"
        + "".join(f"D1,文明区,S1,东街道,{code},社区{i + 1}\n" for i, code in enumerate(buildings)),
        encoding="utf-8",
    )
    result = runner.invoke(args=["geography", "import", str(geo)])
    assert result.exit_code == 0, result.output
    lines = ["community_code,building,household_code"]
    for code, sizes in buildings.items():
        for b, m in enumerate(sizes):
            lines += [f"{code},{b + 1}栋,{b + 1}-{h + 1:02d}" for h in range(m)]
    frame = tmp_path / "frame.csv"
    frame.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["households", "import", str(frame)])
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
    return list(session.exec(select(Community).order_by(Community.code)).all())


def questionnaire(app) -> str:
    with app.app_context():
        from survey_app.instrument_registry import get_instrument

        return f"household:{get_instrument('household').version}"


def cli(runner, *args) -> str:
    result = runner.invoke(args=["waves", *map(str, args)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output.strip()

"""The flask commands: seed the demo once, create users, configuration."""

from sqlmodel import func, select

from survey_app.config import settings_from_env
from survey_app.models import Assignment, Community, District, Household, Street, User, Wave


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def test_seed_demo_creates_the_city_once(runner, session):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "演示账号" in result.output and "secretary" in result.output
    counts = {
        m.__name__: _count(session, m) for m in (District, Street, Community, Household, User, Wave)
    }
    assert counts["District"] == 1 and counts["Street"] == 2 and counts["Community"] == 6
    assert counts["Household"] >= 300 and counts["User"] >= 4 and counts["Wave"] == 3
    wave = session.exec(select(Wave).where(Wave.status == "open")).one()
    assert wave.target == 0.99
    assert {w.status for w in session.exec(select(Wave)).all()} == {"open", "closed"}
    assert {u.role for u in session.exec(select(User)).all()} == {
        "admin",
        "analyst",
        "secretary",
        "canvasser",
        "supervisor",
    }
    assert _count(session, Assignment) > 0
    login_page = runner.app.test_client().get("/login").get_data(as_text=True)
    assert "演示账号" in login_page and "secretary2" in login_page and "demo12345" in login_page
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "已存在" in again.output
    session.expire_all()
    assert (
        _count(session, Household) == counts["Household"]
        and _count(session, User) == counts["User"]
    )


def test_create_user_command(runner, session):
    result = runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", "longpassword"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", "longpassword"]
    )
    assert result.exit_code != 0 and "已存在" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "sec",
            "--role",
            "secretary",
            "--password",
            "longpassword",
        ]
    )
    assert result.exit_code != 0 and "--community" in result.output
    assert "Traceback" not in result.output


def test_secret_key_is_generated_once_and_kept(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path / "inst")}
    first = settings_from_env(env)
    second = settings_from_env(env)
    assert first.secret_key == second.secret_key and len(first.secret_key) == 64
    assert first.database_url.startswith("sqlite:///") and str(tmp_path) in first.database_url
    pg = settings_from_env({**env, "DATABASE_URL": "postgresql://u@h/db", "SECRET_KEY": "k"})
    assert pg.database_url == "postgresql+psycopg://u@h/db" and pg.secret_key == "k"

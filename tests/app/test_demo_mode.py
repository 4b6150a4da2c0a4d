"""The demo only when asked: seed-demo refuses a real city's database, the sign-in page
lists demo accounts only in demo mode, and the header says when the database is a demo."""

from .factories import make_geo, make_user


def test_seed_demo_refuses_a_database_with_a_real_city(runner, session):
    make_geo(session)
    make_user(session, "admin", username="city-admin")
    result = runner.invoke(args=["seed-demo"])
    assert (
        result.exit_code != 0 and "非演示数据" in result.output and "Traceback" not in result.output
    )
    quiet = runner.invoke(args=["seed-demo", "--only-if-empty"])
    assert quiet.exit_code == 0 and "不写入演示城市" in quiet.output


def test_demo_accounts_and_the_demo_badge_only_in_demo_mode(runner, session, app, tmp_path):
    import json
    from pathlib import Path

    # A leftover accounts file alone does not show demo accounts on a real city's login.
    marker = Path(app.instance_path) / "demo_accounts.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"password": "demo12345", "accounts": []}))
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "演示账号" not in page and "演示数据库" not in page
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    app.extensions.pop("installation", None)
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "演示账号" in page and "demo12345" in page and "演示数据库" in page

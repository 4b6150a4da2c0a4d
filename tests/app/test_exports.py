"""Exports opened and checked: estimates (CSV, XLSX with the method sheet), the raw
responses without personal identifiers, population margins upload and raking."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlmodel import func, select

from survey_app.models import PopulationMargin, Response, Role

from .factories import login, make_user
from .results_data import build_city

IDENTIFYING = re.compile(r"user|canvasser|device|uuid|household|name|phone|id$", re.I)
RUN = "indicators=satisfaction&indicators=awareness&method=korn-graubard&level=0.95&target=99&run=1"


@pytest.fixture
def instrument(app):
    return app.extensions["instruments"]["household"]


@pytest.fixture
def city(session, instrument):
    return build_city(session, instrument)


@pytest.fixture
def analyst(client, session):
    user = make_user(session, Role.ANALYST)
    login(client, user)
    return user


def margins_csv(city, households_per_person: float = 2.5) -> bytes:
    lines = ["community,variable,category,count"]
    for c in city.communities:
        people = round(len(city.households[c.id]) * households_per_person)
        ages = {"a16_29": 0.2, "a30_44": 0.3, "a45_59": 0.25}
        counts = {k: round(people * v) for k, v in ages.items()}
        counts["a60_plus"] = people - sum(counts.values())
        lines += [f"{c.code},age_group,{k},{v}" for k, v in counts.items()]
        lines += [f"{c.code},sex,male,{people // 2}", f"{c.code},sex,female,{people - people // 2}"]
    return ("\n".join(lines) + "\n").encode()


def upload(client, body: bytes):
    return client.post(
        "/analysis/margins",
        data={"file": (io.BytesIO(body), "margins.csv")},
        content_type="multipart/form-data",
    )


def test_estimates_xlsx_has_results_and_a_method_sheet(client, city, analyst):
    body = client.get(f"/analysis/export.xlsx?wave={city.wave.id}&weighting=none&{RUN}").data
    wb = load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["结果", "方法说明"]
    rows = list(wb["结果"].iter_rows(values_only=True))
    assert rows[0][:6] == (
        "indicator",
        "indicator_label",
        "domain",
        "community_name",
        "n",
        "estimate",
    )
    assert len(rows) - 1 == 2 * (len(city.communities) + 1)
    codes = {r[2] for r in rows[1:]}
    assert codes == {c.code for c in city.communities} | {"全部"}
    method = dict(wb["方法说明"].iter_rows(min_row=2, values_only=True))
    assert method["置信区间方法"] == "korn-graubard" and method["置信水平"] == "0.95"
    assert method["测评轮次"] == city.wave.name and "楼栋" in method["抽样设计"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", method["导出日期"])
    assert "deff_w = 1.000" in method["权数离散程度"]


def test_raw_export_has_no_personal_identifier(client, session, city, analyst):
    completed = session.exec(
        select(func.count()).select_from(Response).where(Response.wave_id == city.wave.id)
    ).one()
    text = client.get(f"/analysis/responses.csv?wave={city.wave.id}").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = list(rows[0])
    assert len(rows) == completed
    assert not [h for h in header if IDENTIFYING.search(h)], header
    for column in ("wave", "street", "community", "building", "age_group", "sex", "weight"):
        assert column in header
    assert "satisfaction" in header and "q_sat_overall" in header and "q_need" in header
    assert any(r["q_need"] for r in rows)  # residents' requests are kept
    stored = " ".join(
        str(v) for r in session.exec(select(Response)).all() for v in (r.uuid, r.device)
    )
    assert not any(r["row"] in stored.split() for r in rows[:3])

    body = client.get(f"/analysis/responses.xlsx?wave={city.wave.id}").data
    wb = load_workbook(io.BytesIO(body), read_only=True)
    sheet = list(wb["responses"].iter_rows(values_only=True))
    assert list(sheet[0]) == header and len(sheet) - 1 == completed
    assert "说明" in wb.sheetnames


def test_margins_upload_and_raking(client, session, city, analyst):
    response = upload(client, margins_csv(city))
    assert response.status_code == 302
    assert session.exec(select(func.count()).select_from(PopulationMargin)).one() == 6 * len(
        city.communities
    )
    page = client.get(f"/analysis/?wave={city.wave.id}&weighting=rake&{RUN}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已收敛" in html
    deff_w = float(re.search(r'class="deff-w">([\d.]+)<', html).group(1))
    assert deff_w > 1.0
    body = client.get(f"/analysis/export.xlsx?wave={city.wave.id}&weighting=rake&{RUN}").data
    method = dict(
        load_workbook(io.BytesIO(body))["方法说明"].iter_rows(min_row=2, values_only=True)
    )
    assert method["加权"].startswith("迭代比例加权") and "age_group" in method["加权变量"]
    # uploading again replaces, never duplicates
    assert upload(client, margins_csv(city, 3.0)).status_code == 302
    assert session.exec(select(func.count()).select_from(PopulationMargin)).one() == 6 * len(
        city.communities
    )
    ps = client.get(f"/analysis/?wave={city.wave.id}&weighting=poststratify&ps_variable=sex&{RUN}")
    assert ps.status_code == 200 and "事后分层" in ps.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"community,variable,count\nX,sex,1\n", "category 列:缺少此列"),
        (b"community,variable,category,count\nNOPE,sex,male,10\n", "第 2 行:找不到社区编码"),
        (b"community,variable,category,count\n{c},height,tall,10\n", "变量 'height'"),
        (b"community,variable,category,count\n{c},sex,male,-3\n", "人数 '-3'"),
        (b"community,variable,category,count\n", "没有数据行"),
        (b"\xff\xfe\x00", "编码无法识别"),
    ],
)
def test_bad_margins_are_refused_with_a_clear_message(client, city, analyst, body, message):
    body = body.replace(b"{c}", city.communities[0].code.encode())
    response = upload(client, body)
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))


def test_bad_settings_are_4xx_not_500(client, city, analyst):
    base = f"/analysis/?wave={city.wave.id}&indicators=satisfaction"
    assert client.get(f"{base}&level=0.5&target=99&run=1").status_code == 400
    assert client.get(f"{base}&level=0.95&target=120&run=1").status_code == 400
    assert client.get(f"{base}&level=0.95&target=99&method=wald&run=1").status_code == 400
    base += "&method=korn-graubard"
    bogus = f"/analysis/?wave={city.wave.id}&indicators=bogus&level=0.95&target=99&run=1"
    assert client.get(bogus).status_code == 400
    no_margins = client.get(f"{base}&level=0.95&target=99&weighting=rake&run=1")
    assert no_margins.status_code == 400 and "人口边际" in no_margins.get_data(as_text=True)
    assert client.get("/analysis/responses.csv?wave=abc").status_code == 400
    assert client.get("/analysis/responses.csv?wave=9999").status_code == 404
    assert client.get("/analysis/export.pdf?wave=1").status_code == 404


def test_exports_need_the_analyst_role(client, session, city):
    login(client, make_user(session, Role.SECRETARY, city.communities[0]))
    assert client.get(f"/analysis/responses.csv?wave={city.wave.id}").status_code == 403
    assert client.get(f"/analysis/export.csv?wave={city.wave.id}&{RUN}").status_code == 403
    assert upload(client, b"community,variable,category,count\n").status_code == 403


def test_workspace_raking_equals_analysis_on_the_raw_export(client, city, analyst):
    """The workspace's raked estimates are what analysis gives on the exported data."""
    import pandas as pd

    import analysis
    from analysis import weighting as aw

    assert upload(client, margins_csv(city)).status_code == 302
    raw_text = client.get(f"/analysis/responses.csv?wave={city.wave.id}").data.decode("utf-8-sig")
    raw = pd.read_csv(io.StringIO(raw_text), dtype={"community": str, "street": str})
    population = pd.read_csv(io.BytesIO(margins_csv(city)), dtype=str)
    population["count"] = population["count"].astype(float)
    tables = [
        population[population["variable"] == v].rename(columns={"category": v})[
            ["community", v, "count"]
        ]
        for v in ("age_group", "sex")
    ]
    raked = aw.rake(
        raw, weight="weight", margins=[["community", "age_group"], ["community", "sex"]],
        population=tables,
    )  # fmt: skip
    expected = analysis.estimate(
        raw.assign(weight=raked.weights),
        indicators=["satisfaction", "awareness"],
        weight="weight",
        strata="street",
        cluster="building",
        by="community",
        calibration=raked.calibration,
    )
    reference = {(r.indicator, r.domain): r for r in expected.rows}
    body = client.get(f"/analysis/export.csv?wave={city.wave.id}&weighting=rake&{RUN}").data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == len(reference)
    for row in rows:
        r = reference[(row["indicator"], None if row["domain"] == "全部" else row["domain"])]
        for col in ("estimate", "se", "ci_low", "ci_high"):
            assert float(row[col]) == pytest.approx(getattr(r, col), rel=1e-8, abs=1e-10)
        assert row["verdict"] == r.verdict


def test_margins_in_excel_with_chinese_headers_labels_and_gb18030(client, session, city, analyst):
    """The 创文办's own workbook: Chinese headers and category names, XLSX or GB18030 CSV;
    a category the questionnaire does not have is refused at upload, naming the line."""
    from openpyxl import Workbook

    code = city.communities[0].code
    wb = Workbook()
    ws = wb.active
    ws.append(["社区编码", "变量", "类别", "人数"])
    ws.append([code, "性别", "男", 600])
    ws.append([code, "sex", "female", 640])
    ws.append([code, "年龄组", "16–29岁", 300])
    buf = io.BytesIO()
    wb.save(buf)
    resp = client.post(
        "/analysis/margins",
        data={"file": (io.BytesIO(buf.getvalue()), "margins.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    stored = {
        (m.variable, m.category): m.count for m in session.exec(select(PopulationMargin)).all()
    }
    assert stored == {("sex", "male"): 600, ("sex", "female"): 640, ("age_group", "a16_29"): 300}

    gb = f"社区编码,变量,类别,人数\n{code},sex,其他,10\n".encode("gb18030")
    resp = upload(client, gb)
    assert resp.status_code == 400
    assert "第 2 行:sex 没有类别 '其他'" in html.unescape(resp.get_data(as_text=True))


def test_margins_template_lists_allowed_codes(client, city, analyst):
    resp = client.get(f"/analysis/margins-template.xlsx?wave={city.wave.id}")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    assert [c.value for c in wb["人口边际"][1]] == ["社区编码", "变量", "类别", "人数"]
    values = list(wb["可用的值"].iter_rows(values_only=True))
    assert ("sex", "male", "男") in values and ("age_group", "a16_29", "16–29岁") in values
    assert any(r[0] == city.communities[0].code for r in values)
    # the template as downloaded, filled in, imports
    ws = wb["人口边际"]
    ws.delete_rows(2)
    ws.append([city.communities[0].code, "sex", "male", 10])
    buf = io.BytesIO()
    wb.save(buf)
    resp = client.post(
        "/analysis/margins",
        data={"file": (io.BytesIO(buf.getvalue()), "filled.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302

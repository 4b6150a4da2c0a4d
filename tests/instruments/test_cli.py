"""survey-instrument: one line per error, non-zero exit, never a traceback."""

from __future__ import annotations

from instruments import FORMS_DIR
from instruments.cli import main

from .conftest import base, item, write
from .test_xlsform import workbook


def test_check_ok(capsys):
    assert main(["check", str(FORMS_DIR / "household.yaml")]) == 0
    out = capsys.readouterr().out
    assert "household.yaml: OK (household v1, " in out and "sha256:" in out


def test_check_reports_every_problem_one_per_line(tmp_path, capsys):
    data = base()
    item(data, "sat")["relevant"] = "nope = 'yes'"
    data["choices"]["area"].append({"code": "a", "label": "重复"})
    good = write(tmp_path, base(), "good.yaml")
    bad = write(tmp_path, data, "bad.yaml")
    assert main(["check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{bad}:") for line in lines)
    assert "Traceback" not in captured.err
    assert f"{good}: OK" in captured.out


def test_check_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the file" in err


def test_import_xlsform_writes_a_checked_file(tmp_path, capsys):
    out = tmp_path / "out.yaml"
    form = workbook(tmp_path)
    assert main(["import-xlsform", str(form), "-o", str(out), "--key", "k", "--version", "3"]) == 0
    assert main(["check", str(out)]) == 0
    assert "(k v3, draft, " in capsys.readouterr().out


def test_import_xlsform_errors(tmp_path, capsys):
    form = workbook(tmp_path, survey=[["image", "photo", "照片"]], header=["type", "name", "label"])
    out = tmp_path / "out.yaml"
    assert main(["import-xlsform", str(form), "-o", str(out)]) == 1
    assert capsys.readouterr().err == "survey!A2: type 'image' is not supported\n"
    assert not out.exists()


def test_publish_records_the_version_and_freezes_it(tmp_path, capsys):
    path = write(tmp_path, base())
    assert main(["publish", str(path)]) == 0
    assert "mini v1 published (sha256:" in capsys.readouterr().out
    register = (tmp_path / "_published.yaml").read_text(encoding="utf-8")
    assert "mini:\n  1: sha256:" in register
    assert main(["publish", str(path)]) == 0
    assert "already published" in capsys.readouterr().out

    data = base()
    item(data, "sat")["label"] = "改过的题目"
    write(tmp_path, data)
    assert main(["check", str(path)]) == 1
    assert "a published version never changes" in capsys.readouterr().err
    data["version"] = 2
    write(tmp_path, data)
    assert main(["publish", str(path)]) == 0
    register = (tmp_path / "_published.yaml").read_text(encoding="utf-8")
    assert "  1: sha256:" in register and "  2: sha256:" in register


def test_bad_arguments_exit_non_zero(capsys):
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err

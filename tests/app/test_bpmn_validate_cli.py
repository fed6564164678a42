"""hcp bpmn validate FILE…: exit 0 when fine, 1 on problems, 2 when a file cannot be read."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Flask

from ..workflows.bpmn_samples import SHIPPED, sample
from ..workflows.test_validation import BILLION_LAUGHS, XXE
from .test_cli import hcp


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", *args])
    return result.exit_code, result.output


def test_the_shipped_files_are_fine(app: Flask) -> None:
    code, output = run(app, *(str(p) for p in sorted(SHIPPED.glob("*.bpmn"))))
    assert code == 0, output
    assert output.count("没有问题") == 3


def test_problems_are_listed_with_file_line_rule_and_element(app: Flask, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.bpmn", tmp_path / "bad.bpmn"
    good.write_text(sample(), encoding="utf-8")
    bad.write_text(sample(called="nowhere", script="import os").replace('id="demo"', 'id="demo2"')
                   .replace('processRef="demo"', 'processRef="demo2"'), encoding="utf-8")
    code, output = run(app, str(good), str(bad))
    assert code == 1
    assert f"{good}: 没有问题" in output
    lines = [line for line in output.splitlines() if line.startswith(str(bad))]
    assert any(":" in line and "[script] prepare: 脚本不允许：第1行：不允许 import 语句" in line for line in lines)
    assert any("[call] call: 调用的流程“nowhere”不存在" in line for line in lines)


def test_a_file_replaces_its_namesake_in_the_bundle(app: Flask, tmp_path: Path) -> None:
    changed = tmp_path / "recheck.bpmn"
    changed.write_text((SHIPPED / "recheck.bpmn").read_text(encoding="utf-8").replace('name="复核">', 'name="二次复核">', 1),
                       encoding="utf-8")
    code, output = run(app, str(changed))
    assert code == 0, output


def test_files_given_together_form_the_bundle(app: Flask, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "forms").mkdir(parents=True)
    for form in (SHIPPED / "forms").glob("*.json"):
        shutil.copy(form, bundle / "forms")
    caller = tmp_path / "caller.bpmn"
    caller.write_text(sample(called="recheck"), encoding="utf-8")
    code, output = run(app, "--bundle", str(bundle), str(caller))
    assert code == 1 and "调用的流程“recheck”不存在" in output
    code, output = run(app, "--bundle", str(bundle), str(caller), str(SHIPPED / "recheck.bpmn"))
    assert code == 0, output


def test_xxe_and_billion_laughs_files_are_refused(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "xxe.bpmn").write_text(XXE, encoding="utf-8")
    (tmp_path / "lol.bpmn").write_text(BILLION_LAUGHS, encoding="utf-8")
    code, output = run(app, str(tmp_path / "xxe.bpmn"), str(tmp_path / "lol.bpmn"))
    assert code == 1
    assert output.count("[xml]") == 2 and "root:" not in output


def test_an_unreadable_file_exits_2(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "good.bpmn").write_text(sample(), encoding="utf-8")
    code, output = run(app, str(tmp_path / "good.bpmn"), str(tmp_path / "missing.bpmn"))
    assert code == 2
    assert "missing.bpmn: 无法读取" in output and "good.bpmn: 没有问题" in output


def test_the_console_script_exit_status(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions", encoding="utf-8")
    result = hcp(tmp_path, "bpmn", "validate", str(broken))
    assert result.returncode == 1, result.stderr
    assert "[xml]" in result.stdout and "Traceback" not in result.stderr

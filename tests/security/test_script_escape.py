"""Escaping the script environment of BPMN script tasks and conditions: every attempt —
imports, dunder walks, ``open``, ``getattr`` and its kin, format-string tricks, frames of
generators, look-alike Unicode names, statements RestrictedPython does not know — is
refused by the validator (``workflows.validation``, which the designer and ``hcp bpmn
validate`` run) and again at run time inside SpiffWorkflow (``workflows.scripting``), and
a draft carrying one can be neither submitted nor deployed. Nothing the attempt tried to
do happens (a canary file stays absent).

The unit-level lists of ``tests/workflows/test_scripting.py`` are reused here and run
through the whole path; the vectors below add what they do not cover.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from flask import Flask
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ProcessDraft, Role
from app.services.engine_runtime import current_deployment
from workflows.validation import validate_bpmn

from ..app import factories
from ..app.case_support import signed_in
from ..app.conftest import csrf_token
from ..workflows.bpmn_samples import sample, shipped_contract
from ..workflows.test_scripting import EXPRESSION_ATTACKS, SCRIPT_ATTACKS, process, run

CANARY = Path("/tmp/hcp-script-escape-canary")

MORE_EXPRESSIONS = [
    ("ｏｐｅｎ('/etc/passwd')", "name 'open' is not allowed"),  # NFKC-normalized to open
    ("＿＿import＿＿('os')", "invalid character"),  # a full-width low line is no underscore
    ("str.mro()[-1].__subclasses__()", "attribute '__subclasses__' is not allowed"),
    ("deadline.__globals__['calendars']", "attribute '__globals__' is not allowed"),
    ("now.__wrapped__", "attribute '__wrapped__' is not allowed"),
    ("isinstance.__self__", "attribute '__self__' is not allowed"),
    ("[].pop.__self__", "attribute '__self__' is not allowed"),
    ("(lambda: (yield))().gi_frame.f_back", "attribute 'gi_frame' is not allowed"),
    ("(x for x in ()).gi_frame.f_builtins", "attribute 'f_builtins' is not allowed"),
    ("'%s' % (1).__class__", "attribute '__class__' is not allowed"),
    ("'{0.__init__.__globals__}'.format(deadline)", "attribute 'format' is not allowed"),
    ("str.format('{0.__class__}', 1)", "attribute 'format' is not allowed"),
    ("dict(f=str.format_map)", "attribute 'format_map' is not allowed"),
    ("f'{deadline.__code__}'", "attribute '__code__' is not allowed"),
    ("__builtins__['open']", "name '__builtins__' is not allowed"),
    ("_getattr_(1, 'real')", "name '_getattr_' is not allowed"),
    ("sorted.__call__", "attribute '__call__' is not allowed"),
    ("x.__reduce_ex__(2)", "attribute '__reduce_ex__' is not allowed"),
    ("x.__dict__", "attribute '__dict__' is not allowed"),
    ("[c for c in ().__class__.__bases__]", "attribute '__bases__' is not allowed"),
    ("setattr(x, 'a', 1)", "name 'setattr' is not allowed"),
    ("delattr(x, 'a')", "name 'delattr' is not allowed"),
    ("hasattr(x, '__class__')", "name 'hasattr' is not allowed"),
    ("super()", "name 'super' is not allowed"),
    ("object()", "name 'object' is not allowed"),
    ("memoryview(b'')", "name 'memoryview' is not allowed"),
    ("classmethod(len)", "name 'classmethod' is not allowed"),
    ("dir()", "name 'dir' is not allowed"),
    ("exit()", "name 'exit' is not allowed"),
    ("builtins", "name 'builtins' is not allowed"),
    (f"__import__('os').system('touch {CANARY}')", "name '__import__' is not allowed"),
    (f"open('{CANARY}', 'w')", "name 'open' is not allowed"),
]
MORE_SCRIPTS = [
    ("def f():\n    yield 1\nframe = f().gi_frame", "attribute 'gi_frame' is not allowed"),
    ("async def f():\n    pass", "AsyncFunctionDef statements are not allowed"),
    ("match x:\n    case str(__class__=c):\n        pass", "Match statements are not allowed"),
    ("x = [1]\nx.__class__ = dict", "attribute '__class__' is not allowed"),
    ("try:\n    y = 1 / 0\nexcept ZeroDivisionError as e:\n    tb = e.__traceback__",
     "attribute '__traceback__' is not allowed"),
    (f"with open('{CANARY}', 'w') as f:\n    f.write('x')", "name 'open' is not allowed"),
    ("from . import secrets", "import statements are not allowed"),
    ("import importlib as i", "import statements are not allowed"),
    ("global now\nnow = 1", "shadows the helper"),
    ("_getattr_ = len", "name '_getattr_' is not allowed"),
    ("__builtins__ = {}", "name '__builtins__' is not allowed"),
    ("def f(_write_):\n    return 1", "name '_write_' is not allowed"),
    ("f = lambda __x: __x", "name '__x' is not allowed"),
]
EXPRESSIONS = EXPRESSION_ATTACKS + MORE_EXPRESSIONS
SCRIPTS = EXPRESSIONS + SCRIPT_ATTACKS + MORE_SCRIPTS


@pytest.fixture(autouse=True)
def no_canary() -> None:
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "a script wrote the canary file"


def _script_problems(xml: str) -> list[str]:
    problems = validate_bpmn(xml, "demo.bpmn", shipped_contract(without="demo.bpmn"))
    assert problems and {p.rule for p in problems} == {"script"}, problems
    return [p.message for p in problems]


@pytest.mark.parametrize(("source", "message"), SCRIPTS, ids=[s for s, _ in SCRIPTS])
def test_the_validator_refuses_the_script_task(source: str, message: str) -> None:
    problems = _script_problems(sample(script=escape(source)))
    assert all(text.startswith("脚本不允许") for text in problems), problems


@pytest.mark.parametrize(("source", "message"), EXPRESSIONS, ids=[s for s, _ in EXPRESSIONS])
def test_the_validator_refuses_the_condition(source: str, message: str) -> None:
    problems = _script_problems(sample(condition=escape(source)))
    assert problems


@pytest.mark.parametrize(("source", "message"), SCRIPTS, ids=[s for s, _ in SCRIPTS])
def test_a_script_task_fails_at_run_time(source: str, message: str) -> None:
    """A file that skipped validation (as if deployed by hand) still runs nothing."""
    with pytest.raises(WorkflowTaskException) as caught:
        run(process(escape(source)), x={})
    assert caught.value.error_type == "ScriptRestrictionError"
    assert message in str(caught.value.__context__ or caught.value)


@pytest.mark.parametrize(("source", "message"), EXPRESSIONS, ids=[s for s, _ in EXPRESSIONS])
def test_a_gateway_condition_fails_at_run_time(source: str, message: str) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run(process("y = 1", condition=escape(source)), x={})
    assert caught.value.error_type == "ScriptRestrictionError"
    assert message in str(caught.value.__context__ or caught.value)


ESCAPE = "found = [k for k in str.mro()[-1].__subclasses__() if 'Popen' in str(k)]"


def test_hcp_bpmn_validate_refuses_it(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "escape.bpmn"
    path.write_text(sample(script=escape(ESCAPE)), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", str(path)])
    assert result.exit_code == 1
    assert "[script] prepare: 脚本不允许：第1行：不允许访问属性 __subclasses__" in result.output


def test_an_uploaded_draft_with_an_escape_can_be_neither_submitted_nor_deployed(app: Flask, session: Session) -> None:
    factories.user(session, "designer.eve", [Role.DESIGNER])
    current_deployment(session)
    session.commit()
    eve = signed_in(app, "designer.eve")
    response = eve.post("/designer/drafts/upload", data={
        "file": (io.BytesIO(sample(script=escape(ESCAPE)).encode()), "demo.bpmn"), "note": "上传",
        "csrf_token": csrf_token(eve, "/designer/")}, content_type="multipart/form-data")
    assert response.status_code == 302
    draft = session.scalars(select(ProcessDraft)).one()
    assert [p["rule"] for p in draft.problems] == ["script"]
    page = eve.get(f"/designer/drafts/{draft.id}").get_data(as_text=True)
    assert "不允许访问属性 __subclasses__" in page
    token = csrf_token(eve, f"/designer/drafts/{draft.id}")
    for action in ("submit", "deploy"):
        eve.post(f"/designer/drafts/{draft.id}/{action}", data={"revision": draft.revision, "csrf_token": token})
        session.expire_all()
        assert session.get(ProcessDraft, draft.id).state.value == "draft"
    assert current_deployment(session).version == 1

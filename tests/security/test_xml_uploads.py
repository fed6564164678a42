"""XXE, entity expansion and other hostile XML in every place a process file comes in —
the designer's upload, the modeler's save, ``hcp bpmn validate`` — and hostile files given
to ``hcp calendar load``: each is refused with a message, nothing is stored, no file of the
server is read into an answer (a secret file is the bait), and nothing crashes."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ProcessDraft, Role
from app.models.calendar_year import CalendarYearVersion
from app.services.engine_runtime import current_deployment

from ..app import factories
from ..app.case_support import signed_in
from ..app.conftest import csrf_token
from ..workflows.bpmn_samples import sample

SECRET = f"HCP-XXE-SECRET-{uuid.uuid4().hex}"
BPMN_OPEN = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">'


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bait") / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def hostile(secret: Path) -> dict[str, bytes]:
    url = secret.as_uri()
    body = sample().split("\n", 1)[1]  # a valid process without its XML declaration
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "external entity": (f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "{url}">]>\n'
                            + body.replace('name="准备"', 'name="&x;"')).encode(),
        "parameter entity": (f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}"> %p;]>\n'
                             + body).encode(),
        "external DTD": (f'<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "{url}">\n' + body).encode(),
        "network DTD": ('<?xml version="1.0"?>\n<!DOCTYPE d PUBLIC "-//x//y" "http://127.0.0.1:9/evil.dtd">\n'
                        + body).encode(),
        "billion laughs": (f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY l0 "lol">{laughs}]>\n'
                           + BPMN_OPEN + '<bpmn:process id="p" name="&l9;" /></bpmn:definitions>').encode(),
        "quadratic blowup": (f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "{"a" * 50_000}">]>\n'
                             + BPMN_OPEN + f'<bpmn:process id="p" name="{"&a;" * 20_000}" /></bpmn:definitions>'
                             ).encode(),
        "doctype in UTF-16": (f'<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "{url}">]>\n'
                              + body.replace('name="准备"', 'name="&x;"')).encode("utf-16"),
        "doctype after a long comment": ('<?xml version="1.0"?>\n<!--' + "x" * 70_000 + "-->\n"
                                         + f'<!DOCTYPE d [<!ENTITY x SYSTEM "{url}">]>\n'
                                         + body.replace('name="准备"', 'name="&x;"')).encode(),
        "xinclude": body.replace("<bpmn:collaboration",
                                 f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}" '
                                 'parse="text"/><bpmn:collaboration', 1).encode(),
        "nested ten thousand deep": (BPMN_OPEN + "<bpmn:documentation>" + "<a>" * 10_000 + "</a>" * 10_000
                                     + "</bpmn:documentation></bpmn:definitions>").encode(),
    }


PAYLOADS = list(hostile(Path("/tmp/x")))


@pytest.fixture
def designer(app: Flask, session: Session) -> object:
    factories.user(session, "designer.xml", [Role.DESIGNER])
    current_deployment(session)
    session.commit()
    return signed_in(app, "designer.xml")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_designer_upload_refuses_it(designer: object, session: Session, secret_file: Path, payload: str) -> None:
    content = hostile(secret_file)[payload]
    response = designer.post("/designer/drafts/upload", data={  # type: ignore[attr-defined]
        "file": (io.BytesIO(content), "evil.bpmn"), "note": "上传",
        "csrf_token": csrf_token(designer, "/designer/")}, content_type="multipart/form-data")  # type: ignore[arg-type]
    page = response.get_data(as_text=True)
    if response.status_code == 302:  # well-formed, no DTD (XInclude): stored as a draft with its problems
        assert payload == "xinclude"
        draft = session.scalars(select(ProcessDraft)).one()
        assert draft.problems and {p["rule"] for p in draft.problems} == {"schema"}
        assert SECRET not in draft.bpmn_xml
        page = designer.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    else:
        assert response.status_code == 422, page[:300]
        assert session.scalar(select(func.count()).select_from(ProcessDraft)) == 0
        # a UTF-16 file is refused before the XML parser sees it: BPMN files are UTF-8
        assert ("文件被拒绝" if payload != "doctype in UTF-16" else "不是 UTF-8 编码") in page
    assert SECRET not in page


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_modeler_save_refuses_it(designer: object, session: Session, secret_file: Path, payload: str) -> None:
    response = designer.post("/designer/drafts/new", data={  # type: ignore[attr-defined]
        "file_name": "recheck.bpmn", "csrf_token": csrf_token(designer, "/designer/")})  # type: ignore[arg-type]
    draft_id = int(response.headers["Location"].rsplit("/", 1)[1])
    before = session.get(ProcessDraft, draft_id).bpmn_xml
    content = hostile(secret_file)[payload]
    text = content.decode("utf-16") if payload == "doctype in UTF-16" else content.decode()
    response = designer.post(f"/designer/drafts/{draft_id}/save", json={"xml": text, "revision": 1},  # type: ignore[attr-defined]
                             headers={"X-CSRFToken": csrf_token(designer, f"/designer/drafts/{draft_id}")})  # type: ignore[arg-type]
    body = response.get_data(as_text=True)
    assert SECRET not in body
    session.expire_all()
    if payload == "xinclude":  # well-formed: refused as another process (its id is not recheck's)
        assert response.status_code == 422 and "流程标识必须保持" in response.get_json()["error"]
    else:
        assert response.status_code == 422, body[:300]
        assert response.get_json()["problems"][0]["rule"] == "xml"
    assert session.get(ProcessDraft, draft_id).bpmn_xml == before


def test_hcp_bpmn_validate_refuses_them(app: Flask, tmp_path: Path, secret_file: Path) -> None:
    paths = []
    for index, content in enumerate(hostile(secret_file).values()):
        path = tmp_path / f"hostile{index}.bpmn"
        path.write_bytes(content)
        paths.append(str(path))
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", *paths])
    assert result.exit_code == 1, result.output
    assert SECRET not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for path in paths:
        assert f"{path}: 没有问题" not in result.output
    assert result.output.count("[xml]") >= len(paths) - 1  # the XInclude file is well-formed: a schema problem


def _calendar_files(secret: Path) -> dict[str, bytes]:
    xml = hostile(secret)
    return {
        "XML with an external entity": xml["external entity"],
        "XML billion laughs": xml["billion laughs"],
        "XML in UTF-16": xml["doctype in UTF-16"],
        "TOML nested a hundred thousand deep": b"year = 2027\nx = " + b"[" * 100_000 + b"]" * 100_000,
        "TOML inline tables nested deep": b"year = 2027\nx = " + b"{a = " * 50_000 + b"1" + b"}" * 50_000,
        "an oversized file": b"year = 2027\n" + b"# padding\n" * 200_000,
        "a TOML string with the path": f'year = 2027\nnotice = "{secret}"\nfestivals = "{secret.as_uri()}"\n'.encode(),
    }


CALENDAR_FILES = list(_calendar_files(Path("/tmp/x")))


@pytest.mark.parametrize("name", CALENDAR_FILES)
def test_hcp_calendar_load_refuses_hostile_files(app: Flask, session: Session, tmp_path: Path, secret_file: Path,
                                                 name: str) -> None:
    path = tmp_path / "2027.toml"
    path.write_bytes(_calendar_files(secret_file)[name])
    result = app.test_cli_runner().invoke(args=["calendar", "load", str(path)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.startswith("Error: ") and "2027.toml" in result.output
    assert SECRET not in result.output and "Traceback" not in result.output
    assert session.scalar(select(func.count()).select_from(CalendarYearVersion)) == 0

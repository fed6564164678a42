"""The application's engine: one spec registry per process, the deployed process version,
and its form definitions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.clock import current_clock
from workflows.engine import Engine
from workflows.forms import FormDefinition, parse_form
from workflows.scripting import make_script_engine
from workflows.specs import SpecRegistry, read_bundle
from workflows.tables import Deployment

from .notifications import NotifyingCaseListener

SPECS = SpecRegistry()


def make_engine(session: Session) -> Engine:
    return Engine(session, SPECS, make_script_engine(), NotifyingCaseListener())


def current_deployment(session: Session) -> Deployment:
    """The newest deployed version; the shipped files are deployed as version 1 when the
    database has none yet."""
    with session.no_autoflush:  # a read of rows no caller is changing: no flush for it
        newest = session.scalar(select(Deployment).order_by(Deployment.version.desc()).limit(1))
    return newest if newest is not None else deploy_shipped(session, "system", "shipped process files")


def deploy_shipped(session: Session, deployed_by: str, note: str) -> Deployment:
    """Deploy the files in ``bpmn/`` as a new version, unless the newest version already
    holds exactly these files. Running instances stay on their version."""
    bundle = read_bundle()
    newest = session.scalar(select(Deployment).order_by(Deployment.version.desc()).limit(1))
    if newest is not None and newest.sha256 == bundle.sha256:
        return newest
    for name, definition in bundle.form_files.items():
        parse_form(definition, f"bpmn/forms/{name}.json")  # a broken form is never deployed
    version = (session.scalar(select(func.max(Deployment.version))) or 0) + 1
    deployment = Deployment(version=version, bpmn_files=bundle.bpmn_files, form_files=bundle.form_files,
                            sha256=bundle.sha256, note=note[:200], deployed_by=deployed_by[:64],
                            deployed_at=current_clock().now())
    session.add(deployment)
    session.flush()
    for process_id in ("bad_review", "appeal", "recheck"):
        SPECS.get(deployment.id, deployment.bpmn_files, process_id, deployment.sha256)  # parses, or refuses the files
    return deployment


# Deployed versions never change, so their parsed forms are kept for the process's life.
_FORMS: dict[tuple[int, str], dict[str, FormDefinition]] = {}


def forms_of(deployment: Deployment) -> dict[str, FormDefinition]:
    """The form definitions of a deployed version (parsed once per version)."""
    key = (deployment.id, deployment.sha256)
    forms = _FORMS.get(key)
    if forms is None:
        forms = {name: parse_form(definition, f"deployment {deployment.version}: forms/{name}.json")
                 for name, definition in deployment.form_files.items()}
        _FORMS[key] = forms
    return forms

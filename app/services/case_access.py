"""Who may see a case, and who may see the citizen's contact in full (DESIGN.md §7).

Seeing is not working: ``case_tasks.refusal`` decides who may work a task. Anyone who may
not see a case is answered as if it did not exist (404), never told it is someone else's.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from workflows.tables import READY, HumanTask

from ..models import Case, Role, User

# Roles that read every case: supervision and audit.
OVERSIGHT_ROLES = (Role.SUPERVISOR, Role.AUDITOR)
# Tasks whose handler must reach the citizen, and so sees the contact in full.
CONTACT_TASKS = frozenset({"contact_citizen", "return_visit"})


def can_view_case(session: Session, user: User, case: Case) -> bool:
    if user.has_role(*OVERSIGHT_ROLES):
        return True
    if user.has_role(Role.HANDLER, Role.LEAD) and user.department_id == case.department_id:
        return True
    if user.has_role(Role.VERIFIER) and user.department_id != case.department_id:
        # A verifier sees the cases that reached an appeal or a recheck (R10: never their own
        # department's).
        return bool(session.scalar(select(exists().where(
            HumanTask.instance_id == case.instance_id, HumanTask.role == Role.VERIFIER.value))))
    return False


def may_see_contact(user: User, task: HumanTask | None) -> bool:
    """The contact is shown in full only to the holder of an open contact or return-visit
    task (the one who must call the citizen); masked for everyone else."""
    return (task is not None and task.status == READY and task.bpmn_id in CONTACT_TASKS
            and task.claimed_by == user.id)

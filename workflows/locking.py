"""The write lock of a process instance, held until the end of the transaction."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import select, update
from sqlalchemy.orm import Session, SessionTransaction

from .tables import ProcessInstance


def lock_instance(session: Session, instance_id: int, *, skip_locked: bool = False) -> bool:
    """Take the instance's write lock for this transaction; False if it does not exist
    (or, with ``skip_locked``, another transaction holds it).

    Every writer of an instance, its task rows and its timer rows takes this lock first,
    so two writers of one instance never interleave and never deadlock. PostgreSQL locks
    the row; SQLite has one writer for the whole database, taken here by a write.
    """
    session.connection()  # begins the transaction if none is open
    held = _LOCKS.setdefault(session.get_transaction(), set())
    if instance_id in held:
        return True
    if session.get_bind().dialect.name == "sqlite":
        result = session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                                 .values(revision=ProcessInstance.revision)
                                 .execution_options(synchronize_session=False))
        locked = result.rowcount == 1
    else:
        query = select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
        query = query.with_for_update(skip_locked=True) if skip_locked else query.with_for_update()
        locked = session.scalar(query) is not None
    if locked:
        held.add(instance_id)
    return locked


# Instance locks held by each open transaction (a lock lasts until its transaction ends).
_LOCKS: WeakKeyDictionary[SessionTransaction, set[int]] = WeakKeyDictionary()

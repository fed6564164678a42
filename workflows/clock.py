"""One injectable notion of "now" for the whole case engine.

Production runs on :class:`SystemClock`; tests and demo commands install a
:class:`ManualClock` (with :func:`set_clock` or :func:`using_clock`) and move time by
hand.  Everything in the engine that asks for the current time asks
:func:`current_clock`.

SpiffWorkflow decides whether a timer has fired by calling ``datetime.now(timezone.utc)``
inside :mod:`SpiffWorkflow.bpmn.specs.event_definitions.timer`.  Importing this module
replaces the module-level name ``datetime`` of that module (and of no other) with
:class:`EngineDatetime`, a ``datetime`` subclass whose ``now``/``today``/``utcnow`` read
the engine clock; every other operation is inherited from ``datetime`` unchanged.  The
global :mod:`datetime` module is never touched.  The replacement is idempotent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol, runtime_checkable

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

__all__ = [
    "Clock",
    "EngineDatetime",
    "ManualClock",
    "ShiftedClock",
    "SystemClock",
    "clock_in_context",
    "current_clock",
    "set_clock",
    "using_clock",
]


@runtime_checkable
class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


def _as_utc(moment: datetime, name: str) -> datetime:
    """``moment`` converted to UTC; naive datetimes (and non-datetimes) refused."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{name} needs a timezone: got the naive datetime {moment.isoformat()}")
    utc = moment.astimezone(timezone.utc)
    # Always hand out plain datetimes, even when given an EngineDatetime.
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                    utc.microsecond, tzinfo=timezone.utc)


class SystemClock:
    """The real time of the machine."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return "SystemClock()"


class ShiftedClock:
    """The real time of the machine moved by a fixed offset: it runs on at real speed, so
    waits and delays keep their length (demos and tests of a worker at another date)."""

    def __init__(self, start: datetime) -> None:
        self._offset = _as_utc(start, "start") - datetime.now(timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def __repr__(self) -> str:
        return f"ShiftedClock({self.now().isoformat()})"


class ManualClock:
    """A clock that stands still until it is set or advanced (thread-safe)."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _as_utc(start, "start")

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (timezone-aware; forwards or backwards)."""
        utc = _as_utc(moment, "moment")
        with self._lock:
            self._now = utc

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` (negative to move it back)."""
        if not isinstance(delta, timedelta):
            raise TypeError(f"delta must be a timedelta, not {type(delta).__name__}")
        with self._lock:
            self._now = self._now + delta

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"


_lock = threading.Lock()
_clock: Clock = SystemClock()
_in_context: ContextVar[Clock | None] = ContextVar("clock_in_context", default=None)


def current_clock() -> Clock:
    """The clock the engine currently uses: the one set by :func:`clock_in_context`, else
    the process-wide one."""
    return _in_context.get() or _clock


@contextmanager
def clock_in_context(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` inside the block in this thread (context) only, e.g. to re-run a case
    at the times it was worked while the process's other threads keep the real clock."""
    if not isinstance(clock, Clock):
        raise TypeError(f"clock must have a now() method, got {type(clock).__name__}")
    token = _in_context.set(clock)
    try:
        yield clock
    finally:
        _in_context.reset(token)


def set_clock(clock: Clock) -> None:
    """Make ``clock`` the engine clock for the whole process."""
    global _clock
    if not isinstance(clock, Clock):
        raise TypeError(f"clock must have a now() method, got {type(clock).__name__}")
    with _lock:
        _clock = clock


@contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` inside the ``with`` block, then restore the previous clock."""
    previous = current_clock()
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def _engine_now(tz: tzinfo | None) -> datetime:
    """The engine clock's time in ``tz``; naive local time when ``tz`` is None."""
    moment = _as_utc(current_clock().now(), "the clock's now()")
    if tz is None:
        return moment.astimezone().replace(tzinfo=None)
    return moment.astimezone(tz)


class _EngineDatetimeMeta(type):
    """Lets ``isinstance(x, EngineDatetime)`` accept every ``datetime``, so code in the
    patched module that checks ``isinstance(value, datetime)`` keeps working for
    datetimes created elsewhere."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, datetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, datetime)


class EngineDatetime(datetime, metaclass=_EngineDatetimeMeta):
    """``datetime`` whose notion of now is the engine clock."""

    @classmethod
    def _from(cls, value: datetime) -> EngineDatetime:
        return cls(value.year, value.month, value.day, value.hour, value.minute,
                   value.second, value.microsecond, value.tzinfo, fold=value.fold)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> EngineDatetime:
        """Like ``datetime.now``, read from :func:`current_clock`."""
        if tz is not None and not isinstance(tz, tzinfo):
            raise TypeError(f"tzinfo argument must be None or of a tzinfo subclass, "
                            f"not {type(tz).__name__}")
        return cls._from(_engine_now(tz))

    @classmethod
    def today(cls) -> EngineDatetime:
        """Like ``datetime.today``: the engine clock's naive local time."""
        return cls.now()

    @classmethod
    def utcnow(cls) -> EngineDatetime:
        """Like ``datetime.utcnow``: the engine clock's naive UTC time."""
        return cls._from(_engine_now(timezone.utc).replace(tzinfo=None))


def _install_timer_clock() -> None:
    """Point SpiffWorkflow's timer module at :class:`EngineDatetime` (idempotent)."""
    if getattr(_spiff_timer, "datetime") is not EngineDatetime:
        setattr(_spiff_timer, "datetime", EngineDatetime)


_install_timer_clock()

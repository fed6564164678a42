"""workflows.scripting: the helpers, the data semantics of the restricted environment,
escape attempts (refused by the static checks and at run time) and SpiffWorkflow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from calendars import SHANGHAI, CalendarYearMissing
from workflows import scripting
from workflows.clock import ManualClock, using_clock
from workflows.scripting import (
    HELPERS, RANGE_LIMIT, RestrictedEnvironment, ScriptRestrictionError, add_working_days,
    check_expression, check_script, days_left, deadline, is_working_day, make_script_engine, now,
    tracking_provisional, warning_before)

RECEIVED = "2026-09-30T10:00:00+08:00"  # a Wednesday; 1-7 October are off, 10 October is worked


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    manual = ManualClock(beijing("2026-09-30T10:00:00"))
    with using_clock(manual):
        yield manual


# -- helpers ---------------------------------------------------------------------------
def test_deadline_and_warning_for_known_dates() -> None:
    assert deadline(RECEIVED, 3) == "2026-10-10T23:59:59+08:00"
    assert warning_before(deadline(RECEIVED, 3)) == "2026-10-09T23:59:59+08:00"
    assert deadline(RECEIVED, 1) == "2026-10-08T23:59:59+08:00"
    assert warning_before("2026-10-08T23:59:59+08:00") == "2026-09-30T23:59:59+08:00"


@pytest.mark.parametrize("days", [0, -2])
def test_deadline_without_days_left_is_the_end_of_the_start_date(days: int) -> None:
    assert deadline(RECEIVED, days) == "2026-09-30T23:59:59+08:00"
    assert deadline("2026-10-03T09:00:00+08:00", days) == "2026-10-03T23:59:59+08:00"


def test_helpers_take_aware_datetimes_dates_and_date_strings() -> None:
    assert deadline(beijing("2026-09-30T10:00:00"), 3) == "2026-10-10T23:59:59+08:00"
    # 18:00 UTC on 30 September is already 1 October in Beijing.
    assert deadline(datetime(2026, 9, 30, 18, 0, tzinfo=timezone.utc), 0) == \
        "2026-10-01T23:59:59+08:00"
    assert deadline("2026-09-30", 3) == "2026-10-10T23:59:59+08:00"
    assert warning_before(date(2026, 10, 10)) == "2026-10-09T23:59:59+08:00"


def test_working_day_helpers() -> None:
    assert is_working_day("2026-09-30") is True
    assert is_working_day("2026-10-01T10:00:00+08:00") is False
    assert is_working_day("2026-10-10") is True  # a make-up Saturday
    assert is_working_day(datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc)) is False
    assert add_working_days("2026-09-30", 1) == "2026-10-08"
    assert add_working_days("2026-10-08T09:00:00+08:00", -1) == "2026-09-30"
    assert add_working_days("2026-10-03", 0) == "2026-10-08"


def test_days_left_and_now_read_the_engine_clock(manual_clock: ManualClock) -> None:
    due = deadline(RECEIVED, 3)
    assert now() == "2026-09-30T10:00:00+08:00"
    assert days_left(due) == 3
    manual_clock.set(beijing("2026-10-09T08:00:00"))
    assert days_left(due) == 1
    manual_clock.set(datetime(2026, 10, 9, 16, 30, tzinfo=timezone.utc))  # 10 Oct in Beijing
    assert now() == "2026-10-10T00:30:00+08:00"
    assert days_left(due) == 0
    manual_clock.set(beijing("2026-10-11T12:00:00"))  # a Sunday: overdue by one day
    assert days_left(due) == -1


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: deadline("2026-09-30T10:00:00", 3), ValueError, "needs a UTC offset"),
    (lambda: deadline(datetime(2026, 9, 30, 10), 3), ValueError, "needs a UTC offset"),
    (lambda: deadline("30/09/2026", 3), ValueError, "not an ISO 8601"),
    (lambda: deadline(20260930, 3), TypeError, "ISO 8601 string or a datetime"),
    (lambda: deadline(RECEIVED, "3"), TypeError, "days must be an int"),
    (lambda: deadline(RECEIVED, True), TypeError, "days must be an int"),
    (lambda: add_working_days("2026-09-30", 1.5), TypeError, "n must be an int"),
    (lambda: is_working_day(None), TypeError, "day must be"),
])
def test_helpers_refuse_bad_arguments(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("call", "expected"), [
    # 2030 has no holiday data: weekends and 1 January are its only days off (DESIGN.md §3).
    (lambda: deadline("2030-03-01T10:00:00+08:00", 3), "2030-03-06T23:59:59+08:00"),
    (lambda: warning_before("2030-03-01"), "2030-02-28T23:59:59+08:00"),
    (lambda: is_working_day("2030-03-01"), True),
    (lambda: is_working_day("2030-01-01"), False),
    (lambda: add_working_days("2030-03-01", 2), "2030-03-05"),
])
def test_missing_calendar_years_give_provisional_values(call: Any, expected: Any,
                                                        manual_clock: ManualClock) -> None:
    with tracking_provisional() as used:
        assert call() == expected
    assert used, "the helper says it used a year without data"


def test_covered_years_are_not_provisional(manual_clock: ManualClock) -> None:
    with tracking_provisional() as used:
        assert deadline("2026-09-30T10:00:00+08:00", 3) == "2026-10-10T23:59:59+08:00"
        assert days_left("2026-10-10") == 3
    assert not used


# -- data semantics --------------------------------------------------------------------
def test_evaluate_sees_task_data_helpers_and_builtins(env: RestrictedEnvironment,
                                                      manual_clock: ManualClock) -> None:
    data = {"received_at": RECEIVED, "items": [3, 1, 3], "level": "dissatisfied"}
    assert env.evaluate("deadline(received_at, 3)", data) == "2026-10-10T23:59:59+08:00"
    assert env.evaluate("  level == 'dissatisfied' and days_left(deadline(received_at, 3)) > 1",
                        data) is True
    assert env.evaluate("sorted(set(items)) + [len(items), sum(range(4)), max(items)]", data) == \
        [1, 3, 3, 6, 3]
    assert env.evaluate("[i for i, v in enumerate(items) if v == 3]", data) == [0, 2]
    assert env.evaluate("isinstance(items, list) and all(x > 0 for x in items) and True", data)
    assert env.evaluate("other", data, {"other": 7}) == 7
    assert env.evaluate("f'{level}!'", data) == "dissatisfied!"
    assert data == {"received_at": RECEIVED, "items": [3, 1, 3], "level": "dissatisfied"}


def test_evaluate_never_changes_task_data(env: RestrictedEnvironment) -> None:
    data = {"a": 1}
    assert env.evaluate("(b := a + 1)", data) == 2
    assert data == {"a": 1}


def test_execute_keeps_task_data_and_assigned_variables_only(env: RestrictedEnvironment,
                                                             manual_clock: ManualClock) -> None:
    data: dict[str, Any] = {"received_at": RECEIVED, "count": 1, "gone": True, "_internal": 5}
    env.execute("""
        contact_due = deadline(received_at, 3)
        warn_at = warning_before(contact_due)
        count += 1
        def double(x):
            return x * 2
        doubled = double(count)
        alias = deadline
        pairs = {k: v for k, v in zip(['a', 'b'], [1, 2])}
        first, *rest = [1, 2, 3]
        del gone
        started = now()
    """, data)
    assert data == {
        "received_at": RECEIVED, "count": 2, "_internal": 5,
        "contact_due": "2026-10-10T23:59:59+08:00", "warn_at": "2026-10-09T23:59:59+08:00",
        "doubled": 4, "pairs": {"a": 1, "b": 2}, "first": 1, "rest": [2, 3],
        "started": "2026-09-30T10:00:00+08:00",
    }


def test_a_failing_script_leaves_the_variables_as_they_were(env: RestrictedEnvironment) -> None:
    data = {"a": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("a = 2\nb = 1 / 0", data)
    assert data == {"a": 1}


def test_items_of_lists_and_dicts_can_be_changed(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"record": {"calls": [1]}}
    env.execute("record['calls'][0] = 2\nrecord['note'] = 'ok'\nrecord['calls'].append(3)", data)
    assert data == {"record": {"calls": [2, 3], "note": "ok"}}


def test_assigning_a_helper_name_is_refused(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptRestrictionError, match="variable 'deadline' shadows the helper"):
        env.execute("deadline = 1", {})
    assert check_script("for now in range(3):\n    pass") == \
        ["Line 1: variable 'now' shadows the helper now(); choose another name"]
    assert check_script("def days_left():\n    return 1")[0].startswith(
        "Line 1: variable 'days_left' shadows")


def test_task_data_or_scripts_shadowing_predefined_names_are_refused(
        env: RestrictedEnvironment) -> None:
    with pytest.raises(ValueError, match="'now'"):
        env.execute("x = 1", {"now": "yesterday"})
    with pytest.raises(ValueError, match="'region'"):
        env.execute("x = 1", {"region": 1}, {"region": 2})
    data: dict[str, Any] = {}
    with pytest.raises(ValueError, match="'region'"):
        env.execute("region = 3", data, {"region": 2})
    assert data == {}
    assert env.evaluate("now", {"now": "data wins in expressions, as in SpiffWorkflow"}) == \
        "data wins in expressions, as in SpiffWorkflow"


def test_compiled_code_is_cached_per_source(env: RestrictedEnvironment) -> None:
    source = "cached_value_41 + 1"
    before = scripting._compile.cache_info()
    for _ in range(5):
        assert env.evaluate(source, {"cached_value_41": 41}) == 42
    after = scripting._compile.cache_info()
    assert after.misses == before.misses + 1
    assert after.hits >= before.hits + 4


def test_helpers_and_builtins_are_exactly_the_documented_ones(env: RestrictedEnvironment) -> None:
    assert set(HELPERS) == {"deadline", "warning_before", "days_left", "now", "is_working_day",
                            "add_working_days"}
    assert set(scripting.BUILTINS) == set(
        "len min max abs round int float str bool list dict set tuple sorted any all range "
        "enumerate zip sum isinstance True False None".split())
    for name in ["iter", "next", "map", "chr", "pow", "repr", "Exception"]:
        with pytest.raises(NameError, match=f"name '{name}' is not defined"):
            env.evaluate(f"{name}", {})


# -- escape attempts -------------------------------------------------------------------
EXPRESSION_ATTACKS = [
    ("__import__('os')", "name '__import__' is not allowed"),
    ("().__class__.__mro__", "attribute '__class__' is not allowed"),
    ("().__class__.__base__.__subclasses__()", "attribute '__subclasses__' is not allowed"),
    ("open('/etc/passwd')", "name 'open' is not allowed"),
    ("eval('1')", "name 'eval' is not allowed"),
    ("exec('x=1')", "name 'exec' is not allowed"),
    ("compile('1', 'f', 'eval')", "name 'compile' is not allowed"),
    ("getattr(1, '__class__')", "name 'getattr' is not allowed"),
    ("type(1)", "name 'type' is not allowed"),
    ("globals()", "name 'globals' is not allowed"),
    ("locals()", "name 'locals' is not allowed"),
    ("vars()", "name 'vars' is not allowed"),
    ("'{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
    ("'{x.__class__}'.format_map({'x': 1})", "attribute 'format_map' is not allowed"),
    ("f'{(1).__class__}'", "attribute '__class__' is not allowed"),
    ("(x for x in ()).gi_frame.f_globals", "attribute 'gi_frame' is not allowed"),
    ("(x for x in ()).gi_code", "attribute 'gi_code' is not allowed"),
    ("[].__len__", "attribute '__len__' is not allowed"),
    ("(lambda: 0).__globals__", "attribute '__globals__' is not allowed"),
    ("dict.__subclasses__", "attribute '__subclasses__' is not allowed"),
    ("print('x')", "name 'print' is not allowed"),
    ("breakpoint()", "name 'breakpoint' is not allowed"),
    ("input()", "name 'input' is not allowed"),
    ("help()", "name 'help' is not allowed"),
    ("_secret", "name '_secret' is not allowed"),
]
SCRIPT_ATTACKS = [
    ("import os", "import statements are not allowed"),
    ("from os import path", "import statements are not allowed"),
    ("x = {}\nx.y = 1", "assigning or deleting attribute 'y' is not allowed"),
    ("del x.y", "assigning or deleting attribute 'y' is not allowed"),
    ("class A:\n    pass", "class definitions are not allowed"),
    ("def f(__x):\n    return __x", "name '__x' is not allowed"),
    ("try:\n    1 / 0\nexcept* ValueError:\n    pass", "TryStar statements are not allowed"),
]
ALL_ATTACKS = [("expression", *a) for a in EXPRESSION_ATTACKS] + \
    [("script", *a) for a in EXPRESSION_ATTACKS + SCRIPT_ATTACKS]


@pytest.mark.parametrize(("kind", "source", "message"), ALL_ATTACKS)
def test_escape_attempts_fail_the_static_check(kind: str, source: str, message: str) -> None:
    check = check_expression if kind == "expression" else check_script
    problems = check(source)
    assert any(message in problem for problem in problems), problems
    assert all(problem.startswith("Line ") for problem in problems)


@pytest.mark.parametrize(("kind", "source", "message"), ALL_ATTACKS)
def test_escape_attempts_are_refused_at_run_time(env: RestrictedEnvironment, kind: str,
                                                 source: str, message: str) -> None:
    with pytest.raises(ScriptRestrictionError, match=message) as caught:
        if kind == "expression":
            env.evaluate(source, {"x": {}})
        else:
            env.execute(source, {"x": {}})
    assert caught.value.lineno >= 1
    assert any(message in violation for violation in caught.value.violations)


def test_run_time_attribute_guard_backs_up_the_compiler() -> None:
    guard = scripting._guarded_getattr
    for obj, name in [((), "__class__"), ("x", "format"), (str, "format_map"),
                      ((x for x in ()), "gi_frame"), ((x for x in ()), "gi_code")]:
        with pytest.raises(AttributeError, match=f"attribute '{name}' is not allowed"):
            guard(obj, name)
    assert guard("abc", "upper")() == "ABC"
    with pytest.raises(AttributeError):
        guard({}, "no_such_attribute")  # an error, not RestrictedPython's silent None


def test_missing_attributes_raise(env: RestrictedEnvironment) -> None:
    with pytest.raises(AttributeError, match="no_such"):
        env.evaluate("x.no_such", {"x": {}})


@pytest.mark.parametrize(("source", "error", "message"), [
    ("t = (1, 2)\nt[0] = 5", TypeError, "does not support item"),
    ("s = 'abc'\ns[0] = 'x'", TypeError, "does not support item"),
    ("r = range(RANGE_LIMIT + 1)", ValueError, "range\\(\\) of more than 10000 items"),
    ("r = range(10 ** 30)", ValueError, "range\\(\\) of more than 10000 items"),
    ("n = 10 ** 10 ** 10", ValueError, "power with a result over"),
    ("n = 7\nn **= 100000", ValueError, "power with a result over"),
    ("n = [1] * 3\nm = n[5]", IndexError, "out of range"),
])
def test_run_time_guards(env: RestrictedEnvironment, source: str, error: type[Exception],
                         message: str) -> None:
    with pytest.raises(error, match=message):
        env.execute(source, {"RANGE_LIMIT": RANGE_LIMIT})


def test_reasonable_arithmetic_and_ranges_pass(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {}
    env.execute("a = 2 ** 64\nb = (-1) ** 10 ** 9\nc = 2.0 ** -1\nd = len(range(RANGE_LIMIT))",
                data, {"RANGE_LIMIT": RANGE_LIMIT})
    assert data == {"a": 2 ** 64, "b": 1, "c": 0.5, "d": RANGE_LIMIT}


# -- static checks ---------------------------------------------------------------------
def test_clean_sources_pass_the_checks() -> None:
    assert check_expression("deadline(contact_from, 3)") == []
    assert check_expression("warning_before(deadline(rectify_from, rectify_days))") == []
    assert check_script("rectify_days_left = days_left(deadline(rectify_from, rectify_days))\n"
                        "rectify_from = now()\nrectify_days = rectify_days_left") == []
    assert check_script("") == []


def test_syntax_errors_are_reported_with_their_line() -> None:
    problems = check_script("a = 1\nb = (\n")
    assert len(problems) == 1 and problems[0].startswith("Line 2: SyntaxError")
    assert check_expression("x ===")[0].startswith("Line 1: SyntaxError")
    assert check_expression("a = 1")[0].startswith("Line 1: SyntaxError")


def test_unknown_names_are_reported_only_when_the_variables_are_known() -> None:
    script = """
received = received_at
for i in range(3):
    total = i + offset
values = [v * 2 for v in items if v > limit]
def f(x):
    return x + y
helper = deadline(received, rectify_days)
"""
    assert check_script(script) == []
    assert check_script(script, known_names={"received_at", "items", "rectify_days"}) == [
        "Line 4: unknown name 'offset' (not a process variable, helper or allowed builtin)",
        "Line 5: unknown name 'limit' (not a process variable, helper or allowed builtin)",
        "Line 7: unknown name 'y' (not a process variable, helper or allowed builtin)",
    ]
    assert check_expression("level == 'x' and real_name", known_names={"level"}) == [
        "Line 1: unknown name 'real_name' (not a process variable, helper or allowed builtin)"]
    assert check_expression("lambda q: q + len(k)", known_names={"k"}) == []
    assert check_expression("open(x)", known_names=set()) == [
        "Line 1: name 'open' is not allowed",
        "Line 1: unknown name 'x' (not a process variable, helper or allowed builtin)"]
    assert check_expression("a ===", known_names=set())[0].startswith("Line 1: SyntaxError")


@pytest.mark.parametrize(("source", "message"), [
    ("*0", "can't use starred expression here"),
    ("return 1", "'return' outside function"),
    ("a\0", "null bytes"),
    ("-" * 100_000 + "1", "too deeply nested"),
    ("match 1:\n    case 1:\n        pass", "Match statements are not allowed"),
])
def test_sources_python_cannot_compile_are_reported_not_raised(env: RestrictedEnvironment,
                                                                source: str, message: str) -> None:
    problems = check_script(source, known_names=set())
    assert len(problems) == 1 and message in problems[0]
    with pytest.raises(ScriptRestrictionError, match=message):
        env.execute(source, {})


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab_().[]'{}:=+*\n\0 01fxy")), max_size=30),
       st.booleans())
def test_checks_never_crash_on_arbitrary_text(source: str, with_names: bool) -> None:
    names = {"a", "b"} if with_names else None
    for check in (check_expression, check_script):
        problems = check(source, known_names=names)
        assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)


# -- inside SpiffWorkflow --------------------------------------------------------------
def process(script: str, condition: str = "days_left(contact_due) > 1") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="test">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="compute" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="choose"/>
    <bpmn:exclusiveGateway id="choose" default="to_hurry">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>to_plenty</bpmn:outgoing><bpmn:outgoing>to_hurry</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_plenty" sourceRef="choose" targetRef="plenty">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_hurry" sourceRef="choose" targetRef="hurry"/>
    <bpmn:userTask id="plenty" name="plenty"><bpmn:incoming>to_plenty</bpmn:incoming></bpmn:userTask>
    <bpmn:userTask id="hurry" name="hurry"><bpmn:incoming>to_hurry</bpmn:incoming></bpmn:userTask>
  </bpmn:process>
</bpmn:definitions>""".encode()


COMPUTE = "contact_due = deadline(received_at, 3)\nwarn_at = warning_before(contact_due)"


def run(bpmn: bytes, **data: Any) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn)
    workflow = BpmnWorkflow(parser.get_spec("scripted"), script_engine=make_script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


def test_make_script_engine_uses_the_restricted_environment() -> None:
    engine = make_script_engine()
    assert isinstance(engine, PythonScriptEngine)
    assert isinstance(engine.environment, RestrictedEnvironment)


@pytest.mark.parametrize(("moment", "branch"), [
    ("2026-09-30T10:00:00", "plenty"),  # 3 working days left
    ("2026-10-09T10:00:00", "hurry"),   # 1 left
])
def test_script_task_and_gateway_run_restricted(manual_clock: ManualClock, moment: str,
                                                branch: str) -> None:
    manual_clock.set(beijing(moment))
    workflow = run(process(COMPUTE), received_at=RECEIVED)
    [ready] = workflow.get_tasks(state=TaskState.READY)
    assert ready.task_spec.name == branch
    assert ready.data == {"received_at": RECEIVED, "contact_due": "2026-10-10T23:59:59+08:00",
                          "warn_at": "2026-10-09T23:59:59+08:00"}


def test_a_script_trying_to_import_fails_as_a_workflow_task_error() -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run(process("contact_due = 1\nos = __import__('os')"))
    error = caught.value
    assert error.error_type == "ScriptRestrictionError"
    assert "name '__import__' is not allowed" in str(error)
    assert error.line_number == 2 and error.error_line == "os = __import__('os')"
    assert error.task_spec.name == "compute"


def test_a_refused_condition_fails_as_a_workflow_task_error(manual_clock: ManualClock) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run(process(COMPUTE, condition="().__class__"), received_at=RECEIVED)
    assert caught.value.error_type == "ScriptRestrictionError"
    assert isinstance(caught.value.__context__, ScriptRestrictionError)
    assert "attribute '__class__' is not allowed" in str(caught.value.__context__)


def test_a_missing_calendar_year_gives_the_engine_a_provisional_value(manual_clock: ManualClock) -> None:
    workflow = run(process(COMPUTE), received_at="2030-03-01T10:00:00+08:00")
    data = workflow.get_tasks(state=TaskState.COMPLETED)[-1].data
    assert data["contact_due"] == "2030-03-06T23:59:59+08:00"
    assert data["warn_at"] == "2030-03-05T23:59:59+08:00"



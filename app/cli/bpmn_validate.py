"""``hcp bpmn validate FILE…``: check BPMN files against the engine's contract.

Exit status 0 when every file is fine, 1 when a file has problems, 2 when a file cannot be
read. A file is checked in the bundle of ``--bundle`` (the shipped ``bpmn/`` by default):
it replaces the bundle's file of the same name or defining the same process, and the other
files given on the command line are part of the bundle too.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from workflows.forms import FormDefinitionError, load_forms
from workflows.specs import SHIPPED_DIR, BpmnFileError, parse_xml_safely
from workflows.validation import MAX_BPMN_BYTES, Contract, process_ids, validate_bpmn

from ..services.bpmn_contract import TASK_STAGES


@click.command("validate", help="Check BPMN files: safe XML, BPMN 2.0 schema, SpiffWorkflow parses them, "
               "lanes are roles, forms exist, timers evaluate, scripts pass the restricted checks, "
               "called processes exist, ids unique. Exit 1 on problems, 2 on unreadable files.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=SHIPPED_DIR, show_default="bpmn/", help="The other process files and forms/ they rely on.")
def validate_command(files: tuple[Path, ...], bundle_dir: Path) -> None:
    try:
        forms = load_forms(bundle_dir / "forms") if (bundle_dir / "forms").is_dir() else {}
    except FormDefinitionError as error:
        click.echo(f"{bundle_dir / 'forms'}: 表单定义无法读取：{error}", err=True)
        raise SystemExit(2) from None
    given: dict[Path, bytes] = {}
    unreadable = False
    for path in files:
        try:
            if path.stat().st_size > MAX_BPMN_BYTES:
                given[path] = path.read_bytes()[:MAX_BPMN_BYTES + 1]  # the size rule reports it
            else:
                given[path] = path.read_bytes()
        except OSError as error:
            click.echo(f"{path}: 无法读取：{error.strerror}", err=True)
            unreadable = True
    bundle = {p.name: p.read_text(encoding="utf-8") for p in sorted(bundle_dir.glob("*.bpmn"))}
    found = False
    for path, content in given.items():
        contract = Contract(forms=forms, stages=TASK_STAGES,
                            other_files=_others(path, content, bundle, given))
        problems = validate_bpmn(content, path.name, contract)
        if not problems:
            click.echo(f"{path}: 没有问题")
        for problem in problems:
            found = True
            line = f":{problem.line}" if problem.line else ""
            element = f" {problem.element_id}:" if problem.element_id else ""
            click.echo(f"{path}{line}: [{problem.rule}]{element} {problem.message}")
    if unreadable:
        raise SystemExit(2)
    if found:
        raise SystemExit(1)


def _processes(name: str, content: bytes | str) -> set[str]:
    try:
        return set(process_ids(parse_xml_safely(content, name)))
    except BpmnFileError:
        return set()


def _others(path: Path, content: bytes, bundle: dict[str, str], given: dict[Path, bytes]) -> dict[str, str]:
    """The bundle around ``path``: its files minus those ``path`` or another given file
    replaces, plus the other given files."""
    others: dict[str, str] = {}
    given_names = {p.name for p in given}
    given_processes = {pid for p, c in given.items() for pid in _processes(p.name, c)}
    for name, xml in bundle.items():
        if name not in given_names and not (_processes(name, xml) & given_processes):
            others[name] = xml
    for other, other_content in given.items():
        if other != path:
            others[other.name] = other_content.decode("utf-8", errors="replace")
    return others


def register(app: Flask) -> None:
    from .engine import bpmn_group

    bpmn_group.add_command(validate_command)

"""bench/run_all.py: the doc section it rewrites and the machine it describes (no benchmark runs here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("bench_run_all", ROOT / "bench" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_the_text_between_the_markers_is_replaced(run_all, tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nHand-written intro.\n\n{run_all.BEGIN}\nold figures\n{run_all.END}\n\n"
                   "Hand-written footer.\n", encoding="utf-8")
    run_all.write_section(doc, "## Figures\n\nnew figures\n")
    assert doc.read_text(encoding="utf-8") == (
        f"# Performance\n\nHand-written intro.\n\n{run_all.BEGIN}\n## Figures\n\nnew figures\n{run_all.END}\n\n"
        "Hand-written footer.\n")
    run_all.write_section(doc, "again")
    text = doc.read_text(encoding="utf-8")
    assert "new figures" not in text and text.count(run_all.BEGIN) == 1 and "Hand-written footer." in text


def test_a_missing_doc_is_created_with_an_intro_and_the_markers(run_all, tmp_path):
    doc = tmp_path / "docs" / "performance.md"
    run_all.write_section(doc, "figures")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance")
    assert f"{run_all.BEGIN}\nfigures\n{run_all.END}" in text


def test_a_doc_without_markers_keeps_its_text_and_gets_them_at_the_end(run_all, tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nNotes.\n", encoding="utf-8")
    run_all.write_section(doc, "figures")
    assert doc.read_text(encoding="utf-8") == f"# Performance\n\nNotes.\n\n{run_all.BEGIN}\nfigures\n{run_all.END}\n"


def test_the_machine_description(run_all):
    machine = run_all.describe_machine()
    assert {"cpu", "ram", "os", "python", "sqlite", "packages"} <= machine.keys()
    assert "postgresql" not in machine
    for package in ("SpiffWorkflow", "SQLAlchemy", "Flask", "gunicorn"):
        assert package in machine["packages"]
    assert all(isinstance(value, str) and value for value in machine.values())


def test_the_report_names_commands_and_failures(run_all):
    results = [{"name": "calendar", "database": "SQLite", "title": "calendar — SQLite", "code": 0, "seconds": 1.5,
                "command": "python bench/calendar_bench.py", "output": "200,000 calls\n"},
               {"name": "engine", "database": "SQLite", "title": "engine — SQLite", "code": 2, "seconds": 0.3,
                "command": "python bench/engine_bench.py --cases 50", "output": "Traceback\n"}]
    section = run_all.render("2026-01-01 10:00 CST", "python bench/run_all.py --quick", "quick",
                             run_all.describe_machine(), ("0.10 / 0.20 / 0.30", "1.00 / 0.50 / 0.40"), results, 2.0)
    assert "`python bench/calendar_bench.py` — 1.5 s" in section
    assert "```text\n200,000 calls\n```" in section
    assert "engine — SQLite — **FAILED (exit 2)**" in section
    assert "1 FAILED: engine — SQLite" in section


def test_every_benchmark_of_bench_is_planned(run_all):
    scripts = {script for _, script, _, _ in run_all.plan(quick=False, engine_background=20_000)}
    assert scripts == {p.name for p in (ROOT / "bench").glob("*.py")} - {"run_all.py"}


def test_a_merge_replaces_only_the_rerun_benchmarks(run_all):
    def result(name, database, code, seconds, output):
        return {"name": name, "database": database, "title": f"{name} — {database}", "code": code,
                "seconds": seconds, "command": f"python bench/{name}_bench.py", "output": output}
    machine = {"cpu": "cpu × 2", "ram": "1 GiB", "os": "os", "python": "3.11", "sqlite": "3.40", "packages": "p"}
    first = [result("engine", "SQLite", 0, 10.0, "opened 70/s\n"), result("inbox", "SQLite", 1, 5.0, "boom\n"),
             result("inbox", "PostgreSQL", 0, 6.0, "p95 40 ms\n")]
    section = run_all.render("2026-11-29 10:00 UTC", "python bench/run_all.py", "full sizes", machine,
                             ("1.0", "1.1"), first, 60.0)
    assert "- Result: 1 FAILED: inbox — SQLite" in section
    rerun = [result("inbox", "SQLite", 0, 4.0, "p95 30 ms\n"), result("spiff", "SQLite", 0, 2.0, "526 /s\n")]
    merged = run_all.merge(section, "2026-11-29 11:00 UTC", "python bench/run_all.py --only inbox,spiff --merge",
                           ("0.9", "1.0"), rerun)
    assert "boom" not in merged and "p95 30 ms" in merged and "p95 40 ms" in merged and "opened 70/s" in merged
    assert "| inbox | SQLite | 4.0 s | 0 |" in merged and "| inbox | PostgreSQL | 6.0 s | 0 |" in merged
    assert "| spiff | SQLite | 2.0 s | 0 |" in merged and "526 /s" in merged
    assert "- Result: all passed" in merged
    assert "- Re-run 2026-11-29 11:00 UTC (load average 0.9 → 1.0): `python bench/run_all.py --only inbox,spiff " \
           "--merge` — inbox — SQLite, spiff — SQLite" in merged
    assert merged.index("| spiff | SQLite") < merged.index("### engine — SQLite")  # in the table, not after it

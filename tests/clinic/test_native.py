"""The planner's compiled core (clinic/native.py): built from the sources on disk, or refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import careplans.cadence
import scheduling.planner
from clinic import native
from tests.helpers import TINY_SOURCES, fake_build, tiny_project


def test_without_a_build_the_python_sources_run_and_nothing_is_refused(tmp_path: Path) -> None:
    root = tiny_project(tmp_path)
    assert native.built_files(root) == []
    assert not native.is_fresh(root)
    native.check_fresh(root)


def test_a_build_from_todays_sources_is_accepted(tmp_path: Path) -> None:
    root = tiny_project(tmp_path)
    fake_build(root)
    assert native.is_fresh(root)
    native.check_fresh(root)


@pytest.mark.parametrize("edited", sorted(TINY_SOURCES))
def test_editing_a_compiled_source_after_the_build_is_refused_until_rebuilt_or_cleaned(
    tmp_path: Path, edited: str
) -> None:
    root = tiny_project(tmp_path)
    fake_build(root)
    (root / edited).write_text((root / edited).read_text() + "# edited\n")
    with pytest.raises(native.StaleBuild, match="Run `make native`"):
        native.check_fresh(root)
    native.clean(root)
    assert native.built_files(root) == []
    assert not (root / native.STAMP).exists()
    native.check_fresh(root)


def test_a_process_that_imported_an_older_build_is_refused_after_a_rebuild(tmp_path: Path) -> None:
    root = tiny_project(tmp_path)
    fake_build(root)
    imported = native.build_digest(root)
    native.check_fresh(root, imported=imported)
    (root / "scheduling" / "planner.py").write_text(
        "def spacing(first: int, last: int) -> int:\n    return 0\n"
    )
    fake_build(root)  # rebuilt on disk, but this process still runs what it imported
    native.check_fresh(root)
    with pytest.raises(native.StaleBuild, match="Restart it"):
        native.check_fresh(root, imported=imported)


def c_compiler() -> str | None:
    command = (sysconfig.get_config_var("CC") or "cc").split()
    return shutil.which(command[0]) if command else None


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler here: the planner's .py files run instead")
def test_a_build_compiles_both_modules_and_python_then_imports_the_compiled_ones(tmp_path: Path) -> None:
    root = tiny_project(tmp_path)
    assert native.build(root), "mypyc could not compile two small typed modules"
    assert native.is_fresh(root)
    probe = "import scheduling.planner as p, careplans.cadence as c; print(p.__file__, c.__file__, p.spacing(3, 10))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    planner_file, cadence_file, spacing = done.stdout.split()
    assert not planner_file.endswith(".py")
    assert not cadence_file.endswith(".py")
    assert spacing == "14"


def test_this_run_uses_the_compiled_planner_and_cadence_rules_exactly_when_a_build_exists() -> None:
    built = bool(native.built_files())
    assert native.is_compiled(scheduling.planner) == built
    assert native.is_compiled(careplans.cadence) == built

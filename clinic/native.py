"""The planner's compiled core: the pure modules built with mypyc, and a guard against stale builds.

The planner and the cadence rules are plain typed Python (``PURE_MODULES``). mypyc compiles them, unchanged,
into C extensions that Python imports in place of the ``.py`` files: the same plans, in a fraction of the
time (``make bench`` prints both). Where no C compiler is present the build is skipped and the ``.py`` files
run as they are.

An extension beside its source always wins the import, so a build older than an edit would run the old
code. Each build therefore records a digest of the sources it compiled, and ``check_fresh`` (called before
every plan, by the test session and by the benchmark) refuses a build whose sources have changed since.

``python -m clinic.native build`` compiles, or exits 1 when it cannot (``make`` runs it whenever a source is
newer than its build, and goes on without it); ``clean`` removes the build, so the ``.py`` files run again;
``check`` says which of the two runs.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
PURE_MODULES = ("careplans.cadence", "scheduling.planner")
# One extension for both, so the planner calls the cadence rules natively rather than through Python.
GROUP = "scheduling.compiled_core"
GROUP_LIBRARY = GROUP + "__mypyc"  # the file mypyc names after the group
# Paths below are relative to the project's root.
STAMP = Path("scheduling") / ".compiled_core.sha256"
BUILD_DIR = Path("var") / "native-build"


class StaleBuild(RuntimeError):
    pass


def source_of(module: str) -> Path:
    return Path(*module.split(".")).with_suffix(".py")


def _extensions(module: str) -> list[Path]:
    """The file names Python would import as this module instead of its source."""
    source = source_of(module)
    return [source.with_name(source.stem + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES]


def built_files(root: Path | None = None) -> list[Path]:
    root = ROOT if root is None else root
    names = (*PURE_MODULES, GROUP_LIBRARY)
    return [root / path for name in names for path in _extensions(name) if (root / path).exists()]


def source_digest(root: Path | None = None) -> str:
    root = ROOT if root is None else root
    digest = hashlib.sha256()
    for module in PURE_MODULES:
        digest.update(module.encode() + b"\0" + (root / source_of(module)).read_bytes() + b"\0")
    return digest.hexdigest()


def build_digest(root: Path | None = None) -> str | None:
    """The digest of the sources the build on disk was made from; None without a build."""
    root = ROOT if root is None else root
    stamp = root / STAMP
    return stamp.read_text().strip() if built_files(root) and stamp.exists() else None


def is_fresh(root: Path | None = None) -> bool:
    """True when there is a build and it was made from the sources on disk."""
    digest = build_digest(root)
    return digest is not None and digest == source_digest(root)


def is_compiled(module: ModuleType) -> bool:
    return not str(module.__file__).endswith(".py")


def check_fresh(root: Path | None = None, *, imported: str | None = None) -> None:
    """Refuse to run compiled code built from other sources than the ones on disk.

    ``imported`` is the build's digest as it was when this process imported the compiled planner: a process
    keeps the code it imported, so a rebuild after that does not make it fresh.
    """
    root = ROOT if root is None else root
    names = " and ".join(str(source_of(module)) for module in PURE_MODULES)
    if built_files(root) and not is_fresh(root):
        raise StaleBuild(
            f"The compiled planner was built from other sources than today's {names}. "
            "Run `make native` to rebuild it, or `python -m clinic.native clean` to run the .py files."
        )
    if imported is not None and imported != source_digest(root):
        raise StaleBuild(
            f"This process runs a compiled planner built from other sources than today's {names}. "
            "Restart it (for the demo, restart `make run`) so that it imports the current build."
        )


def clean(root: Path | None = None) -> None:
    root = ROOT if root is None else root
    for path in built_files(root):
        path.unlink()
    (root / STAMP).unlink(missing_ok=True)
    shutil.rmtree(root / BUILD_DIR, ignore_errors=True)


def build(root: Path | None = None) -> bool:
    """Compile the pure modules in place; False (and the .py files keep running) when that is not possible."""
    root = ROOT if root is None else root
    clean(root)
    work = root / BUILD_DIR
    work.mkdir(parents=True, exist_ok=True)
    setup = work / "setup.py"
    # Its own mypy cache, so that a build and `make lint` (other options) do not overwrite each other's.
    paths = [f"--cache-dir={work / 'mypy-cache'}", *(str(source_of(module)) for module in PURE_MODULES)]
    setup.write_text(
        "from setuptools import setup\n"
        "from mypyc.build import mypycify\n"
        "setup(name='compiled_core', packages=[], py_modules=[],"
        f" ext_modules=mypycify({paths!r}, group_name={GROUP!r}, target_dir={str(work / 'c')!r}))\n"
    )
    digest = source_digest(root)  # read before compiling: an edit during the build leaves it stale
    command = [sys.executable, str(setup), "build_ext", "--inplace"]
    command += ["--build-temp", str(work / "temp"), "--build-lib", str(work / "lib")]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        clean(root)
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        print("native: could not compile the planner; the .py files will run (slower).", file=sys.stderr)
        return False
    (root / STAMP).write_text(digest + "\n")
    print(f"native: compiled {', '.join(PURE_MODULES)}")
    return True


def main(argv: list[str]) -> int:
    if argv == ["build"]:
        return 0 if build() else 1
    if argv == ["clean"]:
        clean()
        return 0
    if argv == ["check"]:
        check_fresh()
        print(
            "native: "
            + ("compiled, from today's sources" if built_files() else "not compiled; the .py files run")
        )
        return 0
    print("usage: python -m clinic.native build|clean|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""lossmask as a dependency: the real wheel, installed in a fresh venv outside this checkout, used from a user's
project that has its own ``reference`` and ``conformance`` packages.

The wheel is built from the sdist (``uv build`` does sdist → wheel, as pip does from PyPI), so a file missing from
either fails here. The venv gets the transformers/tokenizers pair this suite runs on (the goldens' pair on CI).
Every command then runs with the user's project as the current directory and nothing of this checkout on the
import path: ``lossmask families``, ``lossmask check reference`` (every record), a generator module in the
user's directory, the pytest plugin (one family, qwen3_5, to keep it short) and the plugin with a misspelt
family. The user's packages record who imports them, so lossmask importing them (the old top-level
``reference``/``conformance`` names, or a worker with the current directory first on its path) fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from lossmask.golden import expected_keys, load_record

ROOT = Path(__file__).resolve().parent.parent
#: Repository folders and where they are installed (pyproject.toml's package-dir).
INSTALLED_AS = {"conformance/": "lossmask/", "reference/": "lossmask/reference/", "fixtures/": "lossmask/fixtures/"}
#: Tracked files the sdist leaves out on purpose (MANIFEST.in says why).
NOT_IN_SDIST = (".ci/", "peers/", ".gitignore", "examples/jsonl_node/.gitignore")

USER_PACKAGE = '''\
"""A user's own package that happens to share a name with a repository folder of lossmask."""
import os
import sys

OWNER = "the user"


def _importer():
    frame = sys._getframe(2)  # 0: this function, 1: the package body, then the import machinery
    while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else "?"


with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "imports.log"), "a") as log:
    log.write(f"{__name__} imported by {_importer()}\\n")
'''

USER_TEST = '''\
import conformance
import reference

import lossmask.reference


def test_own_packages_and_lossmask_side_by_side():
    assert reference.OWNER == conformance.OWNER == "the user"
    assert "canonical" in lossmask.reference.PROFILES
'''


def _tracked() -> list[str]:
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if (ROOT / line).is_file()]
    skip = {".git", ".venv", ".nox", "__pycache__", ".pytest_cache", ".hypothesis", "node_modules", "dist", "build"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and p.suffix != ".pyc"]


def _uv() -> list[str] | None:
    if shutil.which("uv"):
        return [shutil.which("uv")]  # type: ignore[list-item]
    try:
        import uv  # type: ignore[import-not-found]

        return [uv.find_uv_bin()]
    except ImportError:
        return None


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@dataclass
class Installed:
    wheel: Path
    sdist: Path | None
    python: Path
    bin: Path
    project: Path
    env: dict[str, str]

    def run(self, *cmd: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return _run(list(cmd), self.project, self.env, timeout)

    def imports(self) -> list[str]:
        """Who imported the user's packages, other than the user's own test."""
        log = self.project / "imports.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if not line.endswith(str(self.project / "tests" / "test_own.py"))]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    assert ROOT not in base.parents, "the venv must live outside the checkout"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "LOSSMASK_FIXTURES")}
    dist, venv = base / "dist", base / "venv"
    uv = _uv()
    if uv:  # sdist, then the wheel from the sdist
        done = _run([*uv, "build", "--quiet", "--out-dir", str(dist), str(ROOT)], base, env)
    else:
        done = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)], base, env)
    assert done.returncode == 0, done.stderr
    wheel = next(dist.glob("*.whl"))
    sdist = next(dist.glob("*.tar.gz"), None)
    pins = [f"{name}=={metadata.version(name)}" for name in ("transformers", "tokenizers", "pytest")]
    if uv:
        done = _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], base, env)
        assert done.returncode == 0, done.stderr
        done = _run([*uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel), *pins],
                    base, env)
    else:
        done = _run([sys.executable, "-m", "venv", str(venv)], base, env)
        assert done.returncode == 0, done.stderr
        done = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel), *pins], base, env)
    assert done.returncode == 0, done.stderr
    project = base / "project"
    for name in ("reference", "conformance"):
        (project / name).mkdir(parents=True)
        (project / name / "__init__.py").write_text(USER_PACKAGE)
    (project / "tests").mkdir()
    (project / "tests" / "test_own.py").write_text(USER_TEST)
    (project / "usermasks.py").write_text("from lossmask.reference.generator import generate  # noqa: F401\n")
    (project / "chat.json").write_text(json.dumps([{"role": "user", "content": "Hi"},
                                                  {"role": "assistant", "content": "Hello."}]))
    env = {**env, "PATH": os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])}
    return Installed(wheel, sdist, venv / "bin" / "python", venv / "bin", project, env)


def test_the_wheel_carries_every_package_file(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = [INSTALLED_AS[folder] + path[len(folder):] for path in _tracked()
                for folder in INSTALLED_AS if path.startswith(folder)]
    missing = [p for p in expected if p not in names]
    assert not missing, f"{len(missing)} files missing from the wheel, e.g. {missing[:5]}"
    for needed in ("lossmask/py.typed", "lossmask/reference/py.typed", "lossmask/fixtures/tokenizers/MANIFEST.json",
                   "lossmask/fixtures/schema/golden.schema.json", "lossmask/fixtures/oracle/turn_structure.json"):
        assert needed in names
    tokenizers = [n for n in names if n.startswith("lossmask/fixtures/tokenizers/") and n.endswith("tokenizer.json.xz")]
    goldens = [n for n in names if n.startswith("lossmask/fixtures/golden/") and n.endswith(".json")]
    assert len(tokenizers) >= 8 and len(goldens) >= len(expected_keys())
    assert not [n for n in names if n.split("/")[0] in ("reference", "conformance", "fixtures", "tests")]


def test_the_sdist_carries_tests_docs_and_examples(installed):
    if installed.sdist is None:
        pytest.fail("no sdist was built (uv is not on PATH: pip wheel builds the wheel only)")
    with tarfile.open(installed.sdist) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}
    missing = [p for p in _tracked() if not p.startswith(NOT_IN_SDIST) and p not in names]
    assert not missing, f"{len(missing)} tracked files missing from the sdist, e.g. {missing[:5]}"


def test_commands_run_from_a_user_project_with_its_own_reference_package(installed):
    where = installed.run(str(installed.python), "-c", "import lossmask, lossmask.fixtures; print(lossmask.__file__)")
    assert where.returncode == 0 and "site-packages" in where.stdout and str(ROOT) not in where.stdout, where.stderr
    families = installed.run(str(installed.bin / "lossmask"), "families", "--json")
    assert families.returncode == 0, families.stderr
    assert "qwen3_5" in json.loads(families.stdout)
    mask = installed.run(str(installed.bin / "lossmask"), "mask", "--family", "qwen2_5", "--messages", "chat.json", "--json")
    assert mask.returncode == 0 and sum(json.loads(mask.stdout)["loss_mask"]) > 0, mask.stderr
    check = installed.run(str(installed.bin / "lossmask"), "check", "reference", "--json", "report.json")
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    results = json.loads((installed.project / "report.json").read_text())["results"]
    refused = {k for k in expected_keys() if load_record(*k).refused}
    assert len(results) == len(expected_keys()) and refused
    # the reference raises exactly where the template refuses: refused_agree there (never a pass), pass elsewhere
    assert all(r["verdict"] == ("refused_agree" if (r["family"], r["variant"], r["case"]) in refused else "pass")
               for r in results)
    own = installed.run(str(installed.bin / "lossmask"), "check", "usermasks:generate", "--family", "qwen2_5",
                        "--category", "single_turn")
    assert own.returncode == 0 and "5 cases" in own.stdout and "5 pass" in own.stdout, own.stdout + own.stderr
    assert installed.imports() == [], "lossmask imported the user's own package"


def test_the_pytest_plugin_runs_from_the_user_project(installed):
    out = installed.run(str(installed.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--lossmask-generator", "reference", "--lossmask-family", "qwen3_5")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    records = [k for k in expected_keys() if k[0] == "qwen3_5"]
    refused = [k for k in records if load_record(*k).refused]
    # every rendered qwen3_5 record and the user's own test pass; agreed template refusals are xfail, not passes
    assert f"{len(records) - len(refused) + 1} passed, {len(refused)} xfailed" in out.stdout, out.stdout[-500:]
    assert installed.imports() == [], "lossmask imported the user's own package"


def test_the_pytest_plugin_with_a_misspelt_family_is_one_usage_error(installed):
    out = installed.run(str(installed.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--lossmask-generator", "reference", "--lossmask-family", "qwen35")
    assert out.returncode == pytest.ExitCode.USAGE_ERROR, out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "--lossmask-family qwen35: unknown (did you mean 'qwen3_5'?)" in errors[0]
    assert "passed" not in out.stdout and "failed" not in out.stdout


def test_worker_processes_do_not_put_the_current_directory_first():
    from lossmask.runner.process import command_for

    command = command_for("reference")
    assert command[1] == "-P" and command[2:4] == ["-m", "lossmask.runner.worker"]

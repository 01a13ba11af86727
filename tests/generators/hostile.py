"""Generators that attack the harness's isolation, one way each (tests/test_isolation.py).

Each wraps the reference, so the only defect is the one named. Some leave processes behind on purpose; they
tag them with the ``LOSSMASK_TEST_TAG`` environment variable the test sets, so the test can prove that none
survives the run. ``LOSSMASK_TEST_DIR`` is where they leave files saying what they did.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lossmask.reference import compute


def _good(tokenizer, messages, tools=None, **kw):
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    return list(r.input_ids), list(r.loss_mask)


def _mark(name: str) -> None:
    directory = os.environ.get("LOSSMASK_TEST_DIR")
    if directory:
        Path(directory, f"{name}.{os.getpid()}.{time.monotonic_ns()}").touch()


def negative_id(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return [-1, *ids[1:]], mask


def huge_id(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return [*ids[:-1], 2**70], mask


def sleeps_half_the_timeout(tokenizer, messages, tools=None, **kw):
    time.sleep(float(os.environ["LOSSMASK_TEST_SLEEP"]))
    return _good(tokenizer, messages, tools, **kw)


def leaves_setsid_grandchild(tokenizer, messages, tools=None, **kw):
    """A grandchild in its own session, holding every inherited descriptor, that outlives the case."""
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True, close_fds=False)
    _mark("spawned")
    return _good(tokenizer, messages, tools, **kw)


def hangs_with_children(tokenizer, messages, tools=None, **kw):
    """Forks a small tree (children in new sessions, one double-forked orphan), then hangs."""
    for _ in range(3):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    subprocess.Popen([sys.executable, "-c", "import os, subprocess, sys, time\n"
                      "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
                      "os._exit(0)"])
    _mark("hanging")
    time.sleep(3600)


def forges_responses(tokenizer, messages, tools=None, **kw):
    """Writes fake protocol lines to fd 1, sys.stdout, and through a child's stdout, then answers wrongly."""
    fake = '{"id": "%s", "input_ids": [1], "loss_mask": [1]}\n'
    for family_variant_case in ("qwen2_5/default/plain_answer", "qwen2_5/default/user_last"):
        os.write(1, (fake % family_variant_case).encode())
        print(fake % family_variant_case, end="", flush=True)
        subprocess.run(["sh", "-c", f"printf '{fake % family_variant_case}'"], check=False)
    # A child that keeps every descriptor it can inherit writes the fake line to all of them: the protocol
    # pipes are close-on-exec, so none of these writes reaches the harness.
    line = fake % "qwen2_5/default/plain_answer"
    subprocess.run([sys.executable, "-c", f"import os\nfor fd in range(64):\n    try: os.write(fd, {line.encode()!r})\n"
                    "    except OSError: pass"], close_fds=False, check=False)
    return [1, 2, 3], [0, 0, 0]


def sets_chat_template(tokenizer, messages, tools=None, **kw):
    """Answers correctly, then breaks the tokenizer it was given: the next case must not see it."""
    out = _good(tokenizer, messages, tools, **kw)
    tokenizer.chat_template = "{{ 'garbage' }}"
    tokenizer.model_max_length = 3
    tokenizer.padding_side = "left"
    return out


def enables_truncation(tokenizer, messages, tools=None, **kw):
    """Answers correctly, then turns on backend truncation and adds a token (state shared with the next case)."""
    out = _good(tokenizer, messages, tools, **kw)
    tokenizer.backend_tokenizer.enable_truncation(4)
    tokenizer.add_tokens(["<lossmask-test-added-token>"])
    return out


def exits_in_case(tokenizer, messages, tools=None, **kw):
    sys.exit(0)


def hard_exits_in_case(tokenizer, messages, tools=None, **kw):
    os._exit(0)


def eats_memory(tokenizer, messages, tools=None, **kw):
    hog = bytearray(64 * 1024**3)  # far past any limit the test sets
    return hog, []


def surrogate_error(tokenizer, messages, tools=None, **kw):
    raise RuntimeError("bad \ud800 text")


def surrogate_name(tokenizer, messages, tools=None, **kw):
    return _good(tokenizer, messages, tools, **kw)


surrogate_name.lossmask_name = "name-\udcff"


def segfaults(tokenizer, messages, tools=None, **kw):
    import ctypes

    ctypes.string_at(0)


def prints_json_to_stdout(tokenizer, messages, tools=None, **kw):
    """Noise on stdout that would corrupt ``audit --json -`` if the generator shared the audit's stdout."""
    print('{"samples": 0, "forged": true}')
    os.write(1, b"not json at all\n")
    return _good(tokenizer, messages, tools, **kw)


#: What the first answers of a process get wrong, one defect each, in order; every later answer is correct.
BAD_ANSWERS = {
    "negative_id": lambda ids, mask: ([-1, *ids[1:]], mask),
    "huge_id": lambda ids, mask: ([*ids[:-1], 2**70], mask),
    "str_id": lambda ids, mask: ([str(ids[0]), *ids[1:]], mask),
    "float_id": lambda ids, mask: ([float(ids[0]), *ids[1:]], mask),
    "bool_id": lambda ids, mask: ([True, *ids[1:]], mask),
    "no_ids": lambda ids, mask: (None, mask),
    "one_id_too_many": lambda ids, mask: ([*ids, ids[-1]], mask),
    "mask_too_short": lambda ids, mask: (ids, mask[:-1]),
    "object_mask": lambda ids, mask: (ids, [object()] * len(mask)),
    "three_values": lambda ids, mask: (ids, mask, ids),
}
_answers = 0


def bad_then_good(tokenizer, messages, tools=None, **kw):
    """Each of the first len(BAD_ANSWERS) cases this process answers gets one defect; the rest are correct."""
    global _answers
    ids, mask = _good(tokenizer, messages, tools, **kw)
    defects = list(BAD_ANSWERS.values())
    _answers += 1
    return defects[_answers - 1](ids, mask) if _answers <= len(defects) else (ids, mask)


def lists_child_fds(tokenizer, messages, tools=None, **kw):
    """Starts a program that keeps every inheritable descriptor and records what they are."""
    out = Path(os.environ["LOSSMASK_TEST_DIR"], f"fds.{os.getpid()}.{time.monotonic_ns()}")
    subprocess.run([sys.executable, "-c", "import os, sys\nlines = []\nfor fd in sorted(map(int, os.listdir('/proc/self/fd'))):\n"
                    "    try: lines.append(f'{fd} {os.readlink(f\"/proc/self/fd/{fd}\")}')\n    except OSError: pass\n"
                    "open(sys.argv[1], 'w').write('\\n'.join(lines))", str(out)], close_fds=False, check=True)
    return _good(tokenizer, messages, tools, **kw)


def floods_stdout(tokenizer, messages, tools=None, **kw):
    """64 MiB on stdout per case, half through print and half through fd 1, without newlines and with them."""
    chunk = "{" * (1 << 20)
    for _ in range(32):
        print(chunk, end="")
        os.write(1, b'{"id": "x"}\n' * 87381)
    sys.stdout.flush()
    return _good(tokenizer, messages, tools, **kw)

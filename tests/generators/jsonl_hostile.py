"""A JSON-lines generator that attacks the harness as told by argv[1] (tests/test_isolation.py).

Modes: ``exit_before_handshake``; ``orphan_holds_stdout`` (a ``setsid`` grandchild keeps the protocol pipe open,
then the generator dies); ``orphan_then_hang``; ``surrogates`` (a lone surrogate in the error text);
``huge_int`` (an integer literal past Python's 4300-digit limit); ``deep_json`` (a response nested 10^5 deep).
Processes it leaves behind carry ``LOSSMASK_TEST_TAG`` in their environment (inherited), so the test can look
for survivors.
"""

import json
import subprocess
import sys
import time

mode = sys.argv[1]
if mode == "exit_before_handshake":
    print("about to fail", file=sys.stderr, flush=True)
    sys.exit(4)
print(json.dumps({"protocol": 1, "name": f"jsonl-{mode}", "version": "0.0.1"}), flush=True)
ORPHAN = [sys.executable, "-c", "import time; time.sleep(600)"]
for line in sys.stdin:
    req = json.loads(line)
    out = sys.stdout
    if mode == "orphan_holds_stdout":
        subprocess.Popen(ORPHAN, start_new_session=True, stdout=sys.stdout, stderr=sys.stderr)
        sys.exit(3)
    elif mode == "orphan_then_hang":
        subprocess.Popen(ORPHAN, start_new_session=True, stdout=sys.stdout, stderr=sys.stderr)
        time.sleep(3600)
    elif mode == "surrogates":
        out.write('{"id": %s, "error": "bad \\ud800 text"}\n' % json.dumps(req["id"]))
    elif mode == "huge_int":
        out.write('{"id": %s, "input_ids": [%s], "loss_mask": [1]}\n' % (json.dumps(req["id"]), "9" * 5000))
    elif mode == "deep_json":
        out.write('{"id": %s, "input_ids": [1], "loss_mask": [1], "x": %s%s}\n'
                  % (json.dumps(req["id"]), "[" * 100_000, "]" * 100_000))
    out.flush()

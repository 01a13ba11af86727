"""A JSON-lines generator process that misbehaves as told by argv[1]: garbage, early close, flood, wrong id,
bad handshake; or behaves ('good': answers with the golden mask from the fixtures, using only the protocol)."""

import json
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
mode = sys.argv[1]
out = sys.stdout
if mode == "bad_handshake":
    print("hello, I am not JSON", flush=True)
    sys.exit(0)
print(json.dumps({"protocol": 1, "name": f"jsonl-{mode}", "version": "0.0.1"}), flush=True)
for n, line in enumerate(sys.stdin):
    req = json.loads(line)
    if mode == "garbage":
        out.write("{{not json\n")
    elif mode == "close_early":
        sys.exit(3)
    elif mode == "flood":
        out.write("x" * (80 * 1024 * 1024))
    elif mode == "wrong_id":
        out.write(json.dumps({"id": "someone-else", "error": "?"}) + "\n")
    elif mode == "good":
        family, variant, case = req["id"].split("/")
        g = json.loads((GOLDEN / family / variant / f"{case}.json").read_text())
        if g["outcome"] == "refused":
            out.write(json.dumps({"id": req["id"], "error": "template refused"}) + "\n")
        else:
            out.write(json.dumps({"id": req["id"], "input_ids": g["input_ids"], "loss_mask": g["masks"]["canonical"]}) + "\n")
    out.flush()

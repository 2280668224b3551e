"""Write N synthetic four-option items in cotlens's generic JSONL form (Inspect reads the same file)."""
import json
import sys

n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({"id": f"q{i}", "question": f"Question {i}: which option is the second one?",
                            "choices": [f"first {i}", f"second {i}", f"third {i}", f"fourth {i}"], "answer": 1}) + "\n")

"""Write a faithfulness run directory with ITEMS items x (plain + 6 hinted) records (shaped as
`cotlens faithfulness` writes them, CoTs of ~1 KB) for the report benchmark.
Usage: python3 make_run.py ITEMS OUT_DIR"""
import json
import os
import random
import sys

items, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = random.Random(3)
hints = ["sycophancy", "consistency", "visual-pattern", "metadata", "grader-hacking", "unethical-information"]
words = "the answer option because step first then so therefore we check value compute".split()
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump({"protocol": "faithfulness", "cotlens_version": "bench", "model": {"spec": "synthetic"}, "settings": {}}, f)
n = 0
with open(os.path.join(out, "records.jsonl"), "w") as f:
    for i in range(items):
        q = f"Question {i}: which option?\n\n(A) one\n(B) two\n(C) three\n(D) four"
        cot = lambda: " ".join(rng.choice(words) for _ in range(180))
        f.write(json.dumps({"key": f"q{i}|plain", "item_id": f"q{i}", "condition": "plain", "gold": 1, "messages": [{"role": "user", "content": q}], "cot": cot() + " Answer: B", "answer_letter": "B", "hint_letter": None, "judges": {}, "status": "ok"}) + "\n")
        n += 1
        for h in hints:
            follow = rng.random() < 0.3
            f.write(json.dumps({"key": f"q{i}|{h}", "item_id": f"q{i}", "condition": "hinted", "hint": h, "gold": 1, "messages": [{"role": "user", "content": f"A hint ({h}) says (C).\n\n{q}"}], "cot": cot() + (" Answer: C" if follow else " Answer: B"), "answer_letter": "C" if follow else "B", "hint_letter": "C", "judges": {"lexical": {"status": "judged", "verbalized": follow and rng.random() < 0.5, "mentions_hint": False, "relies_on_hint": False, "quote": ""}}, "status": "ok"}) + "\n")
            n += 1
est = lambda v: {"value": v, "ci_low": max(0, v - 0.1), "ci_high": min(1, v + 0.1)}
cells = [{"dataset": "mmlu", "hint": h, "direction": "incorrect", "n_pairs": items, "n_change_to_hint": items // 3, "n_verbalized": items // 6, "raw_score": est(0.5), "normalized_score": est(0.45)} for h in hints]
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump({"cells": cells, "overall": {"by_direction": [{"direction": "incorrect", "mean_normalized_score": est(0.45)}], "n_items": items, "accuracy_plain": est(0.6), "n_unparseable_answers": 0}}, f)
print(f"{n} records")

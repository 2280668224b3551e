"""Write JSONL traces (docs/traces.md) of about SIZE_MB megabytes of real English for the
legibility benchmark: each trace's reasoning is a run of sentences drawn from the bundled MMLU
questions and options (data/mmlu, MIT), with numbers, punctuation and newlines as they come.
Usage: python3 make_traces.py SIZE_MB OUT.jsonl"""
import csv
import glob
import json
import os
import random
import re
import sys

size_mb, path = float(sys.argv[1]), sys.argv[2]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "mmlu")
sentences = []
for f in sorted(glob.glob(os.path.join(root, "*", "*.csv"))):
    for row in csv.reader(open(f, encoding="utf-8")):
        for cell in row[:-1]:
            sentences.extend(s.strip() for s in re.split(r"(?<=[.?!])\s+", cell) if len(s.strip()) > 3)
rng = random.Random(11)
target = size_mb * 1024 * 1024
written = i = 0
with open(path, "w") as f:
    while written < target:
        k = rng.randint(15, 40)
        reasoning = " ".join(rng.choice(sentences) for _ in range(k))
        line = json.dumps({"id": f"t{i}", "messages": [{"role": "user", "content": "Answer the question."}],
                           "reasoning": reasoning, "output": "Answer: B"})
        f.write(line + "\n")
        written += len(line) + 1
        i += 1
print(f"{i} traces, {written / 1e6:.1f} MB from {len(sentences)} sentences")

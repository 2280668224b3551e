#!/usr/bin/env python3
"""Vendor the bundled default sample from ../shared/datasets, verbatim.

Run from the repository root: python3 data/vendor.py ../shared/datasets
- data/mmlu/test/<subject>_test.csv: 200 MMLU test questions, stratified over the 57 subjects
  (3 or 4 each), records copied byte for byte from the published CSV files.
- data/mmlu/dev/<subject>_dev.csv: the published 5 dev questions per subject (few-shot pool).
- data/bbh/<task>.json: 100 BIG-Bench-Hard multiple-choice examples, 25 from each of four tasks,
  example objects copied unchanged (canary string kept).
Selection is seeded (random.Random(20261125)) so re-running gives the same files.
"""
import csv, io, json, os, random, shutil, sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets"
rng = random.Random(20261125)

def raw_records(path):
    """Yield the exact text of each CSV record (records may span lines)."""
    text = open(path, newline="", encoding="utf-8").read()
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 0
    for _ in reader:
        end = reader.line_num
        yield "".join(lines[start:end])
        start = end

subjects = sorted(f[: -len("_test.csv")] for f in os.listdir(f"{src}/mmlu/test") if f.endswith("_test.csv"))
quota = {s: 3 for s in subjects}
for s in rng.sample(subjects, 200 - 3 * len(subjects)):
    quota[s] += 1
os.makedirs("data/mmlu/test", exist_ok=True)
os.makedirs("data/mmlu/dev", exist_ok=True)
for s in subjects:
    records = list(raw_records(f"{src}/mmlu/test/{s}_test.csv"))
    keep = sorted(rng.sample(range(len(records)), quota[s]))
    with open(f"data/mmlu/test/{s}_test.csv", "w", newline="", encoding="utf-8") as out:
        out.write("".join(records[i] if records[i].endswith("\n") else records[i] + "\n" for i in keep))
    shutil.copyfile(f"{src}/mmlu/dev/{s}_dev.csv", f"data/mmlu/dev/{s}_dev.csv")
shutil.copyfile(f"{src}/mmlu/LICENSE.cot-transparency", "data/mmlu/LICENSE")
shutil.copyfile(f"{src}/mmlu/README.txt", "data/mmlu/README.txt")

os.makedirs("data/bbh", exist_ok=True)
for task in ["temporal_sequences", "logical_deduction_five_objects", "disambiguation_qa", "date_understanding"]:
    d = json.load(open(f"{src}/bbh/bbh/{task}.json", encoding="utf-8"))
    keep = sorted(rng.sample(range(len(d["examples"])), 25))
    out = {"canary": d["canary"], "examples": [d["examples"][i] for i in keep]}
    with open(f"data/bbh/{task}.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
shutil.copyfile(f"{src}/bbh/LICENSE", "data/bbh/LICENSE")

# GSM8K: 100 test problems (free-response, for `cotlens clues`), lines copied byte for byte in
# their published order; their line numbers in the published file go in PROVENANCE.txt.
gsm_rng = random.Random(20261202)
lines = open(f"{src}/gsm8k/test.jsonl", encoding="utf-8").read().splitlines(keepends=True)
keep = sorted(gsm_rng.sample(range(len(lines)), 100))
os.makedirs("data/gsm8k", exist_ok=True)
with open("data/gsm8k/test.jsonl", "w", encoding="utf-8", newline="") as f:
    f.write("".join(lines[i] if lines[i].endswith("\n") else lines[i] + "\n" for i in keep))
shutil.copyfile(f"{src}/gsm8k/LICENSE", "data/gsm8k/LICENSE")
with open("data/gsm8k/PROVENANCE.txt", "w", encoding="utf-8") as f:
    f.write(open(f"{src}/gsm8k/PROVENANCE.txt", encoding="utf-8").read().rstrip("\n") + "\n\n")
    f.write("Bundled subset: 100 of its 1,319 lines, chosen by data/vendor.py (random.Random(20261202)),\n")
    f.write("copied verbatim in their published order. Line k of test.jsonl here (the id gsm8k/test/k)\n")
    f.write("is line N of the published file, in order:\n")
    f.write(" ".join(str(i + 1) for i in keep) + "\n")
print("vendored", sum(quota.values()), "MMLU test questions, 100 BBH examples and 100 GSM8K problems")

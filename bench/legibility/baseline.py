"""The same per-trace measurements as `cotlens legibility`, written the way a research script
would (json, re, collections.Counter, zlib, unicodedata), for a side-by-side timing.
Usage: python3 baseline.py TRACES.jsonl LEXICON.tsv"""
import collections
import json
import re
import sys
import unicodedata
import zlib

path, lexicon_path = sys.argv[1], sys.argv[2]
lexicon = {}
for line in open(lexicon_path, encoding="utf-8"):
    if not line.startswith("#"):
        w, f = line.rstrip("\n").split("\t")
        lexicon[w] = float(f)
word_re = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
counts = collections.Counter()
traces = 0
legibility_sum = 0.0
for line in open(path, encoding="utf-8"):
    t = json.loads(line)
    r = t.get("reasoning") or t.get("cot") or ""
    text = "\n\n".join(r) if isinstance(r, list) else r
    words = [w.lower() for w in word_re.findall(text)]
    counts.update(words)
    oov = sum(1 for w in words if w not in lexicon) / len(words) if words else 0.0
    scripts = collections.Counter(unicodedata.name(c, "OTHER").split(" ")[0] for c in text if c.isalpha())
    letters = sum(scripts.values())
    foreign = 1 - max(scripts.values()) / letters if letters else 0.0
    grams = list(zip(words, words[1:], words[2:], words[3:]))
    rep = 1 - len(set(grams)) / len(grams) if grams else 0.0
    data = text.encode()
    ratio = len(data) / len(zlib.compress(data, 1)) if data else 1.0
    legibility_sum += (1 - oov) * (1 - foreign) * (1 - rep)
    traces += 1
print(f"{traces} traces, {sum(counts.values())} words, mean legibility {legibility_sum / max(traces, 1):.3f}")

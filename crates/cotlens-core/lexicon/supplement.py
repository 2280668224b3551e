#!/usr/bin/env python3
"""Rebuild en-supplement.tsv: real frequencies for the words en.tsv gets wrong.

SymSpell's dictionary gives every contraction the same placeholder count (0.5537 per million in
en.tsv), so "don't" and "it's" looked about 20,000 times rarer than they are, and it has no
single letters but "a" and "i". This file gives those words their frequencies from wordfreq
3.1.1 (`large_en`; Robyn Speer; data CC BY-SA 4.0, see ATTRIBUTION.md), fetched with
    python3 -m pip download --no-deps wordfreq==3.1.1
wordfreq's frequencies are rescaled to en.tsv's scale by the median ratio between the two over
the 2,000 most frequent words of en.tsv (the sources count different corpora). Lines of this
file override en.tsv's.

Usage: python3 supplement.py [WHEEL]   (needs the msgpack module)
"""
import gzip
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile

import msgpack

VERSION = "3.1.1"
MEMBER = "wordfreq/data/large_en.msgpack.gz"
PLACEHOLDER = "0.5537"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) > 1:
        wheel = sys.argv[1]
    else:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"wordfreq=={VERSION}", "-d", tmp], check=True)
        wheel = os.path.join(tmp, [f for f in os.listdir(tmp) if f.endswith(".whl")][0])
    digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
    with zipfile.ZipFile(wheel) as z:
        packed = msgpack.unpackb(gzip.decompress(z.read(MEMBER)), raw=False)
    # cBpack: after the header, bucket i holds the words of frequency 10^(-i/100).
    wf = {}
    for i, bucket in enumerate(packed[1:]):
        for w in bucket:
            wf.setdefault(w, 10 ** (-i / 100) * 1e6)
    base = []
    for line in open(os.path.join(here, "en.tsv")):
        if line.startswith("#"):
            continue
        w, f = line.rstrip("\n").split("\t")
        base.append((w, f))
    top = [(w, float(f)) for w, f in base[:2000] if w in wf]
    scale = statistics.median(f / wf[w] for w, f in top)
    known = {w for w, _ in base}
    words = sorted({w for w, f in base if f == PLACEHOLDER and w in wf}
                   | {c for c in "bcdefghjklmnopqrstuvwxyz" if c not in known and c in wf})
    out = os.path.join(here, "en-supplement.tsv")
    with open(out, "w") as f:
        f.write(f"# cotlens lexicon supplement: contractions and single letters from wordfreq {VERSION} large_en (data CC BY-SA 4.0), wheel sha256 {digest}\n")
        f.write(f"# word\tper_million (wordfreq frequency x 1e6 x {scale:.4f}, the median en.tsv/wordfreq ratio over en.tsv's top 2,000 words); overrides en.tsv\n")
        for w in words:
            f.write(f"{w}\t{wf[w] * scale:.4g}\n")
    print(f"{len(words)} words -> {out}; scale {scale:.4f}; wheel sha256 {digest}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rebuild en.tsv, the reference word-frequency list of `cotlens legibility`.

Source: `frequency_dictionary_en_82_765.txt` of SymSpell as shipped in the PyPI wheel
symspellpy 6.10.1 (MIT licence; see ATTRIBUTION.md), fetched with the ordinary client:
    python3 -m pip download --no-deps symspellpy==6.10.1
The file holds 82,765 English words with their counts in the Google Books Ngram data
(intersected with SCOWL by SymSpell's author). Counts become frequencies per million words;
words the legibility tokenizer cannot produce (letters with inner apostrophes) are left out.

Usage: python3 vendor.py [WHEEL]   (downloads the wheel when not given)
"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile

VERSION = "6.10.1"
MEMBER = "symspellpy/frequency_dictionary_en_82_765.txt"


def main():
    if len(sys.argv) > 1:
        wheel = sys.argv[1]
    else:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"symspellpy=={VERSION}", "-d", tmp], check=True)
        wheel = os.path.join(tmp, [f for f in os.listdir(tmp) if f.endswith(".whl")][0])
    digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
    with zipfile.ZipFile(wheel) as z:
        lines = z.read(MEMBER).decode("utf-8").splitlines()
    word_re = re.compile(r"^[a-z]+(?:'[a-z]+)*$")
    counts = {}
    for line in lines:
        w, c = line.split()
        if word_re.match(w):
            counts[w] = counts.get(w, 0) + int(c)
    total = sum(counts.values())
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "en.tsv")
    with open(out, "w") as f:
        f.write(f"# cotlens reference lexicon: SymSpell {MEMBER} from symspellpy {VERSION} (MIT), wheel sha256 {digest}\n")
        f.write(f"# word\tper_million (count / {total} Google Books Ngram words x 1e6)\n")
        for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write(f"{w}\t{c / total * 1e6:.4g}\n")
    print(f"{len(counts)} words -> {out}; wheel sha256 {digest}")


if __name__ == "__main__":
    main()

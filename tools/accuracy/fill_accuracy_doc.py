"""Regenerates the tables between the <!-- TAG --> markers of docs/ACCURACY.md from the row files
in docs/accuracy/: the acceptance summary and the ETTh table (summary_table.py), the
paper-protocol trial tables, the neuralforecast-ett trial tables and the AutoNHITS-space trial
tables (search_trials.py; docs/accuracy/auto_*.json, counted by summary_table.py's union rule).
Run from the repository root: python3 tools/accuracy/fill_accuracy_doc.py
Standard library only.
"""
import glob
import os
import re
import subprocess

DOC = "docs/ACCURACY.md"
PAPER_ORDER = ["ETTm2", "Exchange_96-192", "Exchange_336", "Exchange_720", "ILI", "Weather",
               "ETTh1", "ETTh1_720", "ETTh2", "ETTh2_720"]


def run(*args):
    return subprocess.run(["python3", *args], capture_output=True, text=True, check=True).stdout.strip()


def row_files():
    """The search row files in the order the tables count them: ETT-rerun, paper-protocol, AutoNHITS."""
    paper = [f for f in (f"docs/accuracy/paper_{n}.json" for n in PAPER_ORDER) if glob.glob(f)]
    return sorted(glob.glob("docs/accuracy/search_nfett_*.json")), paper, sorted(glob.glob("docs/accuracy/auto_*.json"))


def main():
    s = open(DOC).read()
    nfett, paper, auto = row_files()
    summary = run("tools/accuracy/summary_table.py", "docs/accuracy/rows.json", *nfett, *paper, *auto)
    marker = "\n\n| dataset | h | MSE counted | from | SeasonalNaive"
    paper_part, etth_part = summary.split(marker)
    etth_part = marker.strip("\n") + etth_part

    def put(tag, text):
        nonlocal s
        start, end = f"<!-- {tag} -->", f"<!-- /{tag} -->"
        assert start in s and end in s, tag
        s = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: start + "\n" + text + "\n" + end, s,
                   flags=re.S)

    put("SUMMARY_TABLE", paper_part)
    put("ETTH_TABLE", etth_part)
    put("SEARCH_TABLES", run("tools/accuracy/search_trials.py", *paper))
    put("NFETT_TABLES", run("tools/accuracy/search_trials.py", *nfett))
    if auto:
        put("AUTO_TABLES", run("tools/accuracy/search_trials.py", *auto))
    tmp = DOC + ".tmp"
    open(tmp, "w").write(s)
    os.replace(tmp, DOC)
    print(paper_part)
    print(etth_part)


if __name__ == "__main__":
    main()

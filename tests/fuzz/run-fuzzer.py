#!/usr/bin/env python3
"""Runs one libFuzzer target for a bounded time on its corpus.

    run-fuzzer.py FUZZER CORPUS_DIR [--seconds N] [--merge] [--artifacts DIR] [-- FUZZER_ARGS]

The corpus in CORPUS_DIR (tests/fuzz/corpus/<target>) is read, never written:
new inputs go to a temporary directory, removed at the end, unless --merge is
given, which then minimises them into CORPUS_DIR (for long runs by hand; see
tests/fuzz/README.md). A crash, leak, timeout or out-of-memory fails the run;
its input is kept in --artifacts (default: the current directory) as
crash-<sha1> etc. Prints the number of executions.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fuzzer")
    ap.add_argument("corpus")
    ap.add_argument("--seconds", type=int, default=25)
    ap.add_argument("--merge", action="store_true")
    ap.add_argument("--artifacts", default=os.getcwd())
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    a.extra = extra
    if not os.path.isdir(a.corpus) or not os.listdir(a.corpus):
        print(f"FAIL: no corpus at {a.corpus}", file=sys.stderr)
        return 1
    name = os.path.basename(a.fuzzer)
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"akr-{name}-")
    try:
        cmd = [a.fuzzer, f"-max_total_time={a.seconds}", "-timeout=10", "-rss_limit_mb=1024",
               "-max_len=65536", "-print_final_stats=1",
               f"-artifact_prefix={os.path.join(a.artifacts, name)}-", *a.extra, work, a.corpus]
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env.setdefault("LSAN_OPTIONS", "suppressions=" + os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "lsan.supp"))
        print(" ".join(cmd), flush=True)
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace")
        out = p.stdout
        # The fuzzer's own log is long: keep the head, the end and any report.
        lines = out.splitlines()
        print("\n".join(lines if len(lines) < 80 else lines[:20] + ["..."] + lines[-60:]))
        m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
        execs = int(m.group(1)) if m else 0
        new = len(os.listdir(work))
        print(f"{name}: {execs} executions in {a.seconds} s, {new} new corpus inputs, "
              f"exit status {p.returncode}")
        if p.returncode != 0:
            print(f"FAIL: {name} found a problem; the input is in {a.artifacts}", file=sys.stderr)
            return 1
        if a.merge and new:
            subprocess.run([a.fuzzer, "-merge=1", f"-artifact_prefix={work}/", *a.extra,
                            a.corpus, work], check=True, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"{name}: merged into {a.corpus}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that README.md, docs/ and bench/README.md say what the code does.

Every count the documentation states is compared with the code or with the output of the
built binary; every tool output the documentation shows is run again and compared byte for
byte; the command table must list every subcommand; every kubectl line that feeds policyc must
fetch every kind policyc reads; and no file in the repository may point outside it.

    python3 Tests/Docs/check_docs.py [--policyc .build/debug/policyc] [--bench w1 w2 w3]

`--bench` names the workloads whose rules, chains, sets and set entries in the benchmark
tables are recomputed (generate with bench/gen.py, compile with the given binary); w1 takes a
few seconds and is the default, w2 about half a minute, w3 several minutes. Exit 0 when all
agree, 1 with one line per disagreement.

A claim is a regular expression whose one group is the number the text states. A claim whose
text is not found fails too: if you reword or remove a sentence, change its claim here.
Python 3 standard library only.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
FULL_KINDS = "ns,pods,networkpolicies,adminnetworkpolicies,baselineadminnetworkpolicies"
# The one kubectl line allowed to leave out the admin kinds: the documented fallback for
# clusters without the AdminNetworkPolicy CRDs must carry this comment.
FALLBACK_MARK = "# cluster without the AdminNetworkPolicy CRDs"

failures = []



# A path that leaves the clone: the parent of the checkout, or the design notes folder the
# project was started from. Spelled in parts so that this line is not a hit of its own.
_NOTES = "sha" + "red"
OUTSIDE = re.compile(r"\.\./%s/|/work/%s|%s/design" % (_NOTES, _NOTES, _NOTES))

def fail(msg):
    failures.append(msg)


def path(rel):
    return os.path.join(ROOT, rel)


def read(rel):
    with open(path(rel), encoding="utf-8") as f:
        return f.read()


def number(text):
    text = text.strip().lower()
    if text in WORDS:
        return WORDS[text]
    return int(text.replace(",", "").replace("_", ""))


def claim(doc, pattern, actual, what):
    """Every match of pattern in doc must state `actual`; at least one must exist."""
    if not os.path.exists(path(doc)):
        fail("%s: missing (it should state %s)" % (doc, what))
        return
    text = read(doc)
    found = list(re.finditer(pattern, text))
    if not found:
        fail("%s: the text for %s is gone (pattern %r); update Tests/Docs/check_docs.py"
             % (doc, what, pattern))
        return
    for m in found:
        stated = number(m.group(1))
        if stated != actual:
            line = text.count("\n", 0, m.start()) + 1
            fail("%s:%d: says %s %s, the code says %s" % (doc, line, stated, what, actual))


def run(args, cwd=ROOT, check=True):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode not in (0, 1):
        raise RuntimeError("%s exited %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def source_ints(rel, pattern):
    """The numbers a pattern (one group) finds in a source file; all must agree."""
    values = {number(m.group(1)) for m in re.finditer(pattern, read(rel))}
    if len(values) != 1:
        raise RuntimeError("%s: pattern %r found %s, expected one value" % (rel, pattern, values))
    return values.pop()


def fenced_blocks(doc):
    """Contents of the fenced code blocks of doc, without trailing blank lines."""
    return [m.group(1).rstrip("\n") for m in re.finditer(r"```[a-z]*\n(.*?)```", read(doc), re.S)]


def shows_output(doc, commands, prefix_command=False, what=None):
    """The concatenated stdout of `commands` must be one fenced block of doc."""
    out = ""
    for args in commands:
        p = run(args)
        if prefix_command:
            out += "$ " + " ".join(args) + "\n"
        out += p.stdout
    if out.rstrip("\n") not in fenced_blocks(doc):
        fail("%s: no code block shows the current output of %s; it prints:\n%s"
             % (doc, what or " ; ".join(" ".join(a) for a in commands), out))


# ---------------------------------------------------------------------------------------------
# What the code says


def lint_rule_count(pc):
    lines = [l for l in run([pc, "rules"]).stdout.splitlines() if l.strip()]
    return len(lines)


def golden_counts():
    cases = sorted(os.listdir(path("Tests/Golden/cases")))
    valid = [c for c in cases if os.path.exists(path("Tests/Golden/cases/%s/expected.rules" % c))]
    nft = [c for c in valid if os.path.exists(path("Tests/Golden/cases/%s/expected.nft" % c))]
    invalid = [c for c in os.listdir(path("Tests/Golden/invalid"))
               if os.path.isdir(path("Tests/Golden/invalid/" + c))]
    return len(valid), len(nft), len(invalid)


def kernel_case_counts():
    sys.path.insert(0, path("Tests/Kernel"))
    try:
        import cases  # noqa: E402  (Tests/Kernel/cases.py)
        names = [c.name for c in cases.all_cases()]
    finally:
        sys.path.pop(0)
    admin = sum(1 for n in names if n.startswith("anp/"))
    return len(names) - admin, admin


def sample_apply_counts(pc, tmp):
    sets = os.path.join(tmp, "sample.ipset")
    rules = run([pc, "compile", "--node", "node-a", "--ipset-out", sets, "samples/cluster"]).stdout
    chains = sum(1 for l in rules.splitlines() if l.startswith(":"))
    with open(sets) as f:
        nsets = sum(1 for l in f if l.startswith("swap "))
    return chains, nsets


def subcommands(pc):
    text = run([pc, "--help"]).stdout
    section = text.split("SUBCOMMANDS:", 1)[1]
    return re.findall(r"^  ([a-z][a-z-]*)\s", section, re.M)


def bench_counts(pc, workload, tmp):
    """rules, chains, sets, set entries per mode, counted as bench/run.sh counts them."""
    data = os.path.join(tmp, workload + ".yaml")
    run([sys.executable, "bench/gen.py", "--shape", workload, "--seed", "1", "--out", data])
    got = {}
    rules_file = os.path.join(tmp, workload + ".rules")
    run([pc, "compile", "--node", "node-0000", "-o", rules_file, data])
    got["rules"] = count_rules(rules_file) + ["n/a", "n/a"]
    sets_file = os.path.join(tmp, workload + ".ipset")
    run([pc, "compile", "--node", "node-0000", "-o", rules_file, "--ipset-out", sets_file, data])
    with open(sets_file) as f:
        lines = f.read().splitlines()
    got["ipset"] = count_rules(rules_file) + [
        str(sum(1 for l in lines if l.startswith("swap "))),
        str(sum(1 for l in lines if l.startswith("add ")))]
    p = run([pc, "compile", "--node", "node-0000", "--backend", "nft", "--verbose",
             "-o", os.path.join(tmp, workload + ".nft"), data])
    m = re.search(r"nft: (\d+) chains?\S*, (\d+) rules?\S*, (\d+) sets?\S*, (\d+) set elements?",
                  p.stderr)
    if not m:
        raise RuntimeError("no nft counts in policyc --verbose: %s" % p.stderr)
    chains, rules, sets, entries = m.groups()
    got["nft"] = [rules, chains, sets, entries]
    return got


def count_rules(rules_file):
    with open(rules_file) as f:
        lines = f.read().splitlines()
    return [str(sum(1 for l in lines if re.match(r"-[AI] ", l))),
            str(sum(1 for l in lines if l.startswith(":")))]


# ---------------------------------------------------------------------------------------------
# The checks


def check_counts(pc, tmp):
    rules = lint_rule_count(pc)
    claim("README.md", r"`policyc rules` lists the (\d+)\s+rules", rules, "lint rules")
    claim("docs/semantics.md", r"all (\d+) lint rules", rules, "lint rules")

    valid, nft, invalid = golden_counts()
    claim("README.md", r"`Tests/Golden`: (\d+) valid cases", valid, "valid golden cases")
    claim("README.md", r"\((\d+) of them\) its\s+exact `nft -f` file", nft, "golden nft files")
    claim("README.md", r"and\s+(\d+) invalid cases", invalid, "invalid golden cases")

    generated, admin = kernel_case_counts()
    claim("README.md", r"after each\s+step of\s+(\d+) generated conformance-style cases", generated,
          "generated kernel cases")
    claim("README.md", r"plus (\d+)\s+AdminNetworkPolicy cases", admin, "AdminNetworkPolicy kernel cases")

    def kinds(folder, kind):
        total = 0
        for dirpath, _, files in os.walk(path(folder)):
            for f in files:
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    total += len(re.findall(r"^kind: %s$" % kind, fh.read(), re.M))
        return total
    claim("samples/README.md", r"with (\d+) pods as", kinds("samples/cluster/pods", "Pod"), "sample pods")
    claim("samples/README.md", r"with (\d+) NetworkPolicies",
          kinds("samples/cluster/policies", "NetworkPolicy"), "sample policies")

    chains, nsets = sample_apply_counts(pc, tmp)
    claim("README.md", r"the first apply loads (\d+) chains", chains, "chains of the sample")
    claim("README.md", r"the first apply loads \d+ chains and (\d+) sets", nsets, "sets of the sample")

    prop = "Tests/PropertyTests/EmitterAgreementTests.swift"
    claim("README.md", r"on (\d+) random clusters",
          source_ints(prop, r"for round in 0\.\.<\((\d+) \* PropertySeed\.scale\)"), "random clusters")
    claim("README.md", r"applies (\d+) deliberate semantic mutations",
          len(re.findall(r"^run ", open(path("Tests/Mutants/run.sh"), encoding="utf-8").read(), re.M)),
          "mutations of make mutants")
    claim("README.md", r"\((\d+) rounds\)",
          source_ints("Tests/PropertyTests/InjectionPropertyTests.swift", r"for round in 0\.\.<(\d+)"),
          "injection rounds")
    regressions = len([f for f in os.listdir(path("Fuzz/regressions")) if not f.startswith(".")])
    claim("README.md", r"keeps the (\w+) inputs replayed first", regressions, "fuzz regressions")

    limits = "Sources/YAMLBridge/YAMLError.swift"
    claim("README.md", r"\| YAML nesting depth \| ([\d,]+) \|",
          source_ints(limits, r"maxDepth: Int = ([\d_]+)"), "maximum depth")
    claim("README.md", r"\| nodes aliases may add to one document \| ([\d,]+) \|",
          source_ints(limits, r"maxAliasNodes: Int = ([\d_]+)"), "alias nodes")
    claim("README.md", r"\| nodes in one document \| ([\d,]+) \|",
          source_ints(limits, r"maxNodes: Int = ([\d_]+)"), "nodes per document")
    claim("README.md", r"\| one scalar \| (\d+) MiB \|",
          source_ints(limits, r"maxScalarBytes: Int = (\d+) << 20"), "MiB per scalar")
    help_text = run([pc, "compile", "--help"]).stdout
    for flag, pat in (("--max-depth", r"maxDepth: Int = ([\d_]+)"),
                      ("--max-alias-nodes", r"maxAliasNodes: Int = ([\d_]+)")):
        m = re.search(re.escape(flag) + r" <[^>]*>\s+.*?\(default: (\d+)\)", help_text, re.S)
        if not m or int(m.group(1)) != source_ints(limits, pat):
            fail("policyc compile --help: %s default differs from %s" % (flag, limits))

    # Chain names: the longest name any golden rules file declares.
    longest = 0
    for case in os.listdir(path("Tests/Golden/cases")):
        rules_file = path("Tests/Golden/cases/%s/expected.rules" % case)
        if os.path.exists(rules_file):
            with open(rules_file) as f:
                longest = max([longest] + [len(m) for m in re.findall(r"^:(POLICYC-\S+)", f.read(), re.M)])
    claim("README.md", r"at most (\d+) of the 28 allowed characters", longest, "characters per chain name")
    emit = "Sources/RuleModel/EmitOptions.swift"
    claim("README.md", r"NFLOG keeps (\d+) bytes of prefix", source_ints(emit, r"\n    return (\d+)\n"),
          "bytes of NFLOG prefix")
    claim("README.md", r"NFLOG keeps \d+ bytes of prefix and LOG (\d+)",
          source_ints(emit, r"if case \.log = target \{ return (\d+) \}"), "bytes of LOG prefix")
    claim("README.md", r"ends in `~` and (\d+) characters of a hash",
          source_ints(emit, r"fnv1a\(whole\)\)\)\.prefix\((\d+)\)"), "hash characters of a cut prefix")
    claim("README.md", r"burst (\d+)\)\s+bounds each pod",
          source_ints("Sources/NftEmitter/NftTranslator.swift", r"burst (\d+) packets"), "log burst")
    claim("README.md", r"A set of up to (\w+)\s+elements becomes one rule per element",
          source_ints("Sources/NftEmitter/NftCompiler.swift", r"inlineLimit = (\d+)"), "inline set elements")
    claim("docs/rules-file-layout.md", r"A set of\s+up to (\w+) elements is written as one rule",
          source_ints("Sources/NftEmitter/NftCompiler.swift", r"inlineLimit = (\d+)"), "inline set elements")
    apply_tests = "Tests/Kernel/apply_tests.py"
    claim("README.md", r"at\s+1/hour, (\w+) denied packets log",
          source_ints(apply_tests, r"\)\] \* (\d+)\)"), "denied packets of the rate-limit check")
    claim("README.md", r"log exactly the burst of (\w+)",
          source_ints(apply_tests, r"if len\(entries\) != (\d+) "), "entries of the rate-limit check")

    hostile = "Tests/PropertyTests/HostileInputTests.swift"
    claim("README.md", r"([\d,]+) levels of `\[`",
          source_ints(hostile, r'String\(repeating: "\[", count: ([\d_]+)\)'), "levels of [")
    claim("README.md", r"a\s+(\d+) MB scalar", source_ints(hostile, r'UInt8\(ascii: "x"\), count: (\d+) << 20\)'),
          "MB of the big scalar")
    claim("README.md", r"a (\d+) MB line",
          source_ints(hostile, r'String\(repeating: "v", count: (\d+) << 20\)'), "MB of the long line")
    claim("README.md", r"([\d,]+) excepts, [\d,]+ selector expressions",
          source_ints(hostile, r"let excepts = \(0\.\.<([\d_]+)\)"), "excepts")
    claim("README.md", r"[\d,]+ excepts, ([\d,]+) selector expressions",
          source_ints(hostile, r"let expressions = \(0\.\.<([\d_]+)\)"), "selector expressions")

    admin_src = "Sources/PolicyModel/AdminDecoding.swift"
    claim("README.md", r"lowest `priority` first \(0-(\d+)\)",
          source_ints(admin_src, r"range: 0\.\.\.(\d+), rule: RuleID\.invalidAdminPolicy"), "highest ANP priority")
    claim("README.md", r"at most (\d+) rules and peers",
          source_ints(admin_src, r"too many (?:rules|peers): \\\(\w+\.count\), at most (\d+)"), "admin rules and peers")
    claim("README.md", r"at most \d+ rules and peers, (\d+) networks",
          source_ints(admin_src, r"\(1\.\.\.(\d+)\)\.contains\(items\.count\)"), "admin networks")


def gen_shapes():
    sys.path.insert(0, path("bench"))
    try:
        import gen  # noqa: E402  (bench/gen.py)
        return gen.SHAPES
    finally:
        sys.path.pop(0)


def table_cell(doc, workload, mode, column):
    """One cell of the results table of doc: column 9 rules, 10 chains, 11 sets, 12 entries."""
    for line in read(doc).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 13 and cells[0] == workload and cells[1] == mode:
            return number(cells[column])
    raise RuntimeError("%s: no table row %s %s" % (doc, workload, mode))


def check_bench_prose():
    """Shapes against bench/gen.py; numbers repeated in prose against the results table (whose
    counts check_bench_tables compares with policyc)."""
    shapes = gen_shapes()
    perf = "docs/performance.md"
    for w in ("w1", "w2", "w3"):
        for col, key in ((1, "namespaces"), (2, "pods"), (3, "policies"), (4, "nodes")):
            claim(perf, r"\| %s [a-z]+ \|%s ([\d,]+) \|" % (w.upper(), r" [\d,]+ \|" * (col - 1)),
                  shapes[w][key], "%s %s" % (w.upper(), key))
    claim(perf, r"W3\*\*: (\d+) pods per namespace", shapes["w3"]["pods"] // shapes["w3"]["namespaces"],
          "W3 pods per namespace")
    claim(perf, r"W3\*\*: \d+ pods per namespace, (\d+) policies per namespace",
          shapes["w3"]["policies"] // shapes["w3"]["namespaces"], "W3 policies per namespace")
    claim(perf, r"W2\*\* follows the real dump above: log-normal namespace sizes, (\d+)% empty",
          round(100 * float(re.search(r'empty_share = ([\d.]+) if shape == "w2"', read("bench/gen.py")).group(1))),
          "% empty W2 policies")
    claim(perf, r"ipBlocks with up to (\d+) CIDRs",
          max(int(k) for k in re.findall(r"\((\d+), \d+\)", re.search(
              r"n = g\.weighted\(\[((?:\(\d+, \d+\),? ?)+)\]\)", read("bench/gen.py")).group(1))),
          "CIDRs per W2 rule")
    claim("README.md", r"W1\s+([\d,]+) pods", shapes["w1"]["pods"], "W1 pods")
    claim("README.md", r"W2 ([\d,]+) pods", shapes["w2"]["pods"], "W2 pods")
    claim("README.md", r"W2 [\d,]+ pods and ([\d,]+) policies", shapes["w2"]["policies"], "W2 policies")
    claim("README.md", r"W3 ([\d,]+) pods in a", shapes["w3"]["pods"], "W3 pods")
    for doc in ("README.md", perf):
        claim(doc, r"gives the node ([\d,]+) rules", table_cell(perf, "w3", "ipset", 9), "W3 ipset rules")
        claim(doc, r"gives the node [\d,]+ rules and\s+([\d,]+)\s+sets", table_cell(perf, "w3", "ipset", 11),
              "W3 ipset sets")
    claim(perf, r"W2 plain-rules file below \(([\d,]+) rules\)", table_cell(perf, "w2", "rules", 9),
          "W2 rules")
    claim(perf, r"in ipset mode \(([\d,]+) rules\)", table_cell(perf, "w2", "ipset", 9), "W2 ipset rules")
    claim(perf, r"W2 gives ([\d,]+) sets in ipset mode", table_cell(perf, "w2", "ipset", 11), "W2 ipset sets")
    claim(perf, r"W2 gets ([\d,]+) sets", table_cell(perf, "w2", "nft", 11), "W2 nft sets")
    claim("README.md", r"file \(([\d,]+) rules, [\d,]+ sets", table_cell(perf, "w3", "nft", 9), "W3 nft rules")
    claim("README.md", r"file \([\d,]+ rules, ([\d,]+) sets", table_cell(perf, "w3", "nft", 11), "W3 nft sets")
    claim("README.md", r"sets, ([\d,]+) elements, both families", table_cell(perf, "w3", "nft", 12),
          "W3 nft elements")
    claim("README.md", r"ipset restore \(([\d,]+) sets\)", table_cell(perf, "w3", "ipset", 11), "W3 ipset sets")
    claim("README.md", r"on W2 \(([\d,]+) sets", table_cell(perf, "w2", "nft", 11), "W2 nft sets")
    claim("README.md", r"against ipset mode's ([\d,]+)\)", table_cell(perf, "w2", "ipset", 11), "W2 ipset sets")


def check_bench_tables(pc, workloads, tmp):
    """The rules/chains/sets/entries columns of every benchmark table row of `workloads`."""
    docs = ["docs/performance.md", "bench/README.md"]
    computed = {w: bench_counts(pc, w, tmp) for w in workloads}
    for doc in docs:
        if not os.path.exists(path(doc)):
            fail("%s: missing" % doc)
            continue
        rows = 0
        for n, line in enumerate(read(doc).splitlines(), 1):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 13 or cells[0] not in computed or cells[1] not in computed[cells[0]]:
                continue
            rows += 1
            stated = [c.replace(",", "") for c in cells[9:13]]
            want = computed[cells[0]][cells[1]]
            if stated != want:
                fail("%s:%d: %s %s states rules/chains/sets/entries %s, policyc gives %s"
                     % (doc, n, cells[0], cells[1], "/".join(stated), "/".join(want)))
        if rows == 0:
            fail("%s: no benchmark table row of %s found" % (doc, ", ".join(workloads)))


def check_outputs(pc):
    shows_output("README.md", [[pc, "explain", "--from", "frontend/web-7c9d8f6b5d-2xq9k", "--to",
                                "backend/api-6b8f9d7c4-4mzlp", "--port", "8000", "samples/cluster"]],
                 what="policyc explain (samples/cluster)")
    shows_output("README.md", [[pc, "matrix", "--port", "9090/TCP", "--port", "5432/TCP", "samples/admin"]],
                 what="policyc matrix (samples/admin)")
    shows_output("README.md", [
        [pc, "explain", "--from", "tenant-a/web", "--to", "tenant-a/db", "--port", "5432", "samples/admin"],
        [pc, "explain", "--from", "tenant-b/api", "--to", "tenant-a/web", "--port", "9090", "samples/admin"]],
        what="policyc explain (samples/admin)")
    shows_output("README.md", [[pc, "compile", "--node", "node-a", "samples/admin"]],
                 what="policyc compile --node node-a samples/admin")
    # The error example: a shell snippet, then what it prints on standard error.
    m = re.search(r"```sh\n(policyc compile - <<'EOF'\n.*?\nEOF\n)```\n\n```\n(.*?)```", read("README.md"), re.S)
    if not m:
        fail("README.md: the invalid-input example (policyc compile - <<'EOF' ...) is gone")
    else:
        env = dict(os.environ, PATH=os.path.dirname(pc) + os.pathsep + os.environ.get("PATH", ""))
        p = subprocess.run(["bash", "-c", m.group(1)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 2 or p.stdout or p.stderr.rstrip("\n") != m.group(2).rstrip("\n"):
            fail("README.md: the invalid-input example now exits %d and prints:\n%s%s"
                 % (p.returncode, p.stdout, p.stderr))
    # The lint example shows the command as a user types it.
    p = run([pc, "lint", "Tests/Golden/lint/cases/warnings-only"])
    out = "$ policyc lint Tests/Golden/lint/cases/warnings-only\n" + p.stdout + p.stderr
    if out.rstrip("\n") not in fenced_blocks("README.md"):
        fail("README.md: the lint example is not what policyc lint prints now:\n" + out)


def check_command_table(pc):
    text = read("README.md")
    table = re.search(r"## Commands\n(.*?)\n## ", text, re.S)
    if not table:
        fail("README.md: no ## Commands section")
        return
    listed = set(re.findall(r"^\| `policyc ([a-z-]+)", table.group(1), re.M))
    for cmd in subcommands(pc):
        if cmd not in listed:
            fail("README.md: the command table does not list `policyc %s`" % cmd)
    for cmd in listed - set(subcommands(pc)):
        fail("README.md: the command table lists `policyc %s`, which policyc does not have" % cmd)


def doc_files():
    files = ["README.md", "bench/README.md", "samples/README.md"]
    if os.path.isdir(path("docs")):
        files += ["docs/" + f for f in sorted(os.listdir(path("docs"))) if f.endswith(".md")]
    return files


def kubectl_commands(text):
    """(line number, command) for every `kubectl get` in text. A command continues over lines
    that end in a backslash or a pipe, as the shell reads it."""
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        first = n
        command = lines[n]
        while n + 1 < len(lines) and re.search(r"(\\|\|)\s*$", command):
            n += 1
            command = re.sub(r"\\\s*$", " ", command) + " " + lines[n].strip()
        n += 1
        for m in re.finditer(r"kubectl get\b(.*)", command):
            yield first + 1, command, m.group(1)


def kubectl_kinds(args):
    """The resource argument of `kubectl get ARGS`: the first word that is not a flag or a
    flag's value."""
    words = args.replace("`", " ").split()
    i = 0
    while i < len(words):
        w = words[i]
        if w == "|":
            return ""
        if w in ("-o", "--output", "-n", "--namespace", "-l", "--selector", "--context"):
            i += 2
            continue
        if w.startswith("-"):
            i += 1
            continue
        return w
    return ""


def check_kubectl_lines(pc, strict_help):
    texts = [(doc, read(doc)) for doc in doc_files()]
    helps = [(("policyc --help" if c is None else "policyc help " + c),
              run([pc, "--help"] if c is None else [pc, "help", c]).stdout)
             for c in [None] + subcommands(pc)]
    for where, text in texts + (helps if strict_help else []):
        for n, command, args in kubectl_commands(text):
            kinds = kubectl_kinds(args)
            if kinds == FULL_KINDS or FALLBACK_MARK in command:
                continue
            if "| policyc" not in command and "," not in kinds:
                continue  # one kind, not piped into policyc: how a file looks, not a feed
            fail("%s:%d: `kubectl get %s` does not fetch everything policyc reads (%s)"
                 % (where, n, kinds, FULL_KINDS))


def check_references(pc):
    """Every golden case, lint rule and source file docs/ names must exist."""
    rule_ids = {l.split()[0] for l in run([pc, "rules"]).stdout.splitlines() if l.strip()}
    folders = {"cases": "Tests/Golden/cases", "invalid": "Tests/Golden/invalid",
               "lint": "Tests/Golden/lint/cases"}
    swift_files = set()
    for top in ("Sources", "Tests"):
        for dirpath, _, files in os.walk(path(top)):
            swift_files.update(f for f in files if f.endswith(".swift"))
    for doc in [d for d in doc_files() if d.startswith("docs/")]:
        text = read(doc)
        named = 0
        for m in re.finditer(r"`(cases|invalid|lint)/([a-z0-9*-]+)`", text):
            named += 1
            pattern = re.compile("^" + re.escape(m.group(2)).replace(r"\*", ".*") + "$")
            if not any(pattern.match(d) for d in os.listdir(path(folders[m.group(1)]))):
                fail("%s: names golden case %s/%s, which does not exist" % (doc, m.group(1), m.group(2)))
        for m in re.finditer(r"`\[([a-z-]+)\]`", text):
            named += 1
            if m.group(1) not in rule_ids and m.group(1) != "rule-id":  # the legend
                fail("%s: names lint rule [%s], which `policyc rules` does not list" % (doc, m.group(1)))
        for m in re.finditer(r"`((?:Sources|Tests)/[^`\s]+)`", text):
            named += 1
            if not m.group(1).endswith("/NAME") and not os.path.exists(path(m.group(1))):
                fail("%s: names %s, which does not exist" % (doc, m.group(1)))
        for m in re.finditer(r"`([A-Za-z+]+\.swift)`", text):
            if m.group(1) not in swift_files:
                fail("%s: names %s, which no folder of Sources or Tests holds" % (doc, m.group(1)))
        if doc == "docs/semantics.md" and named < 50:
            fail("%s: names only %d cases, rules and files; the pattern may be broken" % (doc, named))


def check_self_contained():
    p = run(["git", "ls-files"], check=False)
    if p.returncode == 0:
        tracked = p.stdout.split()
    else:  # not a git checkout (an unpacked tarball): every file but build output
        tracked = []
        for dirpath, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not d.startswith((".build", ".git"))]
            tracked += [os.path.relpath(os.path.join(dirpath, f), ROOT) for f in files]
    for rel in tracked:
        if rel.startswith("Tests/Docs/"):
            continue
        try:
            with open(path(rel), encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                fail("%s:%d: refers to a path outside the repository: %s" % (rel, n, line.strip()))
    for doc in doc_files():
        for m in re.finditer(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(doc)):
            target = m.group(1)
            if re.match(r"[a-z]+://", target):
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(path(doc)), target))
            if not resolved.startswith(ROOT + os.sep) or not os.path.exists(resolved):
                fail("%s: link to %s does not resolve inside the repository" % (doc, target))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policyc", default=".build/debug/policyc")
    ap.add_argument("--bench", nargs="*", default=["w1"], choices=["w1", "w2", "w3"],
                    help="workloads whose benchmark-table counts are recomputed (default w1)")
    ap.add_argument("--strict-help", action="store_true",
                    help="also check the kubectl lines of policyc's own help")
    args = ap.parse_args()
    pc = os.path.abspath(os.path.join(ROOT, args.policyc))
    if not os.access(pc, os.X_OK):
        print("FAIL  policyc binary not found: %s (build it, or pass --policyc)" % pc)
        return 1
    with tempfile.TemporaryDirectory(prefix="policyc-docs-") as tmp:
        checks = [("counts", lambda: check_counts(pc, tmp)),
                  ("outputs", lambda: check_outputs(pc)),
                  ("benchmark prose", check_bench_prose),
                  ("command table", lambda: check_command_table(pc)),
                  ("kubectl lines", lambda: check_kubectl_lines(pc, args.strict_help)),
                  ("references in docs/", lambda: check_references(pc)),
                  ("self-contained", check_self_contained)]
        if args.bench:
            checks.append(("bench tables " + " ".join(args.bench),
                           lambda: check_bench_tables(pc, args.bench, tmp)))
        for name, fn in checks:
            before = len(failures)
            try:
                fn()
            except Exception as e:  # a broken check is a failure, never a pass
                fail("%s: %s: %s" % (name, type(e).__name__, e))
            print("%s  %s" % ("ok  " if len(failures) == before else "FAIL", name), flush=True)
    for f in failures:
        print("FAIL  " + f)
    print("docs-check: %d problem%s" % (len(failures), "" if len(failures) == 1 else "s"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

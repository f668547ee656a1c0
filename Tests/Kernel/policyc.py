"""Calling the policyc binary under test (compile, matrix, apply) and checking its contract.

Every contract violation (bad exit code, output that is not a restore file, matrix JSON of the
wrong shape) is raised as ContractError with the command and its output, so a failing case says
exactly which command misbehaved.
"""

import json
import os
import subprocess

from probe import PORT_KEYS


class ContractError(Exception):
    pass


def _describe(cmd, p):
    out = (p.stdout or "").strip()
    err = (p.stderr or "").strip()
    return "command: %s\nexit: %d\nstdout: %s\nstderr: %s" % (
        " ".join(cmd), p.returncode, out[:2000] or "(empty)", err[:2000] or "(empty)")


def _is_forward_jump(words):
    """`-I FORWARD 1 ... -j POLICYC-FORWARD` or `-A FORWARD ... -j POLICYC-FORWARD`."""
    return (words[0] in ("-I", "-A") and words[1] == "FORWARD"
            and words[-2:] == ["-j", "POLICYC-FORWARD"])


class Policyc:
    def __init__(self, path):
        self.path = path

    def run(self, args, netns=None, env=None, timeout=120):
        cmd = [self.path] + args
        if netns is not None:
            cmd = ["ip", "netns", "exec", netns.name] + cmd
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ContractError("could not run %s: %s" % (" ".join(cmd), e))
        return cmd, p

    def compile_nft(self, paths, node=None, deny=None):
        """The `nft -f` text of `compile --backend nft` (both families), checked by
        check_nft_file."""
        args = (["compile", "--backend", "nft"] + (["--node", node] if node else [])
                + (["--deny", deny] if deny else []) + list(paths))
        cmd, p = self.run(args)
        if p.returncode != 0:
            raise ContractError("policyc compile --backend nft failed\n" + _describe(cmd, p))
        check_nft_file(p.stdout, cmd)
        return p.stdout

    def compile(self, paths, node=None, ipset_out=None, family="ipv4", deny=None):
        """The restore text for one node (or all pods local when node is None). With ipset_out,
        peers live in sets written to that file (`--ipset-out`), checked by check_ipset_script."""
        args = (["compile"] + (["--node", node] if node else [])
                + (["--ipset-out", ipset_out] if ipset_out else [])
                + (["--family", family] if family != "ipv4" else [])
                + (["--deny", deny] if deny else []) + list(paths))
        cmd, p = self.run(args)
        if p.returncode != 0:
            raise ContractError("policyc compile failed\n" + _describe(cmd, p))
        if ipset_out:
            with open(ipset_out) as f:
                check_ipset_script(f.read(), cmd)
        text = p.stdout
        lines = [l for l in text.splitlines() if l.strip() and not l.startswith("#")]
        if not lines or lines[0] != "*filter" or lines[-1] != "COMMIT":
            raise ContractError("compile output is not a filter-table restore file "
                                "(must start with *filter and end with COMMIT)\n"
                                + _describe(cmd, p))
        for l in lines:
            if l.startswith(":") and not l.startswith(":POLICYC-"):
                raise ContractError("compile declares a chain without the POLICYC- prefix: %r\n%s"
                                    % (l, _describe(cmd, p)))
            words = l.split()
            if words[0] in ("-A", "-I", "-D", "-R", "-F", "-X", "-N", "-P", "-Z") and words[1:]:
                chain = words[1]
                if not chain.startswith("POLICYC-") and not _is_forward_jump(words):
                    raise ContractError("compile touches a non-POLICYC chain: %r\n%s"
                                        % (l, _describe(cmd, p)))
        return text

    def matrix(self, paths, endpoints_extra=(), family="ipv4", names=None, port_keys=PORT_KEYS):
        """Parsed reference verdict: (endpoints list, allowed set of (from, to, port)). `names`
        renames endpoints the matrix names by address (the external host's IPv6 address is
        reported under the name the tests use for it in both families). `port_keys` are the
        `--port` arguments (default: 80 and 81 of TCP, UDP and SCTP)."""
        args = ["matrix", "--format", "json"] + (["--family", family] if family != "ipv4" else [])
        for k in port_keys:
            args += ["--port", k]
        for e in endpoints_extra:
            args += ["--endpoint", e]
        args += list(paths)
        cmd, p = self.run(args)
        if p.returncode != 0:
            raise ContractError("policyc matrix failed\n" + _describe(cmd, p))
        try:
            doc = json.loads(p.stdout)
            endpoints = doc["endpoints"]
            ports = doc["ports"]
            allowed = {tuple(t) for t in doc["allowed"]}
            # Pods without an address (a Pending ghost) are endpoints of the analysis by name,
            # but nothing can send to or from them: the kernel is asked about the others only.
            absent = set(doc.get("withoutAddress", []))
        except (ValueError, KeyError, TypeError) as e:
            raise ContractError("matrix output is not the documented JSON (%s)\n%s"
                                % (e, _describe(cmd, p)))
        if not absent <= set(endpoints):
            raise ContractError("matrix withoutAddress names unknown endpoints %r\n%s"
                                % (sorted(absent - set(endpoints)), _describe(cmd, p)))
        endpoints = [e for e in endpoints if e not in absent]
        allowed = {t for t in allowed if t[0] not in absent and t[1] not in absent}
        if sorted(ports) != sorted(port_keys):
            raise ContractError("matrix ports %r differ from the requested %r\n%s"
                                % (ports, list(port_keys), _describe(cmd, p)))
        if names:
            endpoints = [names.get(e, e) for e in endpoints]
            allowed = {(names.get(a, a), names.get(b, b), p) for a, b, p in allowed}
        for t in allowed:
            if len(t) != 3 or t[0] not in endpoints or t[1] not in endpoints or t[2] not in ports:
                raise ContractError("matrix allowed entry %r names an unknown endpoint/port\n%s"
                                    % (list(t), _describe(cmd, p)))
        return endpoints, allowed

    def apply(self, paths, netns, node=None, dry_run=False, env=None, state=None, ipsets=False,
              full=False, verbose=False, family="ipv4", backend=None):
        args = (["apply"] + (["--node", node] if node else []) + (["--dry-run"] if dry_run else [])
                + (["--backend", backend] if backend else [])
                + (["--family", family] if family != "ipv4" else [])
                + (["--state", state] if state else []) + (["--ipsets"] if ipsets else [])
                + (["--full"] if full else []) + (["--verbose"] if verbose else []))
        return self.run(args + list(paths), netns=netns, env=env)


NFT_TOP_LEVEL = ["table inet policyc", "delete table inet policyc", "table inet policyc {"]


def check_nft_file(text, cmd):
    """An nft file that touches only `table inet policyc`: outside comments, its top level is
    exactly `table inet policyc`, `delete table inet policyc`, then one `table inet policyc {`
    block (everything else is inside it), and every comment fits nft's 128 bytes."""
    top = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith("\t"):
            top.append(line)
        if 'comment "' in line:
            comment = line.split('comment "', 1)[1].rsplit('"', 1)[0]
            if len(comment.encode()) > 128 or '"' in comment:
                raise ContractError("nft file line %d has a comment nft refuses: %r" % (n, line))
    if top != NFT_TOP_LEVEL + ["}"]:
        raise ContractError("nft file does not replace exactly table inet policyc: top level %r\n"
                            "command: %s" % (top[:8], " ".join(cmd)))


IPSET_WORDS = {"create", "flush", "add", "swap", "destroy"}


def check_ipset_script(text, cmd):
    """An `ipset restore` script that only touches POLICYC- sets with the five commands policyc
    uses, every set sized explicitly (maxelem)."""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split()
        if words[0] not in IPSET_WORDS or len(words) < 2 or not words[1].startswith("POLICYC-"):
            raise ContractError("ipset script line %d is not a POLICYC- set command: %r\n"
                                "command: %s" % (n, line, " ".join(cmd)))
        if words[0] == "swap" and (len(words) != 3 or not words[2].startswith("POLICYC-")):
            raise ContractError("ipset script line %d swaps with a foreign set: %r" % (n, line))
        if words[0] == "create" and "maxelem" not in words:
            raise ContractError("ipset script line %d creates a set without maxelem: %r"
                                % (n, line))


def find_binary(repo_root, given):
    path = given or os.path.join(repo_root, ".build", "debug", "policyc")
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd() if given else repo_root, path)
    return path

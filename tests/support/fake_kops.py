#!/usr/bin/env python3
"""fake_kops.py: a test stand-in for the `kops` CLI (AWS provider, kops 1.28+ behaviour).

What it is
    A single-file imitation of the handful of kops commands kops-wizard drives: `version`,
    `create cluster`, `create sshpublickey` (and the hidden `create secret sshpublickey`),
    `get clusters|instancegroups|sshpublickeys`, `update cluster`, `validate cluster`,
    `delete cluster|sshpublickey|secret` and `export kubeconfig`.

Why it exists
    The wizard's tests cannot run the real kops (no AWS here), but they must exercise the same
    output formats, exit codes and state-store side effects that kops-reference.md documents.
    So this stand-in
      * writes the cluster's objects into the REAL S3 state bucket (a moto server reached through
        AWS_ENDPOINT_URL), so teardown meets a bucket with object versions and delete markers;
      * keeps the "cloud" (ASGs, instances, VPC, ...) in $FAKE_KOPS_HOME/cloud.json instead of EC2;
      * reproduces kops's message texts, stdout/stderr placement, klog progress lines and
        Go tabwriter alignment, taken from the kops v1.36.2 sources;
      * records every invocation in $FAKE_KOPS_HOME/calls.jsonl so tests can assert which
        credentials, state store and cluster the wizard used;
      * has failure modes (FAKE_KOPS_FAIL_ONCE, FAKE_KOPS_VALIDATE, FAKE_KOPS_DELETE) so tests can
        cover retries, validation phases and stuck teardowns without waiting.

Configuration (environment): see tests/support/README.md. Only stdlib + boto3 are used; kubeconfig
and state-store YAML are handled by a small YAML subset reader/writer below.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import sys
import time

# Never let botocore probe the EC2 instance metadata service: it would add seconds per call on a
# machine without credentials, and the stand-in must stay fast.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

DEFAULT_VERSION = "1.36.2"
PLACEHOLDER_IP = "203.0.113.123"
ADMIN_DEFAULT_LIFETIME = 18 * 3600.0
FAKE_ACCOUNT_ID = "123456789012"  # moto's default account id
DEFAULT_MACHINE_TYPE = "t3.medium"
BASTION_MACHINE_TYPE = "t3.micro"
DEFAULT_IMAGE = "099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610"
MAX_SIMULATED_ATTEMPTS = 500  # hard cap for --wait loops (no real sleeping happens)
MAX_STUCK_DELETE_ROUNDS = 3  # FAKE_KOPS_DELETE=stuck prints at most this many retry rounds

STATE_ERROR = (
    "State Store: Required value: Please set the --state flag or export KOPS_STATE_STORE.\n"
    "For example, a valid value follows the format s3://<bucket>.\n"
    "You can find the supported stores in https://kops.sigs.k8s.io/state."
)
INVALID_STATE_ERROR = (
    "Unable to read state store.\n"
    "Please use a valid state store when setting --state or KOPS_STATE_STORE env var.\n"
    "For example, a valid value follows the format s3://<bucket>.\n"
    "Trailing slash will be trimmed."
)

AWS_REGIONS = {
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
    "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
    "sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-1",
    "us-west-2",
}

# Networking modes `kops create cluster --networking` accepts (kops 1.36), and the ones that were
# removed in some version (accepted before, "unknown networking mode" from then on).
NETWORKING_MODES = {
    "kubenet", "external", "cni", "kopeio-vxlan", "kopeio", "flannel", "flannel-vxlan",
    "flannel-udp", "calico", "kube-router", "amazonvpc", "amazon-vpc-routed-eni", "cilium",
    "cilium-etcd", "cilium-eni", "gcp", "gce", "kindnet",
}
REMOVED_NETWORKING = {"weave": (1, 28), "canal": (1, 34)}


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------

class KopsError(Exception):
    """An error kops prints as `Error: <msg>` on stderr (exit 1).

    usage: the cobra "use" line when the error happens before kops silences usage (flag parsing
    and argument validation), in which case cobra prints the usage text after the error.
    """

    def __init__(self, msg, usage=None):
        super().__init__(msg)
        self.msg = msg
        self.usage = usage


class FakeConfigError(Exception):
    """The stand-in itself is misconfigured (exit 2); never something real kops would print."""


# ----------------------------------------------------------------------------------------------
# Go-flavoured output helpers: klog lines, durations, tabwriter, encoding/json
# ----------------------------------------------------------------------------------------------

def out(text):
    sys.stdout.write(text)


def err(text):
    sys.stderr.write(text)


def klog(severity, where, msg):
    """Write a klog-formatted line to stderr, e.g. `I0822 10:00:00.000000   12345 file.go:1] msg`."""
    now = dt.datetime.now()
    err(f"{severity}{now:%m%d %H:%M:%S.%f} {os.getpid():7d} {where}] {msg}\n")


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([a-zµμ]*)")


def go_quote(s):
    return json.dumps(s, ensure_ascii=False)


def parse_duration(text):
    """Go's time.ParseDuration, returning seconds (float)."""
    s = text
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"time: invalid duration {go_quote(text)}")
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ValueError(f"time: invalid duration {go_quote(text)}")
        number, unit = m.group(1), m.group(2)
        if not unit:
            raise ValueError(f"time: missing unit in duration {go_quote(text)}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(text)}")
        total += float(number) * _DURATION_UNITS[unit]
        pos = m.end()
    return sign * total


def _fraction(value, unit):
    whole, frac = divmod(value, unit)
    if frac == 0:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def format_duration(seconds):
    """Go's time.Duration.String(): 18h -> "18h0m0s", 10s -> "10s", 0.5s -> "500ms"."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _fraction(rest, 10**9) + "s"
    if hours:
        text = f"{hours}h{minutes}m{text}"
    elif minutes:
        text = f"{minutes}m{text}"
    return sign + text


def tabwrite(rows, tabwidth=8, padding=1):
    """Render rows like kops's tables: Go text/tabwriter, minwidth 0, tabwidth 8, padding 1,
    padchar '\\t'. Every cell but the last of a line is padded with tabs to a common column width
    rounded up to a multiple of the tab width; the last cell is written as is."""
    if not rows:
        return ""
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell) + padding)
    lines = []
    for row in rows:
        parts = []
        for i, cell in enumerate(row):
            if i == len(row) - 1:
                parts.append(cell)
                continue
            cellw = (widths[i] + tabwidth - 1) // tabwidth * tabwidth
            parts.append(cell + "\t" * ((cellw - len(cell) + tabwidth - 1) // tabwidth))
        lines.append("".join(parts) + "\n")
    return "".join(lines)


def render_table(header, rows):
    """kops tables.Table.Render: header, then rows sorted by the columns in order."""
    return tabwrite([list(header)] + sorted(list(r) for r in rows))


def go_json(obj):
    """encoding/json.Marshal: compact, with Go's HTML-safe escapes."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def now_rfc3339():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_version(text):
    """"1.36.2" / "v1.30.0-beta.1" -> (1, 36, 2); raises ValueError."""
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise ValueError(text)
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def aws_id(prefix):
    """A realistic 17-hex-digit AWS resource id such as i-0a1b2c3d4e5f67890."""
    return f"{prefix}-0{secrets.token_hex(8)}"


def request_id():
    return secrets.token_hex(8).upper()


# ----------------------------------------------------------------------------------------------
# A small YAML subset (block maps/sequences, plain and quoted scalars, {} and []), enough for
# kubeconfig files and the objects this stand-in writes. JSON documents are accepted too.
# ----------------------------------------------------------------------------------------------

class YamlError(ValueError):
    pass


_YAML_RESERVED = {"", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"}
_YAML_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_/.+=@:-]*$")
_YAML_NUMBERISH = re.compile(r"^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$|^\d{4}-\d\d-\d\d")


def _yaml_scalar_out(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if (text.lower() in _YAML_RESERVED or _YAML_NUMBERISH.match(text) or not _YAML_PLAIN.match(text)
            or ": " in text or text.endswith(":")):
        return json.dumps(text, ensure_ascii=False)
    return text


def _yaml_inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar_out(value)


def _yaml_emit(obj, indent, lines):
    pad = " " * indent
    if isinstance(obj, dict):
        for key in sorted(obj):  # sigs.k8s.io/yaml sorts map keys
            value = obj[key]
            if isinstance(value, dict) and value:
                lines.append(f"{pad}{_yaml_scalar_out(key)}:")
                _yaml_emit(value, indent + 2, lines)
            elif isinstance(value, list) and value:
                lines.append(f"{pad}{_yaml_scalar_out(key)}:")
                _yaml_emit(value, indent, lines)  # Go style: sequences at the key's indent
            else:
                lines.append(f"{pad}{_yaml_scalar_out(key)}: {_yaml_inline(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub = []
                _yaml_emit(item, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                lines.extend(sub)
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}")
    else:
        lines.append(pad + _yaml_inline(obj))


def yaml_dump(obj):
    if isinstance(obj, (dict, list)) and not obj:
        return _yaml_inline(obj) + "\n"
    lines = []
    _yaml_emit(obj, 0, lines)
    return "\n".join(lines) + "\n"


def _yaml_scalar_in(text):
    s = text.strip()
    if s.startswith('"'):
        try:
            return json.loads(s)
        except ValueError as exc:
            raise YamlError(f"bad double-quoted scalar {s!r}") from exc
    if s.startswith("'"):
        if not s.endswith("'") or len(s) < 2:
            raise YamlError(f"bad single-quoted scalar {s!r}")
        return s[1:-1].replace("''", "'")
    if " #" in s:
        s = s.split(" #", 1)[0].rstrip()
    if s in ("{}", "[]"):
        return {} if s == "{}" else []
    if s.startswith("[") and s.endswith("]"):
        return [_yaml_scalar_in(p) for p in s[1:-1].split(",") if p.strip()]
    if s.startswith("{") and s.endswith("}"):
        result = {}
        for part in s[1:-1].split(","):
            if part.strip():
                k, _, v = part.partition(":")
                result[_yaml_scalar_in(k)] = _yaml_scalar_in(v)
        return result
    if s[:1] in ("|", ">", "&", "*", "!"):
        raise YamlError(f"unsupported YAML construct {s!r}")
    low = s.lower()
    if low in ("", "~", "null"):
        return None
    if low == "true":
        return True
    if low == "false":
        return False
    if re.fullmatch(r"[-+]?\d+", s):
        return int(s)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", s):
        return float(s)
    return s


# A plain key may hold a colon that no space follows (`kops-wizard:cluster: x`), as in YAML.
_YAML_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#'"](?:[^:]|:(?=\S))*?)\s*:(?:\s+(.*)|)$""")


def _yaml_is_seq(content):
    return content == "-" or content.startswith("- ")


def _yaml_parse_block(lines, i):
    indent, content = lines[i]
    if _yaml_is_seq(content):
        return _yaml_parse_seq(lines, i, indent)
    if _YAML_KEY.match(content):
        return _yaml_parse_map(lines, i, indent)
    return _yaml_scalar_in(content), i + 1


def _yaml_parse_seq(lines, i, indent):
    items = []
    while i < len(lines) and lines[i][0] == indent and _yaml_is_seq(lines[i][1]):
        content = lines[i][1]
        rest = content[1:].lstrip(" ")
        if not rest:
            if i + 1 < len(lines) and lines[i + 1][0] > indent:
                value, i = _yaml_parse_block(lines, i + 1)
            else:
                value, i = None, i + 1
        else:
            # "- key: v" starts a nested block whose column is where "key" starts.
            lines[i] = (indent + len(content) - len(rest), rest)
            value, i = _yaml_parse_block(lines, i)
        items.append(value)
    return items, i


def _yaml_parse_map(lines, i, indent):
    result = {}
    while i < len(lines) and lines[i][0] == indent and not _yaml_is_seq(lines[i][1]):
        m = _YAML_KEY.match(lines[i][1])
        if not m:
            raise YamlError(f"expected 'key: value', got {lines[i][1]!r}")
        key = _yaml_scalar_in(m.group(1))
        rest = m.group(2)
        i += 1
        if rest is None or rest.strip() == "" or rest.strip().startswith("#"):
            if i < len(lines) and lines[i][0] > indent:
                value, i = _yaml_parse_block(lines, i)
            elif i < len(lines) and lines[i][0] == indent and _yaml_is_seq(lines[i][1]):
                value, i = _yaml_parse_seq(lines, i, indent)
            else:
                value = None
        else:
            value = _yaml_scalar_in(rest)
        result[key] = value
    return result, i


def yaml_load(text):
    stripped = text.strip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise YamlError(str(exc)) from exc
    lines = []
    for raw in text.splitlines():
        body = raw.strip()
        if not body or body.startswith("#") or body in ("---", "..."):
            continue
        leading = raw[: len(raw) - len(raw.lstrip())]
        if "\t" in leading:
            raise YamlError("tabs are not allowed for indentation")
        lines.append((len(leading), body))
    if not lines:
        return None
    value, pos = _yaml_parse_block(lines, 0)
    if pos != len(lines):
        raise YamlError(f"unexpected content: {lines[pos][1]!r}")
    return value


# ----------------------------------------------------------------------------------------------
# pflag/cobra-style flag parsing
# ----------------------------------------------------------------------------------------------

class Flag:
    """One command-line flag. kind: bool | string | int | duration | slice.

    no_opt is pflag's NoOptDefVal: the value used when the flag is given without `=value`
    (true for booleans, 18h for --admin), which is why `--admin 87600h` leaves `87600h` behind
    as a positional argument, exactly as in kops.
    """

    def __init__(self, name, kind="string", short=None, default=None, no_opt=None, dest=None,
                 deprecated=None, min_version=None):
        self.name = name
        self.kind = kind
        self.short = short
        self.default = default if default is not None else ([] if kind == "slice" else
                                                            False if kind == "bool" else
                                                            0 if kind == "int" else
                                                            None if kind == "duration" else "")
        self.no_opt = "true" if kind == "bool" and no_opt is None else no_opt
        self.dest = dest or name
        self.deprecated = deprecated
        self.min_version = min_version

    def takes_value(self):
        return self.no_opt is None

    def display(self):
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


GLOBAL_FLAGS = [
    Flag("name"),
    Flag("state"),
    Flag("config"),
    Flag("v", short="v"),
    Flag("logtostderr", "bool"),
    Flag("alsologtostderr", "bool"),
    Flag("help", "bool", short="h"),
]


def _convert(flag, raw):
    def invalid(reason):
        return KopsError(f"invalid argument {go_quote(raw)} for {go_quote(flag.display())} flag: {reason}")

    if flag.kind == "bool":
        if raw in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if raw in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        raise invalid(f"strconv.ParseBool: parsing {go_quote(raw)}: invalid syntax")
    if flag.kind == "int":
        if not re.fullmatch(r"[-+]?\d+", raw):
            raise invalid(f"strconv.ParseInt: parsing {go_quote(raw)}: invalid syntax")
        return int(raw)
    if flag.kind == "duration":
        try:
            return parse_duration(raw)
        except ValueError as exc:
            raise invalid(str(exc)) from exc
    if flag.kind == "slice":
        return [p.strip() for p in raw.split(",")] if raw else []
    return raw


class ParsedArgs:
    def __init__(self, flags):
        self.values = {}
        self.changed = set()
        self.positionals = []
        for f in flags:
            self.values.setdefault(f.dest, f.default if not isinstance(f.default, list) else [])

    def get(self, name):
        return self.values.get(name)


def parse_flags(args, flags, usage, version):
    """Parse like spf13/pflag: interspersed positionals, --f=v, --f v, -s v, -sv, -abc, --."""
    by_name = {f.name: f for f in flags if f.min_version is None or version >= f.min_version}
    by_short = {f.short: f for f in by_name.values() if f.short}
    parsed = ParsedArgs(flags)

    def assign(flag, raw):
        value = _convert(flag, raw)
        if flag.kind == "slice" and flag.dest in parsed.changed:
            parsed.values[flag.dest] = parsed.values[flag.dest] + value
        else:
            parsed.values[flag.dest] = value
        parsed.changed.add(flag.dest)
        if flag.deprecated:
            err(f"Flag --{flag.name} has been deprecated, {flag.deprecated}\n")

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            parsed.positionals.extend(args[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            name, has_eq, value = arg[2:].partition("=")
            flag = by_name.get(name)
            if flag is None:
                raise KopsError(f"unknown flag: --{name}", usage)
            if not has_eq:
                if not flag.takes_value():
                    value = flag.no_opt
                elif i < len(args):
                    value = args[i]
                    i += 1
                else:
                    raise KopsError(f"flag needs an argument: --{name}", usage)
            assign(flag, value)
        elif arg.startswith("-") and len(arg) > 1:
            shorts = arg[1:]
            j = 0
            while j < len(shorts):
                flag = by_short.get(shorts[j])
                if flag is None:
                    raise KopsError(f"unknown shorthand flag: {shorts[j]!r} in -{shorts}", usage)
                rest = shorts[j + 1:]
                if rest.startswith("="):
                    assign(flag, rest[1:])
                    break
                if not flag.takes_value():
                    assign(flag, flag.no_opt)
                    j += 1
                    continue
                if rest:
                    assign(flag, rest)
                elif i < len(args):
                    assign(flag, args[i])
                    i += 1
                else:
                    raise KopsError(f"flag needs an argument: {shorts[j]!r} in -{shorts}", usage)
                break
        else:
            parsed.positionals.append(arg)
    return parsed


# ----------------------------------------------------------------------------------------------
# Settings of the stand-in itself (FAKE_KOPS_* variables)
# ----------------------------------------------------------------------------------------------

VERBS = ("create", "update", "validate", "delete")

# FAKE_KOPS_VALIDATE: the normal boot, a cluster that never gets ready, errors that waiting does
# not fix (each as kops words it), and output a wizard must not trust.
VALIDATE_ERRORS = {
    "unauthorized": lambda ctx: "unexpected error during validation: error listing nodes: Unauthorized",
    "expired-token": lambda ctx: (
        "unexpected error during validation: error listing nodes: operation error STS: "
        f"GetCallerIdentity, https response error StatusCode: 403, RequestID: {request_id()}, api "
        "error ExpiredToken: The security token included in the request is expired"),
    "access-denied": lambda ctx: (
        f"error reading cluster configuration: error reading {ctx.store_url}/{ctx.cluster}/config: "
        f"operation error S3: GetObject, https response error StatusCode: 403, RequestID: "
        f"{request_id()}, HostID: {secrets.token_hex(16)}, api error AccessDenied: Access Denied"),
    "no-cluster": lambda ctx: f"error reading cluster configuration: {not_found_error(ctx.cluster)}",
    "no-bucket": lambda ctx: (
        f"error reading cluster configuration: error reading {ctx.store_url}/{ctx.cluster}/config: "
        f"operation error S3: GetObject, https response error StatusCode: 404, RequestID: "
        f"{request_id()}, HostID: {secrets.token_hex(16)}, api error NoSuchBucket: The specified "
        "bucket does not exist"),
}
VALIDATE_OUTPUTS = ("garbage", "truncated-json", "empty", "silent-failure")
VALIDATE_MODES = ("normal", "never-ready", *VALIDATE_ERRORS, *VALIDATE_OUTPUTS)
HANG_SECONDS = 600


class Settings:
    def __init__(self, env):
        home = env.get("FAKE_KOPS_HOME", "")
        if not home:
            raise FakeConfigError("FAKE_KOPS_HOME must be set to a directory for the stand-in's state")
        self.home = os.path.abspath(home)
        os.makedirs(self.home, exist_ok=True)
        self.version = env.get("FAKE_KOPS_VERSION", "") or DEFAULT_VERSION
        try:
            self.version_tuple = parse_version(self.version)
        except ValueError as exc:
            raise FakeConfigError(f"FAKE_KOPS_VERSION={self.version!r} is not a version") from exc
        self.validate_mode = env.get("FAKE_KOPS_VALIDATE", "") or "normal"
        if self.validate_mode not in VALIDATE_MODES:
            raise FakeConfigError(f"FAKE_KOPS_VALIDATE must be one of {', '.join(VALIDATE_MODES)}")
        self.hang = {v.strip() for v in env.get("FAKE_KOPS_HANG", "").split(",") if v.strip()}
        unknown = self.hang - set(VERBS) - {"version", "get"}
        if unknown:
            raise FakeConfigError(f"FAKE_KOPS_HANG: unknown verb(s) {sorted(unknown)}")
        self.validate_steps = self._parse_steps(env.get("FAKE_KOPS_VALIDATE_STEPS", ""))
        self.delete_mode = env.get("FAKE_KOPS_DELETE", "") or "normal"
        if self.delete_mode not in ("normal", "stuck"):
            raise FakeConfigError("FAKE_KOPS_DELETE must be normal or stuck")
        self.fail_once = {v.strip() for v in env.get("FAKE_KOPS_FAIL_ONCE", "").split(",") if v.strip()}
        unknown = self.fail_once - set(VERBS)
        if unknown:
            raise FakeConfigError(f"FAKE_KOPS_FAIL_ONCE: unknown verb(s) {sorted(unknown)}; use {VERBS}")

    @staticmethod
    def _parse_steps(text):
        steps = {"unreachable": 1, "dns": 1, "joining": 1}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = part.partition("=")
            if key not in steps or not value.isdigit():
                raise FakeConfigError(f"FAKE_KOPS_VALIDATE_STEPS: bad entry {part!r} "
                                      "(expected unreachable=N,dns=N,joining=N)")
            steps[key] = int(value)
        return steps

    def path(self, name):
        return os.path.join(self.home, name)

    # The stand-in's own bookkeeping (validate attempt counters, fail-once markers).
    def load_state(self):
        return load_json(self.path("state.json"), {"validate_attempts": {}, "failed_once": []})

    def save_state(self, state):
        save_json(self.path("state.json"), state)


def load_json(path, default):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default


def save_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def maybe_fail_once(ctx, verb):
    """FAKE_KOPS_FAIL_ONCE: the first call of a listed verb fails; the marker in state.json makes
    later calls succeed. A verb missing from the variable clears its marker, so setting the
    variable again re-arms the failure."""
    state = ctx.settings.load_state()
    failed = set(state.get("failed_once", []))
    if verb not in ctx.settings.fail_once:
        if verb in failed:
            failed.discard(verb)
            state["failed_once"] = sorted(failed)
            ctx.settings.save_state(state)
        return
    if verb in failed:
        return
    failed.add(verb)
    state["failed_once"] = sorted(failed)
    ctx.settings.save_state(state)
    raise KopsError(FAIL_ONCE_MESSAGES[verb](ctx))


def _fail_create(ctx):
    store = ctx.store_url or "s3://state-store"
    return (f"error writing updated configuration: error writing Cluster {go_quote(ctx.cluster or '')}: "
            f"error writing {store}/{ctx.cluster}/config: operation error S3: PutObject, https response "
            f"error StatusCode: 503, RequestID: {request_id()}, HostID: {secrets.token_hex(16)}, "
            "api error SlowDown: Please reduce your request rate.")


def _fail_update(ctx):
    name = ctx.cluster
    return (f"error running tasks: deadline exceeded executing task LaunchTemplate/nodes.{name}. "
            "Example error: error creating LaunchTemplate: operation error EC2: CreateLaunchTemplate, "
            f"https response error StatusCode: 400, RequestID: {secrets.token_hex(16)}, api error "
            f"InvalidParameterValue: Value (nodes.{name}) for parameter iamInstanceProfile.name is "
            "invalid. Invalid IAM Instance Profile name")


def _fail_validate(ctx):
    return (f"validation failed: unexpected error during validation: error listing nodes: "
            f"Get \"https://api.{ctx.cluster}/api/v1/nodes\": net/http: TLS handshake timeout")


def _fail_delete(ctx):
    klog("I", "delete_cluster.go:143", "Looking for cloud resources to delete")
    region = ctx.env.get("AWS_REGION") or ctx.env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return (f"error listing SQS queues: operation error SQS: ListQueues, https response error "
            f"StatusCode: 403, RequestID: {secrets.token_hex(16)}, api error AccessDenied: User: "
            f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/kops is not authorized to perform: sqs:listqueues "
            f"on resource: arn:aws:sqs:{region}:{FAKE_ACCOUNT_ID}: because no identity-based policy "
            "allows the sqs:listqueues action")


FAIL_ONCE_MESSAGES = {"create": _fail_create, "update": _fail_update,
                      "validate": _fail_validate, "delete": _fail_delete}


# ----------------------------------------------------------------------------------------------
# The S3 state store (the real bucket on moto)
# ----------------------------------------------------------------------------------------------

def aws_error_text(service, operation, exc):
    """Format a botocore error the way aws-sdk-go-v2 errors read inside kops messages."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (f"operation error {service}: {operation}, get identity: get credentials: failed to "
                "refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: "
                "GetMetadata, request canceled, context deadline exceeded")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", "")
        if code == "404" and not message:
            code, message = "NotFound", "Not Found"
        elif code.isdigit():
            code, message = {"403": ("Forbidden", "Forbidden"), "404": ("NotFound", "Not Found")}.get(
                code, (code, message))
        return (f"operation error {service}: {operation}, https response error StatusCode: "
                f"{meta.get('HTTPStatusCode', 0)}, RequestID: {meta.get('RequestId', request_id())}, "
                f"api error {code}: {message}")
    return f"operation error {service}: {operation}, {exc}"


class StateStore:
    """kops's VFS clientset over S3: `s3://bucket[/prefix]`, one folder per cluster."""

    def __init__(self, url, env):
        self.url = url
        m = re.match(r"^s3://([^/]+)(?:/(.*))?$", url)
        if not m:
            if re.match(r"^[a-z0-9]+://", url):
                raise FakeConfigError(f"only s3:// state stores are simulated (got {url!r})")
            raise KopsError(f"State Store: Invalid value: {go_quote(url)}: {INVALID_STATE_ERROR}")
        self.bucket = m.group(1)
        self.prefix = (m.group(2) or "").strip("/")
        self.env = env
        self._client = None
        self._sse = None
        self._located = False

    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config
            endpoint = self.env.get("AWS_ENDPOINT_URL_S3") or self.env.get("AWS_ENDPOINT_URL") or None
            region = self.env.get("AWS_REGION") or self.env.get("AWS_DEFAULT_REGION") or "us-east-1"
            config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}) if endpoint \
                else Config(retries={"max_attempts": 2})
            self._client = boto3.session.Session().client(
                "s3", region_name=region, endpoint_url=endpoint, config=config)
        return self._client

    def key(self, cluster, rel=""):
        parts = [p for p in (self.prefix, cluster) if p]
        return "/".join(parts) + "/" + rel

    def path(self, cluster, rel=""):
        return f"s3://{self.bucket}/{self.key(cluster, rel)}"

    def _locate_bucket(self):
        """kops looks up the bucket's region first; a missing bucket fails here."""
        if self._located:
            return
        try:
            self.client().head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - any SDK failure becomes a kops-style error
            raise KopsError(f"getting location for bucket {go_quote(self.bucket)}: "
                            f"{aws_error_text('S3', 'HeadBucket', exc)}") from exc
        self._located = True

    def read(self, cluster, rel):
        """Returns the object's bytes, or None when it does not exist."""
        from botocore.exceptions import ClientError
        self._locate_bucket()
        try:
            resp = self.client().get_object(Bucket=self.bucket, Key=self.key(cluster, rel))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise KopsError(f"error reading {self.path(cluster, rel)}: "
                            f"{aws_error_text('S3', 'GetObject', exc)}") from exc
        except Exception as exc:  # noqa: BLE001
            raise KopsError(f"error reading {self.path(cluster, rel)}: "
                            f"{aws_error_text('S3', 'GetObject', exc)}") from exc
        return resp["Body"].read()

    def _server_side_encryption(self):
        """kops relies on the bucket's default encryption, else asks for SSE-S3 (AES256)."""
        if self._sse is None:
            try:
                self.client().get_bucket_encryption(Bucket=self.bucket)
                self._sse = {}
            except Exception:  # noqa: BLE001
                self._sse = {"ServerSideEncryption": "AES256"}
        return self._sse

    def write(self, cluster, rel, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._locate_bucket()
        try:
            self.client().put_object(Bucket=self.bucket, Key=self.key(cluster, rel), Body=data,
                                     **self._server_side_encryption())
        except Exception as exc:  # noqa: BLE001
            raise KopsError(f"error writing {self.path(cluster, rel)}: "
                            f"{aws_error_text('S3', 'PutObject', exc)}") from exc

    def _keys_under(self, prefix):
        """Every current key starting with `prefix`. The listing is asked for the part of the
        prefix before its first `/` (the bucket's whole top level when it has none) and filtered
        here: moto 5 with authentication on refuses a signed query value holding `/` or `:`
        (a ListObjectsV2 `prefix=N/instancegroup/`, a `delimiter=/`) with SignatureDoesNotMatch,
        although the signature is right (moto-notes.md). Real kops lists by the full prefix."""
        coarse = prefix.split("/", 1)[0] if "/" in prefix else prefix
        params = {"Bucket": self.bucket}
        if coarse:
            params["Prefix"] = coarse
        keys = []
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(**params):
            keys.extend(obj["Key"] for obj in page.get("Contents", [])
                        if obj["Key"].startswith(prefix))
        return keys

    def list(self, cluster, rel_prefix=""):
        """Relative keys of every object under the cluster's folder (current versions only)."""
        self._locate_bucket()
        base = self.key(cluster)
        try:
            keys = [k[len(base):] for k in self._keys_under(base + rel_prefix)]
        except Exception as exc:  # noqa: BLE001
            raise KopsError(f"error listing {self.path(cluster, rel_prefix)}: "
                            f"{aws_error_text('S3', 'ListObjectsV2', exc)}") from exc
        return sorted(keys)

    def list_clusters(self):
        """The folders at the store's root that hold a `config` (kops's cluster list), found
        from the keys themselves rather than with a `/` delimiter (see `_keys_under`)."""
        self._locate_bucket()
        root = self.prefix + "/" if self.prefix else ""
        names = set()
        try:
            for key in self._keys_under(root):
                rest = key[len(root):]
                if "/" in rest:
                    names.add(rest.split("/", 1)[0])
        except Exception as exc:  # noqa: BLE001
            raise KopsError(f"error listing s3://{self.bucket}/{root}: "
                            f"{aws_error_text('S3', 'ListObjectsV2', exc)}") from exc
        return [n for n in sorted(names) if self.read(n, "config") is not None]

    def delete(self, cluster, rel):
        """A plain DeleteObject (no version id): a versioned bucket keeps the old versions and
        gets a delete marker, exactly what teardown has to clean up after kops."""
        try:
            self.client().delete_object(Bucket=self.bucket, Key=self.key(cluster, rel))
        except Exception as exc:  # noqa: BLE001
            raise KopsError(f"error deleting {self.path(cluster, rel)}: "
                            f"{aws_error_text('S3', 'DeleteObject', exc)}") from exc


# ----------------------------------------------------------------------------------------------
# Cluster and instance-group objects (kops.k8s.io/v1alpha2, as stored in the state store)
# ----------------------------------------------------------------------------------------------

def not_found_error(name):
    return f"Cluster.kops.k8s.io {go_quote(name)} not found"


def load_cluster(store, name):
    """The cluster object, or None when `<name>/config` does not exist."""
    data = store.read(name, "config")
    if data is None:
        return None
    try:
        obj = yaml_load(data.decode("utf-8"))
    except (YamlError, UnicodeDecodeError) as exc:
        raise KopsError(f"error reading cluster configuration {go_quote(name)}: error parsing "
                        f"{store.path(name, 'config')}: {exc}") from exc
    if not isinstance(obj, dict) or obj.get("kind") != "Cluster":
        raise KopsError(f"error reading cluster configuration {go_quote(name)}: "
                        f"{store.path(name, 'config')} is not a Cluster object")
    return obj


def get_cluster(store, name):
    """cmd/kops GetCluster: the wrapper most commands use."""
    if not name:
        raise KopsError("clusterName: Required value: Cluster name is required")
    try:
        cluster = load_cluster(store, name)
    except KopsError as exc:
        raise KopsError(f"error reading cluster configuration: {exc.msg}") from exc
    if cluster is None:
        raise KopsError(f"error reading cluster configuration: {not_found_error(name)}")
    return cluster


def load_instance_groups(store, cluster_name):
    groups = []
    for rel in store.list(cluster_name, "instancegroup/"):
        data = store.read(cluster_name, rel)
        if data is None:
            continue
        obj = yaml_load(data.decode("utf-8"))
        if isinstance(obj, dict) and obj.get("kind") == "InstanceGroup":
            groups.append(obj)
    return sorted(groups, key=lambda g: g["metadata"]["name"])


def cluster_subnets(cluster):
    return cluster.get("spec", {}).get("subnets") or []


def cluster_zones(cluster):
    return sorted({s["zone"] for s in cluster_subnets(cluster) if s.get("zone")})


def cluster_region(cluster):
    zones = cluster_zones(cluster)
    return zones[0][:-1] if zones else "us-east-1"


def cluster_dns_type(cluster):
    return (((cluster.get("spec") or {}).get("topology") or {}).get("dns") or {}).get("type", "Public")


def cluster_is_private(cluster):
    return any(s.get("type") == "Private" for s in cluster_subnets(cluster))


def ig_name(ig):
    return ig["metadata"]["name"]


def ig_role(ig):
    return ig["spec"]["role"]


def ig_size(ig):
    return int(ig["spec"].get("minSize") or 0)


def ig_zones(cluster, ig):
    by_name = {s["name"]: s.get("zone", "") for s in cluster_subnets(cluster)}
    return sorted({by_name.get(s, s) for s in ig["spec"].get("subnets", [])})


def ig_json(ig):
    """The InstanceGroup as `kops get ig -o json` prints it (Go struct field order)."""
    spec = ig["spec"]
    ordered_spec = {k: spec[k] for k in ("role", "image", "minSize", "maxSize", "machineType",
                                         "subnets", "nodeLabels", "instanceMetadata") if k in spec}
    ordered_spec.update({k: v for k, v in spec.items() if k not in ordered_spec})
    meta = ig["metadata"]
    return {"apiVersion": ig.get("apiVersion", "kops.k8s.io/v1alpha2"), "kind": "InstanceGroup",
            "metadata": {"name": meta["name"], "creationTimestamp": meta.get("creationTimestamp"),
                         "labels": meta.get("labels", {})},
            "spec": ordered_spec}


def ig_internal_json(ig):
    """The internal (unversioned) InstanceGroup embedded in validation failures: no TypeMeta."""
    obj = ig_json(ig)
    return {"metadata": obj["metadata"], "spec": obj["spec"]}


def resource_name32(cluster_name, prefix):
    """Like awsup.GetResourceName32: AWS names for NLBs/target groups are limited to 32 chars."""
    s = prefix + "-" + cluster_name.replace(".", "-")
    digest = hashlib.sha256(s.encode()).hexdigest()[:6]
    return (s[:25].rstrip("-") if len(s) > 25 else s) + "-" + digest


def uses_api_load_balancer(cluster):
    return bool(((cluster.get("spec") or {}).get("api") or {}).get("loadBalancer"))


# ----------------------------------------------------------------------------------------------
# The fake cloud (cloud.json): what `update cluster --yes` "created" on AWS
# ----------------------------------------------------------------------------------------------

def real_cloud(env):
    """Whether the cloud is made for real: an AWS endpoint (moto) is configured."""
    return bool(env.get("AWS_ENDPOINT_URL"))


def load_cloud(settings):
    return load_json(settings.path("cloud.json"), {})


def save_cloud(settings, cloud):
    save_json(settings.path("cloud.json"), cloud)


def _asg_name(cluster_name, ig):
    if ig_role(ig) == "ControlPlane":
        return f"{ig_name(ig)}.masters.{cluster_name}"
    return f"{ig_name(ig)}.{cluster_name}"


def build_cloud_resources(cluster, igs, ssh_fingerprint):
    """The AWS resources kops creates for this cluster, named as kops names and tags them."""
    name = cluster["metadata"]["name"]
    region = cluster_region(cluster)
    private = cluster_is_private(cluster)
    res = []

    def add(rtype, rname, rid=None, **extra):
        item = {"type": rtype, "name": rname, "id": rid or rname}
        item.update(extra)
        res.append(item)

    for ig in igs:
        asg = _asg_name(name, ig)
        # What the launch template holds: an instance started from another one needs updating.
        spec = {"machineType": ig["spec"].get("machineType", DEFAULT_MACHINE_TYPE),
                "image": ig["spec"].get("image", ""),
                "kubernetesVersion": cluster["spec"].get("kubernetesVersion", "")}
        add("autoscaling-group", asg, instanceGroup=ig_name(ig), applied=spec,
            minSize=ig_size(ig), maxSize=int(ig["spec"].get("maxSize") or 0))
        for _ in range(ig_size(ig)):
            add("instance", asg, aws_id("i"), instanceGroup=ig_name(ig),
                zone=(ig_zones(cluster, ig) or [region + "a"])[0], launch=dict(spec),
                machineType=spec["machineType"])
        if ig_role(ig) == "ControlPlane":
            member = ig_name(ig)[len("control-plane-"):]
            member = member[len(region):] if member.startswith(region) else member
            for etcd in ("main", "events"):
                add("volume", f"{member}.etcd-{etcd}.{name}", aws_id("vol"))
    if ssh_fingerprint:
        key_name = f"kubernetes.{name}-{ssh_fingerprint}"
        add("keypair", key_name)
    add("vpc", name, aws_id("vpc"))
    add("dhcp-options", name, aws_id("dopt"))
    add("internet-gateway", name, aws_id("igw"))
    add("route-table", name, aws_id("rtb"))
    for subnet in cluster_subnets(cluster):
        add("subnet", f"{subnet['name']}.{name}", aws_id("subnet"))
        if private and subnet.get("type") == "Private":
            add("route-table", f"private-{subnet['zone']}.{name}", aws_id("rtb"))
            add("nat-gateway", f"{subnet['zone']}.{name}", aws_id("nat"))
            add("elastic-ip", f"{subnet['zone']}.{name}", aws_id("eipalloc"))
    add("security-group", f"masters.{name}", aws_id("sg"))
    add("security-group", f"nodes.{name}", aws_id("sg"))
    if uses_api_load_balancer(cluster):
        add("security-group", f"api-elb.{name}", aws_id("sg"))
        add("load-balancer", resource_name32(name, "api"), dnsName=(
            f"{resource_name32(name, 'api')}-{secrets.token_hex(8)}.elb.{region}.amazonaws.com"))
        add("target-group", resource_name32(name, "tcp"))
    roles = ["masters", "nodes"] + (["bastions"] if any(ig_role(g) == "Bastion" for g in igs) else [])
    if "bastions" in roles:
        add("security-group", f"bastion.{name}", aws_id("sg"))
    for role in roles:
        add("iam-role", f"{role}.{name}")
        add("iam-instance-profile", f"{role}.{name}")
    queue = name.replace(".", "-")[:75] + "-nth"
    add("sqs", f"https://sqs.{region}.amazonaws.com/{FAKE_ACCOUNT_ID}/{queue}")
    for event in ("ASGLifecycle", "InstanceScheduledChange", "InstanceStateChange", "SpotInterruption"):
        add("eventbridge-rule", f"{name[:40]}-{event}")
    return res


def api_server_url(cluster, resources):
    name = cluster["metadata"]["name"]
    if cluster_dns_type(cluster) == "None":
        for r in resources or []:
            if r["type"] == "load-balancer" and r.get("dnsName"):
                return "https://" + r["dnsName"]
    return f"https://api.{name}"


# ----------------------------------------------------------------------------------------------
# kubeconfig (KUBECONFIG or ~/.kube/config), written like client-go writes it
# ----------------------------------------------------------------------------------------------

def kubeconfig_path(env):
    paths = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if paths:
        return paths[0]
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".kube", "config")


def load_kubeconfig(path):
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    try:
        data = yaml_load(text)
    except YamlError as exc:
        raise KopsError(f"error loading kubeconfig: {path}: {exc}") from exc
    if data is None:
        return None
    if not isinstance(data, dict):
        raise KopsError(f"error loading kubeconfig: {path}: not a kubeconfig object")
    return data


def _named(entries, name):
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def _upsert(config, section, name, body_key, body):
    entries = config.setdefault(section, []) or []
    config[section] = entries
    entry = _named(entries, name)
    if entry is None:
        entries.append({"name": name, body_key: body})
    else:
        entry[body_key] = body


def kubeconfig_has_context(env, name):
    config = load_kubeconfig(kubeconfig_path(env)) or {}
    return _named(config.get("contexts"), name) is not None


def fake_pem(kind, text):
    body = base64.b64encode(text.encode()).decode()
    pem = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"
    return base64.b64encode(pem.encode()).decode()


def fake_api(env):
    """The fake Kubernetes API the tests run (fake_k8s.py), if one wrote its server.json:
    its URL, and its CA, client certificate and key as kubeconfig data."""
    k8s = os.path.join(env.get("FAKE_KOPS_HOME", ""), "k8s")
    try:
        with open(os.path.join(k8s, "server.json"), encoding="utf-8") as fh:
            server = json.load(fh)
        data = {}
        for field, file in (("ca", "ca.crt"), ("cert", "client.crt"), ("key", "client.key")):
            with open(os.path.join(k8s, file), "rb") as fh:
                data[field] = base64.b64encode(fh.read()).decode()
    except (OSError, ValueError):
        return None
    return dict(data, api=server["api"])


def mint_admin(k8s_dir, seconds):
    """A client certificate of its own for this export, signed by the fake API's CA, as kops
    mints one per `--admin`: the fake API answers 401 once its lifetime (`seconds`) has passed
    (its k8s/issued.json says when), or when a test has revoked it (k8s/revoked)."""
    import datetime as _dt
    import fcntl
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    with open(os.path.join(k8s_dir, "ca.crt"), "rb") as fh:
        ca = x509.load_pem_x509_certificate(fh.read())
    with open(os.path.join(k8s_dir, "ca.key"), "rb") as fh:
        ca_key = serialization.load_pem_private_key(fh.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    start = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(minutes=5)
    serial = x509.random_serial_number()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(serial).not_valid_before(start)
            .not_valid_after(start + _dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    issued = os.path.join(k8s_dir, "issued.json")
    with open(issued + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = load_json(issued, {})
        table[str(serial)] = time.time() + seconds
        save_json(issued, table)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return base64.b64encode(pem).decode(), base64.b64encode(pkcs8).decode()


def write_kubeconfig(env, path, cluster, resources, admin_seconds):
    """Merge the cluster, (admin user) and context named after the cluster; make it current."""
    name = cluster["metadata"]["name"]
    config = load_kubeconfig(path) or {}
    config.setdefault("apiVersion", "v1")
    config.setdefault("kind", "Config")
    config.setdefault("preferences", {})
    cluster_entry = _named(config.get("clusters"), name)
    body = dict(cluster_entry["cluster"]) if cluster_entry and isinstance(cluster_entry.get("cluster"), dict) else {}
    api = fake_api(env)
    if api:
        # The fake Kubernetes API of the tests (fake_k8s.py): its CA, and this cluster's path.
        body.pop("tls-server-name", None)
        body.update({"certificate-authority-data": api["ca"], "server": f"{api['api']}/clusters/{name}"})
    else:
        body.update({"certificate-authority-data": fake_pem("CERTIFICATE", f"fake-kops kubernetes-ca {name}"),
                     "server": api_server_url(cluster, resources),
                     "tls-server-name": f"api.internal.{name}"})
    _upsert(config, "clusters", name, "cluster", body)
    context_entry = _named(config.get("contexts"), name)
    ctx_body = dict(context_entry["context"]) if context_entry and isinstance(context_entry.get("context"), dict) else {}
    ctx_body["cluster"] = name
    if admin_seconds:
        expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=admin_seconds)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        user = {"client-certificate-data": fake_pem(
                    "CERTIFICATE", f"fake-kops admin user for {name}; lifetime={format_duration(admin_seconds)}; "
                                   f"expires={expires}"),
                "client-key-data": fake_pem("RSA PRIVATE KEY", f"fake-kops admin key for {name}")}
        if api:
            k8s = os.path.join(env.get("FAKE_KOPS_HOME", ""), "k8s")
            if os.path.exists(os.path.join(k8s, "ca.key")):
                cert, key = mint_admin(k8s, admin_seconds)
            else:
                cert, key = api["cert"], api["key"]
            user = {"client-certificate-data": cert, "client-key-data": key}
        _upsert(config, "users", name, "user", user)
        ctx_body["user"] = name
    _upsert(config, "contexts", name, "context", ctx_body)
    config["current-context"] = name
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(yaml_dump(config))
    os.chmod(path, 0o600)
    out(f"kOps has set your kubectl context to {name}\n")


def delete_kubeconfig(env, name):
    """pkg/kubeconfig DeleteKubeConfig: drop cluster, users and context; report when non-empty."""
    path = kubeconfig_path(env)
    config = load_kubeconfig(path)
    if not config or not any(config.get(k) for k in ("clusters", "contexts", "users", "current-context")):
        return
    config["clusters"] = [c for c in config.get("clusters") or [] if c.get("name") != name]
    config["users"] = [u for u in config.get("users") or []
                       if u.get("name") not in (name, f"{name}-basic-auth")]
    config["contexts"] = [c for c in config.get("contexts") or [] if c.get("name") != name]
    if config.get("current-context") == name:
        config["current-context"] = ""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(yaml_dump(config))
    out(f"Deleted kubectl config for {name}\n")


def cluster_from_kubeconfig(env, verbose):
    """RootCmd.ClusterName fallback: the current kubectl context's cluster."""
    try:
        config = load_kubeconfig(kubeconfig_path(env)) or {}
    except KopsError:
        return ""
    current = config.get("current-context") or ""
    if not current:
        if verbose:
            klog("W", "root.go:319", "no context set in kubecfg")
        return ""
    context = _named(config.get("contexts"), current)
    cluster = ((context or {}).get("context") or {}).get("cluster", "")
    if cluster and verbose:
        err(f"Using cluster from kubectl context: {cluster}\n\n")
    return cluster


# ----------------------------------------------------------------------------------------------
# SSH public keys
# ----------------------------------------------------------------------------------------------

SSH_KEY_TYPES = {"ssh-rsa", "ssh-ed25519", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
                 "sk-ecdsa-sha2-nistp256@openssh.com"}


def ssh_fingerprint(pubkey):
    """kops's id for a key: the colon-separated MD5 of the key blob."""
    for line in pubkey.strip().splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] in SSH_KEY_TYPES:
            try:
                blob = base64.b64decode(fields[1], validate=True)
            except (binascii.Error, ValueError):
                break
            # The blob starts with the key type as an SSH string; a mismatch is not a key.
            if len(blob) < 4 or blob[4:4 + int.from_bytes(blob[:4], "big")].decode("latin-1") != fields[0]:
                break
            digest = hashlib.md5(blob).hexdigest()
            return ":".join(digest[i:i + 2] for i in range(0, 32, 2))
    raise KopsError("error parsing SSH public key: ssh: no key found")


def read_local_file(path):
    try:
        with open(os.path.expanduser(path), "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise KopsError(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise KopsError(f"read {path}: is a directory") from None
    except PermissionError:
        raise KopsError(f"open {path}: permission denied") from None


def add_ssh_key(store, cluster_name, data):
    try:
        fp = ssh_fingerprint(data.decode("utf-8", "replace"))
    except KopsError as exc:
        raise KopsError(f"error adding SSH public key: error fingerprinting SSH public key: {exc.msg}") from exc
    store.write(cluster_name, "pki/ssh/public/admin/" + fp.replace(":", ""), data)
    return fp


def list_ssh_keys(store, cluster_name):
    keys = []
    for rel in store.list(cluster_name, "pki/ssh/public/admin/"):
        data = store.read(cluster_name, rel)
        if data is None:
            continue
        text = data.decode("utf-8", "replace").strip()
        try:
            fp = ssh_fingerprint(text)
        except KopsError:
            klog("W", "get_sshpublickeys.go:96", "unable to compute fingerprint for public key")
            fp = ""
        keys.append({"id": fp, "publicKey": text, "rel": rel})
    return keys


# ----------------------------------------------------------------------------------------------
# Invocation context and command routing
# ----------------------------------------------------------------------------------------------

class Context:
    def __init__(self, settings, env, argv):
        self.settings = settings
        self.env = env
        self.argv = argv
        self.args = None
        self.cluster = None
        self.store_url = None
        self._store = None

    @property
    def version(self):
        return self.settings.version_tuple

    def store(self):
        """f.KopsClient(): the state store from --state or KOPS_STATE_STORE."""
        if self._store is None:
            if not self.store_url:
                raise KopsError(STATE_ERROR)
            self._store = StateStore(self.store_url, self.env)
        return self._store


def resolve_state_store(args, env):
    value = args.get("state") if "state" in args.changed else env.get("KOPS_STATE_STORE", "")
    value = (value or "").rstrip("/")
    return value or None


def name_flag(args, env):
    """`--name`, whose default is KOPS_CLUSTER_NAME (so the variable counts as the flag)."""
    return args.get("name") if "name" in args.changed else env.get("KOPS_CLUSTER_NAME", "")


def process_cluster_args(ctx, usage, kubeconfig_fallback, verbose=True):
    """RootCmd.ProcessArgs + clusterNameArgs: one optional positional cluster name, which must not
    be combined with --name (or KOPS_CLUSTER_NAME, the flag's default)."""
    args = ctx.args.positionals
    name = name_flag(ctx.args, ctx.env)
    if len(args) == 1 and not name:
        name = args[0]
    elif args:
        if verbose:
            lines = ["", "Found multiple arguments which look like a cluster name"]
            if name:
                lines.append(f"\t{go_quote(name)} (via flag)")
            lines += [f"\t{go_quote(a)} (as argument)" for a in args]
            lines += ["", "This often happens if you specify an argument to a boolean flag without using =",
                      "For example: use `--bastion=true` or `--bastion`, not `--bastion true`", "", ""]
            out("\n".join(lines))
        if len(args) == 1:
            raise KopsError("cannot specify cluster via --name and positional argument", usage)
        raise KopsError("expected a single <clustername> to be passed as an argument", usage)
    if not name and kubeconfig_fallback:
        name = cluster_from_kubeconfig(ctx.env, verbose)
    if not name:
        raise KopsError("--name is required", usage)
    return name


class Command:
    def __init__(self, path, use, handler, flags, verb=None, resolve=None):
        self.path = path
        self.use = use
        self.handler = handler
        self.flags = flags
        self.verb = verb
        # resolve(ctx) -> cluster name for calls.jsonl (silent, never raises)
        self.resolve = resolve


def _silent_cluster(kubeconfig_fallback):
    def resolve(ctx):
        try:
            return process_cluster_args(ctx, None, kubeconfig_fallback, verbose=False)
        except KopsError:
            return name_flag(ctx.args, ctx.env) or None
    return resolve


def _flag_only_cluster(ctx):
    return name_flag(ctx.args, ctx.env) or None


def _get_clusters_resolve(ctx):
    if ctx.args.positionals:
        return ctx.args.positionals[0]
    return name_flag(ctx.args, ctx.env) or None


# ----------------------------------------------------------------------------------------------
# kops version
# ----------------------------------------------------------------------------------------------

def cmd_version(ctx):
    version = ctx.settings.version
    if ctx.args.get("short"):
        out(f"{version}\n")
    else:
        out(f"Client version: {version} (git-v{version})\n")
    if ctx.args.get("server"):
        server = "could not fetch cluster"
        name = name_flag(ctx.args, ctx.env) or cluster_from_kubeconfig(ctx.env, True)
        try:
            get_cluster(ctx.store(), name)
            data = ctx.store().read(name, "kops-version.txt")
            server = data.decode().strip() if data else "no version found"
        except KopsError:
            pass
        out(f"{server}\n" if ctx.args.get("short") else f"Last applied server version: {server}\n")


# ----------------------------------------------------------------------------------------------
# kops create cluster
# ----------------------------------------------------------------------------------------------

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
                "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def aggregate(errors):
    """k8s utilerrors.NewAggregate(...).Error()."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def validate_cluster_name(name, dns_type):
    if len(name) > 253 or not _DNS1123.match(name):
        raise KopsError(aggregate([
            f"metadata.name: Invalid value: {go_quote(name)}: {_DNS1123_MSG}",
            f"objectMeta.name: Invalid value: {go_quote(name)}: Cluster Name must be a valid DNS name "
            f"(e.g. --name=mycluster.myzone.com) errors: {_DNS1123_MSG}"]))
    if "." not in name and dns_type != "None":
        raise KopsError(f"objectMeta.name: Invalid value: {go_quote(name)}: Cluster Name must be a "
                        "fully-qualified DNS name (e.g. --name=mycluster.myzone.com)")


def check_networking(mode, version):
    removed_in = REMOVED_NETWORKING.get(mode)
    if removed_in is not None:
        if version[:2] >= removed_in:
            raise KopsError(f"unknown networking mode {go_quote(mode)}")
        return
    if mode not in NETWORKING_MODES and mode != "":
        raise KopsError(f"unknown networking mode {go_quote(mode)}")


def networking_spec(mode):
    mode = mode or "cilium"
    if mode.startswith("cilium"):
        spec = {"cilium": {"enableNodePort": True}}
        if mode == "cilium-eni":
            spec["cilium"]["ipam"] = "eni"
        return spec
    if mode.startswith("flannel"):
        return {"flannel": {"backend": "udp" if mode == "flannel-udp" else "vxlan"}}
    if mode in ("amazonvpc", "amazon-vpc-routed-eni"):
        return {"amazonvpc": {}}
    if mode in ("kopeio", "kopeio-vxlan"):
        return {"kopeio": {}}
    if mode in ("gce", "gcp"):
        return {"gcp": {}}
    return {mode.replace("-", ""): {}}


def plan_control_plane(opts, zones):
    """setupControlPlane: IG names, zones, and the even-count/zone-count checks."""
    count = opts.get("control-plane-count") or 0
    cp_zones = opts.get("control-plane-zones") or []
    if cp_zones:
        if count and count < len(cp_zones):
            raise KopsError(f"specified {len(cp_zones)} control-plane zones, but also requested {count} "
                            "control-plane nodes.  If specifying both, the count should match.")
        count = count or len(cp_zones)
    else:
        cp_zones = zones
        count = count or 1
    groups = []
    for i in range(count):
        zone = cp_zones[i % len(cp_zones)]
        suffix = f"-{1 + i // len(cp_zones)}" if count > len(cp_zones) else ""
        groups.append((f"control-plane-{zone}{suffix}", zone))
    if len({z for _, z in groups}) < len(groups):
        klog("W", "new_cluster.go:1041", "Running with control-plane nodes in the same AZs; redundancy will be reduced")
    return groups


def plan_nodes(opts, zones):
    count = opts.get("node-count") or len(zones)
    per_ig, remainder = divmod(count, len(zones))
    return [(f"nodes-{zone}", zone, per_ig + (1 if i < remainder else 0)) for i, zone in enumerate(zones)]


def assign_subnets(zones, private):
    """subnets.go: CIDRs inside 172.20.0.0/16 (logged like kops does)."""
    subnets = []
    for i, zone in enumerate(zones):
        subnets.append({"cidr": f"172.20.{32 * (i + 1)}.0/19", "name": zone,
                        "type": "Private" if private else "Public", "zone": zone})
    if private:
        for i, zone in enumerate(zones):
            subnets.append({"cidr": f"172.20.{4 * i}.0/22", "name": f"utility-{zone}",
                            "type": "Utility", "zone": zone})
    for s in subnets:
        klog("I", "subnets.go:224", f"Assigned CIDR {s['cidr']} to subnet {s['name']}")
    return subnets


def default_kubernetes_version(version):
    return f"1.{max(version[1] - 1, 28)}.0"


def parse_cloud_labels(text):
    """--cloud-labels "k=v,k2=v2" as kops reads it (spec.cloudLabels): each pair split at its
    one `=`; anything else is kops's error."""
    labels = {}
    for item in (i for i in text.split(",") if i.strip()):
        parts = item.split("=")
        if len(parts) != 2:
            raise KopsError(f"Invalid cloud-label: {item}")
        labels[parts[0].strip()] = parts[1].strip()
    return labels


def build_cluster_objects(ctx, name, opts):
    """cloudup.NewCluster + validation: returns (cluster, instance groups) or raises KopsError."""
    version = ctx.version
    zones = opts["zones"]
    if not zones:
        raise KopsError("must specify at least one zone for the cluster (use --zones)")
    cloud = opts.get("cloud") or "aws"  # inferred from the s3:// state store, as kops does
    if cloud != "aws":
        raise FakeConfigError(f"only --cloud=aws is simulated (got {cloud!r})")
    for zone in zones:
        if len(zone) <= 2:
            raise KopsError(f"invalid AWS zone: {go_quote(zone)} in subnet {go_quote(zone)}")
    region = zones[0][:-1]
    for zone in zones + (opts.get("control-plane-zones") or []):
        if zone[:-1] != region:
            raise KopsError(f"error Clusters cannot span multiple regions (found zone {go_quote(zone)}, "
                            f"but region is {go_quote(region)})")
    if region not in AWS_REGIONS:
        raise KopsError(f"Region is not a recognized EC2 region: {go_quote(region)} (check you have "
                        "specified valid zones?)")
    networking = opts.get("networking", "cilium")
    check_networking(networking, version)

    topology = opts.get("topology") or "public"
    if topology not in ("public", "private"):
        raise KopsError(f"invalid topology {topology}")
    dns_zone = opts.get("dns-zone") or ""
    dns_flag = (opts.get("dns") or "").lower()
    if dns_flag and dns_flag not in ("public", "private", "none"):
        raise KopsError(f"unknown DNSType: {go_quote(opts.get('dns'))}")
    if dns_flag:
        dns_type = {"public": "Public", "private": "Private", "none": "None"}[dns_flag]
    elif dns_zone:
        dns_type = "Public"
    else:
        if name.endswith(".k8s.local") and version[:2] >= (1, 29):
            klog("W", "new_cluster.go:1483", "Gossip is deprecated, using None DNS instead")
        dns_type = "None" if version[:2] >= (1, 29) or not name.endswith(".k8s.local") else "Gossip"
    if topology == "public" and opts.get("bastion"):
        raise KopsError("bastion supports --topology='private' only")
    if topology == "private" and networking == "kubenet":
        raise KopsError(f"invalid networking option {networking}. Kubenet does not support private topology")
    klog("I", "new_cluster.go:1502", 'Cloud Provider ID: "aws"')

    k8s_version = opts.get("kubernetes-version") or default_kubernetes_version(version)
    try:
        parse_version(k8s_version)
    except ValueError:
        raise KopsError(f"unable to parse kubernetes version {go_quote(k8s_version)}") from None

    cp_groups = plan_control_plane(opts, zones)
    node_groups = plan_nodes(opts, zones)
    subnets = assign_subnets(zones, topology == "private")
    validate_cluster_name(name, dns_type)
    if len(cp_groups) % 2 == 0:
        reason = ("Should be an odd number of control-plane-zones for quorum. Use --zones and "
                  "--control-plane-zones to declare node zones and control-plane zones separately")
        raise KopsError(aggregate([f"spec.etcdClusters[{i}].etcdMembers: Invalid value: {len(cp_groups)}: "
                                   f"{reason}" for i in range(2)]))

    created = now_rfc3339()
    cluster = {
        "apiVersion": "kops.k8s.io/v1alpha2",
        "kind": "Cluster",
        "metadata": {"creationTimestamp": created, "name": name},
        "spec": {
            "api": ({"loadBalancer": {"class": "Network", "type": "Public"}}
                    if dns_type == "None" or topology == "private" else {"dns": {}}),
            "authorization": {"rbac": {}},
            "channel": opts.get("channel") or "stable",
            "cloudProvider": "aws",
            "configBase": ctx.store().path(name).rstrip("/"),
            "etcdClusters": [
                {"cpuRequest": "200m" if etcd == "main" else "100m",
                 "etcdMembers": [{"encryptedVolume": True, "instanceGroup": ig,
                                  "name": ig[len("control-plane-"):][len(region):] or "a"}
                                 for ig, _ in cp_groups],
                 "manager": {"backupRetentionDays": 90}, "memoryRequest": "100Mi", "name": etcd}
                for etcd in ("main", "events")],
            "iam": {"allowContainerRegistry": True, "legacy": False},
            "kubeProxy": {"enabled": False} if networking.startswith("cilium") else {},
            "kubelet": {"anonymousAuth": False},
            "kubernetesApiAccess": opts.get("admin-access") or ["0.0.0.0/0", "::/0"],
            "kubernetesVersion": k8s_version,
            "networkCIDR": (opts.get("network-cidr") or ["172.20.0.0/16"])[0],
            "networking": networking_spec(networking),
            "nonMasqueradeCIDR": "100.64.0.0/10",
            "sshAccess": opts.get("ssh-access") or ["0.0.0.0/0", "::/0"],
            "subnets": subnets,
            "topology": {"dns": {"type": dns_type}},
        },
    }
    if dns_zone:
        cluster["spec"]["dnsZone"] = dns_zone
    labels = parse_cloud_labels(opts.get("cloud-labels") or "")
    if labels:
        cluster["spec"]["cloudLabels"] = labels
    if not cluster["spec"]["kubeProxy"]:
        del cluster["spec"]["kubeProxy"]
    if opts.get("bastion") and dns_type != "None":
        cluster["spec"]["topology"]["bastion"] = {"bastionPublicName": f"bastion.{name}"}

    def ig(ig_name_, role, machine_type, size, subnet_names):
        return {"apiVersion": "kops.k8s.io/v1alpha2", "kind": "InstanceGroup",
                "metadata": {"creationTimestamp": created, "labels": {"kops.k8s.io/cluster": name},
                             "name": ig_name_},
                "spec": {"image": opts.get("image") or DEFAULT_IMAGE,
                         "instanceMetadata": {"httpPutResponseHopLimit": 3 if role == "ControlPlane" else 1,
                                              "httpTokens": "required"},
                         "machineType": machine_type, "maxSize": size, "minSize": size, "role": role,
                         "subnets": subnet_names}}

    cp_type = (opts.get("control-plane-size") or [DEFAULT_MACHINE_TYPE])[0]
    node_type = (opts.get("node-size") or [DEFAULT_MACHINE_TYPE])[0]
    igs = [ig(n, "ControlPlane", cp_type, 1, [z]) for n, z in cp_groups]
    igs += [ig(n, "Node", node_type, size, [z]) for n, z, size in node_groups]
    if opts.get("bastion"):
        igs.append(ig("bastions", "Bastion", BASTION_MACHINE_TYPE, 1, [f"utility-{z}" for z in zones]))
    return cluster, igs


def write_cluster_secrets(store, name):
    """The CA keysets and secrets kops keeps next to the cluster config."""
    for ca in ("kubernetes-ca", "service-account", "etcd-clients-ca", "etcd-manager-ca-main",
               "etcd-manager-ca-events", "etcd-peers-ca-main", "etcd-peers-ca-events",
               "apiserver-aggregator-ca"):
        keyset = {"apiVersion": "kops.k8s.io/v1alpha2", "kind": "Keyset",
                  "metadata": {"creationTimestamp": now_rfc3339(), "name": ca},
                  "spec": {"keys": [{"id": str(secrets.randbits(63)),
                                     "publicMaterial": fake_pem("CERTIFICATE", f"fake {ca}"),
                                     "privateMaterial": fake_pem("RSA PRIVATE KEY", f"fake {ca} key")}],
                           "primaryID": "", "type": "Keypair"}}
        keyset["spec"]["primaryID"] = keyset["spec"]["keys"][0]["id"]
        store.write(name, f"pki/private/{ca}/keyset.yaml", yaml_dump(keyset))
    for secret in ("admin", "kube"):
        store.write(name, f"secrets/{secret}", json.dumps({"Data": base64.b64encode(
            secrets.token_bytes(24)).decode()}))


def cmd_create_cluster(ctx):
    usage = "kops create cluster [CLUSTER] [flags]"
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=False)
    maybe_fail_once(ctx, "create")
    opts = ctx.args.values
    ssh_key_data = None
    if opts.get("ssh-public-key"):
        try:
            ssh_key_data = read_local_file(opts["ssh-public-key"])
        except KopsError as exc:
            raise KopsError(f"error reading SSH key file {go_quote(opts['ssh-public-key'])}: {exc.msg}") from exc
    if opts.get("dry-run") and not opts.get("output"):
        raise KopsError("unable to execute --dry-run without setting --output")
    store = ctx.store()
    if load_cluster(store, name) is not None:
        raise KopsError(f"cluster {go_quote(name)} already exists; use 'kops update cluster' to apply changes")
    cluster, igs = build_cluster_objects(ctx, name, opts)
    if ssh_key_data is not None:
        try:
            ssh_fingerprint(ssh_key_data.decode("utf-8", "replace"))
        except KopsError as exc:
            raise KopsError(f"error adding SSH public key: error fingerprinting SSH public key: {exc.msg}") from exc

    if opts.get("dry-run"):
        print_dry_run(ctx, cluster, igs, ssh_key_data, opts.get("output"))
        return

    store.write(name, "config", yaml_dump(cluster))
    for group in igs:
        store.write(name, f"instancegroup/{ig_name(group)}", yaml_dump(group))
    write_cluster_secrets(store, name)
    if ssh_key_data is not None:
        add_ssh_key(store, name, ssh_key_data)

    if opts.get("yes"):
        # create --yes runs `update cluster --yes` with an admin credential of the default lifetime.
        run_update(ctx, name, yes=True, admin_seconds=ADMIN_DEFAULT_LIFETIME, create_kubecfg=True)
        return
    out("Previewing changes that will be made:\n\n")
    run_update(ctx, name, yes=False, admin_seconds=ADMIN_DEFAULT_LIFETIME, create_kubecfg=True)
    nodes = [g for g in igs if ig_role(g) == "Node"]
    cps = [g for g in igs if ig_role(g) == "ControlPlane"]
    lines = ["", "Cluster configuration has been created.", "", "Suggestions:",
             " * list clusters with: kops get cluster",
             f" * edit this cluster with: kops edit cluster {name}"]
    if nodes:
        lines.append(f" * edit your node instance group: kops edit ig --name={name} {ig_name(nodes[0])}")
    if cps:
        lines.append(f" * edit your control-plane instance group: kops edit ig --name={name} {ig_name(cps[0])}")
    lines += ["", f"Finally configure your cluster with: kops update cluster --name {name} --yes --admin", "", ""]
    out("\n".join(lines))


def print_dry_run(ctx, cluster, igs, ssh_key_data, output):
    if output not in ("yaml", "json"):
        raise KopsError(f"unsupported output type {go_quote(output)}")
    objs = [cluster] + igs
    if ssh_key_data is not None:
        objs.append({"apiVersion": "kops.k8s.io/v1alpha2", "kind": "SSHCredential",
                     "metadata": {"labels": {"kops.k8s.io/cluster": cluster["metadata"]["name"]},
                                  "name": "admin"},
                     "spec": {"publicKey": ssh_key_data.decode("utf-8", "replace").strip()}})
    if output == "yaml":
        out("---\n".join(yaml_dump(o) for o in objs))
    else:
        out("".join(json.dumps(o, indent=2) + "\n" for o in objs))


# ----------------------------------------------------------------------------------------------
# kops update cluster
# ----------------------------------------------------------------------------------------------

def _task_lines(total):
    """executor.go progress lines: "Tasks: D done / T total; R can run"."""
    done = 0
    steps = [0.46, 0.23, 0.22, 0.09]
    for frac in steps:
        can_run = max(1, round(total * frac)) if done < total else 0
        can_run = min(can_run, total - done)
        klog("I", "executor.go:113", f"Tasks: {done} done / {total} total; {can_run} can run")
        done += can_run
    klog("I", "executor.go:113", f"Tasks: {total} done / {total} total; 0 can run")


def preview_changes(cluster, igs):
    """CloudupDryRunTarget report: "Will create resources:" with a few fields per task."""
    name = cluster["metadata"]["name"]
    tasks = []
    for group in igs:
        asg = _asg_name(name, group)
        tasks.append(("AutoscalingGroup", asg, [("MinSize", str(ig_size(group))),
                                                 ("MaxSize", str(ig_size(group))),
                                                 ("Subnets", "[" + ", ".join(
                                                     f"name:{s}.{name}" for s in group["spec"]["subnets"]) + "]")]))
        tasks.append(("LaunchTemplate", asg, [("ImageID", group["spec"]["image"]),
                                               ("InstanceType", group["spec"]["machineType"])]))
    for role in ("masters", "nodes"):
        tasks.append(("IAMRole", f"{role}.{name}", [("ExportWithID", role)]))
    tasks.append(("VPC", name, [("CIDR", cluster["spec"].get("networkCIDR", "172.20.0.0/16"))]))
    for subnet in cluster_subnets(cluster):
        tasks.append(("Subnet", f"{subnet['name']}.{name}", [("ShortName", subnet["name"]),
                                                             ("CIDR", subnet["cidr"])]))
    tasks.append(("SQS", name.replace(".", "-") + "-nth", [("MessageRetentionPeriod", "300")]))
    lines = ["Will create resources:"]
    for task, ident, fields in sorted(tasks):
        lines.append(f"  {task}/{ident}")
        lines += [f"  \t{field:<20}\t{value}" for field, value in fields]
        lines.append("")
    return "\n".join(lines) + "\n"


def check_dns_zone(ctx, cluster):
    """With --dns-zone, kops needs the Route53 hosted zone to exist."""
    zone = cluster["spec"].get("dnsZone")
    if not zone:
        return
    import boto3
    endpoint = ctx.env.get("AWS_ENDPOINT_URL") or None
    try:
        client = boto3.session.Session().client("route53", region_name="us-east-1", endpoint_url=endpoint)
        zones = client.list_hosted_zones().get("HostedZones", [])
    except Exception as exc:  # noqa: BLE001
        raise KopsError(f"error listing DNS zones: {aws_error_text('Route 53', 'ListHostedZones', exc)}") from exc
    wanted = zone.rstrip(".")
    if not any(z["Name"].rstrip(".") == wanted or z["Id"].split("/")[-1] == zone for z in zones):
        raise KopsError(f"cannot find DNS Zone {go_quote(zone)}.  Please pre-create the zone and set up NS "
                        "records so that it resolves")


def write_update_artifacts(ctx, store, cluster, igs):
    """What a successful apply leaves in the state store besides config and instance groups."""
    name = cluster["metadata"]["name"]
    completed = json.loads(json.dumps(cluster))
    completed["spec"]["configStore"] = {"base": cluster["spec"]["configBase"],
                                        "keypairs": cluster["spec"]["configBase"] + "/pki",
                                        "secrets": cluster["spec"]["configBase"] + "/secrets"}
    store.write(name, "cluster-completed.spec", yaml_dump(completed))
    store.write(name, "kops-version.txt", ctx.settings.version)
    store.write(name, "addons/bootstrap-channel.yaml", yaml_dump(
        {"apiVersion": "kops.k8s.io/v1alpha2", "kind": "Addons", "metadata": {"name": "bootstrap"},
         "spec": {"addons": [{"id": "k8s-1.12", "manifest": "coredns.addons.k8s.io/k8s-1.12.yaml",
                              "name": "coredns.addons.k8s.io"}]}}))
    store.write(name, "addons/coredns.addons.k8s.io/k8s-1.12.yaml", "apiVersion: v1\nkind: ServiceAccount\n")
    for group in igs:
        role = {"ControlPlane": "control-plane", "Node": "node", "Bastion": "bastion"}[ig_role(group)]
        store.write(name, f"igconfig/{role}/{ig_name(group)}/nodeupconfig.yaml", yaml_dump(
            {"KubeletConfig": {"hostnameOverride": "@aws"}, "InstanceGroupName": ig_name(group),
             "InstanceGroupRole": ig_role(group)}))
        if ig_role(group) == "ControlPlane":
            for etcd in ("main", "events"):
                store.write(name, f"manifests/etcd/{etcd}-{ig_name(group)}.yaml",
                            "apiVersion: v1\nkind: Pod\n")
    store.write(name, "manifests/static/kube-apiserver-healthcheck.yaml", "apiVersion: v1\nkind: Pod\n")
    # etcd-manager's backup, which it makes every 15 minutes and before changes (kops does
    # not write it; the stand-in has no etcd-manager, so an apply stands in for one).
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")  # no colon: moto's SigV4 check
    for etcd in ("main", "events"):
        store.write(name, f"backups/etcd/{etcd}/{stamp}-{secrets.token_hex(3)}/_etcd_backup.meta",
                    json.dumps({"etcdVersion": "3.5.17", "timestamp": stamp}))


def day2_pending(cluster, igs, resources):
    import fake_kops_day2
    fake_kops_day2.adopt_legacy(cluster, igs, resources)
    return bool(fake_kops_day2.pending_changes(cluster, igs, resources))


def run_update(ctx, name, yes, admin_seconds, create_kubecfg, user=None, roles=None, ignore_skew=False):
    """RunUpdateCluster (target direct)."""
    store = ctx.store()
    cluster = get_cluster(store, name)
    igs = load_instance_groups(store, name)
    keys = list_ssh_keys(store, name)
    if len(keys) > 1:
        raise KopsError("exactly one 'admin' SSH public key can be specified when running with AWS; "
                        "please delete a key using `kops delete secret`")
    check_dns_zone(ctx, cluster)
    cloud = load_cloud(ctx.settings)
    deployed = name in cloud
    if deployed and (roles or day2_pending(cluster, igs, cloud[name])):
        # A running cluster whose specs changed (day 2): sizes applied, instances to replace
        # marked, nothing replaced.
        import fake_kops_day2
        fake_kops_day2.update_running(ctx, name, yes, roles, ignore_skew)
        return
    total = 60 + 12 * len(igs)
    _task_lines(total)

    if not yes:
        if deployed:
            out("No changes need to be applied\n")
        else:
            out(preview_changes(cluster, igs))
            out("Must specify --yes to apply changes\n")
        return

    if not deployed:
        cloud[name] = build_cloud_resources(cluster, igs, keys[0]["id"].replace(":", "") if keys else "")
        if real_cloud(ctx.env):
            import fake_cloud  # boto3 only where the cloud is made for real
            fake_cloud.materialize(name, cloud[name], cluster_zones(cluster), cluster_region(cluster),
                                   labels=cluster["spec"].get("cloudLabels"))
        save_cloud(ctx.settings, cloud)
    write_update_artifacts(ctx, store, cluster, igs)
    state = ctx.settings.load_state()
    state.setdefault("validate_attempts", {})[name] = 0  # validation phases restart after an apply
    ctx.settings.save_state(state)

    first_run = False
    if create_kubecfg:
        first_run = not kubeconfig_has_context(ctx.env, name)
        klog("I", "update_cluster.go:419", "Exporting kubeconfig for cluster")
        write_kubeconfig(ctx.env, kubeconfig_path(ctx.env), cluster, cloud[name], admin_seconds)
        if not admin_seconds and not user:
            klog("W", "update_cluster.go:439", "Exported kubeconfig with no user authentication; use --admin, "
                 "--user or --auth-plugin flags with `kops export kubeconfig`")
    if first_run:
        lines = ["", "Cluster is starting.  It should be ready in a few minutes.", "", "Suggestions:",
                 " * validate cluster: kops validate cluster --wait 10m",
                 " * list nodes: kubectl get nodes --show-labels"]
        if any(ig_role(g) == "Bastion" for g in igs):
            public = ((cluster["spec"].get("topology") or {}).get("bastion") or {}).get("bastionPublicName")
            lines.append(f" * ssh to the bastion: ssh -A -i ~/.ssh/id_rsa ubuntu@{public}" if public else
                         " * to ssh to the bastion, you probably want to configure a bastionPublicName.")
        else:
            lines.append(f" * ssh to a control-plane node: ssh -i ~/.ssh/id_rsa ubuntu@api.{name}")
        lines += [" * the ubuntu user is specific to Ubuntu. If not using Ubuntu please use the appropriate "
                  "user based on your OS.",
                  " * read about installing addons at: https://kops.sigs.k8s.io/addons.", "", ""]
    else:
        lines = ["", "Cluster changes have been applied to the cloud.", "", "",
                 "Changes may require instances to restart: kops rolling-update cluster", "", ""]
    out("\n".join(lines))


def cmd_update_cluster(ctx):
    usage = "kops update cluster [CLUSTER] [flags]"
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    opts = ctx.args.values
    target = opts.get("target") or "direct"
    if target not in ("direct", "dryrun"):
        raise FakeConfigError(f"--target={target} is not simulated")
    maybe_fail_once(ctx, "update")
    admin = opts.get("admin") or 0.0
    if admin and opts.get("user"):
        raise KopsError("cannot use both --admin and --user")
    create_kubecfg = opts.get("create-kube-config")
    if (admin or opts.get("user") or opts.get("internal")) and not create_kubecfg:
        klog("I", "update_cluster.go:233", "--admin implies --create-kube-config")
        create_kubecfg = True
    run_update(ctx, name, yes=bool(opts.get("yes")) and target == "direct", admin_seconds=admin,
               create_kubecfg=create_kubecfg, user=opts.get("user"),
               roles=set(opts.get("instance-group-roles") or []),
               ignore_skew=bool(opts.get("ignore-kubelet-version-skew")))


# ----------------------------------------------------------------------------------------------
# kops validate cluster
# ----------------------------------------------------------------------------------------------

def unreachable_error(name):
    return (f"unexpected error during validation: unable to resolve Kubernetes cluster API URL dns: "
            f"lookup api.{name} on 127.0.0.53:53: no such host")


def dns_failure():
    message = ("Validation Failed\n\n"
               "The dns-controller Kubernetes deployment has not updated the Kubernetes cluster's API DNS "
               "entry to the correct IP address.  The API DNS IP address is the placeholder address that "
               f"kops creates: {PLACEHOLDER_IP}.  Please wait about 5-10 minutes for a control plane node to "
               "start, dns-controller to launch, and DNS to propagate.  The dns-controller deployment logs "
               "may contain more diagnostic information.  Etcd and the API DNS entries must be updated for "
               "a kops Kubernetes cluster to start.")
    return {"failures": [{"type": "dns", "name": "apiserver", "message": message}]}


def _node(instance, role, status):
    return {"name": instance["id"], "zone": instance.get("zone", ""), "role": role,
            "hostname": instance["id"], "status": status}


def cluster_health(igs, resources, joining):
    """The ValidationCluster result for the joining or the ready phase."""
    instances = {}
    for r in resources:
        if r["type"] == "instance":
            instances.setdefault(r.get("instanceGroup"), []).append(r)
    nodes, failures = [], []
    control_plane_nodes = []
    for group in igs:
        role = ig_role(group)
        members = sorted(instances.get(ig_name(group), []), key=lambda r: r["id"])
        if role == "Bastion":
            continue  # bastions never join the cluster
        node_role = "control-plane" if role == "ControlPlane" else role.lower()
        if not joining or role == "ControlPlane":
            nodes += [_node(m, node_role, "True") for m in members]
            if role == "ControlPlane":
                control_plane_nodes += members
            continue
        # Joining: the ASG is still launching its last instance, the first launched one has
        # registered but is not Ready yet, the others have not joined.
        target = ig_size(group)
        launched = members[: max(target - 1, 1)] if target else []
        if len(launched) < target:
            failures.append({"type": "InstanceGroup", "name": ig_name(group),
                             "message": f"InstanceGroup {go_quote(ig_name(group))} did not have enough nodes "
                                        f"{len(launched)} vs {target}",
                             "instanceGroup": ig_internal_json(group)})
        for i, member in enumerate(launched):
            if i == 0:
                nodes.append(_node(member, node_role, "False"))
                failures.append({"type": "Node", "name": member["id"],
                                 "message": f"node {go_quote(member['id'])} of role {go_quote(node_role)} is not ready",
                                 "instanceGroup": ig_internal_json(group)})
            else:
                failures.append({"type": "Machine", "name": member["id"],
                                 "message": f"machine {go_quote(member['id'])} has not yet joined cluster",
                                 "instanceGroup": ig_internal_json(group)})
    if joining:
        coredns = f"coredns-{secrets.token_hex(5)}-{secrets.token_hex(3)[:5]}"
        failures.append({"type": "Pod", "name": f"kube-system/{coredns}",
                         "message": f"system-cluster-critical pod {go_quote(coredns)} is pending"})
        worker = next((n for n in nodes if n["role"] == "node"), None)
        if worker is not None:
            group = next(g for g in igs if any(r["id"] == worker["name"] for r in instances.get(ig_name(g), [])))
            pod = f"cilium-{secrets.token_hex(3)[:5]}"
            failures.append({"type": "Pod", "name": f"kube-system/{pod}",
                             "message": f"system-node-critical pod {go_quote(pod)} is not ready (cilium-agent)",
                             "instanceGroup": ig_internal_json(group)})
    result = {}
    if failures:
        result["failures"] = failures
    if nodes:
        result["nodes"] = nodes
    return result


def validation_phase(ctx, name, deployed, attempt):
    if not deployed:
        return "unreachable"
    if ctx.settings.validate_mode == "never-ready":
        return "joining"
    steps = ctx.settings.validate_steps
    edge = 0
    for phase in ("unreachable", "dns", "joining"):
        edge += steps[phase]
        if attempt <= edge:
            return phase
    return "ready"


def validate_once(ctx, name, igs, resources, deployed):
    """One validator.Validate(): bumps the attempt counter; returns (phase, result)."""
    state = ctx.settings.load_state()
    attempts = state.setdefault("validate_attempts", {})
    attempt = int(attempts.get(name, 0)) + 1
    if deployed:
        attempts[name] = attempt
        ctx.settings.save_state(state)
    phase = validation_phase(ctx, name, deployed, attempt)
    if phase == "unreachable":
        return phase, None
    if phase == "dns":
        return phase, dns_failure()
    return phase, cluster_health(igs, resources, joining=(phase == "joining"))


def validation_table(name, igs, result):
    ig_rows = [(ig_name(g), ig_role(g), g["spec"]["machineType"], str(g["spec"].get("minSize", "-")),
                str(g["spec"].get("maxSize", "-")), ",".join(g["spec"].get("subnets", []))) for g in igs]
    text = "INSTANCE GROUPS\n" + render_table(("NAME", "ROLE", "MACHINETYPE", "MIN", "MAX", "SUBNETS"), ig_rows)
    node_rows = [(n["name"], n["role"], n["status"]) for n in result.get("nodes", [])]
    text += "\nNODE STATUS\n" + render_table(("NAME", "ROLE", "READY"), node_rows)
    if result.get("failures"):
        rows = [(f["type"], f["name"], f["message"]) for f in result["failures"]]
        text += "\nVALIDATION ERRORS\n" + render_table(("KIND", "NAME", "MESSAGE"), rows)
        text += "\nValidation Failed\n"
    else:
        text += f"\nYour cluster {name} is ready\n"
    return text


def cmd_validate_cluster(ctx):
    usage = "kops validate cluster [CLUSTER] [flags]"
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    maybe_fail_once(ctx, "validate")
    mode = ctx.settings.validate_mode
    if mode in VALIDATE_ERRORS:
        raise KopsError(f"validation failed: {VALIDATE_ERRORS[mode](ctx)}")
    if mode == "garbage":
        out("<html><body>502 Bad Gateway</body></html>\n")
        return
    if mode == "truncated-json":
        out('{"failures":[{"type":"Machine","name":"i-0a1b2c3d","message":"machine \\"i-0a1')
        raise SystemExit(1)
    if mode == "empty":
        return
    if mode == "silent-failure":
        raise SystemExit(1)
    opts = ctx.args.values
    output = opts.get("output") or "table"
    wait = opts.get("wait") or 0.0
    interval = opts.get("interval")
    interval = 10.0 if interval is None else interval
    count = opts.get("count") or 0
    try:
        _run_validate(ctx, name, output, wait, interval, count)
    except KopsError as exc:
        raise KopsError(f"validation failed: {exc.msg}") from exc


def _run_validate(ctx, name, output, wait, interval, count):
    store = ctx.store()
    cluster = get_cluster(store, name)
    igs = load_instance_groups(store, name)
    if output == "table":
        out(f"Validating cluster {name}\n\n")
    if not igs:
        raise KopsError("no InstanceGroup objects found")
    if output not in ("table", "json", "yaml"):
        raise KopsError(f"unknown output format: {go_quote(output)}")
    if ctx.version[:2] < (1, 31) and not kubeconfig_has_context(ctx.env, name):
        # Before 1.31 validate talks to the API with the kubeconfig context named after the cluster.
        raise KopsError(f"getting rest config: cannot load kubecfg settings for {go_quote(name)}: "
                        f"context {go_quote(name)} does not exist")
    resources = load_cloud(ctx.settings).get(name)
    deployed = resources is not None

    clock = 0.0  # simulated time: --wait/--interval are honoured without sleeping
    consecutive = 0
    for _ in range(MAX_SIMULATED_ATTEMPTS):
        if wait > 0 and clock > wait and consecutive == 0:
            break
        phase, result = validate_once(ctx, name, igs, resources or [], deployed)
        if result is None:
            consecutive = 0
            if wait > 0:
                klog("W", "validate_cluster.go:193", f"(will retry): {unreachable_error(name)}")
                clock += interval
                continue
            raise KopsError(unreachable_error(name))
        emit_validation(output, name, igs, result)
        if not result.get("failures"):
            consecutive += 1
            if consecutive >= count:
                return
            klog("I", "validate_cluster.go:229", f"(will retry): cluster passed validation {consecutive} consecutive times")
            if wait > 0:
                clock += interval
                continue
            raise KopsError(f"cluster passed validation {consecutive} consecutive times")
        if wait > 0:
            klog("W", "validate_cluster.go:241", "(will retry): cluster not yet healthy")
            consecutive = 0
            clock += interval
            continue
        raise KopsError("cluster not yet healthy")
    raise KopsError("wait time exceeded during validation")


def emit_validation(output, name, igs, result):
    if output == "json":
        out(go_json(result))  # no trailing newline, like kops
    elif output == "yaml":
        out(yaml_dump(result))
    else:
        out(validation_table(name, igs, result))


# ----------------------------------------------------------------------------------------------
# kops delete cluster
# ----------------------------------------------------------------------------------------------

# In the first deletion pass these report DependencyViolation (instances are still terminating);
# route tables and DHCP options are blocked by them and are not even attempted.
_FIRST_PASS_BLOCKED = {"volume", "subnet", "security-group", "internet-gateway", "vpc", "elastic-ip"}
_FIRST_PASS_WAITING = {"route-table", "dhcp-options"}
_DEPENDENCY_HOLDERS = {"autoscaling-group", "instance", "load-balancer", "nat-gateway"}
# Resources that never delete in FAKE_KOPS_DELETE=stuck mode.
_STUCK_TYPES = {"subnet", "security-group", "vpc", "internet-gateway", "route-table", "dhcp-options"}
_DELETE_ORDER = ["autoscaling-group", "instance", "load-balancer", "target-group", "nat-gateway", "keypair",
                 "iam-instance-profile", "iam-role", "sqs", "eventbridge-rule", "volume", "elastic-ip",
                 "security-group", "subnet", "internet-gateway", "route-table", "dhcp-options", "vpc"]


def _delete_sort_key(resource):
    rank = _DELETE_ORDER.index(resource["type"]) if resource["type"] in _DELETE_ORDER else 0
    return rank, resource["type"], resource["id"]


def delete_resources(ctx, resources, wait, interval, count):
    """resourceops.DeleteResources: passes of attempts with dependency retries.

    Returns the resources left undeleted (empty on success); raises on timeout."""
    stuck = ctx.settings.delete_mode == "stuck"
    pending = sorted(resources, key=_delete_sort_key)
    # Network resources only report DependencyViolation while something still uses them
    # (instances terminating, load balancers, NAT gateways); a rerun after that deletes in one pass.
    in_use = any(r["type"] in _DEPENDENCY_HOLDERS for r in pending)
    clock, no_progress, rounds = 0.0, 0, 0
    while True:
        if (wait > 0 and clock > wait) or (stuck and rounds >= MAX_STUCK_DELETE_ROUNDS):
            return pending, "wait time exceeded during resources deletion"
        rounds += 1
        remaining, progressed = [], False
        for r in pending:
            human = f"{r['type']}:{r['id']}"
            first_pass = rounds == 1 and in_use
            if first_pass and r["type"] in _FIRST_PASS_WAITING:
                remaining.append(r)
            elif (first_pass and r["type"] in _FIRST_PASS_BLOCKED) or (stuck and r["type"] in _STUCK_TYPES):
                if r["type"] not in _FIRST_PASS_WAITING:
                    out(f"{human}\tstill has dependencies, will retry\n")
                remaining.append(r)
            else:
                out(f"{human}\tok\n")
                progressed = True
        pending = remaining
        if not pending:
            return [], None
        out("Not all resources deleted; waiting before reattempting deletion\n")
        for r in sorted(pending, key=lambda x: (x["type"], x["id"])):
            out(f"\t{r['type']}:{r['id']}\n")
        no_progress = 0 if progressed else no_progress + 1
        if count and no_progress > count:
            return pending, "not making progress deleting resources; giving up"
        clock += interval


_KNOWN_STATE_PREFIXES = ("addons/", "clusteraddons/", "pki/", "secrets/", "instancegroup/", "igconfig/",
                         "manifests/", "backups/")


def delete_cluster_state(store, name):
    """vfsclientset DeleteAllClusterState: refuse unknown files, then remove everything."""
    keys = store.list(name)
    for rel in keys:
        if rel in ("config", "cluster.spec", "cluster-completed.spec", "kops-version.txt"):
            continue
        if rel.startswith(_KNOWN_STATE_PREFIXES):
            continue
        raise KopsError(f"error removing cluster from state store: refusing to delete: unknown file found: "
                        f"{store.path(name, rel)}")
    for rel in keys:
        store.delete(name, rel)


def cmd_delete_cluster(ctx):
    usage = "kops delete cluster [CLUSTER] [flags]"
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=False)
    opts = ctx.args.values
    if opts.get("external"):
        raise FakeConfigError("delete cluster --external is not simulated")
    maybe_fail_once(ctx, "delete")
    store = ctx.store()
    get_cluster(store, name)
    yes = bool(opts.get("yes"))
    would_delete = False
    if not opts.get("unregister"):
        klog("I", "delete_cluster.go:143", "Looking for cloud resources to delete")
        cloud = load_cloud(ctx.settings)
        resources = cloud.get(name) or []
        if not resources:
            out("No cloud resources to delete\n")
        else:
            would_delete = True
            out(render_table(("TYPE", "NAME", "ID"), [(r["type"], r["name"], r["id"]) for r in resources]))
            if not yes:
                out("\nMust specify --yes to delete cluster\n")
                return
            out("\n")
            wait = 600.0 if opts.get("wait") is None else opts["wait"]
            interval = 10.0 if opts.get("interval") is None else opts["interval"]
            real = real_cloud(ctx.env)
            if real:
                import fake_cloud
            region = next((r["region"] for r in resources if r.get("region")), None)
            if real and fake_cloud.service_balancers(name, region):
                # kops's known loop: a Service's NLB still holds the nodes' security group.
                ctx.settings.delete_mode = "stuck"
            left, failure = delete_resources(ctx, resources, wait, interval, opts.get("count") or 0)
            if real:
                # What this run reported deleted goes from AWS too, also when others are left
                # for a rerun (a stuck delete): kops deletes as it goes.
                forget = {t for t in (ctx.env.get("FAKE_KOPS_FORGET") or "").split(",") if t}
                fake_cloud.destroy([r for r in resources if r not in left], forget)
            cloud[name] = left
            if not left:
                del cloud[name]
            save_cloud(ctx.settings, cloud)
            if failure:
                raise KopsError(failure)
    if not yes:
        out("\nMust specify --yes to delete cloud resources & unregister cluster\n" if would_delete
            else "\nMust specify --yes to unregister the cluster\n")
        return
    delete_cluster_state(store, name)
    state = ctx.settings.load_state()
    state.get("validate_attempts", {}).pop(name, None)
    ctx.settings.save_state(state)
    delete_kubeconfig(ctx.env, name)
    out(f"\nDeleted cluster: {go_quote(name)}\n")


# ----------------------------------------------------------------------------------------------
# SSH public key commands
# ----------------------------------------------------------------------------------------------

def cmd_create_sshpublickey(ctx, legacy=False):
    usage = ("kops create secret sshpublickey [CLUSTER] [flags]" if legacy
             else "kops create sshpublickey [CLUSTER] [flags]")
    if legacy and ctx.args.positionals[:1] == ["admin"]:
        ctx.args.positionals = ctx.args.positionals[1:]  # `... sshpublickey admin -i key.pub`
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    if "ssh-public-key" not in ctx.args.changed:
        # cobra checks required flags after kops has silenced usage, so no usage text here
        raise KopsError('required flag(s) "ssh-public-key" not set')
    maybe_fail_once(ctx, "create")
    store = ctx.store()
    get_cluster(store, name)
    path = ctx.args.get("ssh-public-key")
    try:
        data = read_local_file(path)
    except KopsError as exc:
        raise KopsError(f"error reading SSH public key {path}: {exc.msg}") from exc
    add_ssh_key(store, name, data)


def cmd_get_sshpublickeys(ctx):
    usage = "kops get sshpublickeys [CLUSTER] [flags]"
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    store = ctx.store()
    if load_cluster(store, name) is None:
        raise KopsError(not_found_error(name))
    keys = list_ssh_keys(store, name)
    output = ctx.args.get("output") or "table"
    if output == "table":
        if not keys:
            raise KopsError("no SSH public key found")
        out(render_table(("ID",), [(k["id"],) for k in keys]))
    elif output == "json":
        out(go_json([{"id": k["id"], "publicKey": k["publicKey"]} for k in keys] if keys else None))
    elif output == "yaml":
        out(yaml_dump([{"id": k["id"], "publicKey": k["publicKey"]} for k in keys]) if keys else "null\n")
    else:
        raise KopsError(f"unknown output format: {go_quote(output)}")


def cmd_delete_sshpublickey(ctx):
    usage = "kops delete sshpublickey [CLUSTER] [flags]"
    name = process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    maybe_fail_once(ctx, "delete")
    _delete_all_ssh_keys(ctx, name)


def _delete_all_ssh_keys(ctx, name):
    store = ctx.store()
    get_cluster(store, name)
    for key in list_ssh_keys(store, name):
        store.delete(name, key["rel"])


def cmd_delete_secret(ctx):
    """`kops delete secret sshpublickey admin <id>`: broken since kops 1.22, the sshpublickey branch
    never sets the cluster name, so it always fails on the empty name."""
    usage = "kops delete secret SECRET_NAME... [flags]"
    args = ctx.args.positionals
    if args[:1] == ["sshpublickey"]:
        maybe_fail_once(ctx, "delete")
        ctx.store()
        raise KopsError("clusterName: Required value: Cluster name is required")
    if args[:1] == ["secret"]:
        args = args[1:]
    if not args:
        raise KopsError("secret name is required", usage)
    if len(args) > 1:
        raise KopsError("too many arguments", usage)
    raise FakeConfigError("delete secret is only simulated for the sshpublickey form")


# ----------------------------------------------------------------------------------------------
# kops get clusters / instancegroups
# ----------------------------------------------------------------------------------------------

def k8s_json_objects(objs, single):
    """fullOutputJSON: the k8s JSON encoder ends every object with a newline; several objects are
    wrapped as `[obj\\n,obj\\n]`, a single selected object is printed alone."""
    parts = [json.dumps(o, separators=(",", ":")) + "\n" for o in objs]
    return parts[0] if single and parts else "[" + ",".join(parts) + "]"


def cmd_get_clusters(ctx):
    usage = "kops get clusters [CLUSTER]... [flags]"
    names = list(ctx.args.positionals)
    flag_name = name_flag(ctx.args, ctx.env)
    if names and flag_name:
        raise KopsError("cannot mix --name for cluster with positional arguments", usage)
    if not names and flag_name:
        names = [flag_name]
    store = ctx.store()
    if len(names) == 1:
        found = load_cluster(store, names[0])
        clusters = [found] if found else []
    else:
        clusters = [load_cluster(store, n) for n in store.list_clusters()]
    by_name = {c["metadata"]["name"]: c for c in clusters if c}
    if names:
        for n in names:
            if n not in by_name:
                raise KopsError(f"cluster not found {go_quote(n)}")
        clusters = [by_name[n] for n in names]
    else:
        clusters = [by_name[n] for n in sorted(by_name)]
    if not clusters:
        raise KopsError("no clusters found")
    output = ctx.args.get("output") or "table"
    if output == "table":
        out(render_table(("NAME", "CLOUD", "ZONES"),
                         [(c["metadata"]["name"], c["spec"].get("cloudProvider", "aws"),
                           ",".join(cluster_zones(c))) for c in clusters]))
    elif output == "json":
        out(k8s_json_objects(clusters, single=len(names) == 1))
    elif output == "yaml":
        out("---\n".join(yaml_dump(c) for c in clusters))
    else:
        raise KopsError(f"unknown output format: {go_quote(output)}")


def cmd_get_instancegroups(ctx):
    usage = "kops get instancegroups [INSTANCE_GROUP]... [flags]"
    name = name_flag(ctx.args, ctx.env) or cluster_from_kubeconfig(ctx.env, True)
    if not name:
        raise KopsError("--name is required", usage)
    store = ctx.store()
    cluster = load_cluster(store, name)
    if cluster is None:
        raise KopsError(f"error fetching cluster {go_quote(name)}: {not_found_error(name)}")
    igs = load_instance_groups(store, name)
    wanted = ctx.args.positionals
    if wanted:
        by_name = {ig_name(g): g for g in igs}
        for n in wanted:
            if n not in by_name:
                raise KopsError(f"instancegroup not found {go_quote(n)}")
        igs = [by_name[n] for n in wanted]
    if not igs:
        raise KopsError("no InstanceGroup objects found")
    output = ctx.args.get("output") or "table"
    if output == "table":
        out(render_table(("NAME", "ROLE", "MACHINETYPE", "MIN", "MAX", "ZONES"),
                         [(ig_name(g), ig_role(g), g["spec"]["machineType"], str(g["spec"].get("minSize", "-")),
                           str(g["spec"].get("maxSize", "-")), ",".join(ig_zones(cluster, g))) for g in igs]))
    elif output == "json":
        out(k8s_json_objects([ig_json(g) for g in igs], single=len(igs) == 1))
    elif output == "yaml":
        out("---\n".join(yaml_dump(g) for g in igs))
    else:
        raise KopsError(f"unknown output format: {go_quote(output)}")


# ----------------------------------------------------------------------------------------------
# kops export kubeconfig
# ----------------------------------------------------------------------------------------------

def cmd_export_kubeconfig(ctx):
    usage = "kops export kubeconfig [CLUSTER | --all] [flags]"
    opts = ctx.args.values
    if opts.get("admin") and opts.get("user"):
        raise KopsError("cannot use both --admin and --user", usage)
    store_names = None
    if opts.get("all"):
        if ctx.args.positionals:
            raise KopsError("cannot use both --all flag and positional arguments", usage)
        store_names = ctx.store().list_clusters()
    else:
        store_names = [process_cluster_args(ctx, usage, kubeconfig_fallback=True)]
    store = ctx.store()
    path = opts.get("kubeconfig") or kubeconfig_path(ctx.env)
    cloud = load_cloud(ctx.settings)
    for name in store_names:
        cluster = get_cluster(store, name)
        write_kubeconfig(ctx.env, path, cluster, cloud.get(name), opts.get("admin") or 0.0)


# ----------------------------------------------------------------------------------------------
# Command table
# ----------------------------------------------------------------------------------------------

def _create_cluster_flags():
    dep = "use --control-plane-{} instead"
    return [
        Flag("yes", "bool", short="y"), Flag("cloud"), Flag("zones", "slice"),
        Flag("control-plane-zones", "slice"),
        Flag("master-zones", "slice", dest="control-plane-zones", deprecated=dep.format("zones")),
        Flag("kubernetes-version"), Flag("kubernetes-feature-gates", "slice"), Flag("ssh-public-key"),
        Flag("control-plane-count", "int"),
        Flag("master-count", "int", dest="control-plane-count", deprecated=dep.format("count")),
        Flag("node-count", "int"), Flag("image"), Flag("node-image"), Flag("control-plane-image"),
        Flag("bastion-image"), Flag("node-size", "slice"), Flag("control-plane-size", "slice"),
        Flag("master-size", "slice", dest="control-plane-size", deprecated=dep.format("size")),
        Flag("control-plane-volume-size", "int"), Flag("node-volume-size", "int"),
        Flag("network-id"), Flag("vpc", dest="network-id", deprecated="use --network-id instead"),
        Flag("subnets", "slice"), Flag("utility-subnets", "slice"), Flag("network-cidr", "slice"),
        Flag("networking", default="cilium"), Flag("dns-zone"), Flag("dns"), Flag("out"),
        Flag("admin-access", "slice"), Flag("ssh-access", "slice"), Flag("associate-public-ip", "bool"),
        Flag("ipv6", "bool"), Flag("channel"), Flag("topology", short="t", default="public"),
        Flag("authorization"), Flag("bastion", "bool"), Flag("cloud-labels"),
        Flag("api-loadbalancer-type"), Flag("api-loadbalancer-class"), Flag("api-ssl-certificate"),
        Flag("api-public-name"), Flag("dry-run", "bool"), Flag("output", short="o"),
        Flag("set", "slice"), Flag("unset", "slice"), Flag("target"), Flag("encrypt-etcd-storage", "bool"),
        Flag("etcd-clusters", "slice"), Flag("node-security-groups", "slice"),
        Flag("control-plane-security-groups", "slice"), Flag("node-tenancy"), Flag("control-plane-tenancy"),
        Flag("instance-manager"), Flag("discovery-store"), Flag("disable-subnet-tags", "bool"),
    ]


def _admin_flag():
    return Flag("admin", "duration", no_opt=format_duration(ADMIN_DEFAULT_LIFETIME))


def build_commands():
    get_output = Flag("output", short="o", default="table")
    commands = [
        Command(("version",), "kops version [flags]", cmd_version, [Flag("short", "bool"), Flag("server", "bool")],
                resolve=_flag_only_cluster),
        Command(("create", "cluster"), "kops create cluster [CLUSTER] [flags]", cmd_create_cluster,
                _create_cluster_flags(), verb="create", resolve=_silent_cluster(False)),
        Command(("create", "sshpublickey"), "kops create sshpublickey [CLUSTER] [flags]", cmd_create_sshpublickey,
                [Flag("ssh-public-key", short="i"), Flag("pubkey", dest="ssh-public-key",
                                                       deprecated="use --ssh-public-key instead")],
                verb="create", resolve=_silent_cluster(True)),
        Command(("create", "secret", "sshpublickey"), "kops create secret sshpublickey [CLUSTER] [flags]",
                lambda ctx: cmd_create_sshpublickey(ctx, legacy=True),
                [Flag("ssh-public-key", short="i"), Flag("pubkey", dest="ssh-public-key",
                                                       deprecated="use --ssh-public-key instead")],
                verb="create", resolve=_silent_cluster(True)),
        Command(("get", "clusters"), "kops get clusters [CLUSTER]... [flags]", cmd_get_clusters,
                [get_output, Flag("full", "bool")], resolve=_get_clusters_resolve),
        Command(("get", "instancegroups"), "kops get instancegroups [INSTANCE_GROUP]... [flags]",
                cmd_get_instancegroups, [get_output], resolve=_flag_only_cluster),
        Command(("get", "sshpublickeys"), "kops get sshpublickeys [CLUSTER] [flags]", cmd_get_sshpublickeys,
                [get_output], resolve=_silent_cluster(True)),
        Command(("update", "cluster"), "kops update cluster [CLUSTER] [flags]", cmd_update_cluster,
                [Flag("yes", "bool", short="y"), Flag("target"), Flag("ssh-public-key"), Flag("out"),
                 Flag("create-kube-config", "bool", default=True), _admin_flag(), Flag("user"),
                 Flag("internal", "bool"), Flag("allow-kops-downgrade", "bool"), Flag("instance-group", "slice"),
                 Flag("instance-group-roles", "slice"), Flag("phase"), Flag("lifecycle-overrides", "slice"),
                 Flag("prune", "bool"), Flag("ignore-kubelet-version-skew", "bool"), Flag("api-server"),
                 Flag("use-kubeconfig", "bool"), Flag("reconcile", "bool")],
                verb="update", resolve=_silent_cluster(True)),
        Command(("validate", "cluster"), "kops validate cluster [CLUSTER] [flags]", cmd_validate_cluster,
                [Flag("output", short="o", default="table"), Flag("wait", "duration"), Flag("count", "int"),
                 Flag("interval", "duration", min_version=(1, 29)), Flag("kubeconfig"),
                 Flag("api-server"), Flag("use-kubeconfig", "bool"), Flag("max-unready-nodes", "int")],
                verb="validate", resolve=_silent_cluster(True)),
        Command(("delete", "cluster"), "kops delete cluster [CLUSTER] [flags]", cmd_delete_cluster,
                [Flag("yes", "bool", short="y"), Flag("unregister", "bool"), Flag("external", "bool"),
                 Flag("region"), Flag("wait", "duration"), Flag("count", "int"), Flag("interval", "duration")],
                verb="delete", resolve=_silent_cluster(False)),
        Command(("delete", "sshpublickey"), "kops delete sshpublickey [CLUSTER] [flags]", cmd_delete_sshpublickey,
                [], verb="delete", resolve=_silent_cluster(True)),
        Command(("delete", "secret"), "kops delete secret SECRET_NAME... [flags]", cmd_delete_secret,
                [], verb="delete", resolve=_flag_only_cluster),
        Command(("export", "kubeconfig"), "kops export kubeconfig [CLUSTER | --all] [flags]", cmd_export_kubeconfig,
                [_admin_flag(), Flag("user"), Flag("kubeconfig"), Flag("all", "bool"), Flag("internal", "bool"),
                 Flag("auth-plugin", "bool"), Flag("api-server"), Flag("use-kubeconfig", "bool")],
                resolve=_silent_cluster(True)),
    ]
    import fake_kops_day2  # the day-2 verbs, in a module of their own
    commands += fake_kops_day2.commands()
    return {c.path: c for c in commands}


ALIASES = {
    ("get",): {"cluster": "clusters", "instancegroup": "instancegroups", "ig": "instancegroups",
               "sshpublickey": "sshpublickeys", "ssh": "sshpublickeys", "instance": "instances"},
    ("edit",): {"ig": "instancegroup", "instancegroups": "instancegroup", "igs": "instancegroup"},
    ("export",): {"kubecfg": "kubeconfig"},
}
VERB_NOUNS = {"create": {"cluster", "sshpublickey", "secret"},
              "get": {"clusters", "instancegroups", "sshpublickeys", "instances"},
              "update": {"cluster"}, "validate": {"cluster"}, "delete": {"cluster", "sshpublickey", "secret"},
              "export": {"kubeconfig"}, "version": set(), "edit": {"cluster", "instancegroup"},
              "rolling-update": {"cluster"}}


def route(argv, commands):
    """Find the command like cobra: the leading non-flag words name it; flags may come first."""
    value_flags = {f"--{f.name}" for c in commands.values() for f in c.flags + GLOBAL_FLAGS if f.takes_value()}
    value_flags |= {f"-{f.short}" for c in commands.values() for f in c.flags + GLOBAL_FLAGS
                    if f.takes_value() and f.short}
    words = []  # (index, word)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            break
        if arg.startswith("-") and len(arg) > 1:
            if "=" not in arg and arg in value_flags:
                i += 1
        else:
            words.append((i, arg))
        i += 1
    path, used = [], []
    for index, word in words:
        parent = tuple(path)
        if not path:
            if word not in VERB_NOUNS:
                raise KopsError(f"unknown command {go_quote(word)} for \"kops\"\nRun 'kops --help' for usage.")
        elif parent == ("create", "secret"):
            if word != "sshpublickey":
                raise FakeConfigError(f"`kops create secret {word}` is not simulated")
        elif len(path) == 1:
            word = ALIASES.get(parent, {}).get(word, word)
            if word not in VERB_NOUNS[path[0]]:
                raise KopsError(f"unknown command {go_quote(word)} for \"kops {path[0]}\"\n"
                                f"Run 'kops {path[0]} --help' for usage.")
        path.append(word)
        used.append(index)
        if tuple(path) in commands:
            break
    key = tuple(path)
    if key not in commands:
        return None, key, [a for j, a in enumerate(argv) if j not in used]
    return commands[key], key, [a for j, a in enumerate(argv) if j not in used]


# ----------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------

def resolve_access_key():
    """The access key id the SDK default chain resolves to (AWS_PROFILE, env keys, shared files)."""
    try:
        import boto3
        creds = boto3.session.Session().get_credentials()
        return creds.access_key if creds is not None else None
    except Exception:  # noqa: BLE001 - e.g. AWS_PROFILE naming a missing profile
        return None


def record_call(ctx):
    entry = {"argv": ctx.argv, "access_key_id": resolve_access_key(),
             "aws_profile": ctx.env.get("AWS_PROFILE") or None,
             "state_store": ctx.store_url, "cluster": ctx.cluster,
             # Names only, never values: which credential sources kops could have used.
             "aws_env": sorted(k for k in ctx.env if k.startswith("AWS_"))}
    with open(ctx.settings.path("calls.jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def print_help(key):
    out("kOps is Kubernetes Operations.\n\nUsage:\n  kops " + (" ".join(key) or "[command]") +
        " [flags]\n\nAvailable Commands:\n  create\n  delete\n  export\n  get\n  update\n  validate\n  version\n")


def run(argv, env):
    settings = Settings(env)
    # FAKE_KOPS_SAY: one more klog line on stderr, as kops prints names and messages from the
    # cloud; the terminal-safety tests put control sequences in it.
    if env.get("FAKE_KOPS_SAY"):
        klog("W", "fake.go:1", env["FAKE_KOPS_SAY"])
    ctx = Context(settings, env, argv)
    commands = build_commands()
    parse_error = None
    command = None
    try:
        command, key, rest = route(argv, commands)
        if command is None:  # `kops`, `kops get`, ...: cobra prints the help text
            ctx.args = ParsedArgs(GLOBAL_FLAGS)
            ctx.store_url = resolve_state_store(ctx.args, env)
            record_call(ctx)
            print_help(key)
            return 0
        ctx.args = parse_flags(rest, command.flags + GLOBAL_FLAGS, command.use, settings.version_tuple)
    except KopsError as exc:
        parse_error = exc
        try:
            ctx.args = parse_flags([a for a in argv if a.startswith("--state=") or a.startswith("--name=")],
                                   GLOBAL_FLAGS, None, settings.version_tuple)
        except KopsError:
            ctx.args = ParsedArgs(GLOBAL_FLAGS)
    ctx.store_url = resolve_state_store(ctx.args, env)
    if command is not None and parse_error is None:
        ctx.cluster = command.resolve(ctx) if command.resolve else None
    else:
        ctx.cluster = name_flag(ctx.args, env) or None
    record_call(ctx)
    if parse_error is not None:
        raise parse_error
    if ctx.args.get("help"):
        print_help(command.path)
        return 0
    if command.path and command.path[0] in settings.hang:
        # FAKE_KOPS_HANG: a kops stuck on the network or a prompt; the caller must stop it.
        err("I1201 10:00:00.000000   12345 fake.go:1] hanging (FAKE_KOPS_HANG)\n")
        sys.stderr.flush()
        # For the caller's test: which process must be gone once the caller gave up.
        with open(settings.path("hang.pid"), "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(HANG_SECONDS)
    command.handler(ctx)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = run(argv, dict(os.environ))
    except FakeConfigError as exc:
        err(f"fake-kops: {exc}\n")
        code = 2
    except KopsError as exc:
        err(f"Error: {exc.msg}\n")
        if exc.usage:
            err(f"Usage:\n  {exc.usage}\n\nUse \"{exc.usage.split(' [')[0]} --help\" for more information.\n\n")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    # The day-2 module imports this one by name: one module, not a second copy of it.
    sys.modules["fake_kops"] = sys.modules["__main__"]
    sys.exit(main())

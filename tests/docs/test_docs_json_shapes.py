"""The --json shapes the docs describe are what wsync prints, so a script written from the docs works.

The shapes are read from the docs' own words, not listed here, so a test keeps checking what the
docs say as they change: a sentence of the form

    `wsync import --json` prints `{"success": bool, "job_id": N, "requests": {"read", "write"}, ...}`
    `status --json` carries `"settling": {"requests", "items", ...}`

is a claim about that command's JSON (the first names every key it lists, the second a key found
somewhere in the document, checked when it is not null). A key may carry a type: `N` (or `int`)
a whole number, `number`, `str`, `bool`, `null`, `[T]` a list of T, `{...}` an object whose keys
are checked in turn; a key without one may hold anything. `...` stands for keys left unnamed: the
output may always hold more than the docs list. The `jq` paths the shell examples read from a
`wsync ... --json` pipe must lead to a value too.

The JSON comes from the docs scenario (tools/docs_regen.py): each claim is checked against the
run of the same command with the fewest options beyond those the docs name.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from typing import Any

import pytest
import typer

from tools.doc_blocks import ROOT, all_blocks, doc_files, read_blocks
from wsync.cli import app

# -- reading the docs' prose -----------------------------------------------------------------


def prose(path) -> str:
    """A Markdown file without its fenced blocks and HTML comments (line numbers kept)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for block in read_blocks(path):
        for i in range(block.first - 1, block.last + 1):
            lines[i] = ""
    text = "\n".join(lines)
    return re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


@dataclass
class Span:
    start: int
    end: int
    code: str


def code_spans(text: str) -> list[Span]:
    """Inline code spans as Markdown reads them: a run of n backticks closes at the next run of
    exactly n; line ends inside become spaces."""
    spans, pos = [], 0
    opener = re.compile(r"`+")
    while (m := opener.search(text, pos)) is not None:
        ticks = m.group(0)
        close = re.compile(rf"(?<!`){ticks}(?!`)")
        end = close.search(text, m.end())
        if end is None:
            pos = m.end()
            continue
        code = text[m.end():end.start()].replace("\n", " ")
        if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
            code = code[1:-1]
        spans.append(Span(m.start(), end.end(), code))
        pos = end.end()
    return spans


_COMMAND = re.compile(r"^(?:wsync\s+)?[a-z][\w\s.-]*--json$")
_VERB = re.compile(r"^[^.`]*\b(?P<verb>prints|carries)\s+$")


@dataclass
class Claim:
    where: str
    command: str        # as the docs write it: "wsync import FEED --background --json"
    verb: str           # prints | carries
    shape: str

    @property
    def id(self) -> str:
        return f"{self.where} {self.command} {self.verb}"


def documented_claims() -> list[Claim]:
    claims = []
    for path in doc_files():
        text = prose(path)
        spans = code_spans(text)
        for first, second in itertools.pairwise(spans):
            between = text[first.end:second.start].replace("\n", " ")
            verb = _VERB.match(between)
            if verb and _COMMAND.match(first.code.strip()) and second.code.lstrip()[:1] in "{\"":
                line = text.count("\n", 0, first.start) + 1
                claims.append(Claim(f"{path.relative_to(ROOT)}:{line}", " ".join(first.code.split()), verb["verb"],
                                    second.code))
    return claims


# -- the shape notation ----------------------------------------------------------------------

@dataclass
class Obj:
    keys: dict[str, Any]        # key -> a shape, or None: any value


@dataclass
class Arr:
    item: Any                   # a shape, or None: any items


_TOKEN = re.compile(r'\s*(?:'
                    r'(?P<str>"(?:[^"\\]|\\.)*")'
                    r'|(?P<punct>[{}\[\]:,])'
                    r'|(?P<dots>\.\.\.|…)'
                    r'|(?P<name>[A-Za-z_]\w*))')
TYPES = {"N": "integer", "int": "integer", "integer": "integer", "number": "number", "float": "number",
         "str": "string", "string": "string", "bool": "boolean", "boolean": "boolean", "null": "null"}


def parse_shape(text: str) -> Obj:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the shape at {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    tokens.append(("end", ""))
    i = 0

    def peek() -> tuple[str, str]:
        return tokens[i]

    def take(kind: str, value: str | None = None) -> str:
        nonlocal i
        k, v = tokens[i]
        if k != kind or (value is not None and v != value):
            raise ValueError(f"expected {value or kind} in {text!r}, found {v!r}")
        i += 1
        return v

    def value() -> Any:
        kind, v = peek()
        if v == "{":
            return obj()
        if v == "[":
            take("punct", "[")
            item = None if peek()[1] == "]" or peek()[0] == "dots" else value()
            if peek()[0] == "dots":
                take("dots")
            take("punct", "]")
            return Arr(item)
        if kind == "dots":
            take("dots")
            return None
        if kind == "name":
            name = take("name")
            if name not in TYPES:
                raise ValueError(f"unknown type {name!r} in {text!r} (known: {', '.join(TYPES)})")
            return TYPES[name]
        raise ValueError(f"expected a value in {text!r}, found {v!r}")

    def obj() -> Obj:
        take("punct", "{")
        keys: dict[str, Any] = {}
        while peek()[1] != "}":
            if peek()[0] == "dots":
                take("dots")
            else:
                key = take("str")[1:-1]
                keys[key] = None
                if peek()[1] == ":":
                    take("punct", ":")
                    keys[key] = value()
            if peek()[1] == ",":
                take("punct", ",")
            elif peek()[1] != "}":
                raise ValueError(f"expected , or }} in {text!r}, found {peek()[1]!r}")
        take("punct", "}")
        return Obj(keys)

    shape = obj() if text.startswith("{") else None
    if shape is None:       # a fragment: "key": value, ...
        tokens.insert(0, ("punct", "{"))
        tokens.insert(len(tokens) - 1, ("punct", "}"))
        shape = obj()
    take("end")
    return shape


def problems(value: Any, shape: Any, path: str = "") -> list[str]:
    """How value differs from the documented shape (empty: it matches)."""
    if shape is None:
        return []
    if isinstance(shape, Obj):
        if not isinstance(value, dict):
            return [f"{path or '.'} is {type(value).__name__}, documented as an object"]
        found = []
        for key, sub in shape.keys.items():
            if key not in value:
                found.append(f"{path}.{key} is missing")
            else:
                found += problems(value[key], sub, f"{path}.{key}")
        return found
    if isinstance(shape, Arr):
        if not isinstance(value, list):
            return [f"{path} is {type(value).__name__}, documented as a list"]
        return [p for n, item in enumerate(value) for p in problems(item, shape.item, f"{path}[{n}]")]
    ok = {"integer": isinstance(value, int) and not isinstance(value, bool),
          "number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "string": isinstance(value, str), "boolean": isinstance(value, bool), "null": value is None}[shape]
    return [] if ok else [f"{path} is {value!r}, documented as {shape}"]


def find_key(doc: Any, key: str) -> tuple[bool, Any, str]:
    """The first value under key anywhere in doc (objects before their children)."""
    if isinstance(doc, dict):
        if key in doc:
            return True, doc[key], f".{key}"
        for name, child in doc.items():
            found, value, path = find_key(child, key)
            if found:
                return True, value, f".{name}{path}"
    return False, None, ""


# -- matching a documented command to a run --------------------------------------------------

_ROOT = typer.main.get_command(app)


def command_key(words: list[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(the subcommand path, the long options named): `import FEED --background --json` ->
    (("import",), {"--background", "--json"})."""
    if words and words[0] == "wsync":
        words = words[1:]
    command, path = _ROOT, []
    for word in words:
        subcommands = getattr(command, "commands", {})
        if word in subcommands:
            command = subcommands[word]
            path.append(word)
        elif not word.startswith("-") and path:
            break
    return tuple(path), frozenset(w.split("=")[0] for w in words if w.startswith("--"))


def json_of(run, words: list[str]) -> tuple[list[str], Any]:
    path, flags = command_key(words)
    candidates = [(len(command_key(argv)[1] - flags), argv, doc) for argv, doc in run.json
                  if command_key(argv)[0] == path and command_key(argv)[1] >= flags]
    if not candidates:
        pytest.fail(f"the docs describe `wsync {' '.join(words)}`, and the docs scenario runs no such command: "
                    "add it to run_scenario in tools/docs_regen.py")
    _, argv, doc = min(candidates, key=lambda c: c[0])
    return argv, doc


# -- the tests -------------------------------------------------------------------------------

CLAIMS = documented_claims()

_JQ = re.compile(r"\bwsync\s+(?P<args>[^|;&()]*?--json[^|;&()]*?)\s*\|\s*jq\s+(?:-\w+\s+)*"
                 r"(?P<query>'[^']*'|\"[^\"]*\"|[^\s)]+)")


def jq_reads() -> list[tuple[str, str, str]]:
    """(where, the wsync arguments, the jq path) for each `wsync ... --json | jq PATH` in a shell example."""
    found = []
    for block in all_blocks():
        if not block.is_shell:
            continue
        for m in _JQ.finditer(re.sub(r"\\\n\s*", " ", block.text)):
            query = m["query"].strip("'\"")
            path = re.fullmatch(r"(?P<path>(?:\.[A-Za-z_]\w*)+)(?:\s*//\s*empty)?", query)
            if path:
                found.append((block.where, m["args"], path["path"]))
    return found


JQ = jq_reads()


def test_the_docs_describe_json_shapes():
    verbs = {(c.command, c.verb) for c in CLAIMS}
    assert ("wsync import --json", "prints") in verbs, CLAIMS
    assert len(CLAIMS) >= 3, CLAIMS
    assert any(path == ".job.status" for _, _, path in JQ), JQ


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_documented_json_shape(claim, docs_run):
    shape = parse_shape(claim.shape)
    argv, doc = json_of(docs_run, claim.command.split())
    if claim.verb == "prints":
        found = problems(doc, shape)
    else:
        found = []
        for key, sub in shape.keys.items():
            present, value, path = find_key(doc, key)
            if not present:
                found.append(f"no {key!r} anywhere")
            elif value is not None:
                found += problems(value, sub, path)
    assert not found, (f"{claim.where}: `{claim.command}` {claim.verb} {claim.shape}, but "
                       f"`wsync {' '.join(argv)}` printed a document where " + "; ".join(found))


@pytest.mark.parametrize("where, args, path", JQ, ids=[f"{w} {p}" for w, _, p in JQ])
def test_jq_path_in_a_shell_example(where, args, path, docs_run):
    argv, doc = json_of(docs_run, shlex.split(args))
    value = doc
    for key in path.strip(".").split("."):
        assert isinstance(value, dict) and key in value, \
            f"{where}: `jq {path}` on `wsync {' '.join(argv)}` finds nothing at {key!r}"
        value = value[key]
    assert isinstance(value, (str, int, float, bool)), f"{where}: `jq -r {path}` gives {value!r}"


def test_the_notation():
    shape = parse_shape('{"success": bool, "job_id": N, "message", "requests": {"read": N, "write"}, '
                        '"skus": [str], ...}')
    good = {"success": True, "job_id": 3, "message": None, "requests": {"read": 1, "write": 2},
            "skus": ["A"], "more": 1}
    assert problems(good, shape) == []
    assert problems(dict(good, job_id="3"), shape) == [".job_id is '3', documented as integer"]
    assert problems(dict(good, success=1), shape) == [".success is 1, documented as boolean"]
    assert problems({k: v for k, v in good.items() if k != "message"}, shape) == [".message is missing"]
    assert problems(dict(good, requests={"read": 1}), shape) == [".requests.write is missing"]
    assert problems(dict(good, skus=[1]), shape) == [".skus[0] is 1, documented as string"]
    fragment = parse_shape('"settling": {"requests", "items"}')
    assert list(fragment.keys) == ["settling"] and list(fragment.keys["settling"].keys) == ["requests", "items"]
    with pytest.raises(ValueError):
        parse_shape('{"a": whatever}')


def test_claims_are_read_from_the_prose():
    text = ("`wsync import --json` prints `{\"a\", \"b\": {\"c\"}}` (when it ran). And `status\n--json` "
            "carries `\"d\": {\"e\"}`. But `` `wsync x --json` prints `{\"z\"}` `` is about the notation.")
    spans = code_spans(text)
    assert [s.code for s in spans][:4] == ["wsync import --json", '{"a", "b": {"c"}}', "status --json", '"d": {"e"}']
    assert spans[4].code == '`wsync x --json` prints `{"z"}`'
    assert command_key(["wsync", "import", "FEED", "--background", "--json"]) == (("import",),
                                                                            frozenset({"--background", "--json"}))
    assert command_key(["jobs", "--json"]) == (("jobs",), frozenset({"--json"}))
    assert command_key(["feed", "preview", "x.csv", "--json"])[0] == ("feed", "preview")

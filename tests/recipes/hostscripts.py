#!/usr/bin/env python3
"""Checks the scripts nestlab ships to patch Windows Hyper-V hosts of a lab
(templates/hosts/windows/), which nothing here can run: no Windows, no
PowerShell. Prints TAP. It reuses recipes.py's tokenizer, which is NOT a
PowerShell parser (see there).

- every script passes the tokenizer (brackets, strings, here-strings, "$name:",
  backticks, typographic quotes) and recipes.py's secret rules; beyond them,
  no script handles a secret at all (no -Credential, -Password, SecureString);
- every script but the library has a param() block whose first statements are
  $ErrorActionPreference = 'Stop' and Set-StrictMode -Version Latest, and a
  comment header with its parameters, its output, its exit codes and the state
  it leaves; the library only defines functions;
- every dot-sourced file exists (from the script's folder, $PSScriptRoot), the
  library is dot-sourced before its functions are used, and every Verb-Nestlab*
  command a script calls is defined in it or in the library;
- the commands the flow depends on are there, with the parameters that make
  them do what the docs say (REQUIRED); inventory.ps1 changes nothing, update.ps1
  touches no VM, and no script restarts the host (nestlab does, through the agent);
- exits are literal; exit code 3010 is update.ps1's alone; the exit codes, the
  parameters and the output keys a header documents are those of its code;
- goldens: each script's interface (parameters with type, mandatory, default
  and validation; output keys; exit codes; dot-sourced files; the library's
  functions) in tests/data/hosts/windows-NAME.txt (NESTLAB_REGENERATE=1 rewrites
  them, for review);
- the checks catch the faults that tests/data/hosts/mutations/*.case plant, one
  per case, in a copy of a shipped script.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recipes  # noqa: E402  (the tokenizer, the TAP writer, the golden compare)
from recipes import PsLexer, Tap, check_ps, compare_golden, ps_statements  # noqa: E402

SOURCE = recipes.SOURCE
HOSTS = os.path.join(SOURCE, 'templates', 'hosts', 'windows')
GOLDEN = os.path.join(SOURCE, 'tests', 'data', 'hosts')
MUTATIONS = os.path.join(GOLDEN, 'mutations')
LIB = 'nestlab-host-lib.ps1'
SCRIPTS = ('inventory.ps1', 'drain.ps1', 'update.ps1', 'resume.ps1')

# Commands each file must call, with the parameters (and argument values:
# words, strings, $variables) one call must have. What the flow rests on.
REQUIRED = {
    LIB: [
        ('Get-VMProcessor', ['-VM'], []),
        ('Get-ClusterNode', ['-Name'], ['$env:COMPUTERNAME']),
        ('Get-ClusterGroup', [], []),
        ('Get-ClusterParameter', ['-Name'], ['VmId']),
        ('Get-Module', ['-ListAvailable', '-Name'], ['FailoverClusters']),
    ],
    'inventory.ps1': [
        ('Get-VM', [], []),
        ('Get-NestlabClusterInfo', [], []),
        ('Test-NestlabNestedVM', ['-VM'], []),
        ('New-Object', ['-ComObject'], ['Microsoft.Update.SystemInfo']),
    ],
    'drain.ps1': [
        ('Get-VM', [], []),
        ('Test-NestlabNestedVM', ['-VM'], []),
        ('Save-VM', ['-VM'], []),
        ('Stop-VM', ['-VM', '-Force', '-AsJob'], []),
        ('Stop-VM', ['-VM', '-TurnOff'], []),
        ('Move-VM', ['-VM', '-DestinationHost'], []),
        ('Move-VM', ['-VM', '-DestinationHost', '-IncludeStorage'], []),
        ('Suspend-ClusterNode', ['-Name', '-Drain', '-Wait'], ['$env:COMPUTERNAME']),
        ('Write-NestlabHostState', ['-Path', '-State'], []),
    ],
    'update.ps1': [
        ('New-Object', ['-ComObject'], ['Microsoft.Update.Session']),
        ('New-Object', ['-ComObject'], ['Microsoft.Update.SystemInfo']),
    ],
    'resume.ps1': [
        ('Start-VM', ['-VM'], []),
        ('Move-VM', ['-ComputerName', '-Name', '-DestinationHost'], ['$env:COMPUTERNAME']),
        ('Resume-ClusterNode', ['-Name', '-Failback'], ['$env:COMPUTERNAME', 'Immediate']),
        ('Start-ClusterGroup', ['-Name'], []),
        ('Write-NestlabHostState', ['-Path', '-State'], []),
    ],
}
# Strings a file must hold, as a whole string literal.
REQUIRED_STRINGS = {
    'update.ps1': ["IsInstalled=0 and Type='Software' and IsHidden=0"],
}
# Method calls (.Name() on a COM object) a file must make.
REQUIRED_METHODS = {
    'update.ps1': ['CreateUpdateSearcher', 'Search', 'CreateUpdateDownloader', 'Download',
                   'CreateUpdateInstaller', 'Install', 'GetUpdateResult'],
}
# Whatever restarts or stops the host: nestlab restarts it, through the agent.
RESTARTS = {'restart-computer', 'stop-computer', 'shutdown', 'shutdown.exe'}
# Verbs that change something (inventory.ps1 may use none) and the VM and
# cluster commands update.ps1 must leave to the drain and the resume.
CHANGING = re.compile(r'^(Save|Stop|Start|Move|Suspend|Resume|Set|Remove|Restart|Install|Enable|Disable|'
                      r'Add|Clear|Rename|Register|Unregister|Update|Import)-\w+$', re.I)
CHANGING_ALLOWED = {'set-strictmode', 'import-module'}
VM_OR_CLUSTER = re.compile(r'^(Save|Stop|Start|Move|Suspend|Resume|Remove|Checkpoint)-(VM|Cluster)\w*$', re.I)
SECRET_PARAMS = {'-credential', '-destinationcredential', '-password'}

OPENERS = ('(', '{', '[', '@(', '@{', '$(')
CLOSERS = (')', '}', ']')


def render(t):
    if t.kind == 'var':
        return '$' + t.value
    if t.kind == 'str':
        return "'" + t.value.replace("'", "''") + "'"
    return t.value


def significant(tokens):
    return [t for t in tokens if t.kind != 'newline']


def matching(tokens, i):
    """Index of the bracket that closes tokens[i], an opener."""
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind == 'op' and t.value in OPENERS:
            depth += 1
        elif t.kind == 'op' and t.value in CLOSERS:
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def split_top(tokens, sep=','):
    """tokens split at `sep` outside brackets."""
    out, cur, depth = [], [], 0
    for t in tokens:
        if t.kind == 'op' and t.value in OPENERS:
            depth += 1
        elif t.kind == 'op' and t.value in CLOSERS:
            depth -= 1
        if depth == 0 and t.kind == 'op' and t.value == sep:
            out.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def parse_params(sig, start):
    """The parameters of the param( block whose 'param' word is sig[start]:
    a list of dicts (name, type, mandatory, default, validation), and the
    index after its closing bracket. None if sig[start] is not one."""
    if not (start + 1 < len(sig) and sig[start].kind == 'word' and sig[start].value.lower() == 'param'
            and sig[start + 1].kind == 'op' and sig[start + 1].value == '('):
        return None, start
    end = matching(sig, start + 1)
    params = []
    for chunk in split_top(sig[start + 2:end]):
        p = {'name': None, 'type': None, 'mandatory': False, 'default': None, 'validation': []}
        i = 0
        while i < len(chunk) and chunk[i].kind == 'op' and chunk[i].value == '[':
            close = matching(chunk, i)
            inner = chunk[i + 1:close]
            i = close + 1
            head = inner[0].value if inner else ''
            if head.lower() == 'parameter':
                for k, t in enumerate(inner):
                    if t.kind == 'word' and t.value.lower() == 'mandatory':
                        after = inner[k + 1:k + 3]
                        p['mandatory'] = not (len(after) == 2 and after[0].value == '='
                                              and after[1].kind == 'var' and after[1].value.lower() == 'false')
            elif len(inner) > 1 and inner[1].kind == 'op' and inner[1].value == '(':
                args = [render(t) for t in inner[2:matching(inner, 1)] if not (t.kind == 'op' and t.value == ',')]
                p['validation'].append(f'{head}({", ".join(args)})')
            else:
                p['type'] = ''.join(t.value for t in inner)
        if i < len(chunk) and chunk[i].kind == 'var':
            p['name'] = chunk[i].value
            i += 1
        if i < len(chunk) and chunk[i].kind == 'op' and chunk[i].value == '=':
            p['default'] = ' '.join(render(t) for t in chunk[i + 1:])
        params.append(p)
    return params, end + 1


def describe_param(p):
    out = f'-{p["name"]} [{p["type"] or "object"}]'
    if p['mandatory']:
        out += ' mandatory'
    if p['default'] is not None:
        out += f' = {p["default"]}'
    for v in p['validation']:
        out += f' {v}'
    return out


def header(text):
    """The comment lines at the top of a file, without their '#'."""
    out = []
    for line in text.replace('\r\n', '\n').split('\n'):
        if not line.startswith('#'):
            break
        out.append(line[1:])
    return out


def header_section(lines, title):
    """The lines of a header section: from the line starting with `title`
    to the first empty comment line. None if there is no such section."""
    for n, line in enumerate(lines):
        if line.strip().startswith(title):
            body = [line.strip()[len(title):]]
            for more in lines[n + 1:]:
                if not more.strip():
                    break
                body.append(more)
            return body
    return None


def documented_params(lines):
    body = header_section(lines, 'Parameters:')
    if body is None:
        return None
    if body[0].strip() == 'none.':
        return []
    return [m.group(1) for m in (re.match(r'\s{2,}-([A-Za-z]+)\b', b) for b in body[1:]) if m]


def documented_output(lines):
    body = header_section(lines, 'Output (stdout')
    if body is None:
        return None
    out = []
    for b in body[1:]:
        m = re.match(r'\s{2,}([a-z_]+(?:\[\])?(?:\.[a-z_]+(?:\[\])?)*)\s+(\S+)', b)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def documented_exits(lines):
    body = header_section(lines, 'Exit codes:')
    if body is None:
        return None
    return sorted({int(m.group(1)) for m in (re.match(r'\s{2,}(\d+)\s', b) for b in body[1:]) if m})


def command_calls(tokens, name):
    """Each call of command `name`: (line, parameters, argument values), the
    tokens up to the end of its pipeline element."""
    calls = []
    for i, t in enumerate(tokens):
        if t.kind != 'word' or t.value.lower() != name.lower():
            continue
        if i > 0 and tokens[i - 1].kind == 'word' and tokens[i - 1].value.lower() == 'function':
            continue
        params, values, depth = set(), set(), 0
        for u in tokens[i + 1:]:
            if u.kind == 'op' and u.value in OPENERS:
                depth += 1
            elif u.kind == 'op' and u.value in CLOSERS:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (u.kind == 'newline' or (u.kind == 'op' and u.value in (';', '|'))):
                break
            elif u.kind == 'param':
                if depth == 0:
                    params.add(u.value.lower())
            elif u.kind in ('word', 'str'):
                values.add(u.value.lower())
            elif u.kind == 'var':
                values.add('$' + u.value.lower())
        calls.append((t.line, params, values))
    return calls


def functions_defined(tokens):
    """name -> (line, its param list) of each `function NAME { param(...) }`."""
    out = {}
    sig = significant(tokens)
    for i, t in enumerate(sig):
        if t.kind == 'word' and t.value.lower() == 'function' and i + 1 < len(sig):
            name = sig[i + 1].value
            params = []
            if i + 2 < len(sig) and sig[i + 2].value == '{':
                params, _ = parse_params(sig, i + 3)
            out[name.lower()] = (name, t.line, params or [])
    return out


def hashtable_keys(tokens):
    """Names used as hashtable keys: KEY = inside @{...}, and $x.KEY = ."""
    keys, stack = set(), []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t.kind == 'op' and t.value in OPENERS:
            stack.append(t.value)
        elif t.kind == 'op' and t.value in CLOSERS and stack:
            stack.pop()
        elif t.kind == 'word' and nxt is not None and nxt.kind == 'op' and nxt.value == '=':
            if stack and stack[-1] == '@{':
                keys.add(t.value.lower())
            elif t.value.startswith('.'):
                keys.add(t.value.split('.')[-1].lower())     # $a.b.KEY =
    return keys


def printed_keys(tokens):
    """The top-level keys of the hashtable the script prints: the variable
    given to Write-NestlabJson, where it is assigned an @{...} literal.
    None if that cannot be found."""
    names = {tokens[i + 1].value.lower() for i, t in enumerate(tokens[:-1])
             if t.kind == 'word' and t.value.lower() == 'write-nestlabjson' and tokens[i + 1].kind == 'var'}
    for st in ps_statements(tokens):
        if not (len(st) > 3 and st[0].kind == 'var' and st[0].value.lower() in names and st[1].value == '='):
            continue
        start = next((i for i, t in enumerate(st) if t.kind == 'op' and t.value == '@{'), None)
        if start is None:
            continue
        keys, depth = [], 0
        for i in range(start, matching(st, start)):
            t = st[i]
            if t.kind == 'op' and t.value in OPENERS:
                depth += 1
            elif t.kind == 'op' and t.value in CLOSERS:
                depth -= 1
            elif depth == 1 and t.kind == 'word' and st[i + 1].kind == 'op' and st[i + 1].value == '=':
                keys.append(t.value)
        return keys
    return None


def dot_sources(tokens, folder):
    """(line, file name, resolved path or None) of each dot-sourcing
    statement: `. (Join-Path $PSScriptRoot 'FILE')` or `. "$PSScriptRoot\\FILE"`."""
    out = []
    for st in ps_statements(tokens):
        if not (st[0].kind == 'word' and st[0].value == '.'):
            continue
        rest = st[1:]
        name = None
        if (len(rest) == 5 and rest[0].value == '(' and rest[1].value.lower() == 'join-path'
                and rest[2].kind == 'var' and rest[2].value.lower() == 'psscriptroot' and rest[3].kind == 'str'):
            name = rest[3].value
        elif len(rest) == 1 and rest[0].kind == 'str' and re.match(r'(?i)\$PSScriptRoot[\\/]', rest[0].value):
            name = rest[0].value[len('$PSScriptRoot') + 1:]
        out.append((st[0].line, name or ' '.join(render(t) for t in rest),
                    os.path.join(folder, name) if name else None))
    return out


class Script:
    def __init__(self, name, text, folder):
        self.name = name
        self.text = text
        self.folder = folder
        self.lexer = PsLexer(text).run()
        self.tokens = self.lexer.tokens
        self.sig = significant(self.tokens)
        self.header = header(text)
        self.params, after = parse_params(self.sig, 0)
        # The tokens (newlines kept) after the param block.
        self.body = self.tokens
        if after < len(self.sig):
            first = self.sig[after]
            self.body = self.tokens[next(i for i, t in enumerate(self.tokens) if t is first):]
        elif self.params is not None:
            self.body = []


def check_script(name, text, folder, lib):
    """Errors in one host script (`name` says which rules apply; `lib` is
    the library's Script, for its functions and keys)."""
    what = name
    errors, _, _ = check_ps(text, what, is_step_script=(name != LIB), facts=False)
    s = Script(name, text, folder)
    if s.lexer.errors:
        return errors, s
    toks, sig = s.tokens, s.sig
    words = [t for t in toks if t.kind == 'word']

    if not any(h.strip() for h in s.header[:3]):
        errors.append(f'{what}: does not start with a comment header saying what it does')
    if name == LIB:
        for st in ps_statements(toks):
            if not (st[0].kind == 'word' and st[0].value.lower() == 'function'):
                errors.append(f'{what}: line {st[0].line}: the library only defines functions, '
                              f'but this statement does something when it is dot-sourced')
    else:
        if s.params is None:
            errors.append(f'{what}: has no param() block (an empty one, param(), if it takes nothing)')
        rest = ps_statements(s.body)
        first = [' '.join(render(t) for t in st) for st in rest[:2]]
        if first[:1] != ["$ErrorActionPreference = 'Stop'"]:
            errors.append(f"{what}: the first statement after param() is not $ErrorActionPreference = 'Stop'")
        if first[1:2] != ['Set-StrictMode -Version Latest']:
            errors.append(f'{what}: the second statement after param() is not Set-StrictMode -Version Latest')
        for title in ('Parameters:', 'Output (stdout', 'Exit codes:', 'State left behind:'):
            if header_section(s.header, title) is None:
                errors.append(f'{what}: its header has no "{title}" section')

        # The library, dot-sourced before its functions are used.
        sources = dot_sources(toks, folder)
        for line, file_name, path in sources:
            if path is None:
                errors.append(f'{what}: line {line}: dot-sources {file_name}, which is not a file beside it '
                              f"(write . (Join-Path $PSScriptRoot 'FILE'))")
            elif not os.path.isfile(path):
                errors.append(f'{what}: line {line}: dot-sources {file_name}, which does not exist in {folder}')
        lib_lines = [line for line, file_name, _ in sources if file_name == LIB]
        own = functions_defined(toks)
        lib_functions = functions_defined(lib.tokens) if lib else {}
        if not lib_lines:
            errors.append(f'{what}: does not dot-source {LIB}')
        else:
            early = [t.line for t in words if t.value.lower() in lib_functions and t.line < lib_lines[0]]
            if early:
                errors.append(f'{what}: line {early[0]} uses a library function before {LIB} is dot-sourced')
        for t in words:
            if re.match(r'^[A-Za-z]+-Nestlab\w+$', t.value) and t.value.lower() not in own \
                    and t.value.lower() not in lib_functions:
                errors.append(f'{what}: line {t.line}: {t.value} is defined nowhere (neither here nor in {LIB})')

        # Documented interface = code.
        documented = documented_params(s.header)
        if documented is not None and s.params is not None:
            have = [p['name'] for p in s.params]
            for n in have:
                if n not in documented:
                    errors.append(f'{what}: parameter -{n} is not documented in its header')
            for n in documented:
                if n not in have:
                    errors.append(f'{what}: its header documents -{n}, which is not a parameter')
        exits = exit_codes(toks, what, errors)
        documented_ex = documented_exits(s.header)
        if documented_ex is not None and documented_ex != exits:
            errors.append(f'{what}: its header documents exit codes {documented_ex}, its code has {exits}')
        output = documented_output(s.header) or []
        printed = printed_keys(toks)
        top = [path.replace('[]', '') for path, _ in output if '.' not in path]
        if printed is None:
            errors.append(f'{what}: prints no hashtable literal through Write-NestlabJson $VARIABLE')
        elif printed != top:
            errors.append(f'{what}: prints the keys {", ".join(printed)}; its header documents '
                          f'{", ".join(top)} (same keys, same order)')
        keys = hashtable_keys(toks) | (hashtable_keys(lib.tokens) if lib else set())
        for path, _ in output:
            leaf = path.split('.')[-1].replace('[]', '')
            if leaf.lower() not in keys:
                errors.append(f'{what}: its header documents output key {path}, but no hashtable here '
                              f'or in {LIB} has a key "{leaf}"')

    # 3010 is update.ps1's.
    if name != 'update.ps1':
        for t in toks:
            if t.kind in ('word', 'str') and t.value == '3010':
                errors.append(f'{what}: line {t.line}: 3010 ("done, restart required") is update.ps1\'s exit code alone')

    # What the flow rests on.
    for command, params, values in REQUIRED.get(name, []):
        calls = command_calls(toks, command)
        want = {p.lower() for p in params}
        vals = {v.lower() for v in values}
        if not any(want <= ps and vals <= vs for _, ps, vs in calls):
            spec = ' '.join([command] + params + values)
            errors.append(f'{what}: no call of {command} with {" ".join(params + values) or "anything"} '
                          f'({"none at all" if not calls else f"{len(calls)} without"}): the flow needs {spec}')
    strings = {t.value for t in toks if t.kind == 'str'}
    for want in REQUIRED_STRINGS.get(name, []):
        if want not in strings:
            errors.append(f'{what}: does not hold the string "{want}"')
    methods = {t.value.split('.')[-1].lower() for i, t in enumerate(toks[:-1])
               if t.kind == 'word' and t.value.startswith('.') and toks[i + 1].value == '('}
    for want in REQUIRED_METHODS.get(name, []):
        if want.lower() not in methods:
            errors.append(f'{what}: does not call .{want}()')

    # What no script may do.
    for i, t in enumerate(toks):
        if t.kind != 'word':
            continue
        low = t.value.lower()
        if low in RESTARTS and command_position(toks, i):
            errors.append(f'{what}: line {t.line}: {t.value} restarts the host; nestlab restarts it through the agent')
        if name == 'inventory.ps1' and CHANGING.match(t.value) and low not in CHANGING_ALLOWED:
            errors.append(f'{what}: line {t.line}: {t.value}: inventory.ps1 changes nothing')
        if name == 'inventory.ps1' and low == 'write-nestlabhoststate':
            errors.append(f'{what}: line {t.line}: {t.value}: inventory.ps1 writes no state')
        if name == 'update.ps1' and VM_OR_CLUSTER.match(t.value):
            errors.append(f'{what}: line {t.line}: {t.value}: VMs and the cluster are drain.ps1\'s and resume.ps1\'s')
        if low in ('convertto-securestring', 'read-nestlabsecret', 'get-credential'):
            errors.append(f'{what}: line {t.line}: {t.value}: the host scripts handle no secrets (they run as SYSTEM)')
    for t in toks:
        if t.kind == 'param' and t.value.lower() in SECRET_PARAMS:
            errors.append(f'{what}: line {t.line}: {t.value}: the host scripts handle no secrets (they run as SYSTEM)')
    return errors, s


def command_position(tokens, i):
    """Whether tokens[i] stands where a command is called: first in its
    line, statement, pipeline element or bracket, or after & (and is no
    hashtable key)."""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is not None and nxt.kind == 'op' and nxt.value == '=':
        return False
    prev = tokens[i - 1] if i > 0 else None
    return prev is None or prev.kind == 'newline' or (
        prev.kind == 'op' and prev.value in ('|', ';', '(', '{', '$(', '@(', '&'))


def exit_codes(tokens, what, errors):
    """The codes of the script's `exit N` statements; an exit with anything
    but a number is an error (nobody could tell what it returns)."""
    codes = set()
    for i, t in enumerate(tokens):
        if t.kind == 'word' and t.value.lower() == 'exit':
            arg = tokens[i + 1] if i + 1 < len(tokens) else None
            if arg is not None and arg.kind == 'word' and arg.value.isdigit():
                codes.add(int(arg.value))
            else:
                errors.append(f'{what}: line {t.line}: exit with a literal number, so its codes can be checked')
    return sorted(codes)


def interface(s, lib):
    """The golden text of a script's interface."""
    out = [f'script {s.name}']
    if s.name == LIB:
        out.append('functions:')
        for name, line, params in sorted(functions_defined(s.tokens).values()):
            out.append(f'  {name}')
            for p in params:
                out.append(f'    {describe_param(p)}')
        return '\n'.join(out) + '\n'
    out.append('dot-sources: ' + ', '.join(f for _, f, _ in dot_sources(s.tokens, s.folder)))
    out.append('params:')
    for p in s.params or []:
        out.append(f'  {describe_param(p)}')
    if not s.params:
        out.append('  (none)')
    out.append('output:')
    for path, kind in documented_output(s.header) or []:
        out.append(f'  {path}: {kind}')
    out.append('exit codes: ' + ' '.join(str(c) for c in exit_codes(s.tokens, s.name, [])))
    return '\n'.join(out) + '\n'


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def check_all(texts, folder, regenerate):
    """(description, errors) of each check over the scripts in `texts`
    (file name -> text)."""
    results = []
    lib = None
    if LIB in texts:
        lib = Script(LIB, texts[LIB], folder)
    scripts = {}
    for name in (LIB,) + SCRIPTS:
        if name not in texts:
            results.append((f'{name} is shipped', [f'{name} is missing from {folder}']))
            continue
        errors, s = check_script(name, texts[name], folder, lib)
        scripts[name] = s
        results.append((f'{name}: tokenizer, header, strict mode, dot-sources, commands the flow needs', errors))
    for name, s in scripts.items():
        if s.lexer.errors:
            continue
        golden = f'windows-{os.path.splitext(name)[0]}.txt'
        results.append((f'golden {golden}', compare_golden(golden, interface(s, lib), GOLDEN, regenerate)))
    return results


def main():
    tap = Tap()
    names = sorted(f for f in os.listdir(HOSTS) if f.endswith('.ps1'))
    extra = [f for f in names if f not in (LIB,) + SCRIPTS]
    tap.result('templates/hosts/windows holds the library and the four scripts, nothing else',
               [f'unexpected script {f}: add it to hostscripts.py' for f in extra])
    texts = {f: read(os.path.join(HOSTS, f)) for f in names}
    for desc, errors in check_all(texts, HOSTS, regenerate=True):
        tap.result(desc, errors)

    # Each case plants one fault in a copy of a shipped script; the checks
    # must report it.
    for case in sorted(f for f in os.listdir(MUTATIONS) if f.endswith('.case')):
        spec = {}
        for line in read(os.path.join(MUTATIONS, case)).split('\n'):
            m = re.match(r'(expect|script|replace|with):\s?(.*)$', line)
            if m:
                spec[m.group(1)] = m.group(2)
        script, expect = spec.get('script'), spec.get('expect')
        old = spec.get('replace', '').replace('\\n', '\n')        # \n in a case is a line break
        if not (script and old and expect and 'with' in spec) or script not in texts:
            tap.result(f'mutation {case}', ['needs lines expect:, script: (a shipped script), replace:, with:'])
            continue
        if old not in texts[script]:
            tap.result(f'mutation {case}', [f'{script} no longer holds "{old}": update the case'])
            continue
        mutated = dict(texts)
        mutated[script] = texts[script].replace(old, spec['with'].replace('\\n', '\n'))
        found = [e for _, errors in check_all(mutated, HOSTS, regenerate=False) for e in errors]
        hit = any(expect in e for e in found)
        tap.result(f'the checks catch {case} ({expect})',
                   [] if hit else [f'expected an error containing "{expect}", got:'] + (found or ['none']))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())

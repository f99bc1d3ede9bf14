#!/usr/bin/env python3
"""Checks the role recipes nestlab ships (templates/roles/), which nothing here
can run: no Windows media, no hardware virtualization. Prints TAP.

- every recipe validates against templates/schema/recipe.rng (xmllint);
- step names are unique (per OS: a machine runs several recipes), every
  after= names a step of a shipped recipe, no machine waits for its own
  later step, and the recipes' order has no cycle;
- every file a step names exists; a step's script reads only the secrets the
  step is given; a script that uses the helper library runs after the step
  that copies it in;
- every PowerShell script (and every inline probe) passes a tokenizer that
  finds unbalanced brackets, unterminated strings and here-strings,
  "$name:" in strings and backticks followed by blanks. It is NOT a PowerShell parser: Debian has no
  PowerShell, and these checks catch less than one would;
- every script starts with $ErrorActionPreference = 'Stop', dot-sources the
  facts file before it uses $NL, and never puts a secret on a command line,
  in a string or in its output;
- goldens: each recipe's steps as text, in tests/data/roles/OS-ROLE.txt
  (NESTLAB_REGENERATE=1 rewrites them);
- the checks themselves catch the faults planted in tests/data/roles/bad/.
"""

import difflib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

SOURCE = os.environ.get('NESTLAB_SOURCE') or os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..'))
XMLLINT = os.environ.get('XMLLINT', 'xmllint')
ROLES = os.path.join(SOURCE, 'templates', 'roles')
SCHEMA = os.path.join(SOURCE, 'templates', 'schema', 'recipe.rng')
GOLDEN = os.path.join(SOURCE, 'tests', 'data', 'roles')
BAD = os.path.join(GOLDEN, 'bad')

FACTS_WINDOWS = r'C:\ProgramData\nestlab\facts.ps1'
SECRET_DIR_WINDOWS = 'C:\\ProgramData\\nestlab\\secrets\\'
LIB_SOURCE = 'lib/nestlab-lib.ps1'
LIB_GUEST = r'C:\ProgramData\nestlab\nestlab-lib.ps1'
# Helper-library functions and the secrets they read.
LIB_SECRET_USERS = {'get-nestlabdomaincredential': 'domain-admin',
                    'invoke-nestlabasdomainadmin': 'domain-admin'}
ACTIONS = ('run', 'script', 'exec', 'copy', 'reboot', 'wait')
# Roles whose machines run the member recipe first (every Windows role but
# the domain controller's; the engine decides, this mirrors the spec).
NOT_MEMBERS = {'domain-controller', 'member'}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, desc, errors):
        self.n += 1
        if errors:
            self.failed += 1
            print(f'not ok {self.n} - {desc}')
            for e in errors:
                for line in str(e).splitlines():
                    print(f'# {line}')
        else:
            print(f'ok {self.n} - {desc}')

    def done(self):
        print(f'1..{self.n}')
        return 1 if self.failed else 0


# ---------------------------------------------------------------- PowerShell

class Token:
    __slots__ = ('kind', 'value', 'line', 'in_string')

    def __init__(self, kind, value, line, in_string=False):
        self.kind = kind          # var param word op str here num newline
        self.value = value
        self.line = line
        self.in_string = in_string

    def __repr__(self):
        return f'{self.kind}:{self.value!r}@{self.line}'


OPENERS = {'(': ')', '{': '}', '[': ']'}
CLOSERS = {')', '}', ']'}
NAME_CHARS = re.compile(r'[A-Za-z0-9_?]')
WORD_END = set(' \t\r\n(){}[];,|"\'`') | {'\u2018', '\u2019', '\u201c', '\u201d'}


class PsLexer:
    """Splits PowerShell into tokens well enough to check brackets, strings,
    here-strings and subexpressions, and to find variables, parameters and
    literals. Not a parser: it knows no grammar beyond that."""

    def __init__(self, text):
        self.s = text.replace('\r\n', '\n')
        self.i = 0
        self.line = 1
        self.tokens = []
        self.errors = []

    def error(self, line, msg):
        self.errors.append(f'line {line}: {msg}')

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ''

    def advance(self, n=1):
        for _ in range(n):
            if self.i < len(self.s):
                if self.s[self.i] == '\n':
                    self.line += 1
                self.i += 1

    def emit(self, kind, value, line, in_string):
        self.tokens.append(Token(kind, value, line, in_string))

    def run(self):
        self.code(None, False)
        return self

    def code(self, closer, in_string):
        """Scans code until the bracket that `closer` stands for closes
        (a subexpression inside a string), or to the end of the text."""
        stack = []
        start_line = self.line
        while self.i < len(self.s):
            c = self.peek()
            line = self.line
            if c == '\n':
                self.emit('newline', '\n', line, in_string)
                self.advance()
            elif c in ' \t\r':
                self.advance()
            elif c == '<' and self.peek(1) == '#':
                end = self.s.find('#>', self.i + 2)
                if end < 0:
                    self.error(line, 'block comment <# is never closed')
                    self.advance(len(self.s) - self.i)
                else:
                    self.advance(end + 2 - self.i)
            elif c == '#':
                while self.i < len(self.s) and self.peek() != '\n':
                    self.advance()
            elif c == '`':
                eol = self.s.find('\n', self.i)
                rest = self.s[self.i + 1:eol if eol >= 0 else len(self.s)]
                if rest and not rest.strip():
                    self.error(line, 'a backtick followed by blanks does not continue the line')
                self.advance(2)                      # escape; `<newline> continues a line
            elif c in ('\u2018', '\u2019', '\u201c', '\u201d'):
                self.error(line, f'typographic quote {c!r}: PowerShell reads it as a quote, editors do not')
                self.advance()
            elif c == "'":
                self.single_quoted(in_string)
            elif c == '"':
                self.double_quoted(in_string)
            elif c == '@' and self.peek(1) in ('"', "'") and self.here_start():
                self.here_string(in_string)
            elif c == '@' and self.peek(1) in ('(', '{'):
                stack.append((OPENERS[self.peek(1)], line, '@' + self.peek(1)))
                self.emit('op', '@' + self.peek(1), line, in_string)
                self.advance(2)
            elif c == '$':
                self.variable(in_string, stack)
            elif c in OPENERS:
                stack.append((OPENERS[c], line, c))
                self.emit('op', c, line, in_string)
                self.advance()
            elif c in CLOSERS:
                if not stack:
                    if closer == c:
                        self.advance()
                        return
                    self.error(line, f"'{c}' closes nothing")
                else:
                    want, open_line, opener = stack.pop()
                    if want != c:
                        self.error(line, f"'{c}' closes '{opener}' of line {open_line}")
                self.emit('op', c, line, in_string)
                self.advance()
            elif c == '-' and re.match(r'[A-Za-z]', self.peek(1) or ' '):
                j = self.i + 1
                while j < len(self.s) and re.match(r'[A-Za-z0-9_]', self.s[j]):
                    j += 1
                self.emit('param', self.s[self.i:j], line, in_string)
                self.advance(j - self.i)
                if self.peek() == ':':                # -Switch:$false
                    self.advance()
            elif c in ';|,=&':
                self.emit('op', c, line, in_string)
                self.advance()
            else:
                j = self.i
                while j < len(self.s) and self.s[j] not in WORD_END:
                    if self.s[j] == '$' and j > self.i:
                        break
                    j += 1
                if j == self.i:
                    j += 1
                self.emit('word', self.s[self.i:j], line, in_string)
                self.advance(j - self.i)
        for want, open_line, opener in stack:
            self.error(open_line, f"'{opener}' is never closed")
        if closer is not None:
            self.error(start_line, "'$(' is never closed")

    def here_start(self):
        j = self.i + 2
        while j < len(self.s) and self.s[j] in ' \t\r':
            j += 1
        return j >= len(self.s) or self.s[j] == '\n'

    def variable(self, in_string, stack):
        line = self.line
        nxt = self.peek(1)
        if nxt == '(':
            self.emit('op', '$(', line, in_string)
            stack.append((')', line, '$('))
            self.advance(2)
            return
        if nxt == '{':
            end = self.s.find('}', self.i)
            if end < 0:
                self.error(line, "'${' is never closed")
                self.advance(len(self.s) - self.i)
                return
            self.emit('var', self.s[self.i + 2:end], line, in_string)
            self.advance(end + 1 - self.i)
            return
        m = re.compile(r'\$(?:([A-Za-z_][A-Za-z0-9_]*)(:[A-Za-z_][A-Za-z0-9_]*)?|([_?$^]))').match(self.s, self.i)
        if not m:
            self.emit('word', '$', line, in_string)
            self.advance()
            return
        name = m.group(1) or m.group(3)
        if m.group(2):
            name += m.group(2)
        self.emit('var', name, line, in_string)
        self.advance(m.end() - self.i)

    def single_quoted(self, in_string):
        line = self.line
        self.advance()
        value = []
        while True:
            if self.i >= len(self.s):
                self.error(line, "string ' is never closed")
                return
            c = self.peek()
            if c == "'":
                if self.peek(1) == "'":
                    value.append("'")
                    self.advance(2)
                    continue
                self.advance()
                break
            value.append(c)
            self.advance()
        self.emit('str', ''.join(value), line, in_string)

    def expandable(self, line, text_end, doubled_quote=False):
        """The inside of a double-quoted or here-string: escapes, variables
        and subexpressions. text_end(i) is how many characters end the text
        at i (0: it goes on). Returns the text, or None at the end of input."""
        value = []
        while True:
            if self.i >= len(self.s):
                return None
            c = self.peek()
            if doubled_quote and c == '"' and self.peek(1) == '"':
                value.append('"')                   # "" is a quote inside "..."
                self.advance(2)
                continue
            n = text_end(self.i)
            if n:
                self.advance(n)
                return ''.join(value)
            if c == '`':
                value.append(self.s[self.i:self.i + 2])
                self.advance(2)
            elif c == '$' and self.peek(1) == '(':
                value.append('$(...)')
                self.advance(2)
                self.code(')', True)
            elif c == '$':
                m = re.compile(r'\$([A-Za-z_][A-Za-z0-9_]*)(:?)').match(self.s, self.i)
                if m and m.group(2) and not NAME_CHARS.match(self.s[m.end():m.end() + 1] or ' '):
                    self.error(self.line, f'"${m.group(1)}:" in a string is not a valid variable '
                                          f'reference: write "${{{m.group(1)}}}:"')
                    self.advance(m.end() - self.i)
                    continue
                before = len(self.tokens)
                self.variable(True, [])
                value.append('$' + (self.tokens[-1].value if len(self.tokens) > before else ''))
            else:
                value.append(c)
                self.advance()

    def double_quoted(self, in_string):
        line = self.line
        self.advance()
        text = self.expandable(line, lambda i: 1 if self.s[i] == '"' else 0, doubled_quote=True)
        if text is None:
            self.error(line, 'string " is never closed')
            return
        self.emit('str', text, line, in_string)

    def here_string(self, in_string):
        line = self.line
        quote = self.peek(1)
        while self.i < len(self.s) and self.peek() != '\n':
            self.advance()
        self.advance()

        def end(i):
            # A here-string ends at a line that starts with "@ (or '@).
            if (i == 0 or self.s[i - 1] == '\n') and self.s.startswith(quote + '@', i):
                return 2
            return 0

        if quote == "'":
            value = []
            while not end(self.i):
                if self.i >= len(self.s):
                    self.error(line, "here-string @' is never closed ('@ must start a line)")
                    return
                value.append(self.peek())
                self.advance()
            self.advance(2)
            self.emit('here', ''.join(value), line, in_string)
            return
        text = self.expandable(line, end)
        if text is None:
            self.error(line, 'here-string @" is never closed ("@ must start a line)')
            return
        self.emit('here', text, line, in_string)


def ps_statements(tokens):
    """Top-level-ish statements: token runs split at newlines and ';' that
    are not inside brackets, with line continuations (a line ending in a
    pipe, a comma or an operator) joined."""
    out, cur, depth = [], [], 0
    for t in tokens:
        if t.kind == 'op' and t.value in ('(', '{', '[', '@(', '@{', '$('):
            depth += 1
        elif t.kind == 'op' and t.value in (')', '}', ']'):
            depth = max(0, depth - 1)
        if t.kind == 'newline' and depth == 0:
            if cur and cur[-1].kind == 'op' and cur[-1].value in ('|', ',', '='):
                continue
            if cur:
                out.append(cur)
            cur = []
        elif t.kind == 'op' and t.value == ';' and depth == 0:
            if cur:
                out.append(cur)
            cur = []
        elif t.kind != 'newline':
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def secret_source(tokens):
    """Whether tokens read a secret: Read-NestlabSecret, or a path in the
    secrets folder."""
    for t in tokens:
        if t.kind == 'word' and t.value.lower() == 'read-nestlabsecret':
            return True
        if t.kind in ('str', 'here', 'word') and SECRET_DIR_WINDOWS.lower() in t.value.lower():
            return True
    return False


COMMAND_LINE_SINKS = {'start-process', 'new-scheduledtaskaction', 'invoke-expression', 'iex',
                      'cmd', 'cmd.exe', 'powershell', 'powershell.exe', 'msiexec', 'msiexec.exe',
                      'invoke-nestlabinstaller', 'invoke-nestlabasdomainadmin'}
OUTPUT_SINKS = {'write-output', 'write-host', 'write-verbose', 'write-warning', 'write-error',
                'echo', 'out-file', 'set-content', 'add-content', 'out-host'}


def check_ps(text, what, is_step_script=True, is_probe=False, facts=True):
    """Structural checks of one PowerShell text. Returns (errors, secrets
    the text reads, whether it dot-sources the helper library). With
    facts=False (the host scripts, which read no facts) a step script need
    not dot-source the facts file, and must not use $NL at all."""
    lexer = PsLexer(text).run()
    errors = [f'{what}: {e}' for e in lexer.errors]
    tokens = lexer.tokens
    if errors:
        return errors, set(), False
    significant = [t for t in tokens if t.kind != 'newline']

    # $ErrorActionPreference = 'Stop' first (after a param block). Probes
    # need not: a probe fails by any error or by exit 1.
    if is_step_script:
        k = 0
        if significant and significant[0].kind == 'word' and significant[0].value.lower() == 'param':
            depth = 0
            for k in range(1, len(significant)):
                v = significant[k]
                if v.kind == 'op' and v.value in ('(', '[', '{', '@(', '@{', '$('):
                    depth += 1
                elif v.kind == 'op' and v.value in (')', ']', '}'):
                    depth -= 1
                    if depth == 0:
                        k += 1
                        break
        first = significant[k:k + 3]
        if not (len(first) == 3 and first[0].kind == 'var' and first[0].value.lower() == 'erroractionpreference'
                and first[1].value == '=' and first[2].kind == 'str' and first[2].value == 'Stop'):
            errors.append(f"{what}: does not start with $ErrorActionPreference = 'Stop'")

    # The facts file, dot-sourced before $NL is used.
    lines = text.replace('\r\n', '\n').split('\n')
    facts_line = None
    for n, line in enumerate(lines, 1):
        if line.strip().lower() == '. ' + FACTS_WINDOWS.lower():
            facts_line = n
            break
    nl_uses = [t.line for t in tokens if t.kind == 'var' and t.value.lower() == 'nl']
    if not facts:
        if nl_uses:
            errors.append(f'{what}: line {min(nl_uses)} uses $NL, but no facts are written for it')
    elif is_step_script and facts_line is None:
        errors.append(f'{what}: does not dot-source {FACTS_WINDOWS}')
    elif (is_step_script or is_probe) and nl_uses and (facts_line is None or min(nl_uses) < facts_line):
        errors.append(f'{what}: line {min(nl_uses)} uses $NL before the facts file is dot-sourced')
    uses_lib = any(line.strip().lower() == '. ' + LIB_GUEST.lower() for line in lines)

    # Secrets: where they come from, and where they must never go.
    secrets = set()
    for t in tokens:
        if t.kind in ('str', 'here', 'word'):
            low = t.value.lower()
            pos = low.find(SECRET_DIR_WINDOWS.lower())
            if pos >= 0:
                secrets.add(re.match(r'[A-Za-z0-9._-]*', t.value[pos + len(SECRET_DIR_WINDOWS):]).group(0))
            elif re.search(r'\\secrets?\\', low):
                errors.append(f'{what}: line {t.line}: secrets are read from {SECRET_DIR_WINDOWS}, not {t.value}')
            if re.search(r'[/-](\w*password\w*)\s*[:= ]\s*\S', t.value, re.I) and t.kind != 'word':
                errors.append(f'{what}: line {t.line}: a password option inside a string '
                              f'(a command line in the making): {t.value.strip()[:60]}')
    for i, t in enumerate(significant):
        if t.kind == 'word' and t.value.lower() == 'read-nestlabsecret':
            arg = significant[i + 1] if i + 1 < len(significant) else None
            if arg is not None and arg.kind == 'str':
                secrets.add(arg.value)
        if t.kind == 'word' and t.value.lower() in LIB_SECRET_USERS:
            secrets.add(LIB_SECRET_USERS[t.value.lower()])
        # -Password and its kin take a variable, never a literal.
        if t.kind == 'param' and 'password' in t.value.lower():
            arg = significant[i + 1] if i + 1 < len(significant) else None
            if arg is None or arg.kind != 'var':
                errors.append(f'{what}: line {t.line}: {t.value} is given '
                              f'{"nothing" if arg is None else repr(arg.value)}, not a variable')

    statements = ps_statements(tokens)
    tainted = set()
    for st in statements:
        words = {t.value.lower() for t in st if t.kind == 'word'}
        # $x = <something that reads a secret>
        if len(st) >= 3 and st[0].kind == 'var' and st[1].value == '=' and secret_source(st[2:]):
            tainted.add(st[0].value.lower())
        if 'convertto-securestring' in words:
            idx = next(i for i, t in enumerate(st) if t.kind == 'word' and t.value.lower() == 'convertto-securestring')
            rest = st[idx + 1:]
            arg = None
            for j, t in enumerate(rest):
                if t.kind == 'param' and t.value.lower() == '-string':
                    arg = rest[j + 1:]
                    break
            if arg is None:
                arg = [t for t in rest if t.kind != 'param'] or []
            if not arg:
                errors.append(f'{what}: line {st[0].line}: ConvertTo-SecureString of nothing')
            elif arg[0].kind == 'var':
                if arg[0].value.lower() not in tainted:
                    errors.append(f'{what}: line {arg[0].line}: ConvertTo-SecureString of ${arg[0].value}, '
                                  f'which does not come from a secret file')
            elif arg[0].kind == 'op' and arg[0].value == '(':
                depth, inner = 0, []
                for t in arg:
                    if t.kind == 'op' and t.value in ('(', '{', '[', '@(', '@{', '$('):
                        depth += 1
                    elif t.kind == 'op' and t.value in (')', '}', ']'):
                        depth -= 1
                    inner.append(t)
                    if depth == 0:
                        break
                if not secret_source(inner):
                    errors.append(f'{what}: line {arg[0].line}: ConvertTo-SecureString of something '
                                  f'that is not read from a secret file')
            else:
                errors.append(f'{what}: line {arg[0].line}: ConvertTo-SecureString of a literal')
        used = [t for t in st if t.kind == 'var' and t.value.lower() in tainted]
        if not used or (st[0].kind == 'var' and st[0].value.lower() in tainted and st[1].value == '='
                        and all(t is st[0] for t in used)):
            continue
        for t in used:
            if t.in_string:
                errors.append(f'{what}: line {t.line}: secret ${t.value} inside a string')
        if words & COMMAND_LINE_SINKS or any(t.kind == 'op' and t.value == '&' for t in st) \
                or any(t.kind == 'param' and t.value.lower() in ('-argumentlist', '-argument') for t in st):
            errors.append(f'{what}: line {st[0].line}: secret ${used[0].value} on a command line')
        if words & OUTPUT_SINKS:
            errors.append(f'{what}: line {st[0].line}: secret ${used[0].value} written out')
    return errors, secrets, uses_lib


# ------------------------------------------------------------------- recipes

def duration_default(step):
    return step.get('timeout', '10m')


class Recipe:
    def __init__(self, path, root_dir):
        self.path = path
        self.rel = os.path.relpath(path, root_dir)
        self.tree = ET.parse(path)
        r = self.tree.getroot()
        self.role = r.get('role')
        self.os = r.get('os')
        self.steps = r.findall('step')

    def step_names(self):
        return [s.get('name') for s in self.steps]


def step_action(step):
    actions = [c for c in step if c.tag in ACTIONS]
    return actions


def load_recipes(root_dir):
    recipes = {}
    for os_name in sorted(os.listdir(root_dir)):
        d = os.path.join(root_dir, os_name)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith('.xml'):
                r = Recipe(os.path.join(d, f), root_dir)
                recipes[(os_name, r.role)] = r
    return recipes


def check_recipe(recipe, recipes, root_dir):
    """Errors in one recipe: names, actions, references, files, secrets."""
    errors = []
    base = os.path.splitext(os.path.basename(recipe.path))[0]
    os_name = os.path.basename(os.path.dirname(recipe.path))
    if recipe.role != base:
        errors.append(f'{recipe.rel}: role="{recipe.role}" but the file is named {base}.xml')
    if recipe.os != os_name:
        errors.append(f'{recipe.rel}: os="{recipe.os}" but the file is under {os_name}/')
    names = recipe.step_names()
    seen = set()
    for n in names:
        if n in seen:
            errors.append(f'{recipe.rel}: step name "{n}" is used twice')
        seen.add(n)
    lib_copied_at = None
    for index, step in enumerate(recipe.steps):
        name = step.get('name')
        where = f'{recipe.rel}: step "{name}"'
        actions = step_action(step)
        if len(actions) != 1:
            errors.append(f'{where} has {len(actions)} actions, not one')
            continue
        action = actions[0]
        for ref in (step.get('after') or '').split():
            if not ref.startswith('@'):
                errors.append(f'{where}: after="{ref}" names a machine; a recipe cannot know '
                              f'the template\'s machines, use @ROLE:STEP')
                continue
            role, _, target = ref[1:].partition(':')
            other = recipes.get((recipe.os, role))
            if other is None:
                errors.append(f'{where}: after="{ref}": no {recipe.os} recipe for role "{role}"')
            elif target not in other.step_names():
                errors.append(f'{where}: after="{ref}": recipe {other.rel} has no step "{target}" '
                              f'(it has {", ".join(other.step_names())})')
            elif role == recipe.role and other.step_names().index(target) >= index:
                errors.append(f'{where}: after="{ref}" waits for a step that this machine '
                              f'runs only later: it would wait for itself')
        if action.tag in ('script', 'copy'):
            path = os.path.join(os.path.dirname(recipe.path), action.get('file'))
            if not os.path.isfile(path):
                errors.append(f'{where}: {action.tag} file="{action.get("file")}" does not exist')
                continue
        if action.tag == 'copy' and action.get('file') == LIB_SOURCE:
            if action.get('to') != LIB_GUEST:
                errors.append(f'{where}: the helper library goes to {LIB_GUEST}, not {action.get("to")}')
            lib_copied_at = index
        given = set((step.get('secrets') or '').split())
        text = None
        if action.tag == 'script' and recipe.os == 'windows':
            with open(path, encoding='utf-8') as f:
                text = f.read()
            ps_errors, wanted, uses_lib = check_ps(text, f'{where} ({action.get("file")})')
            # Script faults are reported per script; here only what ties it to the step.
            if not ps_errors:
                missing = wanted - given
                if missing:
                    errors.append(f'{where}: its script reads secret {", ".join(sorted(missing))} '
                                  f'but the step is given only "{step.get("secrets") or ""}"')
                if uses_lib and (lib_copied_at is None or lib_copied_at >= index):
                    errors.append(f'{where}: its script dot-sources {LIB_GUEST}, which no earlier '
                                  f'step copies in')
        elif action.tag in ('wait', 'run') and recipe.os == 'windows':
            ps_errors, wanted, _ = check_ps(action.text or '', f'{where} <{action.tag}>',
                                            is_step_script=False, is_probe=True)
            errors.extend(ps_errors)
            missing = wanted - given
            if missing:
                errors.append(f'{where}: reads secret {", ".join(sorted(missing))} it is not given')
    return errors


def shared_names(recipes):
    """Step names used by two recipes of one OS. A machine runs several
    recipes (member, its role's, maybe a cluster's) and nestlab wants its
    step names unique per machine, so every name is unique per OS."""
    errors, seen = [], {}
    for (os_name, role), r in sorted(recipes.items()):
        for name in dict.fromkeys(r.step_names()):
            other = seen.setdefault((os_name, name), role)
            if other != role:
                errors.append(f'step name "{name}" is in both {os_name}/{other}.xml and {os_name}/{role}.xml: '
                              f'a machine that runs both would have two steps of that name')
    return errors


def order_cycles(recipes):
    """Cycles in the order the recipes imply: each machine runs its steps in
    order, members run "member" before their role, and after= waits.
    Nodes are (os, role, step)."""
    edges = {}

    def edge(a, b):
        edges.setdefault(a, set()).add(b)
        edges.setdefault(b, set())

    for (os_name, role), r in recipes.items():
        names = r.step_names()
        for a, b in zip(names, names[1:]):
            edge((os_name, role, a), (os_name, role, b))
        for s in r.steps:
            for ref in (s.get('after') or '').split():
                if ref.startswith('@'):
                    other, _, target = ref[1:].partition(':')
                    edge((os_name, other, target), (os_name, role, s.get('name')))
        member = recipes.get((os_name, 'member'))
        if member and role not in NOT_MEMBERS and names:
            edge((os_name, 'member', member.step_names()[-1]), (os_name, role, names[0]))
    cycles, state = [], {}

    def visit(node, path):
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cyc = path[path.index(nxt):] + [nxt]
                cycles.append(' -> '.join(f'{r}:{s}' for _, r, s in cyc))
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return cycles


def describe(recipe):
    """The golden text of a recipe: its steps in order, what each does and
    waits for, and the text of inline actions (what the guest is sent)."""
    out = [f'recipe {recipe.os}/{recipe.role} ({recipe.rel})']
    for n, step in enumerate(recipe.steps, 1):
        action = step_action(step)[0]
        if action.tag in ('script',):
            what = f'script {action.get("file")}'
        elif action.tag == 'copy':
            what = f'copy {action.get("file")} -> {action.get("to")}'
        elif action.tag == 'exec':
            what = 'exec ' + ' '.join(a.text or '' for a in action.findall('arg'))
        elif action.tag == 'wait':
            what = f'wait every {action.get("interval", "5s")}'
        else:
            what = action.tag
        attrs = [f'timeout={duration_default(step)}']
        for key in ('after', 'retries', 'idempotent', 'secrets'):
            if step.get(key) is not None:
                attrs.append(f'{key}={step.get(key)}')
        out.append(f'{n}. {step.get("name")}: {what}')
        out.append(f'   {" ".join(attrs)}')
        if action.tag in ('wait', 'run'):
            for line in (action.text or '').strip('\n').split('\n'):
                out.append(f'   | {line}')
    return '\n'.join(out) + '\n'


def compare_golden(name, text, folder=GOLDEN, regenerate=True):
    path = os.path.join(folder, name)
    if regenerate and os.environ.get('NESTLAB_REGENERATE') == '1':
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return []
    if not os.path.exists(path):
        return [f'golden file missing: {path} (NESTLAB_REGENERATE=1 writes it)']
    with open(path, encoding='utf-8') as f:
        want = f.read()
    if want == text:
        return []
    return ['golden mismatch:'] + list(difflib.unified_diff(
        want.splitlines(), text.splitlines(), path, 'now', lineterm=''))


def script_files(root_dir):
    for dirpath, dirs, files in os.walk(root_dir):
        dirs.sort()
        for f in sorted(files):
            if f.endswith('.ps1'):
                yield os.path.join(dirpath, f)


def all_recipe_errors(root_dir):
    recipes = load_recipes(root_dir)
    errors = []
    for r in recipes.values():
        errors += check_recipe(r, recipes, root_dir)
    errors += shared_names(recipes)
    errors += [f'the recipes\' order has a cycle: {c}' for c in order_cycles(recipes)]
    return errors


# ---------------------------------------------------------------------- main

def main():
    tap = Tap()
    recipes = load_recipes(ROLES)
    tap.result('the shipped recipes are found', [] if recipes else [f'no recipe under {ROLES}'])

    for key in sorted(recipes):
        r = recipes[key]
        p = subprocess.run([XMLLINT, '--noout', '--relaxng', SCHEMA, r.path],
                           capture_output=True, text=True)
        tap.result(f'{r.rel} validates against recipe.rng',
                   [] if p.returncode == 0 else [p.stderr.strip()])
        tap.result(f'{r.rel}: unique steps, one action each, references and files resolve',
                   check_recipe(r, recipes, ROLES))

    tap.result('no step name is in two recipes of one OS', shared_names(recipes))
    cycles = order_cycles(recipes)
    tap.result('the order across recipes (machine order, member first, after=) has no cycle',
               [f'cycle: {c}' for c in cycles])

    lib = os.path.join(ROLES, 'windows', LIB_SOURCE)
    for path in script_files(ROLES):
        rel = os.path.relpath(path, ROLES)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        is_lib = os.path.samefile(path, lib)
        errors, _, _ = check_ps(text, rel, is_step_script=not is_lib)
        if is_lib:
            what = 'balanced, secrets only from their files and never on a command line'
        else:
            what = ('balanced, $ErrorActionPreference first, facts dot-sourced, '
                    'secrets only from their files and never on a command line')
        tap.result(f'{rel}: {what}', errors)

    for key in sorted(recipes):
        r = recipes[key]
        name = f'{r.os}-{r.role}.txt'
        tap.result(f'golden {name}', compare_golden(name, describe(r)))

    # The checks catch what they claim to: planted faults, one per file.
    bad_ps = os.path.join(BAD, 'ps1')
    for f in sorted(os.listdir(bad_ps)):
        with open(os.path.join(bad_ps, f), encoding='utf-8') as fh:
            text = fh.read()
        expect = re.match(r'# expect: (.*)', text).group(1).strip()
        errors, _, _ = check_ps(text, f)
        hit = any(expect in e for e in errors)
        tap.result(f'the script check rejects {f} ({expect})',
                   [] if hit else [f'expected an error containing "{expect}", got:'] + (errors or ['none']))
    bad_recipes = os.path.join(BAD, 'recipes')
    for case in sorted(os.listdir(bad_recipes)):
        d = os.path.join(bad_recipes, case)
        with open(os.path.join(d, 'expect'), encoding='utf-8') as fh:
            expect = fh.read().strip()
        errors = all_recipe_errors(d)
        hit = any(expect in e for e in errors)
        tap.result(f'the recipe check rejects {case} ({expect})',
                   [] if hit else [f'expected an error containing "{expect}", got:'] + (errors or ['none']))
    good_ps = os.path.join(GOLDEN, 'good-ps1')
    for f in sorted(os.listdir(good_ps)):
        with open(os.path.join(good_ps, f), encoding='utf-8') as fh:
            errors, _, _ = check_ps(fh.read(), f)
        tap.result(f'the script check accepts {f}', errors)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())

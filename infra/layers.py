"""The layers Cargo keeps, and the module graph inside each crate.

`python3 infra/layers.py` prints every import cycle between the modules of a
library crate (a module naming `crate::x` or `super::x` depends on `x`); a
module's own tests are left out, as they may use anything. Exit status 1 when
there is one. tests/test_layers.py runs it.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = ["shared/domain", "shared/store", "shared/app"]


def modules(src):
    """Module path (`wire::dodo`) -> its file, for every file under `src`."""
    found = {}
    for path in src.rglob("*.rs"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] in ("lib", "mod"):
            parts = parts[:-1]
        found["::".join(parts)] = path
    return found


def without_tests_and_comments(text):
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut >= 0:
        text = text[:cut]
    return re.sub(r"//[^\n]*", "", text)


def graph(src):
    """Module -> the modules of the same crate it names (not its ancestors,
    which declare it)."""
    found = modules(src)
    edges = {name: set() for name in found}
    for name, path in found.items():
        text = without_tests_and_comments(path.read_text())
        parent = name.rsplit("::", 1)[0] if "::" in name else ""
        named = set(re.findall(r"\bcrate::((?:\w+::)*\w+)", text))
        named |= {f"{parent}::{p}" if parent else p for p in re.findall(r"\bsuper::((?:\w+::)*\w+)", text)}
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            named |= {p.strip().split("::")[0] for p in group.split(",") if p.strip()}
        for target in named:
            parts = target.split("::")
            for k in range(len(parts), 0, -1):
                candidate = "::".join(parts[:k])
                if candidate in found:
                    if candidate and candidate != name and not name.startswith(candidate + "::"):
                        edges[name].add(candidate)
                    break
    return edges


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def report(crate_dir):
    """Lines describing each cycle of the crate at `crate_dir`; none when it has none."""
    edges = graph(pathlib.Path(crate_dir) / "src")
    lines = []
    for component in cycles(edges):
        lines.append(f"{crate_dir}: import cycle among {', '.join(component)}")
        for module in component:
            back = sorted(edges[module] & set(component))
            lines.append(f"    {module} -> {', '.join(back)}")
    return lines


if __name__ == "__main__":
    problems = [line for crate in CRATES for line in report(ROOT / crate)]
    print("\n".join(problems) or f"no import cycle in {', '.join(CRATES)}")
    sys.exit(1 if problems else 0)

"""The plan of the house, read from its imports: no circle, nothing imports upwards, small rooms.

Layers, lowest first: the foundations (modules directly in identity/), the service rooms
(identity/register, signin, digital_id, documents, access, audit, demo), then identity/web and
identity/cli side by side, then verification (whose services, checks and the like, stand on
identity's services, and whose web stands on identity.web), and verification/app.py, the
composition root, on top. A module may import only from its own layer or below.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("identity", "verification")
SERVICE_ROOMS = ("register", "signin", "digital_id", "documents", "access", "audit", "demo")
MAX_MODULES_DIRECTLY_IN_IDENTITY = 15


def module_name(path: Path) -> str:
    """Return the dotted name of a source file (a package's __init__ is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    """Return every module of the two packages (migrations' versions excluded: they are data)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "versions" not in path.relative_to(ROOT).parts:
                found[module_name(path)] = path
    return found


def imported(path: Path, known: set[str]) -> Iterator[str]:
    """Yield the project modules a file imports, anywhere in it (functions included)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module not in known:
                continue
            for alias in node.names:  # `from pkg import module` names the module itself
                full = f"{node.module}.{alias.name}"
                yield full if full in known else node.module


def graph() -> dict[str, set[str]]:
    """Return module -> the project modules it imports."""
    modules = sources()
    known = set(modules)
    return {name: set(imported(path, known)) - {name} for name, path in modules.items()}


def layer(module: str) -> tuple[int, str]:
    """Return the layer of a module (higher stands above) and its name, for the messages."""
    parts = module.split(".")
    if parts[0] == "verification":
        if module == "verification.app":
            return 5, "the composition root"
        return (4, "verification.web") if parts[1:2] == ["web"] else (3, "verification")
    if len(parts) <= 2 and module not in {f"identity.{r}" for r in (*SERVICE_ROOMS, "web", "cli")}:
        return 0, "identity's foundations"
    if parts[1] in ("web", "cli"):
        return 2, f"identity.{parts[1]}"
    return 1, "identity's services"


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Return each import that reaches a higher layer, with both layers named."""
    return [
        f"{module} ({layer(module)[1]}) imports {target} ({layer(target)[1]})"
        for module, targets in sorted(edges.items())
        for target in sorted(targets)
        if layer(target)[0] > layer(module)[0]
    ]


def test_no_module_imports_from_a_higher_layer() -> None:
    assert upward(graph()) == []


def test_an_upward_import_is_named() -> None:
    """The check above can fail: a service importing a view, a foundation a service."""
    edges = {"identity.signin.otp": {"identity.web.http"}, "identity.db": {"identity.models"}}
    assert upward(edges) == [
        "identity.signin.otp (identity's services) imports identity.web.http (identity.web)"
    ]
    assert upward({"identity.models": {"identity.register.fields"}}) != []


def test_identity_never_imports_verification() -> None:
    crossing = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        if module.startswith("identity")
        for target in targets
        if target.startswith("verification")
    ]
    assert crossing == []


def test_web_and_cli_do_not_import_each_other() -> None:
    sides = {"identity.web", "identity.cli"}
    crossing = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if layer(module)[1] in sides and layer(target)[1] in sides - {layer(module)[1]}
    ]
    assert crossing == []


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def room(module: str) -> str:
    """Return the room of a module: its folder under identity/ or verification/web, else itself."""
    parts = module.split(".")
    if parts[0] == "identity" and len(parts) > 2 and parts[1] in (*SERVICE_ROOMS, "web", "cli"):
        return ".".join(parts[:2])
    if parts[:2] == ["verification", "web"]:
        return "verification.web"
    return module


def rooms(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Return room -> the rooms it imports (the same graph, one node per folder)."""
    joined: dict[str, set[str]] = {}
    for module, targets in edges.items():
        joined.setdefault(room(module), set()).update(room(t) for t in targets)
    return {name: targets - {name} for name, targets in joined.items()}


def test_there_is_no_import_circle() -> None:
    assert circles(graph()) == []


def test_no_two_rooms_import_each_other() -> None:
    """Files may not loop, nor may folders: the audit log using the register's civil IDs while
    the register audits its writes would make the two one room."""
    assert circles(rooms(graph())) == []


def test_rooms_are_read_from_their_folders() -> None:
    edges = {"identity.audit.chain": {"identity.register.fields"}, "identity.register.x": set()}
    assert rooms(edges) == {"identity.audit": {"identity.register"}, "identity.register": set()}


def test_the_circle_finder_finds_a_circle() -> None:
    """The check above can fail: a circle of three is found, and a chain is not one."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_identity_keeps_at_most_fifteen_modules_at_its_top() -> None:
    top = sorted(path.name for path in (ROOT / "identity").glob("*.py"))
    assert len(top) <= MAX_MODULES_DIRECTLY_IN_IDENTITY, top


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("identity.db", 0),
        ("identity.register.fields", 1),
        ("identity.web.console.pages", 2),
        ("identity.cli.demo", 2),
        ("verification.checks", 3),
        ("verification.web.api", 4),
        ("verification.app", 5),
    ],
)
def test_each_room_is_on_its_layer(module: str, expected: int) -> None:
    assert layer(module)[0] == expected

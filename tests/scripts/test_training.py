import ast
from pathlib import Path

import edge

EDGE = Path(edge.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_scripts_import_the_training_helpers():
    """No module of the service imports edge.training, so it never needs the train extra."""
    offenders = [
        str(path.relative_to(EDGE))
        for path in EDGE.rglob("*.py")
        if "training" not in path.relative_to(EDGE).parts
        and any(name.split(".")[:2] == ["edge", "training"] for name in _imports(path))
    ]
    assert offenders == []

"""The wheel's package list (pyproject.toml) names every package directory of the source tree: a
package missing there installs without its files, and `import autograd_gpu` fails on the installed
copy only."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_directory_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "autograd_gpu").rglob("__init__.py")}
    assert found - listed == set(), f"package directories missing from pyproject.toml: {sorted(found - listed)}"
    mapped = set(config.get("package-dir", {}))
    assert listed - found - mapped == set(), f"listed packages with no directory: {sorted(listed - found - mapped)}"

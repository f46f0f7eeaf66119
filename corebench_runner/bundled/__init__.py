"""The bundled suite: its capsules/, graders/, scaffolds/ and reports/ are the repository's top-level folders.

Those folders stay at the top of the repository, where a suite keeps them; the links here put
them inside the package, so the build copies them into the wheel and the sdist, and an editable
install reads them in place. Nothing finds them by a path relative to the source tree: the suite
module asks for this package's folder.

The built-in scaffolds and graders are plugin files, loaded by path like a suite's own. The names
below are what their entry points in pyproject.toml point at, as a third party's would.
"""

from corebench_runner.registry import PluginFile

oracle = PluginFile(__name__, "scaffolds/oracle.py")
core_agent = PluginFile(__name__, "scaffolds/core-agent/__init__.py")
claude_code = PluginFile(__name__, "scaffolds/claude-code/__init__.py")
codex = PluginFile(__name__, "scaffolds/codex/__init__.py")
opencode = PluginFile(__name__, "scaffolds/opencode/__init__.py")
command = PluginFile(__name__, "scaffolds/command/__init__.py")

corebench = PluginFile(__name__, "graders/corebench.py")
tolerant = PluginFile(__name__, "graders/tolerant.py")
corebench_v1_1 = PluginFile(__name__, "graders/corebench-v1.1.py")
tolerant_v1_1 = PluginFile(__name__, "graders/tolerant-v1.1.py")

"""`ml.steps.WARM_IMPORTS`, what the warm step server imports before it forks each step (ml/warm), holds
libraries that exist and that look at no terminal when imported: the server's streams are not the step's."""

import subprocess
import sys

from tests.conftest import REPO_ROOT

CHECK = """
import gc, importlib, sys
from ml.steps import WARM_IMPORTS
missing = []
for name in WARM_IMPORTS:
    try:
        importlib.import_module(name)
    except ImportError:
        missing.append(name)
import rich.console
consoles = [o for o in gc.get_objects() if isinstance(o, rich.console.Console)]
print(missing, len(consoles), sorted(m for m in sys.modules if m.startswith("ml.") and m != "ml.steps"))
"""


def test_the_warm_imports_exist_and_create_no_console():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split("\n")[0] == "[] 0 []"

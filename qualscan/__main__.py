import os
import sys

# ``python -m qualscan`` puts the current directory first on sys.path. When that directory is the
# repository being scanned, its json.py / yaml.py / argparse.py would be imported (and executed)
# instead of the real modules. Drop it before anything else is imported (``python -P`` does the same).
if not getattr(sys.flags, "safe_path", False):
    _cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", _cwd)]

from qualscan.cli import run  # noqa: E402

raise SystemExit(run())

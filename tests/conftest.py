"""Import the engine without running custseg_module/__init__.py (it imports odoo).

A bare namespace module stands in for the addon package, so
``import custseg_module.engine`` only loads the pure-Python engine.
"""

import sys
import types
from pathlib import Path

ADDON = Path(__file__).resolve().parents[1] / "custseg_module"

if "custseg_module" not in sys.modules:
    package = types.ModuleType("custseg_module")
    package.__path__ = [str(ADDON)]
    sys.modules["custseg_module"] = package

"""Unit tests import the collection as ansible_collections.wcow.buildkit (linked by `make setup`)."""

from __future__ import annotations

import pathlib
import sys

COLLECTIONS = pathlib.Path(__file__).resolve().parents[2] / ".collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

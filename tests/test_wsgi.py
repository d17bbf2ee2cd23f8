"""The web process's entry point (config/wsgi.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_web_process_freezes_what_it_loads_once_out_of_the_collectors_sight() -> None:
    """Full collections under load then look only at what requests leave behind (see config/wsgi.py)."""
    script = "import gc, sys; import config.wsgi; print(gc.get_freeze_count(), 'apps.jobs.api.views' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    frozen, views_loaded = done.stdout.split()
    assert int(frozen) > 50_000  # the modules, models and URL patterns of a whole Django project
    assert views_loaded == "True"  # imported with the URL patterns, before the freeze

"""Set up and run AIVideo Studio with nothing but Python 3.11+ (standard library only).

    python3 run.py          create .venv if needed, install the locked dependencies, run the app
    python3 run.py test     the same set-up, then the whole test suite (extra args go to pytest)
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / '.venv'
LOCK = ROOT / 'requirements.lock'
PYTHON = VENV / 'bin' / 'python'


def main() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f'AIVideo Studio needs Python 3.11 or newer; this is {sys.version.split()[0]}.')
    ensure_environment()
    command, *rest = sys.argv[1:] or ['app']
    if command == 'app':
        os.execv(PYTHON, [str(PYTHON), str(ROOT / 'app.py'), *rest])
    elif command == 'test':
        os.chdir(ROOT)
        os.execv(PYTHON, [str(PYTHON), '-m', 'pytest', *rest])
    else:
        sys.exit(__doc__)


def ensure_environment() -> None:
    """Install the locked dependencies into .venv, again whenever the lock file changes."""
    stamp = VENV / '.installed-lock'
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        print('Creating the virtual environment in .venv ...', flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as error:
            sys.exit(f'Could not create .venv ({error}). On Debian or Ubuntu install python3-venv first.')
    print('Installing the locked dependencies (first run only) ...', flush=True)
    subprocess.run([PYTHON, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
                    '--require-hashes', '-r', LOCK], check=True)
    stamp.write_text(digest)


if __name__ == '__main__':
    main()

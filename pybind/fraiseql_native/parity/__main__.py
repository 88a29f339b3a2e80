"""python3 -m fraiseql_native.parity replay ...: see cli.py."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

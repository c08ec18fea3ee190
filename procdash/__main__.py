"""Entry point for ``python -m procdash``."""

from procdash.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""`python scripts/provider.py ...` runs `bourse provider ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("provider")

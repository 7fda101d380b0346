"""`python scripts/crank.py ...` runs `bourse crank ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("crank")

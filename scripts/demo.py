"""`python scripts/demo.py ...` runs `bourse demo ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("demo")

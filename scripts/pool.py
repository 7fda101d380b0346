"""`python scripts/pool.py ...` runs `bourse pool ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("pool")

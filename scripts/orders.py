"""`python scripts/orders.py ...` runs `bourse order ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("order")

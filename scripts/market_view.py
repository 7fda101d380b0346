"""`python scripts/market_view.py ...` runs `bourse market ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("market")

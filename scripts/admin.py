"""`python scripts/admin.py ...` runs `bourse admin ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("admin")

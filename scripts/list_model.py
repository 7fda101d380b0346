"""`python scripts/list_model.py ...` runs `bourse model ...`."""

from bourse_cli.app import run_group

if __name__ == "__main__":
    run_group("model")

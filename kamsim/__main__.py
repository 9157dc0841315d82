"""``python -m kamsim``: the same as the ``kamsim`` command."""

from kamsim.cli.main import main

if __name__ == "__main__":
    main()

"""Subcommand modules of the ``riskstrat`` CLI; importing one registers its commands."""

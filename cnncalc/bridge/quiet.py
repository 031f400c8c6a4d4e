"""Imported before torch by the bridge modules: torch warns at import when NumPy is missing, which
cnncalc never needs (shapes only, on the meta device), so that one notice is not shown."""

import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

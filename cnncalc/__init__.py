"""cnncalc: exact shapes, parameters, MACs and receptive fields of CNNs from a YAML spec."""

__version__ = "0.1.0"

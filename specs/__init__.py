"""The bundled network specs, installed as the package data `cnncalc.specs`."""
